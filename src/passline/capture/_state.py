"""Who a model call belongs to: the capture session, and the case whose agent is running.

A :class:`CaptureSession` lives as long as an eval session: it installs the HTTP hooks,
points clients that an agent builds itself at passline (``OPENAI_BASE_URL``), and owns the
routing, the cache and one :class:`PromptLedger` per variant. A :class:`CaseCapture` lives
as long as one agent run; a context variable makes it current for everything the agent
does, so concurrent cases (asyncio tasks, ``to_thread`` workers) never mix their calls.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from passline._types import AgentRun, CaptureSummary, RunStatus, Usage
from passline.capture._calls import CapturedCall, total_usage, trajectory
from passline.capture._ledger import PromptLedger

if TYPE_CHECKING:
    from passline.models import Endpoint, ModelClient, ResponseCache
    from passline.settings import Settings
    from passline.trace import Tracer

log = logging.getLogger(__name__)

# Clients an agent builds without a base URL talk to this address; passline routes each
# request to the endpoint of the model it names (the variant's, normally). ".invalid" can
# never resolve, so a request that escapes the hooks fails instead of going anywhere.
SENTINEL_HOST = "passline.invalid"
SENTINEL_BASE_URL = f"http://{SENTINEL_HOST}/v1"
PLACEHOLDER_KEY = "passline-routes-this-request"

_CASE: contextvars.ContextVar[CaseCapture | None] = contextvars.ContextVar(
    "passline-case-capture", default=None)
# set while passline's own ModelClient sends (it records its calls itself)
MANAGED: contextvars.ContextVar[bool] = contextvars.ContextVar("passline-managed-call",
                                                               default=False)
_SESSIONS: list[CaptureSession] = []
_SESSIONS_LOCK = threading.Lock()


def active_session() -> CaptureSession | None:
    """The capture session in progress in this process, if any."""
    return _SESSIONS[-1] if _SESSIONS else None


def current_case() -> CaseCapture | None:
    """The case whose agent is running in this context, if any."""
    return _CASE.get()


class CaptureSession:
    """Routing, cache and prompt ledgers for the model calls of one eval session."""

    def __init__(self, settings: Settings, *, client: Callable[[], ModelClient],
                 route_env: bool = True) -> None:
        self.settings = settings
        self._client_factory = client
        self.route_env = route_env
        self.enabled = settings.capture != "off"
        self.bodies = settings.capture_bodies
        self._ledgers: dict[str, PromptLedger] = {}
        self._lock = threading.Lock()
        self._saved_env: dict[str, str | None] = {}
        self.loose_calls = 0  # calls made outside any case (module import, warm-up...)
        self.loose_usage = Usage()
        self.active = False
        self._cache: ResponseCache | None = None
        self._url_identities: dict[str, str] = {}

    def __repr__(self) -> str:
        return (f"CaptureSession(enabled={self.enabled}, active={self.active}, "
                f"variants={sorted(self._ledgers)})")

    # -- lifecycle ----------------------------------------------------------------------
    def activate(self) -> CaptureSession:
        """Install the hooks and (with ``route_env``) aim default-built clients at passline."""
        if self.active:
            return self
        from passline.capture._http import install
        from passline.models._endpoint import remember_user_environ

        if self.enabled:
            install()
        if self.enabled and self.route_env:
            remember_user_environ(self._saved_env)
            self._set_env("OPENAI_BASE_URL", SENTINEL_BASE_URL)
            if not os.environ.get("OPENAI_API_KEY"):
                self._set_env("OPENAI_API_KEY", PLACEHOLDER_KEY)
                # the Agents SDK would try to upload its traces with the placeholder key
                self._set_env("OPENAI_AGENTS_DISABLE_TRACING", "1", only_if_unset=True)
            # LiteLLM downloads a price list on import; passline prices calls itself
            self._set_env("LITELLM_LOCAL_MODEL_COST_MAP", "True", only_if_unset=True)
        with _SESSIONS_LOCK:
            _SESSIONS.append(self)
        self.active = True
        return self

    def deactivate(self) -> None:
        if not self.active:
            return
        from passline.models._endpoint import forget_user_environ

        with _SESSIONS_LOCK:
            if self in _SESSIONS:
                _SESSIONS.remove(self)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        forget_user_environ(self._saved_env)
        self._saved_env = {}
        if not _SESSIONS:
            from passline.capture._http import uninstall

            uninstall()
        self.active = False

    def _set_env(self, name: str, value: str, *, only_if_unset: bool = False) -> None:
        if only_if_unset and os.environ.get(name):
            return
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    # -- what calls need ----------------------------------------------------------------
    @property
    def client(self) -> ModelClient:
        return self._client_factory()

    @property
    def cache(self) -> ResponseCache:
        cache = self._cache
        if cache is None:
            cache = self._cache = self.client.cache
        return cache

    def identity_of_url(self, base: str) -> str:
        """Which server a base URL is (``sim`` for any simulator of this process)."""
        found = self._url_identities.get(base)
        if found is None:
            from passline.models._endpoint import redact_credentials
            from passline.sim.server import running_base_urls

            found = "sim" if base in running_base_urls() else redact_credentials(base)
            self._url_identities[base] = found
        return found

    def endpoint(self, model: str) -> Endpoint:
        return self.client.endpoint(model)

    def identity(self, model: str) -> str:
        from passline.models._endpoint import endpoint_identity

        return endpoint_identity(self.settings, model)

    def ledger(self, variant: str) -> PromptLedger:
        with self._lock:
            ledger = self._ledgers.get(variant)
            if ledger is None:
                ledger = self._ledgers[variant] = PromptLedger()
            return ledger

    def ledgers(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: ledger.to_dict() for name, ledger in self._ledgers.items()}

    def case(self, *, run_key: str, trial: int, variant: str, case_ref: str,
             tracer: Tracer) -> CaseCapture:
        return CaseCapture(self, run_key=run_key, trial=trial, variant=variant,
                           case_ref=case_ref, tracer=tracer)

    def note_loose(self, usage: Usage) -> None:
        with self._lock:
            self.loose_calls += 1
            self.loose_usage = self.loose_usage + usage


class CaseCapture:
    """The model calls of one agent run (one case x trial x variant)."""

    def __init__(self, session: CaptureSession, *, run_key: str, trial: int, variant: str,
                 case_ref: str, tracer: Tracer) -> None:
        self.session = session
        self.run_key = run_key
        self.trial = trial
        self.variant = variant
        self.case_ref = case_ref
        self.tracer = tracer
        self.calls: list[CapturedCall] = []
        self.misses: list[str] = []
        self.prompt_refs: dict[str, set[str]] = {"system": set(), "tools": set()}
        self._lock = threading.Lock()
        self._seq = 0
        self._occurrences: dict[str, int] = {}
        self._failures: dict[str, tuple[int, int]] = {}  # base key -> (failed attempts, occ)

    def __repr__(self) -> str:
        return f"CaseCapture({self.case_ref!r}, trial={self.trial}, calls={len(self.calls)})"

    # -- while the agent runs -----------------------------------------------------------
    def bind(self) -> contextvars.Token[CaseCapture | None]:
        return _CASE.set(self)

    @staticmethod
    def unbind(token: contextvars.Token[CaseCapture | None]) -> None:
        _CASE.reset(token)

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def occurrence(self, base_key: str) -> int:
        """Which repetition of an identical request this is within the run (0, 1, ...), so a
        request the agent really makes twice is two samples, not one answer replayed. A retry
        after a failed attempt keeps the occurrence of the attempt it repeats."""
        with self._lock:
            failed = self._failures.get(base_key)
            if failed is not None:
                return failed[1]
            n = self._occurrences.get(base_key, 0)
            self._occurrences[base_key] = n + 1
            return n

    def attempt_failed(self, base_key: str, occurrence: int) -> None:
        with self._lock:
            count = self._failures.get(base_key, (0, occurrence))[0]
            self._failures[base_key] = (count + 1, occurrence)

    def attempt_succeeded(self, base_key: str) -> int:
        """The number of failed attempts that preceded this success (its retries)."""
        with self._lock:
            return self._failures.pop(base_key, (0, 0))[0]

    def add(self, call: CapturedCall) -> None:
        refs = self.session.ledger(self.variant).add(call.request) if call.ok else None
        with self._lock:
            self.calls.append(call)
            if refs:
                self.prompt_refs["system"].update(refs["system"])
                self.prompt_refs["tools"].update(refs["tools"])

    def miss(self, message: str) -> None:
        with self._lock:
            self.misses.append(message)

    # -- after the agent returned -------------------------------------------------------
    def ordered_calls(self) -> list[CapturedCall]:
        with self._lock:
            return sorted(self.calls, key=lambda c: c.seq)

    def complete(self, run: AgentRun, *, wall_s: float) -> AgentRun:
        """Fill what the agent left out (usage, latency, trace, trajectory) from the calls,
        keep what it reported next to what was captured, and turn replay misses into the
        run's error (a replayed run must not quietly differ from the recorded one)."""
        calls = self.ordered_calls()
        captured = total_usage(calls)
        reported = run.usage if run.usage != Usage() else None
        changes: dict[str, Any] = {}
        if reported is None and calls:
            changes["usage"] = captured
        if not run.latency_s:
            changes["latency_s"] = wall_s
        spans = self.tracer.spans()
        if spans:
            changes["trace"] = _merge_trace(run.trace, spans)
        derived = None
        if not run.tool_calls and calls:
            tool_calls = trajectory(calls)
            if tool_calls:
                changes["tool_calls"] = tool_calls
                derived = "captured"
        if self.misses and run.status not in (RunStatus.ERROR, RunStatus.TIMEOUT):
            changes["status"] = RunStatus.ERROR
        if self.misses:
            changes["error"] = self.misses[0] + (
                f" (and {len(self.misses) - 1} more)" if len(self.misses) > 1 else "")
        changes["capture"] = CaptureSummary(
            calls=sum(1 for c in calls if c.ok),
            failed_attempts=sum(1 for c in calls if not c.ok),
            retries=sum(c.retries for c in calls),
            cached_calls=sum(1 for c in calls if c.ok and c.cached),
            usage=captured,
            call_latency_s=sum(c.latency_s for c in calls),
            usage_estimated=any(c.usage_estimated for c in calls),
            models=tuple(sorted({c.model for c in calls if c.model})),
            endpoints=tuple(sorted({c.endpoint for c in calls})),
            system_prompts=tuple(sorted(self.prompt_refs["system"])),
            tools=tuple(sorted(self.prompt_refs["tools"])),
            reported_usage=reported,
            mismatch=_mismatch(reported, captured) if calls else None,
            replay_misses=tuple(self.misses),
            tool_calls_from=derived,
        )
        import dataclasses

        return dataclasses.replace(run, **changes)


