"""No verdict on incomplete evidence: a session killed (SIGKILL) or interrupted (SIGINT) mid-run
leaves a record that ``passline gate`` and ``passline report`` refuse with exit 3, naming the
run as incomplete; ``--allow-partial`` compares what finished and names what did not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from passline.cli import main
from passline.errors import ExitCode

N_CASES = 40
AGENT = '''
from passline import AgentRun

async def agent(case_input, ctx):
    r = await ctx.client.chat([{"role": "user", "content": case_input["message"]}],
                              model=ctx.model, trial=ctx.trial)
    return AgentRun(answer=case_input["message"], usage=r.usage, latency_s=r.latency_s)
'''
EVAL = '''
import passline
from passline.scoring import required_facts

@passline.eval("mini@v1", scorers=[required_facts()])
def test_answers(run, case):
    assert run.status == "ok"
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PASSLINE_RUN_DIR", raising=False)
    rows = [{"id": f"c{i:02d}", "input": {"message": f"hello number {i}"},
             "expected": {"facts": [f"hello number {i}"]},
             "tags": ["must-pass"] if i == N_CASES - 1 else []} for i in range(N_CASES)]
    data = tmp_path / "golden" / "mini" / "v1"
    data.mkdir(parents=True)
    (data / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (data / "card.md").write_text("# mini\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.passline]\nagent = "myagent:agent"\nmodel = "sim-1"\nrun_dir = "runs"\n'
        "[tool.passline.gate]\nmax_p95_latency_increase = inf\nconfirm_trials = 0\n"
        '[tool.pytest.ini_options]\npythonpath = ["."]\n')
    (tmp_path / "myagent.py").write_text(AGENT)
    (tmp_path / "test_evals.py").write_text(EVAL)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pytest_cmd(run_dir: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
            f"--passline-run-dir={run_dir}", *extra]


def env() -> dict[str, str]:
    """This process's environment less pytest's own state (an xdist worker's variables would
    make the child one); PYTEST_ADDOPTS (tests/conftest.py) is kept."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("PYTEST_") or k == "PYTEST_ADDOPTS"}


def baseline_run(root: Path) -> Path:
    done = subprocess.run(pytest_cmd("runs/base"), cwd=root, env=env(), capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:]
    (run,) = (root / "runs" / "base").iterdir()
    return run


def stopped_session(root: Path, sig: int, *extra: str) -> tuple[Path, int, str]:
    """Start a slow session, wait until a few results are recorded, send ``sig``; (the first
    run dir, exit code, output)."""
    proc = subprocess.Popen(pytest_cmd("runs/stopped", "--passline-sim-latency-ms=400",
                                       "--passline-concurrency=2", *extra),
                            cwd=root, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    results: list[Path] = []
    while time.monotonic() < deadline:
        results = list((root / "runs" / "stopped").glob("*/results.jsonl"))
        if results and results[0].read_text().count("\n") >= 4:
            break
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        time.sleep(0.1)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    n_rows = results[0].read_text().count("\n")
    assert 4 <= n_rows < N_CASES, out[-2000:]
    return results[0].parent, proc.returncode, out


def stopped_run(root: Path, sig: int) -> Path:
    return stopped_session(root, sig)[0]


@pytest.mark.parametrize(("sig", "state"), [(signal.SIGKILL, "crashed"),
                                            (signal.SIGINT, "incomplete")])
def test_gate_and_report_refuse_a_stopped_run_and_allow_partial_names_what_is_missing(
        project: Path, capsys: pytest.CaptureFixture[str], sig: int, state: str) -> None:
    base = baseline_run(project)
    stopped = stopped_run(project, sig)

    code = main(["gate", str(base), str(stopped)])
    out = capsys.readouterr().out
    assert code == ExitCode.INFRASTRUCTURE_ERROR
    assert out.startswith(f"passline gate: NOT RUN -- the candidate {stopped} is incomplete (")
    assert f"of {N_CASES} planned items finished" in out
    if sig == signal.SIGKILL:
        assert "(crashed: no end was written" in out
    assert len(out.strip().splitlines()) == 1  # one line

    code = main(["report", str(base), str(stopped), "--out", str(project / "r")])
    out = capsys.readouterr().out
    assert code == ExitCode.INFRASTRUCTURE_ERROR
    assert f"passline report: NOT RUN -- the candidate {stopped} is incomplete" in out
    assert not (project / "r").exists()

    # the other way round: an incomplete baseline is refused too, by the CLI and by pytest
    assert main(["gate", str(stopped), str(base)]) == ExitCode.INFRASTRUCTURE_ERROR
    assert "the baseline" in capsys.readouterr().out
    if sig == signal.SIGKILL:
        gated = subprocess.run(pytest_cmd("runs/again", f"--passline-baseline={stopped}"),
                               cwd=project, env=env(), capture_output=True, text=True,
                               timeout=300, check=False)
        assert gated.returncode == ExitCode.INFRASTRUCTURE_ERROR, gated.stdout[-2000:]
        assert f"NOT RUN -- the baseline {stopped} is incomplete (crashed" in gated.stdout

    code = main(["gate", str(base), str(stopped), "--allow-partial"])
    out = " ".join(capsys.readouterr().out.split())
    # the missing cases are named, and the missing must-pass case (the last one) means the
    # verdict cannot be PASS: "incomplete", exit 3
    assert code == ExitCode.INFRASTRUCTURE_ERROR
    assert out.startswith("INCOMPLETE")
    assert "1 must-pass case(s) of the baseline were not run by the candidate" in out
    assert "baseline case(s) were not run by the candidate and are left out" in out
    assert "vouched for: c39 (test_evals.py::test_answers)" in out
    assert "test_evals.py::test_answers::c20" in out  # unfinished cases, by name


def test_an_interrupted_session_that_compares_exits_3_not_2(project: Path) -> None:
    # Ctrl-C in a two-variant session: no verdict on incomplete records -- exit 3 (2 is
    # passline's usage error); a session that does not compare keeps pytest's 2
    _, code, out = stopped_session(project, signal.SIGINT, "--passline-variant=a=sim-1:v1",
                                   "--passline-variant=b=sim-1:v1")
    assert code == ExitCode.INFRASTRUCTURE_ERROR, out[-2000:]
    assert "passline gate: NOT RUN -- the session was interrupted" in out
    assert "--passline-resume=RUN" in out
