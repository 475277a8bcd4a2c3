"""The runner: executes agent runs concurrently on its own event loop in its own thread.

The pytest plugin submits every (agent, case, trial, variant) job of the session up front;
the runner works through them, bounded by ``concurrency``, while pytest executes items. Each
item waits only for its own job's future. Because the loop lives in its own thread, passline
never touches (or needs) the caller's event loop -- no "event loop already running" errors
under pytest-asyncio or notebooks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import importlib
import inspect
import logging
import shutil
import threading
import time
import traceback
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from passline._types import AgentContext, AgentRun, Case, RunStatus, Usage, Variant
from passline.capture import PLACEHOLDER_KEY, SENTINEL_BASE_URL, CaptureSession, CaseCapture
from passline.errors import ConfigError, EndpointDown
from passline.runner import _threads
from passline.settings import Settings

log = logging.getLogger(__name__)

AgentFn = Callable[..., Any]  # (case_input, ctx) or (case_input); async or not


def resolve_agent(spec: str | AgentFn) -> AgentFn:
    """``"package.module:function"`` (or a callable) -> the agent callable, checked."""
    if callable(spec):
        fn = spec
    else:
        module_name, _, attr = str(spec).partition(":")
        if not module_name or not attr:
            raise ConfigError(f"agent {spec!r} is not 'module:function'; set [tool.passline] "
                              "agent = 'my_pkg.agent:run' or pass agent= to passline.eval")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(f"cannot import agent module {module_name!r} ({exc}); is it on "
                              "sys.path? (pytest: add pythonpath = ['.'] to its config)") from exc
        found = getattr(module, attr, None)
        if found is None:
            raise ConfigError(f"module {module_name!r} has no agent {attr!r}")
        fn = found
    if not callable(fn):
        raise ConfigError(f"agent {spec!r} is not callable")
    return fn


def _arity(fn: Any) -> int:
    """How many of (case_input, ctx) the agent takes: an agent may ignore the context.
    (Asked once per agent: ``inspect.signature`` is too slow to repeat for every case.)"""
    try:
        return _ARITY[fn]
    except (KeyError, TypeError):  # not seen yet, or not hashable
        pass
    arity = _signature_arity(fn)
    with contextlib.suppress(TypeError):
        _ARITY[fn] = arity
    return arity


_ARITY: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def _signature_arity(fn: Any) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: assume the full protocol
        return 2
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 2
    return 1 if len(positional) == 1 else 2


def as_agent_run(result: Any, agent: str) -> AgentRun:
    """What an agent returned, as an :class:`AgentRun`: an ``AgentRun`` itself, a string
    (the answer), or a mapping with ``answer`` (and optionally other AgentRun fields)."""
    if isinstance(result, AgentRun):
        return result
    if isinstance(result, str):
        return AgentRun(answer=result)
    if isinstance(result, Mapping) and isinstance(result.get("answer"), str):
        return AgentRun.from_dict(result)
    raise TypeError(f"agent {agent} returned {type(result).__name__}; return a "
                    "passline.AgentRun, a str (the answer) or a dict with an 'answer' string")


MAX_TRACEBACK_FRAMES = 30


def _hidden_roots() -> tuple[str, ...]:
    """Folders whose frames are passline's or the event loop's, never the agent's."""
    import os
    import threading as threading_module

    import passline

    folders = [os.path.dirname(m.__file__ or "") + os.sep
               for m in (passline, asyncio, concurrent.futures)]
    return (*folders, threading_module.__file__ or "")


def agent_traceback(exc: BaseException) -> str:
    """The agent's own traceback: the frames outside passline and the event loop, at most
    ``MAX_TRACEBACK_FRAMES`` (the innermost), with their source lines."""
    hidden_roots = _hidden_roots()
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith(hidden_roots)]
    hidden = max(0, len(frames) - MAX_TRACEBACK_FRAMES)
    frames = frames[hidden:]
    lines = ["Traceback (most recent call last, agent frames only):"]
    if hidden:
        lines.append(f"  ... {hidden} outer frames not shown")
    lines += [line.rstrip("\n") for line in traceback.format_list(frames)]
    lines += [line.rstrip("\n") for line in traceback.format_exception_only(exc)]
    return "\n".join(lines)


