"""Faults, crashes and attacks (docs/reliability.md): every session ends, records say how they
ended, interrupted runs resume without paying twice, dead endpoints fail fast, names cannot
escape, records are private."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy  # noqa: F401  (pytester in-process runs cannot re-import C extensions)
import pytest
import scipy.stats  # noqa: F401
from mini_project import write_mini_project

from passline.records import read_manifest, read_rows

pytest_plugins = ["pytester"]

CALLING_AGENT = '''
import os, signal
from passline import AgentRun

async def agent(case_input, ctx):
    message = case_input["message"]
    usage = None
    answer = message
    for step in range(int(os.environ.get("CALLS_PER_CASE", "1"))):
        r = await ctx.client.chat([{"role": "user", "content": f"{message} (step {step})"}],
                                  model=ctx.model, trial=ctx.trial)
        usage = r.usage if usage is None else usage + r.usage
        answer += " | " + (r.content or "")
        if message == os.environ.get("KILL_AT") and step == 0:
            os.kill(os.getpid(), getattr(signal, os.environ.get("KILL_SIGNAL", "SIGKILL")))
    return AgentRun(answer=answer, usage=usage, latency_s=0.0)
'''

EVAL = '''
import passline

@passline.eval("mini@v1")
def test_answers(run, case):
    assert run.status == "ok"
'''


@pytest.fixture(autouse=True)
def _run_dir_from_pyproject(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PASSLINE_RUN_DIR", raising=False)


def make_project(pytester: pytest.Pytester, n: int = 6, *, agent: str = CALLING_AGENT,
                 toml: str = "") -> Path:
    rows = [{"id": f"c{i}", "input": {"message": f"case {i}"}, "expected": {}}
            for i in range(n)]
    return write_mini_project(pytester, rows, agent=agent, eval_src=EVAL, toml=toml)


def run_dirs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "runs").iterdir() if p.is_dir())


@pytest.fixture
def sim_process() -> Iterator[tuple[str, Path]]:
    """A simulator in its own process: it outlives the pytest sessions we kill."""
    proc = subprocess.Popen([sys.executable, "-m", "passline", "sim", "serve",
                             "--latency-ms", "20"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        yield url, Path()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def sim_requests(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(url.replace("/v1", "/sim/stats"), timeout=5) as r:
        return int(json.load(r)["requests"])


# -- every session ends ---------------------------------------------------------------------

STUCK_AGENT = '''
import concurrent.futures, threading, time
from passline import AgentRun
POOL = concurrent.futures.ThreadPoolExecutor(2)  # its workers are not daemon threads

def agent(case_input, ctx):
    if case_input["message"] == "case 1":
        time.sleep(10**6)  # blocking I/O without a timeout, forever
    if case_input["message"] == "case 2":
        POOL.submit(threading.Event().wait).result()  # stuck in a non-daemon thread too
    return AgentRun(answer="fine")
'''


def test_a_stuck_sync_agent_cannot_keep_the_process_alive(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=4, agent=STUCK_AGENT,
                        toml="run_timeout_s = 2\nshutdown_grace_s = 3")
    start = time.monotonic()
    # without the fix this never returns (pytester's timeout would fail the test)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    elapsed = time.monotonic() - start
    assert result.ret == 1  # two cases timed out: errors, reported as such
    result.stdout.fnmatch_lines(["*agent run ended with status timeout*run_timeout_s=2s*",
                                 "*2 stuck call(s) were abandoned*"])
    manifest = read_manifest(run_dirs(root)[0])
    assert manifest["finished_at"] and manifest["completion"]["state"] == "complete"
    rows = {r["case_id"]: r for r in read_rows(run_dirs(root)[0])}
    assert [rows[c]["status"] for c in ("c0", "c1", "c2", "c3")] == ["pass", "error", "error",
                                                                    "pass"]
    assert rows["c1"]["run"]["status"] == "timeout"
    # the process ends within run timeout + grace (+ interpreter start-up on a busy machine)
    assert elapsed < 2 + 3 + 45, elapsed


def test_a_stuck_scorer_is_abandoned_and_its_case_errors(pytester: pytest.Pytester) -> None:
    make_project(pytester, n=2, agent=CALLING_AGENT, toml="run_timeout_s = 2\n"
                 "shutdown_grace_s = 1")
    pytester.makepyfile(test_evals='''
import time, passline
from passline import Score

def slow_scorer(run, case):
    if case.id == "c1":
        time.sleep(10**6)
    return Score("slow", 1.0, True)

@passline.eval("mini@v1", scorers=[slow_scorer])
def test_answers(run, case):
    pass
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*scoring case mini@v1:c1 did not finish within "
                                 "run_timeout_s=2s*"])


# -- interrupted, crashed, resumed ----------------------------------------------------------

def test_sigkill_then_resume_completes_the_record_without_repeating_calls(
        pytester: pytest.Pytester, sim_process: tuple[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = sim_process
    n, calls = 40, 2
    root = make_project(pytester, n=n, toml="concurrency = 1")
    monkeypatch.setenv("PASSLINE_BASE_URL", url)
    monkeypatch.setenv("CALLS_PER_CASE", str(calls))
    monkeypatch.setenv("KILL_AT", "case 20")  # about half way, between its two calls
    first = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    assert first.ret == -signal.SIGKILL
    (run_dir,) = run_dirs(root)
    before = (run_dir / "results.jsonl").read_bytes()
    kept = list(read_rows(run_dir))
    assert 0 < len(kept) < n
    assert read_manifest(run_dir)["finished_at"] is None  # crashed: readers infer it
    assert (run_dir / "journal.sqlite").exists()
    requests_first = sim_requests(url)
    assert requests_first == 20 * calls + 1  # c0..c19 whole, c20's first call, then death

    monkeypatch.delenv("KILL_AT")
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                          f"--passline-resume={run_dir.name}", timeout=300)
    assert again.ret == 0, again.stdout.str()
    again.assert_outcomes(passed=n - len(kept), deselected=len(kept))
    rows = list(read_rows(run_dir))
    assert len(rows) == n and len({r["case_id"] for r in rows}) == n  # 0 duplicates
    assert (run_dir / "results.jsonl").read_bytes().startswith(before)  # finished rows kept
    manifest = read_manifest(run_dir)
    assert manifest["completion"] == {"state": "complete", "planned_items": n,
                                      "finished_items": n, "reason": ""}
    assert manifest["resumed_at"] and manifest["finished_at"]
    # every call answered before the kill was replayed from the journal, none repeated
    assert sim_requests(url) == n * calls
    assert not (run_dir / "journal.sqlite").exists()  # removed once the run completed


OWN_CLIENT_AGENT = '''
import os, signal
import openai
from passline import AgentRun

async def agent(case_input, ctx):
    client = openai.AsyncOpenAI()  # the agent's own client: passline captures its calls
    answer = case_input["message"]
    for step in range(2):
        r = await client.chat.completions.create(
            model=ctx.model, messages=[{"role": "user", "content": f"{answer} (step {step})"}])
        answer += " | " + (r.choices[0].message.content or "")
        if case_input["message"] == os.environ.get("KILL_AT") and step == 0:
            os.kill(os.getpid(), signal.SIGKILL)
    return AgentRun(answer=answer)
'''


def test_resume_replays_calls_of_the_agents_own_client(
        pytester: pytest.Pytester, sim_process: tuple[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal also holds calls an agent makes with its own OpenAI client (captured)."""
    url, _ = sim_process
    root = make_project(pytester, n=10, agent=OWN_CLIENT_AGENT, toml="concurrency = 1")
    monkeypatch.setenv("PASSLINE_BASE_URL", url)
    monkeypatch.setenv("KILL_AT", "case 5")
    assert pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300).ret == \
        -signal.SIGKILL
    assert sim_requests(url) == 5 * 2 + 1
    monkeypatch.delenv("KILL_AT")
    (run_dir,) = run_dirs(root)
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--passline-resume={run_dir}",
                                          timeout=300)
    assert again.ret == 0, again.stdout.str()[-3000:]
    assert sorted(r["case_id"] for r in read_rows(run_dir)) == sorted(f"c{i}" for i in range(10))
    assert sim_requests(url) == 10 * 2  # nothing answered before the kill was asked again


