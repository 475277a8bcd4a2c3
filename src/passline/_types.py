"""Records shared by every stage: cases in, agent runs and scores out.

These are the nouns of the pipeline (golden -> runner -> models -> trace -> scoring ->
records -> compare -> report). They are frozen, JSON-serialisable through
``to_dict``/``from_dict``, and carry no behaviour beyond small conveniences.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

SCHEMA_VERSION = 1


@dataclasses.dataclass(frozen=True, slots=True)
class Usage:
    """Token and cost accounting for one call or summed over many."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    cached_calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cost_usd + other.cost_usd,
            self.calls + other.calls,
            self.cached_calls + other.cached_calls,
        )

    def to_dict(self) -> dict[str, Any]:
        # spelled out: dataclasses.asdict deep-copies each field, and this runs per call
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "cost_usd": self.cost_usd, "calls": self.calls,
                "cached_calls": self.cached_calls}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})


@dataclasses.dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool invocation on an agent's trajectory: name, parsed arguments, outcome."""

    name: str
    arguments: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    id: str | None = None
    result: Any = None
    error: str | None = None
    worker: str | None = None  # which worker made the call (None: the orchestrator)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arguments": dict(self.arguments),
            "id": self.id,
            "result": self.result,
            "error": self.error,
            "worker": self.worker,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        return cls(
            name=data["name"],
            arguments=dict(data.get("arguments") or {}),
            id=data.get("id"),
            result=data.get("result"),
            error=data.get("error"),
            worker=data.get("worker"),
        )


class SpanKind(enum.StrEnum):
    AGENT = "agent"
    WORKER = "worker"
    LLM = "llm"
    TOOL = "tool"
    GUARDRAIL = "guardrail"
    STEP = "step"


