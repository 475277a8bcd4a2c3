"""Tracing: nesting across asyncio tasks, redaction, usage roll-up, OpenTelemetry export."""

from __future__ import annotations

import asyncio

import pytest

from passline._types import Usage
from passline.trace import Tracer, export_otel, rollup_usage, span_tree


def test_spans_nest_per_task_and_parents_roll_up_usage() -> None:
    tracer = Tracer()

    async def worker(name: str) -> None:
        with tracer.span("worker", name):
            await asyncio.sleep(0.001)
            with tracer.span("llm", f"{name}.llm") as span:
                span.add_usage(Usage(10, 5, 0.001, 1))
                await asyncio.sleep(0.001)

    async def main() -> None:
        with tracer.span("agent", "root"):
            await asyncio.gather(worker("a"), worker("b"))  # interleaved, still well nested

    asyncio.run(main())
    spans = {s.name: s for s in tracer.spans()}
    assert spans["a.llm"].parent_id == spans["a"].span_id
    assert spans["b.llm"].parent_id == spans["b"].span_id
    assert spans["a"].parent_id == spans["b"].parent_id == spans["root"].span_id
    assert spans["root"].usage.total_tokens == 30 and spans["a"].usage.total_tokens == 15
    # llm spans only: summing every span would count the tokens three times
    assert rollup_usage(tracer.spans()).cost_usd == pytest.approx(0.002)
    assert [(d, s.name) for d, s in span_tree(tracer.spans())] == [
        (0, "root"), (1, "a"), (2, "a.llm"), (1, "b"), (2, "b.llm")]


def test_errors_mark_the_span_and_attributes_are_redacted_and_clipped() -> None:
    tracer = Tracer(redact=lambda v: v.replace("ana@example.com", "[EMAIL]")
                    if isinstance(v, str) else v)
    try:
        with tracer.span("tool", "lookup", query="mail ana@example.com", blob="x" * 10_000):
            raise ValueError("boom")
    except ValueError:
        pass
    (span,) = tracer.spans()
    assert span.status == "error" and "ValueError: boom" in span.attributes["error"]
    assert span.attributes["query"] == "mail [EMAIL]"
    assert len(span.attributes["blob"]) < 5_000 and "clipped" in span.attributes["blob"]


def test_export_to_opentelemetry_keeps_the_tree_and_the_tokens() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    tracer = Tracer()
    with tracer.span("agent", "root"), tracer.span("llm", "planner") as llm:
        llm.add_usage(Usage(100, 20, 0.0004, 1))
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    assert export_otel(tracer.spans(), tracer_provider=provider) == 2
    exported = {s.name: s for s in exporter.get_finished_spans()}
    assert exported["planner"].parent.span_id == exported["root"].context.span_id
    assert exported["planner"].attributes["gen_ai.usage.input_tokens"] == 100
    assert exported["planner"].attributes["passline.kind"] == "llm"