def test_sigint_and_sigterm_finalise_the_record_as_interrupted_never_complete(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(pytester, n=12, toml="concurrency = 1")
    for sig in ("SIGINT", "SIGTERM"):
        monkeypatch.setenv("KILL_AT", "case 6")
        monkeypatch.setenv("KILL_SIGNAL", sig)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
        assert result.ret == 2  # pytest's "interrupted"
        run_dir = max(run_dirs(root), key=lambda p: p.stat().st_mtime)
        manifest = read_manifest(run_dir)
        completion = manifest["completion"]
        assert manifest["finished_at"] and completion["state"] == "interrupted"
        assert completion["planned_items"] == 12 and completion["finished_items"] < 12
        assert ("SIGTERM" in completion["reason"]) == (sig == "SIGTERM")
        result.stdout.fnmatch_lines([f"*was interrupted*--passline-resume={run_dir.name}*"])
        monkeypatch.delenv("KILL_AT")
        resumed = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                                f"--passline-resume={run_dir}", timeout=300)
        assert resumed.ret == 0
        assert read_manifest(run_dir)["completion"]["state"] == "complete"
        assert len(list(read_rows(run_dir))) == 12


def test_exitfirst_is_interrupted_and_a_complete_run_cannot_be_resumed(
        pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=4)
    pytester.makepyfile(test_evals='''
import passline

@passline.eval("mini@v1")
def test_answers(run, case):
    assert case.id != "c1"
''')
    pytester.runpytest("-x", "-p", "no:cacheprovider").assert_outcomes(passed=1, failed=1)
    (run_dir,) = run_dirs(root)
    completion = read_manifest(run_dir)["completion"]
    assert completion["state"] == "interrupted" and "-x" in completion["reason"]
    pytester.makepyfile(test_evals=EVAL)
    pytester.runpytest(f"--passline-resume={run_dir}", "-p", "no:cacheprovider"
                       ).assert_outcomes(passed=2, deselected=2)
    assert read_manifest(run_dir)["completion"]["state"] == "complete"
    again = pytester.runpytest(f"--passline-resume={run_dir}", "-p", "no:cacheprovider")
    assert again.ret == 2
    again.stdout.fnmatch_lines(["passline: *this run is complete; nothing to resume*"])