def _mismatch(reported: Usage | None, captured: Usage) -> str | None:
    """A one-line note when the agent's own accounting disagrees with what went over the
    wire (a journal that replayed steps, a forgotten call, a double count)."""
    if reported is None:
        return None
    notes = []
    if reported.total_tokens != captured.total_tokens:
        notes.append(f"tokens {reported.total_tokens:,} reported vs "
                     f"{captured.total_tokens:,} captured")
    if reported.calls and reported.calls != captured.calls:
        notes.append(f"calls {reported.calls} reported vs {captured.calls} captured")
    if abs(reported.cost_usd - captured.cost_usd) > max(1e-9, 0.01 * captured.cost_usd):
        notes.append(f"cost ${reported.cost_usd:.6f} reported vs ${captured.cost_usd:.6f} "
                     "captured")
    return "; ".join(notes) or None


def _merge_trace(agent_spans: tuple[Any, ...], captured: tuple[Any, ...]) -> tuple[Any, ...]:
    """The agent's spans and the capture's, once each. An agent that traced through
    ``ctx.tracer`` returns the same spans the capture wrote into; an agent with a tracer
    of its own gets the captured calls added as top-level spans with their own ids."""
    if not agent_spans:
        return captured
    mine = {s.span_id for s in captured}
    if {s.span_id for s in agent_spans} & mine:
        by_id = {s.span_id: s for s in agent_spans}
        by_id.update({s.span_id: s for s in captured})
        return tuple(by_id.values())
    import dataclasses

    return tuple(agent_spans) + tuple(
        dataclasses.replace(s, span_id=f"cap-{s.span_id}",
                            parent_id=f"cap-{s.parent_id}" if s.parent_id else None)
        for s in captured)


def iter_case_calls(case: CaseCapture, *, bodies: bool) -> Iterator[dict[str, Any]]:
    for call in case.ordered_calls():
        yield call.to_dict(bodies=bodies)


def clock() -> float:
    return time.perf_counter()


def redacted_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to keep: never an authorization or key header."""
    return {k: v for k, v in headers.items()
            if k.lower() not in ("authorization", "api-key", "x-api-key", "cookie")}
