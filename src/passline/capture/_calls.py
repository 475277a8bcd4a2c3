"""What a captured model call is, and what can be read off it (usage, prompts, tool calls).

A :class:`CapturedCall` is one HTTP exchange with a model endpoint, in the shape the OpenAI
chat-completions API uses on the wire (``request`` is the JSON body sent, ``response`` the
completion received; a streamed response is folded into the completion it amounts to), so
the same record serves the run record, the report's prompt diff and, later, traffic import.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from passline._types import ToolCall, Usage

CALLS_SCHEMA_VERSION = 1
# request fields that describe how to sample, shown in the report's model & settings diff
SAMPLING_FIELDS = ("model", "temperature", "top_p", "max_tokens", "max_completion_tokens",
                   "seed", "n", "presence_penalty", "frequency_penalty", "stop",
                   "response_format", "tool_choice", "parallel_tool_calls", "reasoning_effort")


def text_hash(text: str) -> str:
    """Short, stable id of a prompt text (rendered text: equal text, equal id)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def content_text(content: Any) -> str:
    """The text of a message's content (a string or a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                parts.append(str(part.get("text") or part.get("input_text") or ""))
            elif isinstance(part, str):
                parts.append(part)
        return "".join(parts)
    return "" if content is None else str(content)


@dataclasses.dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool as offered to the model: what the report diffs when a description changes."""

    name: str
    description: str
    parameters: Mapping[str, Any]

    @property
    def hash(self) -> str:
        return text_hash(json.dumps({"d": self.description, "p": self.parameters},
                                    sort_keys=True, separators=(",", ":"), default=str))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "parameters": dict(self.parameters), "hash": self.hash}


def system_prompts(request: Mapping[str, Any]) -> list[str]:
    """System/developer texts of a chat-completions or responses request, in order."""
    out = []
    instructions = request.get("instructions")  # responses API
    if isinstance(instructions, str) and instructions:
        out.append(instructions)
    messages = request.get("messages")
    if not isinstance(messages, list):
        given = request.get("input")
        messages = given if isinstance(given, list) else []
    for msg in messages:
        if isinstance(msg, Mapping) and msg.get("role") in ("system", "developer"):
            text = content_text(msg.get("content"))
            if text:
                out.append(text)
    return out


def tool_specs(request: Mapping[str, Any]) -> list[ToolSpec]:
    """Function tools offered in a request (chat-completions nests them under ``function``)."""
    out = []
    for tool in request.get("tools") or ():
        if not isinstance(tool, Mapping):
            continue
        inner = tool.get("function")
        fn: Mapping[str, Any] = inner if isinstance(inner, Mapping) else tool
        name = fn.get("name")
        if isinstance(name, str) and name:
            out.append(ToolSpec(name, str(fn.get("description") or ""),
                                dict(fn.get("parameters") or {})))
    return out


def sampling(request: Mapping[str, Any]) -> dict[str, Any]:
    """The model and sampling settings of a request (absent fields left out)."""
    return {k: request[k] for k in SAMPLING_FIELDS if request.get(k) is not None}


def usage_numbers(response: Mapping[str, Any] | None) -> tuple[int, int] | None:
    """(prompt, completion) tokens reported by the endpoint; ``None`` when it reported none."""
    usage = (response or {}).get("usage")
    if not isinstance(usage, Mapping):
        return None
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    if prompt is None and completion is None:
        return None
    return int(prompt or 0), int(completion or 0)