def test_a_resumed_writer_drops_a_cut_last_line_and_outage_rows(tmp_path: Path) -> None:
    from passline.records import RunWriter
    from passline.runner._resume import is_outage_row

    def row(case: str, **extra: object) -> dict[str, object]:
        return {"eval": "t", "dataset": "d", "dataset_version": "v1", "case_id": case,
                "trial": 0, "status": "pass", **extra}

    writer = RunWriter(tmp_path / "run", {"run_id": "run"})
    writer.write(row("c0"))
    writer.write(row("c1", status="error", error="EndpointDown: endpoint http://h:1 is down: "
                     "8 consecutive ...; no further calls are made to it in this session."))
    writer.write(row("c2"))
    with open(tmp_path / "run" / "results.jsonl", "a") as fh:
        fh.write('{"schema_version": 1, "eval": "t", "case_id": "c3", "sta')  # kill -9 here
    resumed = RunWriter(tmp_path / "run", {"run_id": "run"}, resume=True, drop=is_outage_row)
    assert {k[3] for k in resumed.keys} == {"c0", "c2"}
    resumed.write(row("c1"))
    resumed.write(row("c3"))
    resumed.finish()
    assert [r["case_id"] for r in read_rows(tmp_path / "run")] == ["c0", "c2", "c1", "c3"]
    assert read_manifest(tmp_path / "run")["resumed_at"]


