"""Regenerate the sample "production" traffic of docs/production.md.

Not real production data: the reference ops assistant (``agents/``) answers the 24 requests
of ``messages.jsonl`` (written for this example; none is copied from a golden dataset, three
carry made-up contact details so import can show its redaction) on the offline simulator with
``sim-2`` and prompts ``v2`` -- the variant that plays "production" -- and every conversation
is written out the way production telemetry would record it:

``production-spans.json``: OTLP JSON, one ``invoke_agent`` span per conversation with its
``chat`` and ``execute_tool`` spans (OpenTelemetry GenAI semantic conventions). With
``--gateway`` it also writes ``gateway-log.jsonl``: every model call as an OpenAI-compatible
gateway logs it (``{"timestamp", "latency_ms", "request", "response", "metadata"}``; about
0.5 MB, so not shipped).

    python examples/traffic/make_traffic.py        # from the repository root
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
AGENT = "agents.orchestrator:ops_assistant"
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


def _s(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _i(key: str, value: int) -> dict[str, Any]:
    return {"key": key, "value": {"intValue": str(value)}}


def _hex(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "text", "content": str(message.get("content") or "")}]


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from passline._types import Case, Variant
    from passline.runner import Job, Runner
    from passline.settings import Settings

    rows = [json.loads(line) for line in (HERE / "messages.jsonl").read_text().splitlines()
            if line.strip()]
    settings = Settings.resolve({"model": "sim-2", "prompts": "v2", "cache": "off"},
                                root=ROOT)
    variant = Variant("production", "sim-2", "v2")
    with tempfile.TemporaryDirectory() as work:
        runner = Runner(settings, workdir=Path(work))
        try:
            jobs = []
            for i, row in enumerate(rows):
                case_input = {k: v for k, v in row.items() if k != "tags"}
                jobs.append(Job(AGENT, Case(f"t{i:03d}", case_input, dataset="sample",
                                            version="1"), 0, variant))
            results = [(job, runner.result(job, timeout_s=600)) for job in jobs]
            calls = {job.key: runner.take_calls(job) for job, _ in results}
        finally:
            runner.close()

    spans: list[dict[str, Any]] = []
    gateway: list[str] = []
    for i, ((job, run), row) in enumerate(zip(results, rows, strict=True)):
        begin = START + dt.timedelta(minutes=7 * i)
        t0 = int(begin.timestamp() * 1e9)
        trace_id, agent_id = _hex(f"trace{i}", 32), _hex(f"agent{i}", 16)
        captured = calls[job.key].ordered_calls() if calls[job.key] is not None else []
        user = {"role": "user", "parts": _parts({"content": row["message"]})}
        attrs = [_s("gen_ai.operation.name", "invoke_agent"),
                 _s("gen_ai.agent.name", "ops-assistant"),
                 _s("gen_ai.request.model", "sim-2"),
                 _s("gen_ai.conversation.id", f"conv-{i:03d}"),
                 _s("gen_ai.input.messages", json.dumps([user])),
                 _s("gen_ai.output.messages", json.dumps([
                     {"role": "assistant", "parts": _parts({"content": run.answer}),
                      "finish_reason": "stop"}]))]
        if row.get("user_id"):
            attrs.append(_s("user.id", row["user_id"]))
        for tag in row.get("tags") or ():
            key, _, value = tag.partition(":")
            attrs.append(_s(f"app.{key}", value))
        total = max(run.latency_s, 0.001)
        spans.append({"traceId": trace_id, "spanId": agent_id, "name": "invoke_agent "
                      "ops-assistant", "kind": 1, "startTimeUnixNano": str(t0),
                      "endTimeUnixNano": str(t0 + int(total * 1e9)), "attributes": attrs,
                      "status": {"code": 2, "message": run.error} if run.error else {}})
        offset = 0
        for n, call in enumerate(captured):
            start = t0 + offset
            dur = int(max(call.latency_s, 0.0005) * 1e9)
            offset += dur
            spans.append({"traceId": trace_id, "spanId": _hex(f"chat{i}.{n}", 16),
                          "parentSpanId": agent_id, "name": f"chat {call.model}", "kind": 3,
                          "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + dur),
                          "attributes": [_s("gen_ai.operation.name", "chat"),
                                         _s("gen_ai.request.model", call.model),
                                         _i("gen_ai.usage.input_tokens",
                                            call.usage.prompt_tokens),
                                         _i("gen_ai.usage.output_tokens",
                                            call.usage.completion_tokens)], "status": {}})
            stamp = (begin + dt.timedelta(seconds=offset / 1e9)).isoformat(
                timespec="milliseconds").replace("+00:00", "Z")
            gateway.append(json.dumps({
                "timestamp": stamp, "latency_ms": round(call.latency_s * 1000, 1),
                "request": dict(call.request), "response": dict(call.response or {}),
                "metadata": {"trace_id": trace_id, "tags": list(row.get("tags") or ())}}))
        for n, tool in enumerate(run.tool_calls):
            start = t0 + offset + n * 1000
            spans.append({"traceId": trace_id, "spanId": _hex(f"tool{i}.{n}", 16),
                          "parentSpanId": agent_id, "name": f"execute_tool {tool.name}",
                          "kind": 1, "startTimeUnixNano": str(start),
                          "endTimeUnixNano": str(start + 500),
                          "attributes": [_s("gen_ai.operation.name", "execute_tool"),
                                         _s("gen_ai.tool.name", tool.name),
                                         _s("gen_ai.tool.call.id", str(tool.id or f"call_{n}")),
                                         _s("gen_ai.tool.call.arguments",
                                            json.dumps(dict(tool.arguments), default=str)),
                                         _s("gen_ai.tool.call.result",
                                            json.dumps(tool.result, default=str))],
                          "status": {"code": 2, "message": tool.error} if tool.error else {}})
    doc = {"resourceSpans": [{"resource": {"attributes": [_s("service.name", "ops-assistant"),
                                                          _s("deployment.environment",
                                                             "production")]},
                              "scopeSpans": [{"scope": {"name": "ops-assistant.telemetry"},
                                              "spans": spans}]}]}
    (HERE / "production-spans.json").write_text(json.dumps(doc, indent=1) + "\n")
    if "--gateway" in sys.argv[1:]:
        (HERE / "gateway-log.jsonl").write_text("\n".join(gateway) + "\n")
    print(f"{len(rows)} conversations, {len(spans)} spans, {len(gateway)} model calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