def estimate_tokens(request: Mapping[str, Any], response: Mapping[str, Any] | None
                    ) -> tuple[int, int]:
    """A rough count (4 characters a token) for endpoints that report no usage, e.g. a
    stream without ``stream_options.include_usage``; calls counted this way are flagged."""
    sent = json.dumps(request.get("messages") or request.get("input") or "", default=str)
    got = json.dumps([c.get("message") for c in (response or {}).get("choices") or []],
                     default=str)
    return max(1, len(sent) // 4), max(1, len(got) // 4)


def response_tool_calls(response: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The tool calls the model asked for in a completion (first choice)."""
    choices = (response or {}).get("choices") or []
    if not choices or not isinstance(choices[0], Mapping):
        return []
    message = choices[0].get("message") or {}
    return [c for c in message.get("tool_calls") or () if isinstance(c, Mapping)]


def response_text(response: Mapping[str, Any] | None) -> str:
    choices = (response or {}).get("choices") or []
    if not choices or not isinstance(choices[0], Mapping):
        return ""
    return content_text((choices[0].get("message") or {}).get("content"))


@dataclasses.dataclass(frozen=True, slots=True)
class CapturedCall:
    """One model call made while a case ran, as it went over the wire.

    ``retries`` counts the failed attempts of the same request just before this one;
    ``error`` is set on a failed attempt (no usage). ``usage_estimated`` marks token counts
    that passline estimated because the endpoint reported none.
    """

    seq: int
    source: str  # "http": any client passline saw on the wire; "ctx.client": passline's own
    endpoint: str  # which server answered, without credentials ("sim", "https://api...")
    path: str
    model: str
    request: Mapping[str, Any]
    response: Mapping[str, Any] | None
    status_code: int
    usage: Usage
    latency_s: float
    start_s: float
    retries: int = 0
    cached: bool = False
    stream: bool = False
    error: str | None = None
    usage_estimated: bool = False
    span_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self, *, bodies: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "seq": self.seq, "source": self.source, "endpoint": self.endpoint,
            "path": self.path, "model": self.model, "status_code": self.status_code,
            "usage": self.usage.to_dict(), "latency_s": round(self.latency_s, 6),
            "start_s": round(self.start_s, 6), "retries": self.retries, "cached": self.cached,
            "stream": self.stream, "error": self.error,
            "usage_estimated": self.usage_estimated, "span_id": self.span_id}
        if bodies:
            data["request"] = dict(self.request)
            data["response"] = dict(self.response) if self.response is not None else None
        return data


def trajectory(calls: Sequence[CapturedCall]) -> tuple[ToolCall, ...]:
    """The tool calls the model asked for, in order, with each result the agent sent back
    (read from the ``tool`` messages of later requests): a trajectory for agents that do
    not report one."""
    results: dict[str, str] = {}
    for call in calls:
        for msg in call.request.get("messages") or ():
            if isinstance(msg, Mapping) and msg.get("role") == "tool" and msg.get("tool_call_id"):
                results[str(msg["tool_call_id"])] = content_text(msg.get("content"))
    out: list[ToolCall] = []
    seen: set[str] = set()
    for call in calls:
        if not call.ok:
            continue
        for tc in response_tool_calls(call.response):
            fn = tc.get("function") or {}
            call_id = str(tc.get("id") or "")
            if call_id and call_id in seen:  # a replayed or repeated response
                continue
            seen.add(call_id)
            try:
                arguments = json.loads(fn.get("arguments") or "{}")
            except json.JSONDecodeError:
                arguments = {}
            if not isinstance(arguments, dict):
                arguments = {}
            out.append(ToolCall(str(fn.get("name") or ""), arguments, call_id or None,
                                results.get(call_id)))
    return tuple(out)


def total_usage(calls: Iterable[CapturedCall]) -> Usage:
    total = Usage()
    for call in calls:
        total = total + call.usage
    return total


class StreamAccumulator:
    """Folds chat-completion chunks (already decoded from server-sent events) into the one
    completion they amount to: content and tool-call argument deltas concatenated by index."""

    def __init__(self) -> None:
        self.base: dict[str, Any] = {}
        self.choices: dict[int, dict[str, Any]] = {}
        self.usage: Mapping[str, Any] | None = None
        self.done = False

    def add(self, chunk: Mapping[str, Any]) -> None:
        for key in ("id", "model", "created", "system_fingerprint"):
            if key in chunk and key not in self.base:
                self.base[key] = chunk[key]
        if isinstance(chunk.get("usage"), Mapping):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            index = int(choice.get("index") or 0)
            slot = self.choices.setdefault(index, {"content": None, "tool_calls": {},
                                                   "finish_reason": None, "role": "assistant"})
            delta = choice.get("delta") or {}
            if delta.get("content"):
                slot["content"] = (slot["content"] or "") + str(delta["content"])
            if delta.get("refusal"):
                slot["refusal"] = (slot.get("refusal") or "") + str(delta["refusal"])
            for tc in delta.get("tool_calls") or ():
                entry = slot["tool_calls"].setdefault(int(tc.get("index") or 0), {
                    "id": None, "type": "function", "function": {"name": "", "arguments": ""}})
                if tc.get("id"):
                    entry["id"] = tc["id"]
                fn = tc.get("function") or {}
                entry["function"]["name"] += str(fn.get("name") or "")
                entry["function"]["arguments"] += str(fn.get("arguments") or "")
            if choice.get("finish_reason"):
                slot["finish_reason"] = choice["finish_reason"]

    def completion(self) -> dict[str, Any]:
        choices = []
        for index in sorted(self.choices):
            slot = self.choices[index]
            message: dict[str, Any] = {"role": "assistant", "content": slot["content"]}
            if slot["tool_calls"]:
                message["tool_calls"] = [slot["tool_calls"][i]
                                         for i in sorted(slot["tool_calls"])]
            choices.append({"index": index, "message": message,
                            "finish_reason": slot["finish_reason"]})
        out = {**self.base, "object": "chat.completion", "choices": choices}
        if self.usage is not None:
            out["usage"] = dict(self.usage)
        return out
