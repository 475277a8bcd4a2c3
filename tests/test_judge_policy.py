"""The untrusted-judge policy end to end: an untrusted judge informs, it does not decide.

Through pytester: one eval whose only scorer is a judge, a candidate variant whose answer
the judge grades down, and a must-pass case. With ``untrusted_judge = "inform"`` (the
default) the judge's low scores are recorded as advisory and neither the case, the must-pass
check nor the gate fails; with ``untrusted_judge = "gate"`` they do.
"""

from __future__ import annotations

import json
from pathlib import Path

# pytester's in-process runs drop modules first imported inside them; C extensions such as
# numpy cannot be imported twice, so the ones the gate needs are imported up front
import numpy  # noqa: F401
import pytest
import scipy.stats  # noqa: F401
from mini_project import write_mini_project

from passline.errors import ConfigError
from passline.records import read_rows
from passline.settings import Settings

pytest_plugins = ["pytester"]

AGENT = '''
import json
from passline import AgentRun, ToolCall

ORDER = {"order_id": "SO-7001", "status": "shipped", "shipped_at": "2026-05-04",
         "total_usd": 310.0}

async def agent(case_input, ctx):
    # the baseline model answers right; the candidate gets the total wrong
    total = "310.00" if ctx.model == "sim-1" else "301.00"
    answer = f"SO-7001 shipped on 2026-05-04; its total is {total} USD."
    call = ToolCall("get_sale", {"sale_id": "SO-7001"}, result=ORDER)
    return AgentRun(answer=answer, tool_calls=(call,))
'''

EVAL = '''
import passline
from passline.judge import judge_scorer

@passline.eval("sales@v1", scorers=[judge_scorer("answer-quality@1", threshold=4)])
def test_quality(run, case):
    pass
'''


@pytest.fixture(autouse=True)
def _run_dir_from_pyproject(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PASSLINE_RUN_DIR", raising=False)


def make_project(pytester: pytest.Pytester, extra_toml: str = "", *,
                 trusted: bool | None = False) -> Path:
    rows = [{"id": "so-total", "input": {"message": "When did SO-7001 ship and what is its "
                                                    "total?"},
             "expected": {"answer": "SO-7001 shipped on 2026-05-04; total 310.00 USD."},
             "tags": ["must-pass"]}]
    write_mini_project(pytester, rows, agent=AGENT, eval_src=EVAL, dataset="sales",
                       agent_module="saleagent", eval_module="test_quality",
                       toml=f'judge_model = "sim-2"\n{extra_toml}')
    if trusted is not None:
        judges = pytester.path / ".passline" / "judges"
        judges.mkdir(parents=True)
        (judges / "answer-quality@1__sim-2.json").write_text(json.dumps({
            "schema_version": 1, "rubric": "answer-quality@1", "model": "sim-2",
            "dataset": "judge-calibration@v2", "trusted": trusted, "n_items": 170,
            "agreement": {"kappa": 0.8 if trusted else 0.3, "accuracy": 0.5},
            "min_kappa": 0.6}))
    return pytester.path


def _gate(result: pytest.RunResult) -> str:
    """The verdict the two-variant session ended with (after its confirmation runs: a
    must-pass case's single failing trial is decided by new trials, docs/statistics.md)."""
    import re

    (status,) = re.findall(r"passline gate: (\w+) \(cand vs base\)", result.stdout.str())
    assert result.ret == (1 if status == "REGRESSED" else 0)
    return status.lower()


def _run(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest("-q", "-p", "no:cacheprovider",
                              "--passline-variant", "base=sim-1:v1",
                              "--passline-variant", "cand=sim-2:v1")


@pytest.mark.parametrize("trusted", [False, None], ids=["untrusted", "uncalibrated"])
def test_an_untrusted_judge_informs_but_fails_no_case_and_not_the_gate(
        pytester: pytest.Pytester, trusted: bool | None) -> None:
    root = make_project(pytester, trusted=trusted)
    result = _run(pytester)
    result.assert_outcomes(passed=2)
    rows = {r["variant"]: r for d in (root / "runs").iterdir() for r in read_rows(d)}
    cand = rows["cand"]
    score = cand["scores"][0]
    assert score["passed"] is False  # the judge still says what it thinks ...
    assert score["details"]["advisory"] is True  # ... but it is not allowed to decide
    assert score["explanation"].startswith("[informational: untrusted judge")
    assert cand["status"] == "pass" and cand["score"] == 1.0  # not counted in the gated score
    assert _gate(result) != "regressed"  # no must-pass case newly fails, no metric drops
    manifest = json.loads(next(p for p in (root / "runs").glob("*cand*/manifest.json"))
                          .read_text())
    judge = manifest["judges"]["answer-quality@1"]
    assert judge["gates"] is False and judge["untrusted_judge"] == "inform"
    # the report and the PR summary say the judged metric comes from an untrusted judge
    from passline.report import build_report

    runs = {p.name.rsplit("-", 1)[-1]: p for p in (root / "runs").iterdir()}
    paths = build_report(runs["base"], runs["cand"], root / "report")
    summary = paths.summary_md.read_text()
    line = next(x for x in summary.splitlines() if "judged by sim-2" in x)
    assert ("**untrusted**" if trusted is False else "**not calibrated**") in line
    assert "they do not pass or fail cases, must-pass cases or the gate" in line
    assert ("Judged metric (informational): baseline mean 1.00, 0 of 1 trials below "
            "threshold; candidate mean 0.25, 1 of 1 trials below threshold.") in line
    assert "NO — its scores are informational (untrusted_judge = &#34;inform&#34;)" in \
        paths.index_html.read_text()


def test_a_project_can_let_an_untrusted_judge_gate(pytester: pytest.Pytester) -> None:
    make_project(pytester, 'untrusted_judge = "gate"')
    result = _run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    assert _gate(result) == "regressed"  # the must-pass case newly fails, confirmed


def test_a_trusted_judge_decides_under_either_setting(pytester: pytest.Pytester) -> None:
    make_project(pytester, trusted=True)
    result = _run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    assert _gate(result) == "regressed"


def test_the_setting_takes_two_values() -> None:
    assert Settings.resolve({}, env={}).untrusted_judge == "inform"
    assert Settings.resolve({}, env={"PASSLINE_UNTRUSTED_JUDGE": "gate"}).untrusted_judge == \
        "gate"
    with pytest.raises(ConfigError, match="untrusted_judge 'block'"):
        Settings.resolve({"untrusted_judge": "block"}, env={})
