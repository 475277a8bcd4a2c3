"""One vocabulary in the terminal, the HTML report, summary.md and junit.xml: words that say
what was tested and never contradict the numbers (significant / not significant / not
significant after Holm / not gated), checked on crafted comparisons."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from passline.cli.gate import print_verdict
from passline.compare import GatePolicy, compare, gate
from passline.report import build_report

EVAL = "evals/test_tools.py::test_tool_choice"
SLICES = ("slice:a", "slice:b", "slice:c", "slice:d")


def write_run(folder: Path, outcomes, *, cost=0.001, run_id="run") -> Path:
    folder.mkdir(parents=True)
    rows = [{
        "schema_version": 1, "run_id": run_id, "eval": EVAL, "case_id": f"case-{i:04d}",
        "dataset": "tools-unit", "dataset_version": "v2", "tags": [SLICES[i % 4]],
        "cluster": None, "trial": 0, "status": status, "scores": [],
        "score": 1.0 if status == "pass" else 0.0, "cost_usd": cost * (1 + (i % 5) / 10),
        "tokens": 10, "latency_s": 1.0 + (i % 7) / 10, "error": None,
        "input": {"message": f"question {i}"}, "expected": {},
        "run": {"answer": "a", "status": "ok", "tool_calls": [], "trace": []},
    } for i, status in enumerate(outcomes)]
    manifest = {"schema_version": 1, "run_id": run_id, "finished_at": "2026-11-27T10:00:00",
                "trials": 1, "variant": {"name": run_id, "model": "sim-2", "prompts": "v2"},
                "judges": {"answer-quality@1": {"accuracy": 0.9, "kappa": 0.8,
                                                "n_items": 116, "trusted": True}},
                "datasets": {"tools-unit@v2": {"name": "tools-unit", "version": "v2",
                                               "n_cases": len(outcomes)}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def outputs(tmp_path: Path, base, cand, *, cost_b=0.001, cost_c=0.001, policy=None):
    """Every rendering of one comparison: terminal text, HTML, summary.md, junit.xml."""
    policy = policy or GatePolicy(max_p95_latency_increase=float("inf"))
    b = write_run(tmp_path / "base", base, cost=cost_b, run_id="base")
    c = write_run(tmp_path / "cand", cand, cost=cost_c, run_id="cand")
    comparison = compare(b, c, n_boot=400)
    verdict = gate(comparison, policy)
    paths = build_report(b, c, tmp_path / "report", comparison=comparison, verdict=verdict)
    return comparison, verdict, {
        "html": paths.index_html.read_text(encoding="utf-8"),
        "summary": paths.summary_md.read_text(encoding="utf-8"),
        "junit": paths.junit_xml.read_text(encoding="utf-8"),
    }


def terminal(capsys, comparison, verdict) -> str:
    print_verdict(verdict, comparison)
    return " ".join(capsys.readouterr().out.split())  # rich wraps lines


def flips(n_flip: int, n: int = 200) -> tuple[list[str], list[str]]:
    """Baseline passes every case; the candidate fails the first n_flip of slice:a."""
    base = ["pass"] * n
    cand = ["fail" if i % 4 == 0 and i // 4 < n_flip else "pass" for i in range(n)]
    return base, cand


def _plain(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)  # summary.md escapes markdown characters


def test_significant_drop_and_holm_adjusted_slice_read_the_same_everywhere(tmp_path, capsys):
    comparison, verdict, out = outputs(tmp_path, *flips(6))
    pr = comparison.metric("pass_rate")
    assert pr.significant and pr.p_value == pytest.approx(2 / 64)  # exact: 6 flips of 6
    (a,) = [s for s in comparison.slices if s.slice == "slice:a"]
    assert a.p_value < 0.05 <= a.p_adjusted and not a.significant
    drop = "significant drop (p = 0.031)"
    holm = "not significant after Holm (raw p = 0.031)"
    text = terminal(capsys, comparison, verdict)
    junit = ET.fromstring(out["junit"].encode())
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert drop in text and holm in text
    assert drop in out["html"] and holm in out["html"]
    assert drop in _plain(out["summary"]) and holm in _plain(out["summary"])
    assert props["passline.metric.pass_rate"] == drop
    assert drop in props["passline.gate.pass_rate"]
    for rendered in (text, out["html"], out["summary"], out["junit"]):
        assert "no significant change" not in rendered
        assert ">unchanged<" not in rendered  # a slice that moved is never "unchanged"


def test_not_significant_says_so_with_its_p_and_what_could_not_be_seen(tmp_path, capsys):
    comparison, verdict, out = outputs(tmp_path, *flips(2))
    assert verdict.status == "pass"
    said = "not significant (p = 0.5)"
    power = re.compile(r"could not detect drops smaller than \d+\.\d points with 200 cases; "
                       r"add cases or trials")
    text = terminal(capsys, comparison, verdict)
    for rendered in (text, out["html"], _plain(out["summary"]), out["junit"]):
        assert said in rendered
        assert "no significant change" not in rendered
    assert power.search(verdict.reasons[-1] + " ".join(verdict.reasons))
    assert power.search(_plain(out["summary"])) and power.search(out["html"])


def test_a_big_cost_rise_on_few_cases_is_not_gated_not_no_change(tmp_path, capsys):
    # review: "+235% cost, CI +233..+237%" was called "no significant change; could detect 2.8%"
    base = ["pass"] * 12
    comparison, verdict, out = outputs(tmp_path, base, base, cost_c=0.00335,
                                       policy=GatePolicy(max_p95_latency_increase=float("inf"),
                                                         max_cost_increase=10.0))
    cost = comparison.metric("cost")
    assert cost.delta == pytest.approx(2.35) and cost.not_gated == "few-units"
    said = "not gated: fewer than 20 paired units (12)"
    text = terminal(capsys, comparison, verdict)
    for rendered in (text, out["html"], _plain(out["summary"]), out["junit"]):
        assert said in rendered
        assert "could detect" not in rendered.split(said)[1][:40]
    assert "significant" not in cost.direction


def test_one_p95_and_wilson_intervals_per_variant(tmp_path):
    comparison, _, out = outputs(tmp_path, *flips(6))
    lat = comparison.metric("latency_p95")
    # the side table and the metric row show the same p95 (per-case means, inverted CDF)
    p95 = f"{lat.candidate:.2f} s"
    assert out["html"].count(p95) >= 2
    assert "100.0% (95% CI 98.1%-100.0%)" in out["html"]  # the baseline's own pass rate
    assert "97.0% (95% CI 93.6%-98.6%)" in out["html"]
    assert "baseline 100.0% (95% CI 98.1%-100.0%), candidate 97.0%" in out["summary"]


def test_judge_table_shows_how_many_items_the_judge_was_calibrated_on(tmp_path):
    _, _, out = outputs(tmp_path, *flips(0))
    judges = out["html"][out["html"].index('id="judges"'):]
    assert ">116<" in judges


def test_every_percentile_uses_the_documented_inverted_cdf_rule():
    # docs/statistics.md: "Percentiles use the inverted-CDF rule everywhere"
    import numpy as np

    from passline.compare._stats import quantile
    from passline.records._write import percentile

    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 7, 20, 101):
        values = rng.lognormal(size=n)
        for q in (0.05, 0.5, 0.9, 0.95, 0.99):
            want = float(np.quantile(values, q, method="inverted_cdf"))
            assert percentile(list(values), q) == want
            assert quantile(values, q) == want
    assert "inverted-CDF rule" in (Path(__file__).parents[1] / "docs" / "statistics.md"
                                   ).read_text(encoding="utf-8")
