"""One recorded production conversation, normalised: what every traffic format is read into.

A :class:`TrafficRecord` holds what passline needs from production: the case input an agent
would get (``message``, ``history``, ``user_id``), the raw chat request when the record is a
single model call (for replaying it on another model), the production answer, its tool calls,
the model, when it happened, tokens, cost and latency. Records are redacted before they are
stored (:func:`redacted`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from passline.capture._calls import content_text
from passline.redaction import redact_all

TRAFFIC_SCHEMA_VERSION = 1
FORMATS = ("openai", "otlp", "passline")


@dataclasses.dataclass(frozen=True)
class TrafficRecord:
    """A recorded conversation: the input production saw and the answer it gave.

    ``id`` is stable for the same recorded event (re-importing a file adds nothing); ``source``
    names the format (``openai``, ``otlp``, ``passline``) and ``origin`` where in the file it
    came from (``file:line``, a span id, ``run/case:trial``).
    """

    id: str
    source: str
    origin: str
    input: Mapping[str, Any]
    answer: str
    recorded_at: str | None = None
    model: str = ""
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    request: Mapping[str, Any] | None = None  # the chat request body (call-level records)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None  # None: not logged (priced from tokens at import)
    latency_s: float | None = None
    status: str = "ok"  # "ok" | "error"
    error: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"TrafficRecord({self.id!r}, {self.source}, model={self.model!r}, "
                f"answer={self.answer[:40]!r})")

    @property
    def message(self) -> str:
        return str(self.input.get("message") or "")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["tool_calls"] = [dict(t) for t in self.tool_calls]
        data["tags"] = list(self.tags)
        return {"schema_version": TRAFFIC_SCHEMA_VERSION, **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrafficRecord:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["tool_calls"] = tuple(dict(t) for t in data.get("tool_calls") or ())
        values["tags"] = tuple(data.get("tags") or ())
        values["metadata"] = dict(data.get("metadata") or {})
        return cls(**values)


def record_id(source: str, *parts: Any) -> str:
    """A stable id from the source format and what identifies the event in it."""
    material = json.dumps([source, *parts], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


def redacted(record: TrafficRecord) -> TrafficRecord:
    """The record with PII and credentials removed from every text it holds (the ids, the
    model, timestamps and figures are kept)."""
    return dataclasses.replace(
        record, input=redact_all(dict(record.input)), answer=redact_all(record.answer),
        tool_calls=tuple(redact_all(dict(t)) for t in record.tool_calls),
        request=redact_all(dict(record.request)) if record.request is not None else None,
        error=redact_all(record.error) if record.error else None,
        metadata=redact_all(dict(record.metadata)))


# ------------------------------------------------------------------ chat messages -> input


def case_input(messages: Sequence[Mapping[str, Any]], *, user: str | None = None
               ) -> dict[str, Any]:
    """The conventional case input of a conversation: the last user message, the earlier
    user/assistant turns that carried text as ``history``, and ``user_id`` when logged.

    >>> case_input([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
    ...             {"role": "user", "content": "Where is ORD-1?"}])
    {'message': 'Where is ORD-1?', 'history': [{'role': 'user', 'content': 'Hi'}, ...]}
    """
    turns = [m for m in messages if isinstance(m, Mapping) and m.get("role") in
             ("user", "assistant")]
    last = max((i for i, m in enumerate(turns) if m.get("role") == "user"), default=None)
    out: dict[str, Any] = {"message": content_text(turns[last].get("content"))
                           if last is not None else ""}
    history = [{"role": str(m["role"]), "content": content_text(m.get("content"))}
               for m in turns[:last] if content_text(m.get("content"))] if last else []
    if history:
        out["history"] = history
    if user:
        out["user_id"] = str(user)
    return out


def openai_tool_calls(calls: Iterable[Any], results: Mapping[str, Any] | None = None
                      ) -> tuple[dict[str, Any], ...]:
    """``[{name, arguments, id, result}]`` from chat-completions ``tool_calls`` (arguments
    parsed from their JSON string; results joined by call id when known)."""
    out = []
    for call in calls or ():
        if not isinstance(call, Mapping):
            continue
        fn: Mapping[str, Any] = call["function"] if isinstance(call.get("function"),
                                                                Mapping) else call
        args: Any = fn.get("arguments")
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError:
                args = {"(unparsed)": args}
        call_id = call.get("id")
        entry: dict[str, Any] = {"name": str(fn.get("name") or ""),
                                 "arguments": args if isinstance(args, Mapping) else {},
                                 "id": call_id}
        if results and isinstance(call_id, str) and call_id in results:
            entry["result"] = results[call_id]
        out.append(entry)
    return tuple(out)


def tool_results(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Tool results sent back to the model, by tool call id."""
    return {str(m["tool_call_id"]): content_text(m.get("content")) for m in messages
            if isinstance(m, Mapping) and m.get("role") == "tool" and m.get("tool_call_id")}
