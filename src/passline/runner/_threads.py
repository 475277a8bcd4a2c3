"""Running blocking user code (sync agents, scorers) so that a stuck call can be abandoned.

``asyncio.to_thread`` runs work on the loop's executor, whose threads the interpreter joins at
exit: one sync agent blocked in I/O without a timeout kept pytest alive forever after the
summary. Here each call gets its own *daemon* thread, started inside a copy of the caller's
``contextvars`` context (so per-case capture and tracing reach the agent exactly as with
``to_thread``). When the caller stops waiting (a timeout), the thread is abandoned: the case is
reported as timed out, and the thread is remembered. At interpreter exit, if an abandoned
thread is still alive, a watchdog gives the normal shutdown ``grace_s`` seconds and then ends
the process with the session's exit code (the run record was finalised before, in
``pytest_sessionfinish``) -- so a stuck agent that also started non-daemon threads of its own
cannot hang the exit either.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import itertools
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, cast

log = logging.getLogger(__name__)

_counter = itertools.count(1)
_lock = threading.Lock()
_abandoned: list[tuple[concurrent.futures.Future[Any], str, float]] = []  # (call, what, since)
_exit_policy: dict[str, float] = {"grace_s": 5.0, "code": 3}
_armed = False


class _Worker(threading.Thread):
    """A daemon thread that runs one call after another. It goes back to the idle pool
    after each call, so a session does not pay a thread start per item; a call that gets
    stuck keeps its worker, which is then simply never reused (abandoned)."""

    def __init__(self) -> None:
        super().__init__(name=f"passline-worker-{next(_counter)}", daemon=True)
        self.inbox: queue.SimpleQueue[tuple[Any, ...] | object] = queue.SimpleQueue()

    def run(self) -> None:
        while True:
            item = self.inbox.get()
            if item is _RETIRE:
                return
            fn, args, future, context = cast(tuple[Any, ...], item)
            if future.set_running_or_notify_cancel():
                try:
                    result = context.run(fn, *args)
                except BaseException as exc:  # delivered to the waiter, who decides
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del fn, args, future, context  # hold nothing while idle
            with _lock:
                _idle.append(self)


_idle: list[_Worker] = []
# a unique sentinel (an empty tuple would be CPython's shared `()`, not ours alone)
_RETIRE = object()


def retire_idle(timeout_s: float = 1.0) -> None:
    """End the idle workers (at session end): a finished session leaves no passline thread
    behind except abandoned ones still inside a stuck call."""
    with _lock:
        workers = list(_idle)
        _idle.clear()
    for worker in workers:
        worker.inbox.put(_RETIRE)
    deadline = time.monotonic() + timeout_s
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))


def start(fn: Callable[..., Any], *args: Any, name: str = "call"
          ) -> concurrent.futures.Future[Any]:
    """Run ``fn(*args)`` on an idle daemon worker thread (a new one if none is idle),
    inside a copy of the current context."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    context = contextvars.copy_context()
    with _lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        worker = _Worker()
        worker.start()
    future.thread = worker  # type: ignore[attr-defined]
    worker.inbox.put((fn, args, future, context))
    return future


async def run_async(fn: Callable[..., Any], *args: Any, timeout_s: float,
                    name: str = "agent") -> Any:
    """``await`` a blocking call with a timeout (``TimeoutError``); on timeout or
    cancellation the call's thread is abandoned, never waited for."""
    future = start(fn, *args, name=name)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout=timeout_s)
    except (TimeoutError, asyncio.CancelledError):
        abandon(future, f"{name} {getattr(fn, '__qualname__', fn)!s}")
        raise


def run_blocking(fn: Callable[..., Any], *args: Any, timeout_s: float,
                 name: str = "scorer") -> Any:
    """Call ``fn(*args)`` from synchronous code with a timeout (``TimeoutError``)."""
    future = start(fn, *args, name=name)
    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        abandon(future, f"{name} {getattr(fn, '__qualname__', fn)!s}")
        raise TimeoutError(f"{name} did not return within {timeout_s:g}s") from None


def abandon(future: concurrent.futures.Future[Any], what: str) -> None:
    """Stop caring about ``future``'s thread; it is watched at interpreter exit."""
    thread = getattr(future, "thread", None)
    if thread is None or future.done():
        return
    log.warning("abandoning %s: still running in thread %s", what, thread.name)
    with _lock:
        _abandoned.append((future, what, time.monotonic()))
        _arm_exit_watchdog()


def stuck() -> list[str]:
    """Abandoned calls still running (e.g. for the terminal summary). A worker whose call
    finished after all goes back to the pool; only calls still in progress count."""
    with _lock:
        _abandoned[:] = [entry for entry in _abandoned if not entry[0].done()]
        return [what for _, what, _ in _abandoned]


def set_exit_policy(*, grace_s: float | None = None, code: int | None = None) -> None:
    """How long a finished process may take to exit while abandoned threads still run, and
    the exit code it ends with if it has to be ended (the session's own exit code)."""
    if grace_s is not None:
        _exit_policy["grace_s"] = float(grace_s)
    if code is not None:
        _exit_policy["code"] = int(code)


def _arm_exit_watchdog() -> None:
    global _armed
    if _armed:
        return
    _armed = True
    # threading's own exit hooks run before the interpreter joins non-daemon threads (and
    # before concurrent.futures joins its workers): the last moment our code still runs
    # while a hang is possible. Fall back to atexit where that hook does not exist.
    register = getattr(threading, "_register_atexit", None)
    try:
        if register is not None:
            register(_on_exit)
        else:  # pragma: no cover - CPython has it since 3.9
            import atexit

            atexit.register(_on_exit)
    except RuntimeError:  # the interpreter is already shutting down
        pass


def _on_exit() -> None:
    if not stuck():
        return
    grace = _exit_policy["grace_s"]
    code = _exit_policy["code"]

    def force() -> None:
        time.sleep(grace)
        try:
            sys.stdout.flush()
            sys.stderr.write(f"passline: ended the process {grace:g}s after the session: "
                             f"{len(stuck())} abandoned call(s) still running\n")
            sys.stderr.flush()
        except Exception:  # a closed stream must not stop the exit
            pass
        os._exit(int(code))

    threading.Thread(target=force, name="passline-exit-watchdog", daemon=True).start()
