"""The review loop for judge labels: marks made in the HTML report (no server), downloaded as
a file, merged by `passline judge labels add` into a new calibration set version with who
labelled and when, then measured by `passline judge calibrate`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from passline.cli import main
from passline.errors import ConfigError
from passline.judge._marks import add_labels, read_marks
from passline.report import build_report
from passline.report._synthetic import write_synthetic_runs

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return write_synthetic_runs(tmp_path_factory.mktemp("runs"), n_cases=24, trials=1,
                                n_regressed=4, n_improved=2)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "golden").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _mark(runs, **kw):
    row = next(json.loads(line) for line in (runs.candidate / "results.jsonl").open()
               if any(s["name"].startswith("judge:") for s in json.loads(line)["scores"]))
    mark = {"eval": row["eval"], "case_id": row["case_id"], "side": "candidate",
            "run": "candidate-run", "trial": 0, "score": "judge:helpfulness", "rubric": None,
            "judge_value": 0.9, "judge_verdict": "Clear and grounded.", "label": "2",
            "reason": "the amount is wrong", "question": "q?", "answer": "a"}
    mark.update(kw)
    return mark


def test_labels_add_writes_a_new_version_with_provenance(project, runs):
    result = add_labels([_mark(runs)], labeller="Test Reviewer", kind="human",
                        dataset="review-labels", rubric="answer-quality@1",
                        runs_dir=runs.candidate.parent, root=project)
    assert result.dataset == "review-labels@v1" and len(result.added) == 1
    row = json.loads((result.path / "data.jsonl").read_text())
    exp = row["expected"]
    assert exp["x_score"] == 2 and exp["x_label_reason"] == "the amount is wrong"
    src = exp["x_label_source"]
    assert src["kind"] == "human" and src["labeller"] == "Test Reviewer"
    assert src["labelled_on"] and src["protocol"].startswith("passline report review")
    assert "x_context" in exp and "tool calls" in src["saw"]  # read back from the run record
    assert row["metadata"]["context_from_run"] is True
    try:  # the provenance schema of judge-calibration@v2, where it has landed
        from passline.golden._labels import check_label_fields
    except ImportError:
        pass
    else:
        assert check_label_fields(exp) == []
    second = add_labels([_mark(runs, trial=0, case_id="other-case", label="5")],
                        labeller="Test Reviewer", kind="human", dataset="review-labels",
                        rubric="answer-quality@1", root=project)
    assert second.dataset == "review-labels@v2"
    assert len((second.path / "data.jsonl").read_text().splitlines()) == 2


def test_labels_add_refuses_vague_labellers_and_bad_labels(project, runs):
    for who in ("", "human", "Human "):
        with pytest.raises(ConfigError, match="--labeller NAME"):
            add_labels([_mark(runs)], labeller=who, kind="human", rubric="answer-quality@1",
                       root=project)
    with pytest.raises(ConfigError, match="not a score of answer-quality@1"):
        add_labels([_mark(runs, label="great")], labeller="A", kind="human",
                   rubric="answer-quality@1", root=project)
    with pytest.raises(ConfigError, match="no mark carries a label"):
        add_labels([_mark(runs, label="")], labeller="A", kind="human",
                   rubric="answer-quality@1", root=project)
    with pytest.raises(SystemExit):  # --labeller and --kind are required, never defaulted
        main(["judge", "labels", "add", "marks.json", "--kind", "human"])
    with pytest.raises(SystemExit):
        main(["judge", "labels", "add", "marks.json", "--labeller", "A"])


def test_cli_labels_add_then_calibrate_measures_against_them(project, runs, capsys):
    marks = project / "judge-marks.json"
    marks.write_text(json.dumps({"schema_version": 1, "kind": "passline-judge-marks",
                                 "marks": [_mark(runs), _mark(runs, case_id="c2", label="")]}))
    assert main(["judge", "labels", "add", str(marks), "--labeller", "Test Reviewer",
                 "--kind", "human", "--dataset", "review-labels", "--rubric",
                 "answer-quality@1", "--run-dir", str(runs.candidate.parent), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"] == "review-labels@v1" and len(out["skipped"]) == 1
    assert main(["golden", "lock"]) == 0
    capsys.readouterr()
    assert main(["judge", "calibrate", "answer-quality@1", "--dataset", "review-labels@v1",
                 "--model", "sim-2", "--no-pairs", "--no-verbosity", "--no-store",
                 "--json"]) in (0, 1)
    report = json.loads(capsys.readouterr().out)
    assert report["dataset"] == "review-labels@v1" and report["n_items"] == 1
    assert report["items"][0]["human"] == 2


@pytest.mark.skipif(not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
                    reason=f"{CHROMIUM} is not installed")
def test_marks_are_made_and_downloaded_in_the_report(runs, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    paths = build_report(runs.baseline, runs.candidate, tmp_path / "report")
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page(accept_downloads=True)
        page.set_default_timeout(5000)
        page.add_init_script("window.__csp = []; document.addEventListener("
                             "'securitypolicyviolation', e => window.__csp.push(e.blockedURI));")
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning")
                else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (problems.append("dialog"), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        url = paths.index_html.resolve().as_uri()
        page.goto(url)
        page.wait_for_selector("html[data-rendered-ms]")
        assert page.is_disabled("#marks-download")
        page.evaluate("document.querySelectorAll('#case-list .case-row').forEach(b => b.click())")
        button = page.locator(".mark-btn").first
        button.click()
        assert button.get_attribute("aria-pressed") == "true"
        form = page.locator(".mark-form").first
        form.locator("input").nth(0).fill("2")
        form.locator("input").nth(1).fill("the total is wrong")
        assert page.inner_text("#marks-download") == "Download review marks (1)"
        with page.expect_download() as info:
            page.click("#marks-download")
        saved = tmp_path / "judge-marks.json"
        info.value.save_as(saved)
        assert page.evaluate("window.__csp") == []
        browser.close()
    assert problems == []
    assert all(u == url or u.startswith("blob:") for u in requests), requests
    (mark,) = read_marks(saved)
    assert mark["label"] == "2" and mark["reason"] == "the total is wrong"
    assert mark["run"] in ("candidate-run", "baseline-run") and mark["answer"]
    assert mark["score"] == "judge:helpfulness"
