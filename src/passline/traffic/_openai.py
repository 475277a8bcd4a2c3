"""OpenAI chat-completions request/response logs (JSONL), as proxies and gateways write them.

One line is one model call. Accepted shapes (docs/production.md lists them):

- ``{"request": {...}, "response": {...}}`` -- the request body sent to
  ``/v1/chat/completions`` and the completion received, optionally with ``timestamp`` /
  ``created_at``, ``latency_ms`` / ``latency_s`` / ``duration_ms``, ``metadata``, ``tags``,
  ``user``; each side may be wrapped as ``{"body": {...}}`` (Helicone/Portkey-style logs).
  passline's own ``calls.jsonl`` has this shape too.
- LiteLLM's standard logging payload and proxy spend logs: ``messages``, ``response``,
  ``model``, ``startTime``/``endTime``, ``prompt_tokens``/``completion_tokens``,
  ``response_cost`` (or ``spend``), ``metadata`` (``tags``), ``end_user``/``user``,
  ``status``/``error_str``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from passline.capture._calls import response_text, response_tool_calls
from passline.errors import DatasetError
from passline.traffic._record import (
    TrafficRecord,
    case_input,
    openai_tool_calls,
    record_id,
    tool_results,
)

REQUEST_FIELDS_KEPT = ("messages", "tools", "tool_choice", "response_format", "temperature",
                       "top_p", "max_tokens", "max_completion_tokens", "seed", "stop",
                       "parallel_tool_calls")


def looks_like(first: Mapping[str, Any]) -> bool:
    """Whether a parsed line is in one of the accepted chat-completions log shapes."""
    req = _unwrap(first.get("request"))
    return (isinstance(req, Mapping) and isinstance(req.get("messages"), list)) or (
        isinstance(first.get("messages"), list) and "response" in first)


def read(path: Path, *, display: str, group: bool = True) -> Iterator[TrafficRecord]:
    """Records of a chat-completions JSONL log; a bad line is a DatasetError with file:line.
    With ``group``, the calls of one agent invocation (lines sharing a ``trace_id``, top-level
    or in ``metadata``) become one conversation (:func:`conversation`)."""
    calls = list(_read_lines(path, display=display))
    if not group:
        yield from (r for r, _ in calls)
        return
    traces: dict[str, list[TrafficRecord]] = {}
    order: list[str | TrafficRecord] = []
    for record, trace in calls:
        if trace is None:
            order.append(record)
            continue
        if trace not in traces:
            traces[trace] = []
            order.append(trace)
        traces[trace].append(record)
    for item in order:
        if isinstance(item, TrafficRecord):
            yield item
        else:
            parts = traces[item]
            yield parts[0] if len(parts) == 1 else conversation(item, parts)


def conversation(trace: str, calls: Sequence[TrafficRecord]) -> TrafficRecord:
    """One agent invocation from its model calls, in the order logged: the input of the last
    call's conversation (its last user message and the turns before it), the last call's
    answer, every tool call the model asked for (results joined from the tool messages sent
    back), tokens and cost summed, the time of the first call, the span from the first call's
    start to the last one's end when timestamps allow (else the sum of call latencies)."""
    last = calls[-1]
    results = tool_results(list((last.request or {}).get("messages") or ()))
    tools = []
    for call in calls:
        for tc in call.tool_calls:
            entry = dict(tc)
            if entry.get("id") in results and "result" not in entry:
                entry["result"] = results[entry["id"]]
            tools.append(entry)
    costs = [c.cost_usd for c in calls]
    latencies = [c.latency_s for c in calls if c.latency_s is not None]
    start, end = to_datetime(calls[0].recorded_at), to_datetime(last.recorded_at)
    latency = sum(latencies) if latencies else None
    if start is not None and end is not None and last.latency_s is not None:
        latency = max(latency or 0.0, (end - start).total_seconds() + last.latency_s)
    models = [c.model for c in calls if c.model]
    errors = [c.error for c in calls if c.error]
    tags = tuple(dict.fromkeys(t for c in calls for t in c.tags))
    return TrafficRecord(
        id=record_id("openai-trace", trace, [c.id for c in calls]), source="openai",
        origin=f"{calls[0].origin}..{last.origin.rpartition(':')[2]}",
        input=dict(last.input), answer=last.answer, recorded_at=calls[0].recorded_at,
        model=max(set(models), key=models.count) if models else "", tool_calls=tuple(tools),
        request=None, prompt_tokens=sum(c.prompt_tokens for c in calls),
        completion_tokens=sum(c.completion_tokens for c in calls),
        cost_usd=None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
        latency_s=latency, status="error" if last.status == "error" else "ok",
        error=errors[-1] if errors else None, tags=tags,
        metadata={**dict(last.metadata), "trace_id": trace, "calls": len(calls)})


def _read_lines(path: Path, *, display: str) -> Iterator[tuple[TrafficRecord, str | None]]:
    with path.open(encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"not valid JSON ({exc.msg}); one JSON object per line "
                                   "expected", path=display, line=lineno) from exc
            if not isinstance(entry, Mapping) or not looks_like(entry):
                raise DatasetError(
                    "not a chat-completions log line: expected {\"request\": {\"messages\": "
                    "[...]}, \"response\": {...}} or a LiteLLM payload with \"messages\" and "
                    "\"response\" (docs/production.md, 'Traffic formats')",
                    path=display, line=lineno)
            meta = entry.get("metadata")
            trace = entry.get("trace_id") or (meta.get("trace_id") if isinstance(meta, Mapping)
                                              else None)
            yield _record(entry, f"{display}:{lineno}"), str(trace) if trace else None