@dataclasses.dataclass(frozen=True, slots=True)
class Span:
    """One unit of work in a trace; ``parent_id`` links spans into a tree."""

    span_id: str
    parent_id: str | None
    kind: str
    name: str
    start_s: float  # seconds since the run started
    end_s: float
    status: str = "ok"  # ok | error
    usage: Usage = dataclasses.field(default_factory=Usage)
    attributes: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "span_id": self.span_id,
            "parent_id": self.parent_id,
            "kind": str(self.kind),
            "name": self.name,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "status": self.status,
            "usage": self.usage.to_dict(),
            "attributes": dict(self.attributes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Span:
        return cls(
            span_id=data["span_id"],
            parent_id=data.get("parent_id"),
            kind=data["kind"],
            name=data["name"],
            start_s=data["start_s"],
            end_s=data["end_s"],
            status=data.get("status", "ok"),
            usage=Usage.from_dict(data.get("usage") or {}),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class CaptureSummary:
    """What passline saw of a run's model calls, whatever client made them.

    ``usage`` is what went over the wire; ``reported_usage`` what the agent put in its own
    ``AgentRun.usage`` (``None`` when it left it empty and passline filled it in);
    ``mismatch`` says how the two differ. ``system_prompts`` and ``tools`` reference the
    run record's prompt ledger (``manifest.captured_prompts``) by hash.
    """

    calls: int = 0
    failed_attempts: int = 0
    retries: int = 0
    cached_calls: int = 0
    usage: Usage = dataclasses.field(default_factory=Usage)
    call_latency_s: float = 0.0
    usage_estimated: bool = False
    models: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    system_prompts: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    reported_usage: Usage | None = None
    mismatch: str | None = None
    replay_misses: tuple[str, ...] = ()
    tool_calls_from: str | None = None  # "captured": the trajectory was read off the calls

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["usage"] = self.usage.to_dict()
        data["reported_usage"] = self.reported_usage.to_dict() if self.reported_usage else None
        for key in ("models", "endpoints", "system_prompts", "tools", "replay_misses"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaptureSummary:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["usage"] = Usage.from_dict(data.get("usage") or {})
        reported = data.get("reported_usage")
        values["reported_usage"] = Usage.from_dict(reported) if reported else None
        for key in ("models", "endpoints", "system_prompts", "tools", "replay_misses"):
            values[key] = tuple(data.get(key) or ())
        return cls(**values)


class RunStatus(enum.StrEnum):
    """How an agent run ended. Every run ends as one of these, never as a hang."""

    OK = "ok"
    GUARDRAIL = "guardrail"  # a circuit breaker stopped it (a controlled, reported stop)
    REFUSED = "refused"  # the agent declined (e.g. the critic rejected the answer)
    ERROR = "error"  # infrastructure or agent failure
    TIMEOUT = "timeout"


@dataclasses.dataclass(frozen=True, slots=True)
class AgentRun:
    """What an agent returns for one case: the thing every scorer reads.

    >>> AgentRun("Refund issued.", tool_calls=(ToolCall("issue_refund", {"order_id": "ORD-1"}),))
    AgentRun(answer='Refund issued.', ...)
    """

    answer: str
    tool_calls: tuple[ToolCall, ...] = ()
    state_changes: tuple[Mapping[str, Any], ...] = ()
    trace: tuple[Span, ...] = ()
    usage: Usage = dataclasses.field(default_factory=Usage)
    status: str = RunStatus.OK
    error: str | None = None
    guardrail: str | None = None
    latency_s: float = 0.0
    steps: int = 0
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    capture: CaptureSummary | None = None  # filled by passline, not by the agent

    def __repr__(self) -> str:
        return (
            f"AgentRun(status={str(self.status)!r}, answer={self.answer[:60]!r}, "
            f"tool_calls={[t.name for t in self.tool_calls]}, cost=${self.usage.cost_usd:.5f})"
        )

    @property
    def tool_names(self) -> list[str]:
        return [t.name for t in self.tool_calls]

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "tool_calls": [t.to_dict() for t in self.tool_calls],
            "state_changes": [dict(s) for s in self.state_changes],
            "trace": [s.to_dict() for s in self.trace],
            "usage": self.usage.to_dict(),
            "status": str(self.status),
            "error": self.error,
            "guardrail": self.guardrail,
            "latency_s": self.latency_s,
            "steps": self.steps,
            "metadata": dict(self.metadata),
            "capture": self.capture.to_dict() if self.capture is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AgentRun:
        return cls(
            answer=data.get("answer", ""),
            tool_calls=tuple(ToolCall.from_dict(t) for t in data.get("tool_calls") or ()),
            state_changes=tuple(dict(s) for s in data.get("state_changes") or ()),
            trace=tuple(Span.from_dict(s) for s in data.get("trace") or ()),
            usage=Usage.from_dict(data.get("usage") or {}),
            status=data.get("status", RunStatus.OK),
            error=data.get("error"),
            guardrail=data.get("guardrail"),
            latency_s=data.get("latency_s", 0.0),
            steps=data.get("steps", 0),
            metadata=dict(data.get("metadata") or {}),
            capture=CaptureSummary.from_dict(data["capture"]) if data.get("capture") else None,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Case:
    """One golden-dataset row: the input given to the agent and what is expected of it."""

    id: str
    input: Mapping[str, Any]
    expected: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    tags: tuple[str, ...] = ()
    dataset: str = ""
    version: str = ""
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``dataset@version:id``, the id used in test names and reports."""
        return f"{self.dataset}@{self.version}:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "input": dict(self.input),
            "expected": dict(self.expected),
            "tags": list(self.tags),
            "dataset": self.dataset,
            "version": self.version,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Case:
        return cls(
            id=data["id"],
            input=dict(data.get("input") or {}),
            expected=dict(data.get("expected") or {}),
            tags=tuple(data.get("tags") or ()),
            dataset=data.get("dataset", ""),
            version=str(data.get("version", "")),
            metadata=dict(data.get("metadata") or {}),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Score:
    """A scorer's verdict on one run: value in [0, 1], pass/fail and why."""

    name: str
    value: float
    passed: bool
    explanation: str = ""
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.value <= 1.0:
            raise ValueError(f"Score {self.name!r}: value {self.value} is outside [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "passed": self.passed,
            "explanation": self.explanation,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Score:
        return cls(
            name=data["name"],
            value=float(data["value"]),
            passed=bool(data["passed"]),
            explanation=data.get("explanation", ""),
            details=dict(data.get("details") or {}),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Variant:
    """What is being evaluated: a model, a prompt version and sampling parameters."""

    name: str
    model: str
    prompts: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        # the name becomes a folder name (reports/runs/<session>-<name>): same rule as
        # baseline names, so it can never climb out of the run dir or carry markup
        from passline._paths import check_name

        check_name(self.name, "variant name", example="base or cand-2")

    @classmethod
    def parse(cls, spec: str) -> Variant:
        """Parse ``NAME=MODEL:PROMPTS`` (as given to ``--passline-variant``)."""
        from passline.errors import ConfigError

        name, sep, rest = spec.partition("=")
        model, sep2, prompts = rest.rpartition(":")
        if not sep or not sep2 or not name or not model or not prompts:
            raise ConfigError(
                f"variant {spec!r} is not NAME=MODEL:PROMPTS; "
                "write e.g. --passline-variant base=sim-1:v1"
            )
        return cls(name=name.strip(), model=model.strip(), prompts=prompts.strip())

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "prompts": self.prompts,
                "params": dict(self.params)}


@dataclasses.dataclass(frozen=True)
class AgentContext:
    """Everything an agent receives besides the case input.

    ``model`` and ``prompts`` name the variant under test. Model calls are captured however
    they are made: through ``client`` (passline's :class:`passline.models.ModelClient`), or
    through any ``openai``/LangChain/Agents-SDK/LiteLLM client the agent builds itself --
    built without a base URL (or with ``base_url``/``api_key`` from here), such a client
    reaches the variant's endpoint. ``tracer`` is this run's trace: spans the agent opens
    on it hold the captured model calls made inside them.
    """

    model: str
    prompts: str
    client: Any  # passline.models.ModelClient; Any here to keep this module import-light
    trial: int = 0
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    workdir: str | None = None  # a private directory for this run's state (world copy, journal)
    run_key: str = ""  # stable id of (case, trial, variant); keys the durable journal
    tracer: Any = None  # passline.trace.Tracer of this run (None outside passline's runner)
    base_url: str = ""  # for clients built by the agent: passline routes it per model
    api_key: str = dataclasses.field(default="", repr=False)  # goes with base_url


@runtime_checkable
class Agent(Protocol):
    """The agent protocol: an async callable from a case input to an AgentRun."""

    async def __call__(self, case_input: Mapping[str, Any], ctx: AgentContext) -> AgentRun: ...