def _is_async(fn: Any) -> bool:
    """An ``async def`` function, or an object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        type(fn).__call__ if not inspect.isfunction(fn) else None)


@dataclasses.dataclass(frozen=True)
class Job:
    """One agent run: a case, a trial index, a variant, an agent."""

    agent: str
    case: Case
    trial: int
    variant: Variant

    @functools.cached_property  # asked for several times per run (futures, rows, calls)
    def key(self) -> str:
        material = f"{self.agent}|{self.variant.name}|{self.variant.model}|" \
                   f"{self.variant.prompts}|{self.case.ref}|{self.trial}"
        return hashlib.sha256(material.encode()).hexdigest()[:16]


@dataclasses.dataclass
class Progress:
    total: int = 0
    done: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    started: float = dataclasses.field(default_factory=time.perf_counter)
    last_done: float = 0.0

    @property
    def wall_s(self) -> float:
        """Seconds from the first submitted run to the last finished one."""
        return max(0.0, self.last_done - self.started) if self.done else 0.0

    @property
    def eta_s(self) -> float | None:
        if not self.done:
            return None
        elapsed = time.perf_counter() - self.started
        return elapsed / self.done * (self.total - self.done)


class Runner:
    """Owns the event loop thread, the model client and the concurrency limit."""

    def __init__(self, settings: Settings, *, workdir: Path, concurrency: int | None = None,
                 client: Any = None, capture: CaptureSession | None = None,
                 journal: Any = None) -> None:
        self.settings = settings
        self.workdir = Path(workdir)
        self.concurrency = concurrency or settings.concurrency
        self.progress = Progress()
        self._client = client
        self.journal = journal  # the session's CallJournal, given to the client it makes
        self.leftover_tasks = 0  # tasks still pending on the loop when it was closed
        self._futures: dict[str, concurrent.futures.Future[AgentRun]] = {}
        # queued jobs (enqueue) start as earlier ones finish, a window of twice the
        # concurrency ahead: a task, coroutine and future per job cost ~2 KB, too much to
        # make for 100,000 jobs at once (the runs would wait on the semaphore anyway)
        self._queued: dict[str, Job] = {}
        self._queued_after: dict[str, list[Callable[[AgentRun], Awaitable[Any]]]] = {}
        self._window = 2 * self.concurrency
        self._in_flight = 0
        self._agents: dict[str, AgentFn] = {}
        self._owns_capture = capture is None
        self.capture = capture or CaptureSession(settings, client=lambda: self.client)
        self.capture.activate()
        self._captured: dict[str, CaseCapture] = {}  # job key -> its calls, until recorded
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="passline-runner",
                                        daemon=True)
        self._thread.start()
        self._sem = asyncio.Semaphore(self.concurrency)  # bound lazily to the runner loop
        self._lock = threading.RLock()  # a done callback may run inside a locked submit
        _CURRENT.append(self)

    def __repr__(self) -> str:
        p = self.progress
        return f"Runner(done={p.done}/{p.total}, concurrency={self.concurrency})"

    @property
    def client(self) -> Any:
        if self._client is None:
            from passline.models import ModelClient

            self._client = ModelClient(self.settings, journal=self.journal)
        return self._client

    def submit(self, job: Job) -> concurrent.futures.Future[AgentRun]:
        """Start ``job`` now, if it has not started (the same job submitted twice shares one
        future; a queued job starts ahead of its turn)."""
        with self._lock:
            future = self._futures.get(job.key)
            if future is None:
                if job.key in self._queued:
                    del self._queued[job.key]
                else:
                    self.progress.total += 1
                future = self._start(job)
            return future

    def enqueue(self, job: Job, then: Sequence[Callable[[AgentRun], Awaitable[Any]]] = ()
                ) -> None:
        """Queue ``job`` to start in its turn (in queueing order, at most twice the
        concurrency ahead of the runs in flight), and each of ``then`` after it (as
        :meth:`after` does); :meth:`submit` gives its future."""
        with self._lock:
            future = self._futures.get(job.key)
            if future is not None:
                for fn in then:
                    self._chain(future, fn)
                return
            if job.key not in self._queued:
                self._queued[job.key] = job
                self.progress.total += 1
            if then:
                self._queued_after.setdefault(job.key, []).extend(then)
            self._fill()

    def _start(self, job: Job) -> concurrent.futures.Future[AgentRun]:
        if not self._futures and not self.progress.done:
            self.progress.started = time.perf_counter()
        if job.agent not in self._agents:
            self._agents[job.agent] = resolve_agent(job.agent)
        future = asyncio.run_coroutine_threadsafe(self._run(job), self._loop)
        self._futures[job.key] = future
        self._in_flight += 1
        for fn in self._queued_after.pop(job.key, ()):
            self._chain(future, fn)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: concurrent.futures.Future[AgentRun]) -> None:
        with self._lock:
            self._in_flight -= 1
            self._fill()

    def _fill(self) -> None:
        while self._queued and self._in_flight < self._window:
            key = next(iter(self._queued))
            self._start(self._queued.pop(key))

    def after(self, job: Job, fn: Callable[[AgentRun], Awaitable[Any]]
              ) -> concurrent.futures.Future[Any]:
        """Run ``await fn(run)`` on the runner loop as soon as ``job``'s run is done (e.g. a
        judge scorer preparing its verdict concurrently with other runs); starts the job."""
        return self._chain(self.submit(job), fn)

    def _chain(self, run_future: concurrent.futures.Future[AgentRun],
               fn: Callable[[AgentRun], Awaitable[Any]]) -> concurrent.futures.Future[Any]:
        async def chained() -> Any:
            run = await asyncio.wrap_future(run_future)
            async with self._sem:
                return await fn(run)

        return asyncio.run_coroutine_threadsafe(chained(), self._loop)

    def run_sync(self, coro: Awaitable[Any], timeout_s: float | None = None) -> Any:
        """Run a coroutine on the runner loop from another thread and wait for it."""
        async def wrapper() -> Any:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(timeout=timeout_s)

    def responsive(self, timeout_s: float = 5.0) -> bool:
        """Whether the runner's loop still runs callbacks (a blocking call inside an
        ``async def`` agent stops it)."""
        try:
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self._loop).result(
                timeout=timeout_s)
        except concurrent.futures.TimeoutError:
            return False
        return True

    def result(self, job: Job, timeout_s: float | None = None) -> AgentRun:
        return self.submit(job).result(timeout=timeout_s)

    async def _run(self, job: Job) -> AgentRun:
        async with self._sem:
            run = self._endpoint_down(job) or await self._execute(job)
        with self._lock:
            self.progress.done += 1
            self.progress.last_done = time.perf_counter()
            self.progress.cost_usd += run.usage.cost_usd
            if run.status in (RunStatus.ERROR, RunStatus.TIMEOUT):
                self.progress.errors += 1
        return run

    async def _execute(self, job: Job) -> AgentRun:
        from passline.trace import Tracer

        agent = self._agents[job.agent]
        workdir = self.workdir / job.key
        tracer = Tracer()
        case = self.capture.case(run_key=job.key, trial=job.trial, variant=job.variant.name,
                                 case_ref=job.case.ref, tracer=tracer)
        routed = self.capture.enabled and self.capture.route_env
        ctx = AgentContext(model=job.variant.model, prompts=job.variant.prompts,
                           client=self.client, trial=job.trial, params=dict(job.variant.params),
                           workdir=str(workdir), run_key=job.key, tracer=tracer,
                           base_url=SENTINEL_BASE_URL if routed else "",
                           api_key=PLACEHOLDER_KEY if routed else "")
        args: tuple[Any, ...] = (dict(job.case.input), ctx)[:_arity(agent)]
        token = case.bind()  # every call made from here on (tasks, threads) is this case's
        start = time.perf_counter()
        try:
            if _is_async(agent):
                result = await asyncio.wait_for(agent(*args),
                                                timeout=self.settings.run_timeout_s)
            else:  # a synchronous agent runs in its own thread, so runs still overlap; a
                # stuck one is abandoned at the timeout and never holds up the exit
                result = await _threads.run_async(agent, *args,
                                                  timeout_s=self.settings.run_timeout_s)
                if inspect.isawaitable(result):
                    result = await asyncio.wait_for(result, timeout=self.settings.run_timeout_s)
            run = as_agent_run(result, job.agent)
        except TimeoutError:
            run = AgentRun(answer="", status=RunStatus.TIMEOUT,
                           error=f"agent run exceeded run_timeout_s="
                                 f"{self.settings.run_timeout_s:g}s", usage=Usage())
        except Exception as exc:  # the agent's bug is this case's error, not the session's
            run = AgentRun(answer="", status=RunStatus.ERROR,
                           error=f"{type(exc).__name__}: {exc}",
                           metadata={"traceback": agent_traceback(exc)})
        finally:
            case.unbind(token)
        run = case.complete(run, wall_s=time.perf_counter() - start)
        with self._lock:
            self._captured[job.key] = case
        if run.status not in (RunStatus.ERROR, RunStatus.TIMEOUT):
            shutil.rmtree(workdir, ignore_errors=True)  # kept on error so a re-run resumes
        return run

    def release(self, job: Job) -> None:
        """Forget ``job``'s finished future: its run is in the record now, and a session of
        100,000 runs must not keep every AgentRun (and its trace) until it ends. A job
        submitted again after this runs again."""
        with self._lock:
            future = self._futures.get(job.key)
            if future is not None and future.done():
                del self._futures[job.key]

    def take_calls(self, job: Job) -> CaseCapture | None:
        """The captured calls of a finished job, once (the first row of the job writes them)."""
        with self._lock:
            return self._captured.pop(job.key, None)

    def _endpoint_down(self, job: Job) -> AgentRun | None:
        """A run whose model endpoint is already down ends at once, without starting."""
        health = getattr(self._client, "health", None)
        if health is None or not health.down:
            return None
        from passline.models import endpoint_key

        try:
            where = endpoint_key(self._client.endpoint(job.variant.model).base_url)
            health.check(where)
        except ConfigError:  # no endpoint for this model: the run reports that itself
            return None
        except EndpointDown as exc:
            return AgentRun(answer="", status=RunStatus.ERROR, error=f"{type(exc).__name__}: "
                            f"{exc}", usage=Usage(), metadata={"not_started": True})
        return None

    def cancel_pending(self) -> int:
        with self._lock:
            n = len(self._queued)
            self._queued.clear()
            self._queued_after.clear()
        for future in list(self._futures.values()):
            if future.cancel():
                n += 1
        return n

    def close(self) -> None:
        self.cancel_pending()
        if self._owns_capture:
            self.capture.deactivate()
        if not self.responsive(timeout_s=1):  # blocked by an agent: nothing on it can run
            self.leftover_tasks = -1
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self in _CURRENT:
                _CURRENT.remove(self)
            return
        if self._client is not None and hasattr(self._client, "aclose"):
            fut = asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop)
            try:
                fut.result(timeout=5)
            except Exception:  # closing is best effort
                log.debug("closing the model client failed", exc_info=True)
        try:  # close async generators agents left open (e.g. an SDK stream not drained)
            asyncio.run_coroutine_threadsafe(self._loop.shutdown_asyncgens(),
                                             self._loop).result(timeout=5)
        except Exception:
            log.debug("shutting down async generators failed", exc_info=True)
        try:
            self.leftover_tasks = asyncio.run_coroutine_threadsafe(
                _pending_tasks(), self._loop).result(timeout=5)
        except Exception:  # a wedged loop: nothing to count with
            self.leftover_tasks = -1
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()  # its self-pipe sockets and executor go with it
        if self in _CURRENT:
            _CURRENT.remove(self)


async def _pending_tasks() -> int:
    """Tasks on the running loop other than the one asking (leaks, if the session is over)."""
    await asyncio.sleep(0)  # let tasks that were just cancelled finish
    me = asyncio.current_task()
    return sum(1 for t in asyncio.all_tasks() if t is not me and not t.done())


_CURRENT: list[Runner] = []


def current_runner() -> Runner | None:
    """The runner of the eval session in progress (``None`` outside one)."""
    return _CURRENT[-1] if _CURRENT else None