def test_shards_and_deselections_are_partial(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=6)
    pytester.runpytest("--passline-shard", "1/2", "-p", "no:cacheprovider")
    pytester.runpytest("-k", "c1 or c2", "-p", "no:cacheprovider")
    states = sorted((read_manifest(d)["completion"]["state"],
                     read_manifest(d)["completion"]["reason"]) for d in run_dirs(root))
    assert states == [("partial", "4 of 6 planned items have no result (deselected or not "
                       "run)"), ("partial", "shard 1/2")]


def test_runs_resume_cli_reruns_the_recorded_command(pytester: pytest.Pytester,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(pytester, n=12, toml="concurrency = 1")
    monkeypatch.setenv("KILL_AT", "case 5")
    first = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    assert first.ret == -signal.SIGKILL
    monkeypatch.delenv("KILL_AT")
    (run_dir,) = run_dirs(root)
    done = subprocess.run([sys.executable, "-m", "passline", "runs", "resume", str(run_dir)],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert read_manifest(run_dir)["completion"]["state"] == "complete"
    assert sorted(r["case_id"] for r in read_rows(run_dir)) == sorted(f"c{i}"
                                                                      for i in range(12))


def test_resume_under_xdist_runs_only_the_rest(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=10)
    pytester.makepyfile(test_evals='''
import os, passline

@passline.eval("mini@v1")
def test_answers(run, case):
    assert not (case.id == "c3" and os.environ.get("FAIL_C3"))
''')
    os.environ["FAIL_C3"] = "1"
    try:
        first = pytester.runpytest_subprocess("-n", "2", "-x", "-p", "no:cacheprovider")
    finally:
        del os.environ["FAIL_C3"]
    assert first.ret in (1, 2)  # xdist reports a -x stop as "interrupted"
    (run_dir,) = run_dirs(root)
    assert read_manifest(run_dir)["completion"]["state"] == "interrupted"
    done = {r["case_id"] for r in read_rows(run_dir)}
    assert 0 < len(done) < 10
    again = pytester.runpytest_subprocess("-n", "2", f"--passline-resume={run_dir}",
                                          "-p", "no:cacheprovider")
    # the exit code covers the items this session ran; c3's failing row stays in the record
    assert again.ret == 0
    rows = list(read_rows(run_dir))
    assert sorted(r["case_id"] for r in rows) == sorted(f"c{i}" for i in range(10))
    completion = read_manifest(run_dir)["completion"]
    assert completion == {"state": "complete", "planned_items": 10, "finished_items": 10,
                          "reason": ""}


def test_usage_errors_under_xdist_exit_2_with_one_line(pytester: pytest.Pytester) -> None:
    make_project(pytester, n=2)
    pytester.makepyfile(test_evals=EVAL.replace("mini@v1", "nope@v1"))
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    assert result.ret == 2
    result.stdout.fnmatch_lines(["passline: test_evals.py:3: no golden dataset 'nope'*"])
    assert "Traceback" not in result.stdout.str()


# -- injected faults and concurrent sessions ------------------------------------------------

TOOL_AGENT = '''
import json
from passline import AgentRun

TOOLS = [{"type": "function", "function": {
    "name": "get_order", "description": "Look up one order by id: status and total.",
    "parameters": {"type": "object", "required": ["order_id"], "properties": {
        "order_id": {"type": "string", "description": "Order id, like ORD-10042"}}}}}]

async def agent(case_input, ctx):
    r = await ctx.client.chat([{"role": "user", "content": case_input["message"]}],
                              model=ctx.model, tools=TOOLS, trial=ctx.trial)
    calls = [(c.name, c.arguments()) for c in r.tool_calls]
    return AgentRun(answer=json.dumps([calls, r.content]), usage=r.usage)
'''


def test_injected_faults_lose_no_case_and_change_no_answer(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """17% of attempts fail (429, 500, 503, hang, malformed tool arguments): every case still
    ends with the answer it gets without faults."""
    n = 40
    root = make_project(pytester, n=n, agent=TOOL_AGENT, toml="timeout_s = 1\n"
                        "backoff_base_s = 0.05\nbackoff_max_s = 0.5\nmax_retries = 6")
    lines = [json.dumps({"id": f"c{i}", "input": {"message": f"Where is my order ORD-{10000 + i}?"},
                         "expected": {}}) for i in range(n)]
    (root / "golden/mini/v1/data.jsonl").write_text("\n".join(lines) + "\n")
    answers, fired = {}, {}
    for faults in ("", "429=0.04,500=0.03,503=0.04,hang=0.02,malformed=0.04"):
        sim = subprocess.Popen([sys.executable, "-m", "passline", "sim", "serve", "--faults",
                                faults, "--retry-after", "0.05"], stdout=subprocess.PIPE,
                               text=True)
        try:
            assert sim.stdout is not None
            url = sim.stdout.readline().strip()
            monkeypatch.setenv("PASSLINE_BASE_URL", url)
            result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
            assert result.ret == 0, result.stdout.str()[-2000:]
            import urllib.request

            with urllib.request.urlopen(url.replace("/v1", "/sim/stats"), timeout=5) as r:
                fired[faults] = sum(json.load(r)["faults"].values())
        finally:
            sim.terminate()
            sim.wait(timeout=10)
        run_dir = max(run_dirs(root), key=lambda p: p.stat().st_mtime)
        answers[faults] = {r["case_id"]: (r["status"], r["score"], r["run"]["answer"])
                           for r in read_rows(run_dir)}
    clean, faulty = answers.values()
    assert len(faulty) == n and faulty == clean
    assert list(fired.values())[1] > 0  # faults really fired


def test_two_sessions_sharing_run_dir_and_cache_lose_and_corrupt_nothing(
        pytester: pytest.Pytester, sim_process: tuple[str, Path]) -> None:
    root = make_project(pytester, n=40, toml='cache = "rw"\ncache_path = "shared.sqlite"')
    env = {**os.environ, "PASSLINE_BASE_URL": sim_process[0]}
    env.pop("PASSLINE_CACHE_PATH", None)
    procs = [subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"--passline-variant=s{i}=sim-{i}:v{i}"], cwd=root, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in (1, 2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    dirs = run_dirs(root)
    assert len(dirs) == 2
    for d in dirs:
        assert read_manifest(d)["completion"]["state"] == "complete"
        assert len(list(read_rows(d))) == 40
    conn = sqlite3.connect(root / "shared.sqlite")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 80  # 2 models


# -- dead endpoints fail fast ---------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("agent", ["ctx.client", "own client"])
def test_a_dead_endpoint_ends_a_170_case_suite_at_once_with_exit_3(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, agent: str) -> None:
    root = make_project(pytester, n=170,
                        agent=CALLING_AGENT if agent == "ctx.client" else OWN_CLIENT_AGENT)
    monkeypatch.setenv("PASSLINE_BASE_URL", f"http://127.0.0.1:{_closed_port()}/v1")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=300)
    assert result.ret == 3  # an outage is an infrastructure error
    (run_dir,) = run_dirs(root)
    manifest = read_manifest(run_dir)
    rows = list(read_rows(run_dir))
    assert len(rows) == 170 and {r["status"] for r in rows} == {"error"}
    assert manifest["completion"]["state"] == "interrupted"
    assert manifest["completion"]["reason"].startswith("endpoint down: http://127.0.0.1:")
    result.stdout.fnmatch_lines(["passline: endpoint http://127.0.0.1:* is down: 8 consecutive "
                                 "connection failures or timeouts (last: *"])
    assert "refused" in result.stdout.str().lower() or "connect" in result.stdout.str().lower()
    # the session itself (collection to summary), not interpreter start-up
    assert manifest["timings"]["session_wall_s"] < 30


def test_an_endpoint_that_comes_back_resumes_the_outage_rows(
        pytester: pytest.Pytester, sim_process: tuple[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(pytester, n=20)
    monkeypatch.setenv("PASSLINE_BASE_URL", f"http://127.0.0.1:{_closed_port()}/v1")
    assert pytester.runpytest("-p", "no:cacheprovider").ret == 3
    (run_dir,) = run_dirs(root)
    monkeypatch.setenv("PASSLINE_BASE_URL", sim_process[0])
    resumed = pytester.runpytest(f"--passline-resume={run_dir}", "-p", "no:cacheprovider")
    assert resumed.ret == 0
    rows = list(read_rows(run_dir))
    assert len(rows) == 20 and {r["status"] for r in rows} == {"pass"}
    assert read_manifest(run_dir)["completion"]["state"] == "complete"


# -- names cannot escape, records are private ------------------------------------------------

@pytest.mark.parametrize("name", ["x/../../../../tmp/ESCAPED", "feature/x",
                                  "<img src=x onerror=alert(1)>", "..", "a" * 101])
def test_variant_names_cannot_become_paths(pytester: pytest.Pytester, name: str) -> None:
    root = make_project(pytester, n=2)
    result = pytester.runpytest(f"--passline-variant={name}=sim-2:v1")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["passline: variant name * is not valid; use letters, digits*"])
    assert not (root / "runs").exists()
    assert not (root.parent / "ESCAPED").exists()


def test_the_path_helper_refuses_every_escape(tmp_path: Path) -> None:
    from passline._paths import inside
    from passline.errors import ConfigError

    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    assert inside(tmp_path / "root", "run-1", "manifest.json").parent.name == "run-1"
    for bad in ("../x", "/etc/passwd", "link/x", "a/../../x"):
        with pytest.raises(ConfigError, match="outside"):
            inside(tmp_path / "root", bad)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode)
            for p in sorted(root.rglob("*"))}


def test_records_caches_and_baselines_are_private_by_default(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    root = make_project(pytester, n=3, toml='cache = "rw"\ncache_path = "cache/c.sqlite"')
    os.environ.pop("PASSLINE_CACHE_PATH", None)
    pytester.runpytest_subprocess("-p", "no:cacheprovider")
    from passline.cli import main

    (run_dir,) = run_dirs(root)
    assert main(["baseline", "--dir", str(root / "reports" / "baselines"), "save", "main",
                 str(run_dir)]) == 0
    written = {**_modes(root / "runs"), **_modes(root / "cache"),
               **_modes(root / "reports")}
    assert written and {m for p, m in written.items()
                        if (root / "runs" / p).is_file() or p.endswith((".json", ".sqlite"))
                        } <= {0o600}
    dirs = [p for p in (root / "runs", run_dir, root / "cache", root / "reports" / "baselines")]
    assert {stat.S_IMODE(d.stat().st_mode) for d in dirs} == {0o700}


def test_shared_permissions_use_the_umask(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=2, toml="shared_permissions = true")
    umask = os.umask(0o022)
    os.umask(umask)
    pytester.runpytest_subprocess("-p", "no:cacheprovider")
    (run_dir,) = run_dirs(root)
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o777 & ~umask
    for name in ("manifest.json", "results.jsonl"):
        assert stat.S_IMODE((run_dir / name).stat().st_mode) == 0o666 & ~umask


# -- secrets and the network -----------------------------------------------------------------

def test_a_canary_api_key_reaches_no_file(pytester: pytest.Pytester, sim_process: tuple[str, Path],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    canary = "sk-CANARY-0123456789abcdef"
    root = make_project(pytester, n=4, toml='cache = "rw"\ncache_path = "c.sqlite"')
    monkeypatch.delenv("PASSLINE_CACHE_PATH")
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    monkeypatch.setenv("PASSLINE_BASE_URL", sim_process[0])  # a URL: the key is sent to it
    monkeypatch.setenv("KILL_AT", "case 2")  # a crash keeps the journal on disk as well
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--passline-concurrency=1")
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "journal.sqlite" for p in files)
    assert [p for p in files if canary.encode() in p.read_bytes()] == []


SOCKET_GUARD = '''
import ipaddress, os, socket

LOG = os.environ["OUTBOUND_LOG"]
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo

def _local(host):
    if host in (None, "", "localhost") or str(host).startswith("/"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False

def _note(what):
    with open(LOG, "a") as fh:
        fh.write(what + "\\n")
    raise OSError(101, "outbound connections are blocked in this test")

def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _note(f"connect {address!r}")
    return _connect(self, address)

def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _note(f"connect_ex {address!r}")
    return _connect_ex(self, address)

def getaddrinfo(host, *args, **kwargs):
    if not _local(host):
        _note(f"getaddrinfo {host!r}")
    return _getaddrinfo(host, *args, **kwargs)

socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
'''


def test_an_eval_session_connects_to_loopback_only(tmp_path: Path) -> None:
    """The dogfood evals (reference agent, tools, RAG, judge) with every connection outside
    loopback refused and logged, from interpreter start (sitecustomize)."""
    repo = Path(__file__).resolve().parents[1]
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(SOCKET_GUARD)
    log = tmp_path / "outbound.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "PASSLINE"))}
    env.update(PYTHONPATH=f"{guard}{os.pathsep}{repo}", OUTBOUND_LOG=str(log),
               HF_HUB_OFFLINE="0", PASSLINE_RUN_DIR=str(tmp_path / "runs"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "evals", "-q", "-p", "no:cacheprovider",
         "-k", "001", f"--basetemp={tmp_path / 'bt'}"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert "passed" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    assert list(read_rows(next((tmp_path / "runs").iterdir())))  # it really ran
    assert not log.exists(), log.read_text()


# -- load -------------------------------------------------------------------------------------

def test_a_session_under_load_leaks_nothing(tmp_path: Path) -> None:
    """CI-sized bench/bench_load.py: 300 cases at concurrency 64 against a simulator process;
    after the session no task, socket, record file or passline thread is left."""
    from bench.bench_load import make_project as make_load_project
    from bench.bench_load import run_session

    make_load_project(tmp_path, 300)
    report = run_session(tmp_path, 300, concurrency=64, latency_ms=5)
    assert report["rows"] == 300 and report["completion"] == "complete"
    assert report["leftover_tasks"] == 0 and report["loop_closed"] is True
    assert report["open_sockets"] == 0
    assert report["open_record_files"] == []
    assert report["passline_threads"] == []


def test_an_async_agent_blocking_the_event_loop_fails_the_rest_at_once(
        pytester: pytest.Pytester) -> None:
    make_project(pytester, n=5, toml="run_timeout_s = 1\nshutdown_grace_s = 1", agent='''
import time
from passline import AgentRun

async def agent(case_input, ctx):
    time.sleep(10**6)  # blocking I/O inside async def: the whole event loop stops
    return AgentRun(answer="never")
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    assert result.ret == 3  # every agent run ended in error: no eval result (docs/plugin.md)
    result.assert_outcomes(errors=5)
    result.stdout.fnmatch_lines(["*the runner's event loop is blocked (an async agent*"])
    (run_dir,) = run_dirs(pytester.path)
    assert read_manifest(run_dir)["completion"]["state"] == "complete"


def test_recorded_production_traffic_is_private(tmp_path: Path) -> None:
    from passline.traffic import TrafficStore, import_files

    fixtures = Path(__file__).parent / "fixtures" / "traffic"
    store = TrafficStore(tmp_path / ".passline" / "traffic")
    import_files([fixtures / "litellm.jsonl"], store)
    assert store.count() > 0
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / ".passline").rglob("*")
            if p.is_file()} == {0o600}
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / ".passline").rglob("*")
            if p.is_dir()} | {stat.S_IMODE((tmp_path / ".passline").stat().st_mode)} == {0o700}
