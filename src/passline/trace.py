"""Tracing for agents: every LLM call, tool call and worker step becomes a :class:`Span`.

Spans nest through a context variable, so concurrent asyncio tasks each keep their own
parent. Attributes pass through an optional ``redact`` function before they are stored (PII
never reaches a run record). ``export_otel`` replays finished spans into OpenTelemetry when
``opentelemetry-sdk`` is installed (``pip install passline[otel]``).

>>> tracer = Tracer()
>>> with tracer.span("agent", "orchestrator") as root:
...     with tracer.span("tool", "get_order", arguments={"order_id": "ORD-10001"}) as s:
...         s.set(result_size=3)
>>> [s.name for s in tracer.spans()]
['get_order', 'orchestrator']
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from passline._types import Span, Usage

Redactor = Callable[[Any], Any]
MAX_ATTRIBUTE_CHARS = 4000  # long tool outputs are clipped in traces, not in the run


class OpenSpan:
    """A span being recorded; ``set`` adds attributes, ``add_usage`` tokens and cost."""

    __slots__ = ("attributes", "kind", "name", "parent_id", "span_id", "start_s", "status",
                 "usage")

    def __init__(self, span_id: str, parent_id: str | None, kind: str, name: str,
                 start_s: float, attributes: dict[str, Any]) -> None:
        self.span_id = span_id
        self.parent_id = parent_id
        self.kind = kind
        self.name = name
        self.start_s = start_s
        self.status = "ok"
        self.usage = Usage()
        self.attributes = attributes

    def set(self, **attributes: Any) -> None:
        self.attributes.update(attributes)

    def add_usage(self, usage: Usage) -> None:
        self.usage = self.usage + usage


class Tracer:
    """Collects the spans of one agent run."""

    def __init__(self, *, redact: Redactor | None = None, clock: Callable[[], float] | None = None
                 ) -> None:
        self._redact = redact
        self._clock = clock or time.perf_counter
        self._origin = self._clock()
        self._ids = itertools.count(1)
        self._current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
            f"passline-span-{id(self)}", default=None)
        self._finished: list[Span] = []
        self._open: dict[str, OpenSpan] = {}
        self._lock = threading.Lock()  # sync agents may record from several threads

    @contextlib.contextmanager
    def span(self, kind: str, name: str, **attributes: Any) -> Iterator[OpenSpan]:
        """Record a span around the block; an exception marks it ``error`` and propagates."""
        span = OpenSpan(f"s{next(self._ids)}", self._current.get(), str(kind), name,
                        self._clock() - self._origin, dict(attributes))
        token = self._current.set(span.span_id)
        self._open[span.span_id] = span
        try:
            yield span
        except BaseException as exc:
            span.status = "error"
            span.attributes.setdefault("error", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._current.reset(token)
            self._finish(span)

    def current_id(self) -> str | None:
        """The id of the span open in this context (``None`` at top level)."""
        return self._current.get()

    def now(self) -> float:
        """Seconds since this tracer started: the clock spans are placed on."""
        return self._clock() - self._origin

    def set_redactor(self, redact: Redactor | None) -> None:
        """Pass every attribute recorded from now on through ``redact`` (e.g. PII removal)."""
        self._redact = redact

    def add(self, kind: str, name: str, start_s: float, end_s: float, *,
            parent_id: str | None = None, usage: Usage | None = None, status: str = "ok",
            attributes: Mapping[str, Any] | None = None) -> str:
        """Record a span that has already finished (e.g. a model call seen on the wire) under
        ``parent_id``; its usage is added to the parent's, as for nested spans. Returns the
        new span's id."""
        span = OpenSpan(f"s{next(self._ids)}", parent_id, str(kind), name, start_s,
                        dict(attributes or {}))
        span.status = status
        if usage is not None:
            span.usage = usage
        self._finish(span, end_s=end_s)
        return span.span_id

    def event(self, kind: str, name: str, *, usage: Usage | None = None, status: str = "ok",
              **attributes: Any) -> None:
        """Record an instantaneous span (e.g. a guardrail decision) under the current span."""
        now = self._clock() - self._origin
        span = OpenSpan(f"s{next(self._ids)}", self._current.get(), str(kind), name, now,
                        dict(attributes))
        span.status = status
        if usage is not None:
            span.usage = usage
        self._finish(span)

    def _finish(self, span: OpenSpan, *, end_s: float | None = None) -> None:
        with self._lock:
            self._open.pop(span.span_id, None)
            parent = self._open.get(span.parent_id or "")
            if parent is not None:  # parents show the tokens and cost of everything below
                parent.usage = parent.usage + span.usage
        attributes = {k: _clip(self._redact(v) if self._redact else v)
                      for k, v in span.attributes.items()}
        end = self._clock() - self._origin if end_s is None else end_s
        self._finished.append(Span(span.span_id, span.parent_id, span.kind, span.name,
                                   span.start_s, end, span.status, span.usage, attributes))

    def spans(self) -> tuple[Span, ...]:
        """Finished spans in completion order (children before parents)."""
        return tuple(self._finished)


