"""Several golden cases per pytest item (``cases_per_item``): pytest keeps every item and
its reports for the whole session, so 100,000 items cost it about 550 MB; batching cases
keeps that flat while every case still gets its own run, scores, status and row -- the same
rows as one item per case.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import numpy  # noqa: F401  (pytester in-process runs cannot re-import C extensions)
import pytest
import scipy.stats  # noqa: F401
from mini_project import write_mini_project

from passline.records import read_manifest, read_rows

pytest_plugins = ["pytester"]

# no model: what each case gives is decided by its input, so both sessions see the same
AGENT = '''
import os, signal
from passline import AgentRun

def agent(case_input):
    message = case_input["message"]
    if message == os.environ.get("KILL_AT"):
        os.kill(os.getpid(), signal.SIGKILL)
    if "boom" in message:
        raise RuntimeError("the agent fell over on " + message)
    return AgentRun(answer=message.upper())
'''

EVALS = '''
import passline
from passline.scoring import required_facts

@passline.eval("mini@v1", scorers=[required_facts()])
def test_scored(run, case, scores):
    assert "SKIP" not in run.answer or __import__("pytest").skip("asked to")

@passline.eval("mini@v1")
def test_asserts(run, case, variant):
    assert case.id != "c3", f"{variant.name} refuses c3"
'''

MESSAGES = ["order one", "order two", "no match", "order four", "boom five", "order SKIP",
            "order seven"]


@pytest.fixture(autouse=True)
def _run_dir_from_pyproject(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PASSLINE_RUN_DIR", raising=False)


def make_project(pytester: pytest.Pytester, toml: str = "", messages: list[str] = MESSAGES
                 ) -> Path:
    rows = [{"id": f"c{i}", "input": {"message": m}, "expected": {"facts": ["ORDER"]}}
            for i, m in enumerate(messages)]
    return write_mini_project(pytester, rows, agent=AGENT, eval_src=EVALS,
                              toml=f"trials = 2\n{toml}")


def rows_by_case(run_dir: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    keep = ("status", "error", "failure", "scores", "score", "input", "expected", "tags")
    out = {}
    for row in read_rows(run_dir):
        key = (row["eval"], row["case_id"], row["trial"])
        assert key not in out, f"two rows for {key}"
        out[key] = {k: row.get(k) for k in keep} | {"answer": (row["run"] or {}).get("answer")}
    return out


def only_run(root: Path) -> Path:
    (run_dir,) = sorted(p for p in (root / "runs").iterdir() if p.is_dir())
    return run_dir


def test_batched_items_record_the_rows_one_item_per_case_records(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    root = make_project(pytester)
    single = pytester.runpytest("-p", "no:cacheprovider")
    # 7 cases x 2 trials x 2 evals: c3 fails test_asserts, c4's agent errors in both evals
    # (2 trials each), c5 skips test_scored, c2 misses the fact ("ORDER") in test_scored
    single.assert_outcomes(passed=18, failed=4, errors=4, skipped=2)
    want = rows_by_case(only_run(root))
    assert len(want) == 26
    (root / "runs").rename(tmp_path / "single")

    batched = pytester.runpytest("-p", "no:cacheprovider", "--passline-cases-per-item=4")
    assert batched.ret == 1
    # per eval: 14 cases x trials in items of 4 (c0-c1, c2-c3, c4-c5, c6): an item fails
    # when one of its cases does
    batched.assert_outcomes(passed=4, failed=4)
    batched.stdout.fnmatch_lines([
        "*of 4 cases did not pass (each has its own row in the run record):*",
        "*--- mini@v1:c4:t0 [[]error[]]*",
    ])
    got = rows_by_case(only_run(root))
    assert got == want
    manifest = read_manifest(only_run(root))
    assert manifest["settings"]["cases_per_item"] == 4
    assert manifest["completion"]["state"] == "complete"
    assert manifest["completion"]["planned_items"] == 28


def test_a_fixture_that_depends_on_the_case_cannot_be_batched(pytester: pytest.Pytester
                                                              ) -> None:
    make_project(pytester, toml="cases_per_item = 3")
    pytester.makeconftest('''
import pytest

@pytest.fixture
def answer_length(run):
    return len(run.answer)
''')
    pytester.makepyfile(test_evals='''
import passline

@passline.eval("mini@v1")
def test_short(run, answer_length):
    assert answer_length < 100
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 2
    result.stdout.fnmatch_lines([
        "*passline: test_evals.py:*: cases_per_item = 3 runs several cases per pytest item, "
        "but fixture `answer_length` takes `run`*compute it in the eval's body instead*"])


def test_shards_and_deselection_work_per_case(pytester: pytest.Pytester,
                                              tmp_path: Path) -> None:
    root = make_project(pytester, toml="cases_per_item = 3")
    shards = []
    for index in (1, 2):
        pytester.runpytest("-p", "no:cacheprovider", f"--passline-shard={index}/2")
        run_dir = only_run(root)
        shards.append({key for key in rows_by_case(run_dir)})
        assert read_manifest(run_dir)["completion"]["state"] == "partial"
        run_dir.rename(tmp_path / f"shard{index}")
    assert not shards[0] & shards[1]
    assert len(shards[0] | shards[1]) == 26  # every case x trial x eval but c5's skips
    # -k picks items: a batch (named by its first and last case) runs whole
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "test_asserts and c0")
    result.assert_outcomes(passed=1, deselected=9)
    assert {k[1] for k in rows_by_case(only_run(root))} == {"c0", "c1"}


def test_a_killed_batched_session_resumes_without_redoing_finished_cases(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    messages = [f"order {i}" for i in range(12)]
    root = make_project(pytester, toml="cases_per_item = 5\nconcurrency = 1",
                        messages=messages)
    pytester.makepyfile(test_evals='''
import os, signal
import passline

@passline.eval("mini@v1")
def test_answers(run, case):
    if case.id == os.environ.get("KILL_CASE"):  # the process dies while checking c7
        os.kill(os.getpid(), signal.SIGKILL)
    assert run.answer
''')
    monkeypatch.setenv("KILL_CASE", "c7")  # inside the second item (c5-c9)
    first = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--passline-trials=1",
                                          timeout=300)
    assert first.ret == -signal.SIGKILL
    run_dir = only_run(root)
    kept = {r["case_id"] for r in read_rows(run_dir)}
    # every case that ended before the kill is on disk, also those of the unfinished item
    assert {f"c{i}" for i in range(7)} <= kept and "c7" not in kept
    monkeypatch.delenv("KILL_CASE")
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                          f"--passline-resume={run_dir.name}", timeout=300)
    assert again.ret == 0, again.stdout.str()
    rows = list(read_rows(run_dir))
    assert sorted(r["case_id"] for r in rows) == sorted(f"c{i}" for i in range(12))
    assert read_manifest(run_dir)["completion"]["state"] == "complete"


def test_batched_items_under_xdist_send_every_row_to_the_controller(
        pytester: pytest.Pytester) -> None:
    root = make_project(pytester, toml="cases_per_item = 4")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", timeout=300)
    result.assert_outcomes(passed=4, failed=4)
    rows = rows_by_case(only_run(root))
    assert len(rows) == 26
    assert sum(r["status"] == "error" for r in rows.values()) == 4
    assert read_manifest(only_run(root))["completion"]["state"] == "complete"
