"""OpenTelemetry spans exported as OTLP JSON, read by the GenAI semantic conventions.

The file is an ``ExportTraceServiceRequest`` in its JSON encoding (what the OTLP/HTTP JSON
exporter sends and the Collector's file exporter writes, one request per line), parsed with
``opentelemetry-proto`` and protobuf's ``json_format`` -- after turning the hex trace and span
ids of OTLP/JSON into the base64 protobuf's JSON mapping expects.

- An ``invoke_agent`` span (``gen_ai.operation.name``) is one conversation: its input and
  output messages, the ``execute_tool`` spans below it as the tool calls, the tokens of the
  spans below it (or its own), its duration.
- A trace without an agent span gives one record per inference span (``chat``,
  ``text_completion``, ``generate_content``).
- Messages are read from ``gen_ai.input.messages`` / ``gen_ai.output.messages`` /
  ``gen_ai.system_instructions`` (the current conventions: ``{role, parts: [{type, ...}]}``),
  or from the indexed ``gen_ai.prompt.N.role/content`` and ``gen_ai.completion.N.*``
  attributes older instrumentations write.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from passline.errors import DatasetError
from passline.traffic._record import TrafficRecord, case_input, record_id

AGENT_OPS = ("invoke_agent",)
INFERENCE_OPS = ("chat", "text_completion", "generate_content")
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def looks_like(first: Any) -> bool:
    return isinstance(first, Mapping) and "resourceSpans" in first


def read(path: Path, *, display: str) -> Iterator[TrafficRecord]:
    """Records from an OTLP JSON file (one export request, or one per line)."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    text = path.read_text(encoding="utf-8-sig")
    try:
        docs = [(1, json.loads(text))]
    except json.JSONDecodeError:
        docs = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                docs.append((lineno, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"not valid JSON ({exc.msg}); expected an OTLP JSON export "
                                   "(one ExportTraceServiceRequest, or one per line)",
                                   path=display, line=lineno) from exc
    spans: list[dict[str, Any]] = []
    for lineno, doc in docs:
        if not looks_like(doc):
            raise DatasetError('not an OTLP trace export: no "resourceSpans"', path=display,
                               line=lineno)
        message = ExportTraceServiceRequest()
        try:
            json_format.ParseDict(_ids_to_base64(doc), message, ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            raise DatasetError(f"OTLP JSON does not parse: {exc}", path=display,
                               line=lineno) from exc
        spans += _spans(message)
    yield from _records(spans, display)


def _ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes ids as hex; protobuf's JSON mapping reads bytes as base64."""
    if isinstance(node, list):
        return [_ids_to_base64(x) for x in node]
    if not isinstance(node, Mapping):
        return node
    out = {}
    for key, value in node.items():
        if key in _ID_FIELDS and isinstance(value, str) and value:
            # already base64 (some exporters) stays as it is, for protobuf to read or refuse
            with contextlib.suppress(ValueError):
                value = base64.b64encode(bytes.fromhex(value)).decode("ascii")
        out[key] = _ids_to_base64(value)
    return out


def any_value(value: Any) -> Any:
    """A protobuf ``AnyValue`` as a Python value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return binascii.hexlify(value.bytes_value).decode("ascii")
    return getattr(value, kind)


def _spans(message: Any) -> list[dict[str, Any]]:
    out = []
    for resource_spans in message.resource_spans:
        resource = {kv.key: any_value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                out.append({
                    "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                    "parent_id": span.parent_span_id.hex() or None, "name": span.name,
                    "start_ns": span.start_time_unix_nano, "end_ns": span.end_time_unix_nano,
                    "attrs": {kv.key: any_value(kv.value) for kv in span.attributes},
                    "error": span.status.message or ("error" if span.status.code == 2
                                                     else None),
                    "resource": resource})
    return out


def _op(span: Mapping[str, Any]) -> str:
    op = span["attrs"].get("gen_ai.operation.name")
    return str(op) if op else str(span["name"]).split(" ", 1)[0]


def _records(spans: list[dict[str, Any]], display: str) -> Iterator[TrafficRecord]:
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_trace.setdefault(span["trace_id"], []).append(span)
    for trace_id in by_trace:
        trace = sorted(by_trace[trace_id], key=lambda s: s["start_ns"])
        children: dict[str | None, list[dict[str, Any]]] = {}
        for span in trace:
            children.setdefault(span["parent_id"], []).append(span)
        agents = [s for s in trace if _op(s) in AGENT_OPS]
        # the outermost agent spans are the conversations (a sub-agent is part of one)
        agent_ids = {s["span_id"] for s in agents}
        roots = [s for s in agents if not _has_ancestor(s, agent_ids, trace)]
        if roots:
            for span in roots:
                yield _agent_record(span, _descendants(span, children), display)
        else:
            for span in trace:
                if _op(span) in INFERENCE_OPS:
                    yield _call_record(span, display)


def _has_ancestor(span: Mapping[str, Any], ids: set[str], trace: list[dict[str, Any]]) -> bool:
    parents = {s["span_id"]: s["parent_id"] for s in trace}
    seen: set[str] = set()
    parent = span["parent_id"]
    while parent and parent not in seen:
        if parent in ids:
            return True
        seen.add(parent)
        parent = parents.get(parent)
    return False


def _descendants(span: Mapping[str, Any], children: Mapping[str | None, list[dict[str, Any]]]
                 ) -> list[dict[str, Any]]:
    out, stack = [], list(children.get(span["span_id"], []))
    while stack:
        s = stack.pop()
        out.append(s)
        stack.extend(children.get(s["span_id"], []))
    return sorted(out, key=lambda s: s["start_ns"])


def _json_attr(attrs: Mapping[str, Any], key: str) -> Any:
    value = attrs.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def chat_messages(attrs: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """Messages of ``gen_ai.input.messages`` / ``gen_ai.output.messages`` (parts-based) or the
    indexed ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*`` attributes, in chat-completions
    shape (``role``, ``content``, ``tool_calls``, ``tool_call_id``)."""
    raw = _json_attr(attrs, f"gen_ai.{key}.messages")
    out: list[dict[str, Any]] = []
    if isinstance(raw, list):
        for msg in raw:
            if isinstance(msg, Mapping):
                out += _from_parts(msg)
        return out
    prefix = {"input": "gen_ai.prompt.", "output": "gen_ai.completion."}[key]
    indexed: dict[int, dict[str, Any]] = {}
    for name, value in attrs.items():
        if name.startswith(prefix):
            index, _, field = name[len(prefix):].partition(".")
            if index.isdigit():
                indexed.setdefault(int(index), {})[field] = value
    for position in sorted(indexed):
        entry = indexed[position]
        out.append({"role": str(entry.get("role") or ("user" if key == "input"
                                                       else "assistant")),
                    "content": str(entry.get("content") or "")})
    return out


def _from_parts(msg: Mapping[str, Any]) -> list[dict[str, Any]]:
    role = str(msg.get("role") or "user")
    parts = msg.get("parts")
    if not isinstance(parts, list):  # a chat-completions message already
        return [dict(msg)]
    texts, calls, out = [], [], []
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind == "text":
            texts.append(str(part.get("content") or ""))
        elif kind == "tool_call":
            calls.append({"id": part.get("id"), "type": "function", "function": {
                "name": part.get("name"), "arguments": json.dumps(part.get("arguments") or {})
                if not isinstance(part.get("arguments"), str) else part["arguments"]}})
        elif kind == "tool_call_response":
            response = part.get("response", part.get("result"))
            out.append({"role": "tool", "tool_call_id": part.get("id"),
                        "content": response if isinstance(response, str)
                        else json.dumps(response)})
    if texts or calls or not out:
        message: dict[str, Any] = {"role": role, "content": "".join(texts)}
        if calls:
            message["tool_calls"] = calls
        out.insert(0, message)
    return out


def _usage(spans: list[dict[str, Any]]) -> tuple[int, int]:
    prompt = completion = 0
    for span in spans:
        a = span["attrs"]
        prompt += int(a.get("gen_ai.usage.input_tokens", a.get("gen_ai.usage.prompt_tokens"))
                      or 0)
        completion += int(a.get("gen_ai.usage.output_tokens",
                                a.get("gen_ai.usage.completion_tokens")) or 0)
    return prompt, completion


def _timing(span: Mapping[str, Any]) -> tuple[str | None, float | None]:
    start, end = span["start_ns"], span["end_ns"]
    when = dt.datetime.fromtimestamp(start / 1e9, dt.UTC).isoformat(timespec="seconds") \
        if start else None
    return when, (end - start) / 1e9 if start and end >= start else None


def _model(spans: list[dict[str, Any]]) -> str:
    for span in spans:
        a = span["attrs"]
        model = a.get("gen_ai.response.model") or a.get("gen_ai.request.model")
        if model:
            return str(model)
    return ""


def _meta(span: Mapping[str, Any]) -> dict[str, Any]:
    a = span["attrs"]
    meta = {"trace_id": span["trace_id"], "span_id": span["span_id"]}
    for key, name in (("gen_ai.conversation.id", "conversation_id"),
                      ("gen_ai.agent.name", "agent"), ("service.name", "service"),
                      ("gen_ai.provider.name", "provider"), ("gen_ai.system", "provider")):
        value = a.get(key, span["resource"].get(key))
        if value is not None:
            meta.setdefault(name, value)
    return meta


def _answer(messages: list[dict[str, Any]]) -> str:
    texts = [str(m.get("content") or "") for m in messages if m.get("role") == "assistant"]
    return "\n".join(t for t in texts if t)


def _user(span: Mapping[str, Any]) -> str | None:
    a = span["attrs"]
    value = a.get("user.id") or a.get("enduser.id")
    return str(value) if value else None


def _agent_record(span: dict[str, Any], below: list[dict[str, Any]], display: str
                  ) -> TrafficRecord:
    attrs = span["attrs"]
    inputs = chat_messages(attrs, "input")
    outputs = chat_messages(attrs, "output")
    inference = [s for s in below if _op(s) in INFERENCE_OPS]
    if not inputs and inference:  # the agent span did not record content: its first call did
        inputs = chat_messages(inference[0]["attrs"], "input")
    if not outputs and inference:
        outputs = chat_messages(inference[-1]["attrs"], "output")
    tools = []
    for s in below:
        if _op(s) != "execute_tool":
            continue
        a = s["attrs"]
        args = _json_attr(a, "gen_ai.tool.call.arguments")
        result = _json_attr(a, "gen_ai.tool.call.result")
        tools.append({"name": str(a.get("gen_ai.tool.name") or s["name"].split(" ", 1)[-1]),
                      "arguments": args if isinstance(args, Mapping) else {},
                      "id": a.get("gen_ai.tool.call.id"), "result": result,
                      **({"error": s["error"]} if s["error"] else {})})
    prompt, completion = _usage([span]) if _usage([span]) != (0, 0) else _usage(inference)
    when, latency = _timing(span)
    return TrafficRecord(
        id=record_id("otlp", span["trace_id"], span["span_id"]), source="otlp",
        origin=f"{display}#span:{span['span_id']}",
        input=case_input(inputs, user=_user(span)), answer=_answer(outputs),
        recorded_at=when, model=_model([span, *inference]), tool_calls=tuple(tools),
        prompt_tokens=prompt, completion_tokens=completion, latency_s=latency,
        status="error" if span["error"] else "ok", error=span["error"],
        metadata=_meta(span))


def _call_record(span: dict[str, Any], display: str) -> TrafficRecord:
    from passline.traffic._record import openai_tool_calls, tool_results

    attrs = span["attrs"]
    system = _json_attr(attrs, "gen_ai.system_instructions")
    inputs = chat_messages(attrs, "input")
    if isinstance(system, list):
        text = "".join(str(p.get("content") or "") for p in system if isinstance(p, Mapping))
        inputs.insert(0, {"role": "system", "content": text})
    outputs = chat_messages(attrs, "output")
    calls = [c for m in outputs for c in m.get("tool_calls") or ()]
    prompt, completion = _usage([span])
    when, latency = _timing(span)
    return TrafficRecord(
        id=record_id("otlp", span["trace_id"], span["span_id"]), source="otlp",
        origin=f"{display}#span:{span['span_id']}",
        input=case_input(inputs, user=_user(span)), answer=_answer(outputs),
        recorded_at=when, model=_model([span]),
        tool_calls=openai_tool_calls(calls, tool_results(inputs)),
        request={"messages": inputs}, prompt_tokens=prompt, completion_tokens=completion,
        latency_s=latency, status="error" if span["error"] else "ok", error=span["error"],
        metadata=_meta(span))