def span_tree(spans: Sequence[Span]) -> list[tuple[int, Span]]:
    """(depth, span) in depth-first start order: how reports draw a trace."""
    children: dict[str | None, list[Span]] = {}
    ids = {s.span_id for s in spans}
    for s in sorted(spans, key=lambda s: (s.start_s, s.span_id)):
        parent = s.parent_id if s.parent_id in ids else None
        children.setdefault(parent, []).append(s)
    out: list[tuple[int, Span]] = []

    def walk(parent: str | None, depth: int) -> None:
        for child in children.get(parent, []):
            out.append((depth, child))
            walk(child.span_id, depth + 1)

    walk(None, 0)
    return out


def rollup_usage(spans: Sequence[Span], kind: str = "llm") -> Usage:
    """Total usage of the spans of one kind. LLM spans carry the tokens and cost; every
    other span shows the total of its subtree, so sum one kind only."""
    total = Usage()
    for s in spans:
        if s.kind == kind:
            total = total + s.usage
    return total


def export_otel(spans: Sequence[Span], *, service_name: str = "passline-agent",
                tracer_provider: Any = None, attributes: Mapping[str, Any] | None = None) -> int:
    """Replay finished spans into OpenTelemetry; returns how many were exported.

    Needs ``opentelemetry-sdk``; raises :class:`~passline.errors.ConfigError` with the install
    command when it is missing.
    """
    try:
        from opentelemetry import trace as otel_trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError as exc:
        from passline.errors import ConfigError

        raise ConfigError("exporting traces needs opentelemetry-sdk: "
                          "pip install 'passline[otel]'") from exc
    provider = tracer_provider or TracerProvider(
        resource=Resource.create({"service.name": service_name}))
    otel_tracer = provider.get_tracer("passline")
    base_ns = time.time_ns()
    contexts: dict[str, Any] = {}
    count = 0
    for span in sorted(spans, key=lambda s: (s.start_s, s.span_id)):
        parent = contexts.get(span.parent_id) if span.parent_id else None
        ctx = otel_trace.set_span_in_context(parent) if parent is not None else None
        otel_span = otel_tracer.start_span(
            span.name, context=ctx, start_time=base_ns + int(span.start_s * 1e9),
            attributes={"passline.kind": span.kind, **_otel_attrs(attributes or {}),
                        **_otel_attrs(span.attributes),
                        "gen_ai.usage.input_tokens": span.usage.prompt_tokens,
                        "gen_ai.usage.output_tokens": span.usage.completion_tokens,
                        "passline.cost_usd": span.usage.cost_usd})
        if span.status == "error":
            otel_span.set_status(otel_trace.Status(otel_trace.StatusCode.ERROR))
        otel_span.end(end_time=base_ns + int(span.end_s * 1e9))
        contexts[span.span_id] = otel_span
        count += 1
    return count


def _otel_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in attrs.items():
        out[f"passline.{k}"] = v if isinstance(v, (str, bool, int, float)) else repr(v)[:1000]
    return out


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_ATTRIBUTE_CHARS:
        extra = len(value) - MAX_ATTRIBUTE_CHARS
        return value[:MAX_ATTRIBUTE_CHARS] + f"... [{extra} chars clipped]"
    return value
