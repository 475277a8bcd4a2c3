"""Large sessions: memory does not grow with the number of finished cases (their records are
streamed to disk), and the figures computed from the stream are those of the rows.

Speed and peak RSS at 100,000 cases are measured by bench/bench_scale.py, not asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy  # noqa: F401  (pytester in-process runs cannot re-import C extensions)
import pytest
import scipy.stats  # noqa: F401
from mini_project import write_mini_project

from passline.records import read_manifest, read_rows, totals
from passline.records._write import RowTally, case_latencies, percentile

pytest_plugins = ["pytester"]

AGENT = '''
async def agent(case_input, ctx):
    reply = await ctx.client.chat([{"role": "user", "content": case_input["message"]}],
                                  model=ctx.model, trial=ctx.trial)
    return reply.content or ""
'''

EVALS = '''
import passline

@passline.eval("mini@v1")
def test_answers(run, case):
    assert run.answer

@passline.eval("mini@v1")
def test_same_runs_again(run, scores, case):
    assert run.answer
'''

# what is still alive once every item has finished (before passline finalises the records)
PROBE = '''
import gc, json, os
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    from passline._types import AgentRun
    from passline.plugin import RUN_KEY, SCORES_KEY, SESSION_KEY

    gc.collect()
    current = session.config.stash[SESSION_KEY]
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    reports = [r for rs in terminal.stats.values() for r in rs]
    alive = {
        "agent_runs": sum(isinstance(o, AgentRun) for o in gc.get_objects()),
        "items_holding_a_run": sum(RUN_KEY in i.stash or SCORES_KEY in i.stash
                                   for i in session.items),
        "reports_holding_a_row": sum(hasattr(r, "passline_row") for r in reports),
        "runner_futures": len(current.runner._futures),
    }
    with open(os.environ["PROBE_OUT"], "w") as fh:
        json.dump(alive, fh)
'''


def orders(n: int) -> list[dict[str, object]]:
    return [{"id": f"c{i}", "input": {"message": f"Where is order ORD-{i}?"}} for i in range(n)]


def test_finished_cases_leave_nothing_behind_in_memory(pytester: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    n = 40
    write_mini_project(pytester, orders(n), agent=AGENT, eval_src=EVALS,
                       toml="concurrency = 8")
    pytester.makeconftest(PROBE)
    out = tmp_path / "alive.json"
    monkeypatch.setenv("PROBE_OUT", str(out))
    monkeypatch.delenv("PASSLINE_RUN_DIR", raising=False)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2 * n)
    alive = json.loads(out.read_text())
    assert alive == {"agent_runs": 0, "items_holding_a_run": 0, "reports_holding_a_row": 0,
                     "runner_futures": 0}
    # ... and the record is complete: every row on disk, totals as computed from the rows
    (run_dir,) = (pytester.path / "runs").iterdir()
    rows = list(read_rows(run_dir))
    assert len(rows) == 2 * n and all(r["run"]["answer"] for r in rows)
    # two evals share each run: it ran once, though the first item to finish let go of it
    assert len((run_dir / "calls.jsonl").read_text().splitlines()) == n
    manifest = read_manifest(run_dir)
    assert manifest["totals"] == totals(rows)
    assert manifest["completion"]["state"] == "complete"
    assert manifest["completion"]["finished_items"] == 2 * n


def test_running_totals_equal_the_totals_of_the_rows() -> None:
    rows = [{"status": s, "score": v, "latency_s": lat, "cost_usd": c, "tokens": t,
             "judge_cost_usd": j, "trial": k % 3, "eval": "e", "case_id": f"c{k}"}
            for k, (s, v, lat, c, t, j) in enumerate(
                [("pass", 1.0, 0.2, 0.001, 10, 0.0), ("fail", 0.25, 1.7, 0.003, 31, 0.0002),
                 ("error", 0.0, 0.0, 0.0, 0, 0.0), ("pass", 0.9, 0.4, 1e-7, 7, 0.0),
                 ("fail", None, None, None, None, None)])]
    tally = RowTally()
    for row in rows:
        tally.add(row)
    expected = {"n": 5, "passed": 2, "failed": 2, "errors": 1, "pass_rate": 0.4,
                "tokens": 48, "cost_usd": 0.001 + 0.003 + 0.0 + 1e-7 + 0.0}
    got = tally.totals()
    assert {k: got[k] for k in expected} == expected
    assert got["mean_score"] == pytest.approx((1.0 + 0.25 + 0.9) / 5)
    assert got["latency_p50_s"] == pytest.approx(0.2)  # over per-case mean latencies
    assert got["latency_p95_s"] == percentile(case_latencies(rows), 0.95)
    assert tally.max_trial == 2


HEAVY_PROBE = '''
import json, os, sys

def pytest_unconfigure(config):
    heavy = ("scipy", "numpy", "pandas", "datasets", "pyarrow", "openai")
    with open(os.environ["PROBE_OUT"], "w") as fh:
        json.dump(sorted(m for m in heavy if m in sys.modules), fh)
'''


def test_a_plain_session_never_imports_the_statistics_stack(pytester: pytest.Pytester,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    """Start-up is part of every run: a one-variant session (collection, runs, records and
    its terminal summary with the pass rate's interval) must not pay for scipy (about a
    second to import), pandas or the openai SDK. Comparisons and reports may."""
    write_mini_project(pytester, orders(3), agent=AGENT, eval_src=EVALS)
    pytester.makeconftest(HEAVY_PROBE)
    out = tmp_path / "heavy.json"
    monkeypatch.setenv("PROBE_OUT", str(out))
    monkeypatch.delenv("PASSLINE_RUN_DIR", raising=False)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*pass 100.0% (95% CI*"])  # the Wilson interval was shown
    assert json.loads(out.read_text()) == []
