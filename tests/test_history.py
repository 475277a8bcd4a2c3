"""Run history: runs and baseline versions over time, promotions and rollbacks marked; the
history page in headless Chromium (0 console errors, 0 network requests)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from passline.cli import main
from passline.compare import promote_baseline, rollback_baseline, save_baseline
from passline.report import build_report
from passline.report._history import collect_history, render_history
from passline.report._synthetic import write_synthetic_runs

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    runs = write_synthetic_runs(root / "runs", n_cases=30, trials=1, n_regressed=5,
                                n_improved=1, hostile=True)
    more = write_synthetic_runs(root / "more", n_cases=30, trials=1, n_regressed=2,
                                n_improved=3)
    for i, src in enumerate((more.baseline, more.candidate)):  # two later runs, same suite
        dst = root / "runs" / f"later-{i}"
        shutil.copytree(src, dst)
        manifest = json.loads((dst / "manifest.json").read_text())
        manifest["run_id"] = f"later-{i}"
        manifest["created_at"] = f"2027-01-0{i + 2}T10:00:00+00:00"
        (dst / "manifest.json").write_text(json.dumps(manifest))
    baselines = root / "baselines"
    save_baseline("main", runs.baseline, directory=baselines)
    promote_baseline("main", runs.candidate, directory=baselines)
    promote_baseline("main", root / "runs" / "later-0", directory=baselines)
    rollback_baseline("main", directory=baselines)
    return root, runs


def test_history_has_every_run_and_baseline_event_in_time_order(project):
    root, _ = project
    history = collect_history(run_root=root / "runs", baselines_dir=root / "baselines")
    assert len(history.runs) == 4
    assert [p.at for p in history.runs] == sorted(p.at for p in history.runs)
    kinds = [e.kind for e in history.events]
    assert kinds.count("saved") == 1 and kinds.count("promoted") == 2
    assert kinds.count("rolled back") == 1
    assert {p.label for p in history.baselines} == {"main"}
    dataset = next(iter(json.loads((root / "runs" / "later-0" / "manifest.json").read_text())
                        ["datasets"]))
    assert len(collect_history(dataset, run_root=root / "runs").runs) == 4
    assert collect_history("no-such-dataset", run_root=root / "runs").runs == ()


def test_history_by_eval_reads_the_rows(project):
    root, runs = project
    row = json.loads((runs.candidate / "results.jsonl").read_text().splitlines()[0])
    history = collect_history(row["eval"], run_root=root / "runs")
    assert len(history.runs) == 4 and all(p.n > 0 for p in history.runs)


def test_page_is_self_contained_escaped_and_marks_promotions(project):
    root, _ = project
    html = render_history(collect_history(run_root=root / "runs",
                                          baselines_dir=root / "baselines"))
    assert "script-src 'none'" in html and "<script" not in html
    assert re.search(r"(src|href)=\"https?:", html) is None
    assert html.count("ev-promote") >= 4 and "ev-rollback" in html
    assert "<svg" in html and "rolled back" in html


def test_cli_history_json_and_html(project, capsys, tmp_path):
    root, _ = project
    assert main(["history", "--run-dir", str(root / "runs"), "--baselines-dir",
                 str(root / "baselines"), "--json", "--out", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["runs"]) == 4 and (tmp_path / "history.html").is_file()
    assert main(["history", "--run-dir", str(root / "runs"), "--plain"]) == 0
    assert "4 run(s)" in capsys.readouterr().out


def test_the_report_writes_history_html_and_links_it(project, tmp_path):
    _root, runs = project
    paths = build_report(runs.baseline, runs.candidate, tmp_path / "r")
    assert (tmp_path / "r" / "history.html").is_file()
    assert 'href="history.html"' in paths.index_html.read_text()


@pytest.mark.skipif(not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
                    reason=f"{CHROMIUM} is not installed")
def test_history_page_in_headless_chromium(project, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    root, _ = project
    page_path = tmp_path / "history.html"
    page_path.write_text(render_history(collect_history(
        run_root=root / "runs", baselines_dir=root / "baselines")), encoding="utf-8")
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page()
        page.add_init_script("window.__csp = []; document.addEventListener("
                             "'securitypolicyviolation', e => window.__csp.push(e.blockedURI));")
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning")
                else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        url = page_path.resolve().as_uri()
        page.goto(url)
        assert page.locator("figure.chart svg").count() == 4
        assert page.locator("svg line.ev-promote").count() >= 4  # 2 promotions x 4 charts
        assert page.locator("svg line.ev-rollback").count() == 4
        assert page.locator("#runs tbody tr").count() == 4
        box = page.locator("figure.chart svg").first.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100
        assert page.evaluate("window.__csp") == []
        browser.close()
    assert problems == []
    assert requests == [url]
