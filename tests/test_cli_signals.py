"""SIGTERM and Ctrl-C for the commands that run until stopped (passline.cli._signals).

Each case runs a small script in its own process: signals are process-wide, and the pytest
process has its own SIGTERM handler (the plugin's).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

SERVE = textwrap.dedent("""
    import sys, time
    from passline.cli._signals import StopSignals
    with StopSignals() as stop:
        print("ready", flush=True)
        sys.stdin.readline()          # busy elsewhere when the signal comes
        stop.wait()
        print("stopping", stop.received, flush=True)
        if "--slow-shutdown" in sys.argv:
            time.sleep(60)
    print("stopped", flush=True)
""")


def _script(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_before_wait_is_kept_and_stops_cleanly(sig: signal.Signals) -> None:
    proc = _script(SERVE)
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(sig)  # lands while the script is not waiting for it yet
    out, err = proc.communicate("go\n", timeout=20)
    assert proc.returncode == 0, err
    assert out == f"stopping [{int(sig)}]\nstopped\n"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_during_shutdown_exits_at_once(sig: signal.Signals) -> None:
    proc = _script(SERVE, "--slow-shutdown")
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline() == "ready\n"
    proc.stdin.write("go\n")
    proc.stdin.flush()
    proc.send_signal(sig)
    assert proc.stdout.readline().startswith("stopping")
    proc.send_signal(sig)  # the shutdown would take 60 s
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + sig
    assert f"{sig.name} again: stopping now" in err


WRAPPER = textwrap.dedent("""
    import sys
    from passline.cli._signals import run_child
    child = '''
    import os, signal, sys, time
    def on_term(*_):
        print("child: SIGTERM", flush=True)
        if "--linger" not in sys.argv:
            sys.exit(7)       # a pytest session ends as "stopped by SIGTERM" here
    signal.signal(signal.SIGTERM, on_term)
    print("child ready", os.getpid(), flush=True)
    time.sleep(60)
    '''
    code, stopped_by = run_child([sys.executable, "-c", child, *sys.argv[1:]])
    print("stopped by", stopped_by, flush=True)
    sys.exit(code)
""")


def test_run_child_passes_sigterm_on_and_returns_the_childs_code() -> None:
    proc = _script(WRAPPER)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("child ready")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert (proc.returncode, out) == (7, f"child: SIGTERM\nstopped by {int(signal.SIGTERM)}\n"), err


def test_run_child_second_sigterm_kills_the_child_and_exits() -> None:
    proc = _script(WRAPPER, "--linger")
    assert proc.stdout is not None
    child_pid = int(proc.stdout.readline().split()[-1])
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout.readline() == "child: SIGTERM\n"  # passed on; the child carries on
    proc.send_signal(signal.SIGTERM)
    # communicate() returns at EOF: the child, which shares the pipe, is gone too
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert not _alive_after(child_pid, 10.0)


def _alive_after(pid: int, seconds: float) -> bool:
    """Whether ``pid`` still runs ``seconds`` from now: a killed process has closed its files
    (the EOF above) a moment before the kernel marks it dead."""
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(") ")[-1][:1] not in ("Z", "X")
    except FileNotFoundError:  # reaped (or no /proc: the EOF above is the check then)
        return False
