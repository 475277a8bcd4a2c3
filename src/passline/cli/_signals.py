"""SIGTERM and Ctrl-C for a command that runs until it is stopped (``passline sim serve``).

The first SIGTERM or SIGINT asks the command to stop: :meth:`StopSignals.wait` returns and the
command shuts down (bounded). A second one during that shutdown ends the process at once with
128 + the signal's number, as a shell reports a process killed by it.

The handler takes no lock. A handler that calls ``threading.Event.set()`` deadlocks when the
signal lands while the main thread is inside ``Event.wait()`` holding the event's own lock
(the handler runs in the main thread, between two of its bytecodes): the process then ignores
every further SIGTERM too. Here the handler only counts, and the main thread is woken through
``signal.set_wakeup_fd`` -- a byte written at C level, whichever thread the kernel chose.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType, TracebackType
from typing import Any

HANDLED = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Install with ``with StopSignals() as stop:`` *before* the command says it is ready,
    so that no signal can arrive between the announcement and the handler."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._previous: dict[int, object] = {}
        self._old_wakeup = -1
        self._pair: tuple[socket.socket, socket.socket] | None = None
        self.on_force: Callable[[], None] | None = None  # run before a forced exit

    @property
    def stopping(self) -> bool:
        return bool(self.received)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)  # no lock: the main thread may hold any of them now
        if len(self.received) > 1:
            name = signal.Signals(signum).name
            # os.write, not sys.stderr: its buffer has a lock another thread may hold now
            with contextlib.suppress(OSError):
                os.write(2, f"passline: {name} again: stopping now\n".encode())
            if self.on_force is not None:
                with contextlib.suppress(Exception):
                    self.on_force()
            os._exit(128 + signum)

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only; the caller's stop applies
        self._pair = socket.socketpair()
        for s in self._pair:
            s.setblocking(False)
        self._old_wakeup = signal.set_wakeup_fd(self._pair[1].fileno(),
                                                warn_on_full_buffer=False)
        for sig in HANDLED:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()
        if self._pair is not None:
            signal.set_wakeup_fd(self._old_wakeup)
            for s in self._pair:
                s.close()
            self._pair = None

    def wait(self, while_: Callable[[], bool] = lambda: True, poll_s: float = 0.5) -> None:
        """Return once a stop signal came, or once ``while_()`` is false (checked every
        ``poll_s``)."""
        while not self.received and while_():
            if self._pair is None:
                time.sleep(poll_s)
                continue
            ready, _, _ = select.select([self._pair[0]], [], [], poll_s)
            if ready:
                try:
                    woken = self._pair[0].recv(256)
                except (BlockingIOError, InterruptedError):
                    woken = b""
                # the byte is written before the Python-level handler runs: stop on it
                if any(b in HANDLED for b in woken):
                    return


def run_child(command: Sequence[str], **popen: Any) -> tuple[int, int | None]:
    """Run ``command`` (a pytest session) to its end; (its exit code, the signal that stopped
    passline meanwhile or None). For commands that wrap one (``passline demo``, ``runs
    resume``).

    A SIGTERM to passline is passed on to the child once, and passline waits for it: the
    session then ends as "stopped by SIGTERM" with its records finalised, instead of running
    on orphaned (SIGTERM's default) or being killed mid-write. Ctrl-C is not passed on: the
    terminal sends it to the child as well (one process group), and a second one would cut
    the child's own clean-up short. A second SIGTERM or Ctrl-C kills the child and exits.
    """
    import subprocess

    with StopSignals() as stop:
        proc = subprocess.Popen(list(command), **popen)
        stop.on_force = lambda: _kill(proc)
        passed_on = False
        while proc.poll() is None:
            stop.wait(lambda: proc.poll() is None, poll_s=0.2)
            if stop.received and not passed_on:
                passed_on = True
                if stop.received[0] == signal.SIGTERM:
                    with contextlib.suppress(ProcessLookupError):
                        proc.send_signal(signal.SIGTERM)
        return proc.returncode, (stop.received[0] if stop.received else None)


def _kill(proc: Any) -> None:
    if proc.returncode is None:
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGKILL)
