"""What one model call returns: the assistant's message plus usage, latency and provenance."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from passline._types import Usage
from passline.errors import MalformedOutput


@dataclasses.dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """A tool call the model asked for. ``arguments_raw`` is exactly what the model sent."""

    id: str
    name: str
    arguments_raw: str

    def arguments(self) -> dict[str, Any]:
        """The arguments as a dict; :class:`MalformedOutput` (with the raw text) if they
        are not a JSON object."""
        try:
            value = json.loads(self.arguments_raw or "{}")
        except json.JSONDecodeError as exc:
            raise MalformedOutput(
                f"tool call {self.name!r} ({self.id}) has arguments that are not valid JSON "
                f"({exc.msg} at char {exc.pos}): {self.arguments_raw[:200]!r}") from exc
        if not isinstance(value, dict):
            raise MalformedOutput(
                f"tool call {self.name!r} ({self.id}) arguments must be a JSON object, got "
                f"{self.arguments_raw[:200]!r}")
        return value

    @property
    def well_formed(self) -> bool:
        try:
            self.arguments()
        except MalformedOutput:
            return False
        return True


@dataclasses.dataclass(frozen=True, slots=True)
class ChatResult:
    """One chat completion (first choice), with accounting.

    >>> result.content, [t.name for t in result.tool_calls], result.usage.cost_usd  # doctest: +SKIP
    """

    content: str | None
    tool_calls: tuple[ToolCallRequest, ...]
    finish_reason: str
    model: str
    usage: Usage
    latency_s: float
    cached: bool = False
    attempts: int = 1
    request_hash: str = ""
    choices: tuple[Mapping[str, Any], ...] = ()  # every choice's message, when n > 1

    def __repr__(self) -> str:
        what = (f"tool_calls={[t.name for t in self.tool_calls]}" if self.tool_calls
                else f"content={(self.content or '')[:60]!r}")
        return (f"ChatResult({what}, model={self.model!r}, finish={self.finish_reason!r}, "
                f"tokens={self.usage.total_tokens}, cost=${self.usage.cost_usd:.6f}, "
                f"cached={self.cached}, attempts={self.attempts})")

    def message(self) -> dict[str, Any]:
        """The assistant message to append to the conversation before tool results."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            msg["tool_calls"] = [
                {"id": t.id, "type": "function",
                 "function": {"name": t.name, "arguments": t.arguments_raw}}
                for t in self.tool_calls]
        return msg

    def json(self) -> Any:
        """The content parsed as JSON; :class:`MalformedOutput` (with the raw text) if not."""
        text = self.content or ""
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            hint = " (output was cut at max_tokens)" if self.finish_reason == "length" else ""
            raise MalformedOutput(
                f"model {self.model} returned content that is not valid JSON{hint}: "
                f"{exc.msg} at char {exc.pos}; raw: {text[:300]!r}") from exc

    @property
    def well_formed(self) -> bool:
        return all(t.well_formed for t in self.tool_calls)

    @classmethod
    def from_completion(cls, data: Mapping[str, Any], *, usage: Usage, latency_s: float,
                        cached: bool, attempts: int, request_hash: str) -> ChatResult:
        choices = data.get("choices") or [{}]
        first = choices[0]
        msg = first.get("message") or {}
        calls = tuple(
            ToolCallRequest(id=c.get("id") or f"call_{i}",
                            name=(c.get("function") or {}).get("name", ""),
                            arguments_raw=(c.get("function") or {}).get("arguments") or "")
            for i, c in enumerate(msg.get("tool_calls") or ()))
        return cls(content=msg.get("content"), tool_calls=calls,
                   finish_reason=first.get("finish_reason") or "stop",
                   model=str(data.get("model", "")), usage=usage, latency_s=latency_s,
                   cached=cached, attempts=attempts, request_hash=request_hash,
                   choices=tuple(c.get("message") or {} for c in choices))
