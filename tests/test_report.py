"""The report stage without a browser: index.html, summary.md, junit.xml and the CLI.

Runs are synthetic run records (passline.report._synthetic) with known regressions,
traces, tool calls and judge rationales; the XSS corpus goes into every displayed field.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import html as htmlmod
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from passline._types import Span
from passline.compare import compare, save_baseline
from passline.records import RunWriter, atomic_write_json
from passline.report import build_report
from passline.report._payload import span_order
from passline.report._synthetic import XSS_CORPUS, write_synthetic_runs
from passline.trace import span_tree

JSON_BLOCK = re.compile(r'<script type="application/json" id="cases">(.*?)</script>', re.S)


def _split(html: str) -> tuple[str, str]:
    """(the page without the JSON data block, the JSON block's raw text)."""
    match = JSON_BLOCK.search(html)
    assert match, "no JSON data block"
    return html[: match.start()] + html[match.end():], match.group(1)


def _cases(html: str) -> list[dict]:
    from passline.report._chunks import read_cases

    return read_cases(html)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return write_synthetic_runs(root, n_cases=40, trials=2, n_regressed=5, n_improved=3,
                                n_flaky=2, n_errored=1, only_in_baseline=2,
                                fingerprint_changed=True)


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    paths = build_report(runs.baseline, runs.candidate, out, history_root=runs.baseline.parent)
    return paths, paths.index_html.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    runs = write_synthetic_runs(root, n_cases=30, trials=1, hostile=True)
    paths = build_report(runs.baseline, runs.candidate, root / "out")
    return runs, paths


def test_index_shows_verdict_regressions_and_metric_rows(runs, report):
    paths, html = report
    assert paths.verdict.status == "regressed"
    page, _ = _split(html)
    assert 'id="verdict-status">REGRESSED<' in page
    assert "banner-regressed" in page
    for metric in ("pass_rate", "score", "cost", "latency_p95"):
        assert f'data-metric="{metric}"' in page
    listed = re.findall(r'<li class="change change-regression"><button type="button" '
                        r'class="case-link" data-case="\d+">([^<]*)</button>', page)
    assert sorted(listed) == sorted(runs.regressed)
    assert len(runs.regressed) >= 7  # designed: 5 wrong-tool + 1 error + 2 flaky-at-2-trials
    improved = re.findall(r'<li class="change change-improvement"><button type="button" '
                          r'class="case-link" data-case="\d+">([^<]*)</button>', page)
    assert sorted(improved) == sorted(runs.improved)


def test_summary_sections_show_slices_flaky_only_in_one_run_and_warnings(runs, report):
    _, html = report
    page, _ = _split(html)
    assert "worker:support" in page and "adjusted p" in page
    assert f"{len(runs.flaky)} flaky" in page
    assert "2 only in the baseline, 0 only in the candidate" in page
    assert "fingerprint" in page  # compare's dataset-version warning is shown


def test_case_payload_orders_and_categorises_every_case(runs, report):
    _, html = report
    cases = _cases(html)
    assert len(cases) == len(runs.case_ids)
    cats = [c["cat"] for c in cases]
    n_reg = len(runs.regressed)
    assert cats[:n_reg] == ["regression"] * n_reg  # regressions first
    assert {c["id"] for c in cases if c["cat"] == "regression"} == set(runs.regressed)
    assert {c["id"] for c in cases if c["cat"] == "improvement"} == set(runs.improved)
    assert {c["id"] for c in cases if c["cat"] == "only-baseline"} == set(runs.case_ids[-2:])
    assert {c["id"] for c in cases if c["fl"][1]} == set(runs.flaky)
    assert {c["id"] for c in cases if c["err"]} == set(runs.errored)
    assert [c["i"] for c in cases] == list(range(len(cases)))
    first = next(c for c in cases if c["id"] in runs.regressed and c["id"] not in runs.errored)
    trial = first["c"]["tr"][0]
    assert trial["a"] and trial["tc"] and trial["sc"]
    assert [s[0] for s in trial["sp"]][:2] == [0, 1]  # depth-first trace from the root
    assert first["in"].startswith("Where is my refund")


def test_span_order_matches_trace_span_tree():
    spans = [Span("s3", "s1", "tool", "b", 0.5, 0.6), Span("s1", None, "agent", "root", 0, 1),
             Span("s2", "s1", "llm", "a", 0.1, 0.4), Span("s4", "s2", "tool", "c", 0.2, 0.3),
             Span("s5", "gone", "llm", "orphan", 0.05, 0.07)]
    expected = [(d, s.span_id) for d, s in span_tree(spans)]
    got = [(d, s["span_id"]) for d, s in span_order([s.to_dict() for s in spans])]
    assert got == expected


def test_csp_allows_exactly_the_inline_style_and_script(report):
    _, html = report
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert csp
    text = htmlmod.unescape(csp.group(1))
    policy = dict(part.strip().split(" ", 1) for part in text.split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'none'"
    assert policy["img-src"] == "data:"
    assert "unsafe" not in text
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(styles) == 1 and len(scripts) == 1
    assert html.count("<script") == 2  # the executable script and the JSON data block

    def sha(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert policy["style-src"] == sha(styles[0])
    assert policy["script-src"] == sha(scripts[0])
    assert '<meta name="referrer" content="no-referrer">' in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert not re.search(r"\son[a-z]+=", _split(html)[0])  # no inline event handlers


def test_script_builds_dom_without_html_parsing_or_eval():
    js = (Path(__file__).parents[1] / "src/passline/report/static/report.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "setAttribute(\"on", "javascript:"):
        assert sink not in js


def test_prompt_and_manifest_diff(report):
    _, html = report
    page, _ = _split(html)
    assert "orchestrator/v1.j2 → orchestrator/v2.j2" in page
    assert '<span class="l-ctx"> You are the ops assistant.</span>' in page  # context line
    assert '<span class="l-del">-Plan first.</span>' in page
    assert '<span class="l-add">+Plan, then act. </span>' in page
    assert "Unchanged: support/v1.j2 → support/v2.j2" in page
    assert re.search(r'<th scope="row" class="mono">params.temperature</th>'
                     r'<td class="mono del-text">0.0</td><td class="mono add-text">0.2</td>',
                     page)
    assert ">variant.prompts</th>" in page


def test_judge_panel_and_its_absence(runs, report, tmp_path):
    _, html = report
    assert "helpfulness@v1" in _split(html)[0] and "0.71" in html
    bare = write_synthetic_runs(tmp_path / "bare", n_cases=12, judges=False, n_regressed=1,
                                n_improved=0, n_errored=0)
    paths = build_report(bare.baseline, bare.candidate, tmp_path / "out")
    assert "No LLM judge was used in these runs" in paths.index_html.read_text()


def test_trend_chart_uses_matching_runs_from_history(runs, tmp_path):
    history = tmp_path / "history"
    manifest = json.loads((runs.candidate / "manifest.json").read_text())
    for i in range(5):
        atomic_write_json(history / f"old-{i}" / "manifest.json",
                          {**manifest, "run_id": f"old-{i}", "created_at": f"2024-01-0{i + 1}",
                           "totals": {**manifest["totals"], "pass_rate": 0.5 + i / 20}})
    atomic_write_json(history / "other-suite" / "manifest.json",
                      {**manifest, "run_id": "other", "datasets": {"x@v1": {}}})
    paths = build_report(runs.baseline, runs.candidate, tmp_path / "out", history_root=history)
    html = paths.index_html.read_text()
    trend = re.search(r'<figure class="chart" id="chart-trend">(.*?)</figure>', html, re.S)
    assert trend
    points = re.findall(r"<circle [^>]*><title>([^<]*)</title>", trend.group(1))
    assert [p.split(" ")[0] for p in points] == [f"old-{i}" for i in range(5)]
    assert "other" not in trend.group(1)


def test_baseline_file_side_says_answers_not_recorded(runs, tmp_path):
    baseline_file = save_baseline("main", runs.baseline, directory=tmp_path / "baselines")
    from_file = build_report(baseline_file, runs.candidate, tmp_path / "a")
    from_run = build_report(runs.baseline, runs.candidate, tmp_path / "b")
    assert from_file.comparison.metric("pass_rate") == from_run.comparison.metric("pass_rate")
    html = from_file.index_html.read_text()
    cases = _cases(html)
    paired = [c for c in cases if c["b"] is not None and c["c"] is not None]
    assert paired and all(c["b"]["tr"] is None for c in paired)
    assert all(c["c"]["tr"] for c in paired)
    assert "not recorded in baseline file" in html  # what the page says on expanding
    assert "baseline file</span>" in _split(html)[0]


def test_summary_md_fits_a_pr_comment(runs, report):
    paths, _ = report
    md = paths.summary_md.read_text()
    assert md.startswith("## ❌ passline: REGRESSED")
    assert "| metric | baseline | candidate | delta |" in md
    assert f"### Top regressions ({min(10, len(runs.regressed))} of {len(runs.regressed)})" in md
    assert "tool\\_choice: called" in md  # one-line reason, markdown-escaped
    assert "cost per case:" in md and "p95 latency (per-case means):" in md
    assert "index.html" in md


def _small_runs(root: Path, n: int, long_ids: bool) -> tuple[Path, Path]:
    """Runs without traces (fast to write) where every case regresses."""
    dirs = []
    for side in ("base", "cand"):
        writer = RunWriter(root / side, {"run_id": side, "variant": {"name": side},
                                         "datasets": {"d@v1": {}}, "trials": 1})
        for i in range(n):
            cid = (f"case-{i:05d}-" + "x" * 300) if long_ids else f"case-{i:05d}"
            ok = side == "base"
            writer.write({"eval": "evals/test_x.py::test_y", "case_id": cid, "dataset": "d",
                          "dataset_version": "v1", "tags": ["must-pass", f"slice:{i % 40}"],
                          "trial": 0, "status": "pass" if ok else "fail",
                          "score": 1.0 if ok else 0.0, "scores": [
                              {"name": "s", "value": 1.0 if ok else 0.0, "passed": ok,
                               "explanation": "why " * 200, "details": {}}],
                          "cost_usd": 0.001, "tokens": 10, "latency_s": 0.5, "run": None})
        writer.finish()
        dirs.append(root / side)
    return dirs[0], dirs[1]


def test_summary_md_stays_under_60kb_for_10000_cases(tmp_path):
    base, cand = _small_runs(tmp_path, 10_000, long_ids=True)
    comparison = compare(base, cand, n_boot=100)  # few resamples: this test is about size
    paths = build_report(base, cand, tmp_path / "out", comparison=comparison)
    md = paths.summary_md.read_bytes()
    assert len(md) < 60_000
    assert "... and 9,990 more" in md.decode()
    assert len(_cases(paths.index_html.read_text())) == 10_000
    root = ET.parse(paths.junit_xml).getroot()
    assert root.get("tests") == "10000" and root.get("failures") == "10000"


def test_junit_has_one_testcase_per_case_and_the_right_failures(runs, report):
    paths, _ = report
    root = ET.parse(paths.junit_xml).getroot()
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    n_candidate = len(runs.case_ids) - 2  # two cases are only in the baseline
    assert len(cases) == n_candidate == int(root.get("tests"))
    assert {c.get("classname") for c in cases} == {"support-unit"}
    regressions = {c.get("name"): c.find("failure") for c in cases
                   if c.find("failure") is not None
                   and c.find("failure").get("type") == "regression"}
    errors = {c.get("name") for c in cases if c.find("error") is not None}
    assert set(regressions) | errors >= set(runs.regressed) - set(runs.errored)
    assert set(regressions) == set(runs.regressed)  # an errored regression is a regression
    reg = regressions[runs.regressed[1]]
    assert reg.get("message").startswith("regressed: 2/2 trials passed in the baseline")
    props = {p.get("name"): p.get("value") for p in root.find("./testsuite/properties")}
    assert props["passline.verdict"] == "regressed"
    # 2/2 -> 0/2 trials of a must-pass case is not evidence enough without confirmation runs
    assert props["passline.gate.must_pass_unconfirmed"].startswith("warn: 1 must-pass case")
    assert props["passline.metric.pass_rate"].startswith(("significant ", "not significant ("))
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert int(root.get("failures")) == len(failed)


def test_xss_corpus_never_reaches_the_page_unescaped(hostile):
    runs, paths = hostile
    html = paths.index_html.read_text(encoding="utf-8")
    page, data = _split(html)
    assert html.count("<script") == 2
    assert "<" not in data and ">" not in data and "&" not in data
    for evil in XSS_CORPUS:
        if any(ch in evil for ch in "<>\"'"):
            assert evil not in page, evil
    assert "<img" not in page and "<svg onload" not in page and "<iframe" not in page
    assert not re.search(r"""href=["']?javascript:""", page)
    assert "{{7*7}}" in page and ">49<" not in page  # data is never evaluated as a template
    assert "\u202e" not in page and "[U+202E]" in page  # bidi controls made visible
    # the data block round-trips: every hostile string is intact for the script to show
    cases = json.loads(data)["cases"]
    ids = {c["id"] for c in cases}
    assert set(runs.case_ids) == ids
    md = paths.summary_md.read_text()
    assert "<script" not in md and "<img" not in md
    ET.parse(paths.junit_xml)  # still well-formed XML


@pytest.mark.parametrize("chunks", [False, True], ids=["inline", "chunked"])
def test_non_finite_numbers_in_recorded_data_do_not_break_the_json(runs, tmp_path, chunks,
                                                                   monkeypatch):
    """A NaN (which orjson would silently write as null) and a lone surrogate (which it
    refuses) in recorded data: the page holds them as the json module writes them, in the
    inline block and in compressed chunks alike."""
    if chunks:
        monkeypatch.setattr("passline.report._chunks.INLINE_MAX_CASES", 5)
    rows = [json.loads(line) for line in (runs.candidate / "results.jsonl").open()]
    rows[0]["run"]["tool_calls"][0]["arguments"]["amount"] = float("nan")
    rows[1]["run"]["answer"] = "half a pair: \ud83d"
    manifest = json.loads((runs.candidate / "manifest.json").read_text())
    writer = RunWriter(tmp_path / "cand", {k: v for k, v in manifest.items()
                                           if k not in ("schema_version", "created_at")})
    for row in rows:
        writer.write(row)
    writer.finish()
    paths = build_report(runs.baseline, tmp_path / "cand", tmp_path / "out")
    cases = _cases(paths.index_html.read_text())
    assert any(t["tc"] and t["tc"][0][1].get("amount") == "nan"
               for c in cases if c["c"] for t in c["c"]["tr"])
    assert any(t["a"] == "half a pair: \ud83d" for c in cases if c["c"] for t in c["c"]["tr"])
    assert ('id="chunk-0"' in paths.index_html.read_text()) == chunks


def _duplicated(run: Path, to: Path) -> Path:
    """A copy of the run whose first row is recorded twice (reading it logs a warning)."""
    import shutil

    shutil.copytree(run, to)
    results = to / "results.jsonl"
    first = results.read_text(encoding="utf-8").splitlines(keepends=True)[0]
    with results.open("a", encoding="utf-8") as fh:
        fh.write(first)
    return to


def _shown(paths) -> tuple:
    """What a report shows, without the places it was written to."""
    where = str(paths.index_html.parent)
    return (_cases(paths.index_html.read_text(encoding="utf-8")),
            paths.summary_md.read_text(encoding="utf-8").replace(where, "<out>"),
            paths.junit_xml.read_bytes(), paths.comparison.to_dict())


def test_large_runs_are_read_side_by_side_into_the_same_report(runs, tmp_path, monkeypatch,
                                                                caplog):
    """Past HELPER_MIN_BYTES a helper process reads the baseline while the candidate is read
    here: the report is the one reading both here gives, and what the helper logged while
    reading reaches this process's log."""
    import logging

    from passline.report import _helper

    base = _duplicated(runs.baseline, tmp_path / "base")
    alone = build_report(base, runs.candidate, tmp_path / "alone")
    answered = []
    real = _helper._side_from
    monkeypatch.setattr(_helper, "_side_from",
                        lambda data, path: answered.append(path) or real(data, path))
    monkeypatch.setattr(_helper, "HELPER_MIN_BYTES", 0)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        helped = build_report(base, runs.candidate, tmp_path / "helped")
    assert answered == [base]  # the helper read the baseline
    assert "duplicate row" in caplog.text
    assert _shown(helped) == _shown(alone)
    from passline.report._helper import load_sides
    from passline.report._sides import load_report_side

    here = load_report_side(base, "baseline")
    read, _ = load_sides(base, runs.candidate)
    assert read.judged and read == dataclasses.replace(here, path=read.path)


def test_a_helper_that_fails_leaves_the_run_to_be_read_here(runs, tmp_path, monkeypatch):
    from passline.report import _helper

    alone = build_report(runs.baseline, runs.candidate, tmp_path / "alone")
    monkeypatch.setattr(_helper, "HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(_helper, "_MAGIC", b"not what the helper writes\n")
    assert _shown(build_report(runs.baseline, runs.candidate, tmp_path / "a")) == _shown(alone)
    monkeypatch.setattr("sys.executable", str(tmp_path / "no-python-here"))
    assert _shown(build_report(runs.baseline, runs.candidate, tmp_path / "b")) == _shown(alone)


def test_cli_report_writes_three_files_and_exits_zero_on_regression(runs, tmp_path,
                                                                   monkeypatch, capsys):
    from passline.cli import report as cli_report

    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser(prog="passline")
    cli_report.register(parser.add_subparsers())
    args = parser.parse_args(["report", str(runs.baseline), str(runs.candidate)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    expected_dir = Path("reports") / "candidate-run-vs-baseline-run"
    for name in ("index.html", "summary.md", "junit.xml"):
        assert str(expected_dir / name) in out
        assert (tmp_path / expected_dir / name).is_file()
    assert "verdict: REGRESSED" in out
    args = parser.parse_args(["report", str(runs.baseline), str(runs.candidate), "--out",
                              str(tmp_path / "x"), "--title", "PR 42"])
    assert args.func(args) == 0
    assert "<h1>PR 42</h1>" in (tmp_path / "x" / "index.html").read_text()