def _unwrap(value: Any) -> Any:
    if isinstance(value, Mapping) and isinstance(value.get("body"), Mapping) and \
            "messages" not in value and "choices" not in value:
        return value["body"]
    if isinstance(value, str):  # some gateways log bodies as JSON text
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _record(entry: Mapping[str, Any], origin: str) -> TrafficRecord:
    litellm = "request" not in entry
    request = dict(_unwrap(entry.get("request")) or {}) if not litellm else {
        "model": entry.get("model"), "messages": entry.get("messages"),
        **dict(entry.get("model_parameters") or {})}
    response = _unwrap(entry.get("response"))
    metadata = dict(entry.get("metadata") or {}) if isinstance(entry.get("metadata"),
                                                               Mapping) else {}
    messages = [m for m in request.get("messages") or [] if isinstance(m, Mapping)]
    if isinstance(response, Mapping):
        answer = response_text(response)
        calls = response_tool_calls(response)
        usage = response.get("usage") if isinstance(response.get("usage"), Mapping) else {}
        response_model = response.get("model")
    else:  # a plain-text response
        answer, calls, usage, response_model = str(response or ""), [], {}, None
    usage = usage or {}
    if isinstance(entry.get("usage"), Mapping):  # passline's calls.jsonl: usage beside it
        usage = {**usage, **entry["usage"]}
    prompt = _int(usage.get("prompt_tokens", entry.get("prompt_tokens")))
    completion = _int(usage.get("completion_tokens", entry.get("completion_tokens")))
    cost = entry.get("response_cost", entry.get("spend", usage.get("cost_usd")))
    user = entry.get("end_user") or entry.get("user") or request.get("user")
    error = entry.get("error_str") or entry.get("error")
    status = "error" if (error or str(entry.get("status", "success")).lower()
                         in ("failure", "error")) else "ok"
    tags = _tags(entry, metadata)
    source_id = (entry.get("id") or entry.get("request_id") or entry.get("litellm_call_id")
                 or (response.get("id") if isinstance(response, Mapping) else None))
    recorded_at = _timestamp(entry, response)
    kept = {k: request[k] for k in REQUEST_FIELDS_KEPT if request.get(k) is not None}
    return TrafficRecord(
        id=record_id("openai", source_id or [request, recorded_at, answer]),
        source="openai", origin=origin,
        input=case_input(messages, user=user), answer=answer, recorded_at=recorded_at,
        model=str(response_model or request.get("model") or entry.get("model") or ""),
        tool_calls=openai_tool_calls(calls, tool_results(messages)), request=kept,
        prompt_tokens=prompt, completion_tokens=completion,
        cost_usd=float(cost) if isinstance(cost, int | float) else None,
        latency_s=_latency(entry), status=status, error=str(error) if error else None,
        tags=tags, metadata={k: v for k, v in metadata.items() if k != "tags"})


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _tags(entry: Mapping[str, Any], metadata: Mapping[str, Any]) -> tuple[str, ...]:
    raw = entry.get("tags") or entry.get("request_tags") or metadata.get("tags") or []
    if isinstance(raw, str):
        raw = [raw]
    return tuple(str(t).replace(" ", "-") for t in raw if str(t).strip())


def _timestamp(entry: Mapping[str, Any], response: Any) -> str | None:
    for key in ("timestamp", "created_at", "startTime", "start_time", "time"):
        value = entry.get(key)
        if value not in (None, ""):
            return iso(value)
    if isinstance(response, Mapping) and isinstance(response.get("created"), int | float):
        return iso(response["created"])
    return None


def _latency(entry: Mapping[str, Any]) -> float | None:
    for key, scale in (("latency_s", 1.0), ("latency_ms", 1e-3), ("duration_ms", 1e-3),
                       ("response_time", 1.0)):
        if isinstance(entry.get(key), int | float):
            return float(entry[key]) * scale
    start, end = entry.get("startTime"), entry.get("endTime")
    if start is not None and end is not None:
        a, b = to_datetime(start), to_datetime(end)
        if a is not None and b is not None:
            return max(0.0, (b - a).total_seconds())
    return None


def to_datetime(value: Any) -> dt.datetime | None:
    """A timestamp (ISO text, unix seconds, milliseconds or nanoseconds) as aware UTC."""
    if isinstance(value, int | float) or (isinstance(value, str) and
                                          value.replace(".", "", 1).isdigit()):
        number = float(value)
        while number > 1e11:  # ms, us or ns since the epoch
            number /= 1000.0
        return dt.datetime.fromtimestamp(number, dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def iso(value: Any) -> str | None:
    """A timestamp as ISO 8601 UTC text (seconds), or None when it does not parse."""
    parsed = to_datetime(value)
    return parsed.astimezone(dt.UTC).isoformat(timespec="seconds") if parsed else None
