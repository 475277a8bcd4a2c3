"""The pull-request loop without GitHub: ``passline ci`` against a local fake of the REST API.

The fake (tests/github_fake.py) is a real HTTP server on 127.0.0.1; the commands read the
same environment GitHub Actions gives a job (repository, event file, token, job summary and
step-output files).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from github_fake import TOKEN, FakeGitHub

from passline.ci import GitHubAPI, GitHubError, RateLimited, marker
from passline.ci._comment import COMMENT_LIMIT
from passline.cli import main
from passline.compare import compare, save_baseline
from passline.records import RunWriter
from passline.report import build_report
from passline.report._summary import SUMMARY_MARKER
from passline.report._synthetic import write_synthetic_runs

REPO = "octo/app"
PR = 42


@pytest.fixture
def github():
    fake = FakeGitHub().start()
    yield fake
    fake.stop()


@pytest.fixture
def job(tmp_path, monkeypatch, github):
    """The environment of a GitHub Actions job on pull request #42 of octo/app."""
    def event(fork: bool = False) -> None:
        head = {"full_name": "someone/app" if fork else REPO, "fork": fork}
        (tmp_path / "event.json").write_text(json.dumps({"pull_request": {
            "number": PR, "head": {"repo": head}, "base": {"repo": {"full_name": REPO}}}}))

    event()
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(tmp_path / "event.json"))
    monkeypatch.setenv("GITHUB_API_URL", github.api_url)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_RUN_ID", "777")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step_summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output.txt"))
    monkeypatch.delenv("PASSLINE_REPORT_URL", raising=False)
    return event


def _outputs(path: Path) -> dict[str, str]:
    """Parse a $GITHUB_OUTPUT file written in the delimiter form."""
    out: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        name, _, delim = lines[i].partition("<<")
        j = lines.index(delim, i + 1)
        out[name] = "\n".join(lines[i + 1:j])
        i = j + 1
    return out


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    # enough flips for a significant drop: a must-pass case going 2/2 -> 0/2 alone is a
    # warning until confirmation runs confirm it (docs/statistics.md, section 7)
    return write_synthetic_runs(root, n_cases=30, trials=2, n_regressed=8, n_improved=0,
                                n_errored=0)


def test_first_push_creates_one_comment_and_the_second_updates_it(job, github, synthetic,
                                                                   tmp_path, capsys):
    # push 1: gate + report, job summary, comment
    code = main(["ci", "gate", str(synthetic.baseline), str(synthetic.candidate),
                 "--out", str(tmp_path / "report")])
    assert code == 1  # the synthetic candidate regresses: the gate's exit code
    outputs = _outputs(tmp_path / "output.txt")
    assert outputs["verdict"] == "regressed" and outputs["exit-code"] == "1"
    summary = Path(outputs["summary"])
    text = summary.read_text()
    # the link goes to the workflow run (its artifacts hold the report), not a local path
    assert "(https://github.example/octo/app/actions/runs/777)" in text
    assert str(tmp_path) not in text
    assert json.loads((tmp_path / "report" / "gate.json").read_text())["exit_code"] == 1

    assert main(["ci", "summary", str(summary)]) == 0
    assert "passline: REGRESSED" in (tmp_path / "step_summary.md").read_text()

    assert main(["ci", "comment", str(summary), "--key", "evals"]) == 0
    thread = github.thread(REPO, PR)
    assert len(thread) == 1
    first_id = thread[0]["id"]
    assert thread[0]["body"].startswith(marker("evals") + "\n## ❌ passline: REGRESSED")
    assert "created comment" in capsys.readouterr().out

    # push 2: a different summary -> the same comment, edited in place
    github.add_comment(REPO, PR, "LGTM, but see the eval comment above", login="reviewer")
    second = tmp_path / "summary2.md"
    second.write_text(text.replace("REGRESSED", "REGRESSED (second push)"))
    assert main(["ci", "comment", str(second), "--key", "evals"]) == 0
    thread = github.thread(REPO, PR)
    ours = [c for c in thread if c["body"].startswith(marker("evals"))]
    assert len(ours) == 1 and ours[0]["id"] == first_id
    assert "(second push)" in ours[0]["body"]
    assert "updated comment" in capsys.readouterr().out
    # a push that changes nothing does not touch the comment
    assert main(["ci", "comment", str(second), "--key", "evals"]) == 0
    assert "unchanged comment" in capsys.readouterr().out
    assert [r.method for r in github.requests].count("PATCH") == 1
    # another workflow's key gets its own comment
    assert main(["ci", "comment", str(second), "--key", "nightly"]) == 0
    assert len(github.thread(REPO, PR)) == 3


def test_the_marked_comment_is_found_on_a_later_page(job, github, tmp_path):
    for i in range(230):
        github.add_comment(REPO, PR, f"comment {i}", login=f"user{i}")
    ours = github.add_comment(REPO, PR, marker("passline") + "\nold summary")
    for i in range(20):
        github.add_comment(REPO, PR, f"late comment {i}", login="user")
    (tmp_path / "s.md").write_text("new summary\n")
    assert main(["ci", "comment", str(tmp_path / "s.md")]) == 0
    listed = [r for r in github.requests if r.method == "GET"]
    assert len(listed) == 3  # 251 comments at 100 per page, followed by the Link header
    assert "page=3" in listed[-1].query
    assert len(github.thread(REPO, PR)) == 251  # nothing new
    edited = next(c for c in github.thread(REPO, PR) if c["id"] == ours)
    assert edited["body"] == marker("passline") + "\nnew summary\n"


def test_stale_markers_never_block_or_hijack_the_comment(job, github, tmp_path):
    (tmp_path / "s.md").write_text("fresh summary\n")
    # a reviewer quoting the bot's comment: the marker is not at the start -> not ours
    quoted = github.add_comment(REPO, PR, "> quoting\n" + marker("passline") + "\nold",
                                login="reviewer")
    # someone else's comment that opens with the marker, while we filter on our login
    foreign = github.add_comment(REPO, PR, marker("passline") + "\nforeign", login="mallory")
    # our earlier comment, deleted between listing and editing
    gone = github.add_comment(REPO, PR, marker("passline") + "\nstale")
    github.vanish_on_update.add(gone)
    assert main(["ci", "comment", str(tmp_path / "s.md"), "--author",
                 "github-actions[bot]", "--json"]) == 0
    thread = {c["id"]: c for c in github.thread(REPO, PR)}
    assert gone not in thread
    assert thread[quoted]["body"].endswith("\nold") and thread[foreign]["body"].endswith("foreign")
    created = [c for c in thread.values() if c["body"] == marker("passline") + "\nfresh summary\n"]
    assert len(created) == 1


def test_a_fork_gets_the_job_summary_and_a_notice_and_the_exit_status_stays(job, github,
                                                                            synthetic, tmp_path,
                                                                            capsys):
    job(fork=True)
    github.read_only = True  # GitHub's token for a fork's pull request cannot write
    code = main(["ci", "gate", str(synthetic.baseline), str(synthetic.candidate),
                 "--out", str(tmp_path / "report")])
    summary = tmp_path / "report" / "summary.md"
    assert main(["ci", "summary", str(summary)]) == 0
    capsys.readouterr()
    assert main(["ci", "comment", str(summary)]) == 0  # the comment never changes the status
    out = capsys.readouterr().out
    assert out.startswith("::notice title=passline::") and "fork" in out
    step = (tmp_path / "step_summary.md").read_text()
    assert "passline: REGRESSED" in step and "comes from a fork" in step
    assert github.thread(REPO, PR) == []
    assert code == 1  # what the job exits with: the gate's verdict
    assert TOKEN not in out + step


def test_a_missing_permission_on_a_branch_pr_is_a_warning_and_strict_makes_it_fail(
        job, github, tmp_path, capsys):
    github.read_only = True  # `permissions: pull-requests: write` forgotten
    (tmp_path / "s.md").write_text("summary\n")
    assert main(["ci", "comment", str(tmp_path / "s.md")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("::warning") and "pull-requests: write" in out
    assert main(["ci", "comment", str(tmp_path / "s.md"), "--strict"]) == 3
    assert TOKEN not in out + capsys.readouterr().out


def test_rate_limits_are_waited_out_within_the_budget(job, github, tmp_path, capsys):
    (tmp_path / "s.md").write_text("summary\n")
    # secondary limit: 403 + Retry-After; then primary: 429 with the quota spent until now
    github.faults += [("GET", 403, {"retry-after": "0"}),
                      ("POST", 429, {"x-ratelimit-remaining": "0",
                                     "x-ratelimit-reset": str(int(time.time()) - 5)})]
    assert main(["ci", "comment", str(tmp_path / "s.md")]) == 0
    assert len(github.thread(REPO, PR)) == 1
    assert [r.method for r in github.requests] == ["GET", "GET", "POST", "POST"]
    # a reset far away: no hour-long sleep, a warning, and exit 0 (or 3 with --strict)
    github.faults.append(("GET", 403, {"x-ratelimit-remaining": "0",
                                       "x-ratelimit-reset": str(int(time.time()) + 3600)}))
    capsys.readouterr()
    assert main(["ci", "comment", str(tmp_path / "s.md"), "--max-wait", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("::warning") and "rate limit" in out
    github.faults.append(("GET", 429, {"retry-after": "3600"}))
    assert main(["ci", "comment", str(tmp_path / "s.md"), "--strict", "--max-wait", "5"]) == 3


def test_rate_limit_waits_honour_the_headers(github):
    slept: list[float] = []
    now = 1_000_000.0
    api = GitHubAPI(TOKEN, github.api_url, sleep=slept.append, clock=lambda: now)
    github.faults += [("GET", 429, {"retry-after": "7"}),
                      ("GET", 403, {"x-ratelimit-remaining": "0",
                                    "x-ratelimit-reset": str(int(now) + 30)}),
                      ("GET", 503, {})]
    assert list(api.issue_comments(REPO, PR)) == []
    assert slept == [7.0, 31.0, 4.0]  # Retry-After; until the reset (+1 s); backoff after a 5xx
    github.faults.append(("GET", 403, {}))  # no rate-limit header: a permission problem
    with pytest.raises(GitHubError) as err:
        list(api.issue_comments(REPO, PR))
    assert not isinstance(err.value, RateLimited) and err.value.status == 403
    api.close()


def test_an_oversize_summary_is_cut_with_a_link_and_never_inside_a_row(job, github, tmp_path):
    base, cand = _regressed_runs(tmp_path, 6_000)
    url = "https://octo.github.io/app/pr-42/index.html"
    paths = build_report(base, cand, tmp_path / "out", report_url=url,
                         comparison=compare(base, cand, n_boot=100))
    text = paths.summary_md.read_text()
    assert len(text) < COMMENT_LIMIT - 1_000 and len(text.encode()) < 60_000
    assert f"]({url})" in text and str(tmp_path) not in text
    assert text.rstrip().endswith(SUMMARY_MARKER)
    # the collapsed list: as many regressed cases as fit, whole lines, closed, then the rest
    assert text.count("<details>") == text.count("</details>") == 1
    items = [line for line in text.splitlines() if line.startswith("- case-")]
    assert 100 < len(items) < 6_000
    assert f"... and {6_000 - len(items):,} more: see the full report" in text
    key = "got: \\`refund\\_status\\(order\\_id=A-1\\)\\` instead"  # markdown-escaped
    assert all(line.endswith(key) for line in items)
    # the top table's "why" keeps the token that explains it, and drops words in the middle
    rows = [line for line in text.splitlines() if line.startswith("| case-")]
    assert len(rows) == 10 and all(r.endswith(key + " |") and " … " in r for r in rows)
    # posted as it is: within GitHub's limit
    assert main(["ci", "comment", str(paths.summary_md)]) == 0
    (comment,) = github.thread(REPO, PR)
    assert len(comment["body"]) <= COMMENT_LIMIT and f"]({url})" in comment["body"]


def test_a_summary_from_elsewhere_is_cut_between_lines_to_fit(job, github, tmp_path):
    (tmp_path / "big.md").write_text("".join(f"line {i} " + "x" * 90 + "\n"
                                             for i in range(2_000)))
    assert main(["ci", "comment", str(tmp_path / "big.md")]) == 0
    (comment,) = github.thread(REPO, PR)
    body = comment["body"]
    assert len(body) <= COMMENT_LIMIT and "cut to fit" in body
    assert all(line.startswith(("line ", "<!--", "**Summary")) or not line
               for line in body.splitlines())


def _regressed_runs(root: Path, n: int) -> tuple[Path, Path]:
    """Runs where every case regresses, each with a long explanation whose key token is last."""
    why = ("tool_call_match: expected the first tool call to be issue_refund with arguments "
           "{order_id: A-1, amount: 20, reason: damaged} as the refund policy says, but "
           "got: `refund_status(order_id=A-1)` instead")
    dirs = []
    for side in ("base", "cand"):
        writer = RunWriter(root / side, {"run_id": side, "variant": {"name": side},
                                         "datasets": {"d@v1": {}}, "trials": 1})
        for i in range(n):
            ok = side == "base"
            writer.write({"eval": "evals/test_x.py::test_y", "case_id": f"case-{i:05d}",
                          "dataset": "d", "dataset_version": "v1", "tags": [], "trial": 0,
                          "status": "pass" if ok else "fail", "score": float(ok),
                          "scores": [{"name": "tool_call_match", "value": float(ok),
                                      "passed": ok, "explanation": why.split(": ", 1)[1],
                                      "details": {}}],
                          "cost_usd": 0.001, "tokens": 10, "latency_s": 0.5, "run": None})
        writer.finish()
        dirs.append(root / side)
    return dirs[0], dirs[1]


def test_the_main_branch_baseline_artifact_is_fetched_without_leaking_the_token(
        job, github, synthetic, tmp_path, capsys):
    saved = save_baseline("main", synthetic.baseline, directory=tmp_path / "b")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.write(saved, "main.json")
    github.runs = [
        {"id": 9, "head_branch": "main", "conclusion": "success", "head_sha": "c0ffee" * 6,
         "html_url": "https://github.example/octo/app/actions/runs/9"},  # newest: no artifact
        {"id": 8, "head_branch": "main", "conclusion": "success", "head_sha": "beef" * 10,
         "html_url": "https://github.example/octo/app/actions/runs/8"},
        {"id": 7, "head_branch": "pr", "conclusion": "success", "head_sha": "0" * 40,
         "html_url": ""}]
    github.artifacts = {9: [{"id": 90, "name": "passline-run", "expired": False}],
                        8: [{"id": 80, "name": "passline-baseline", "expired": False}]}
    github.blobs = {80: archive.getvalue()}
    assert main(["ci", "fetch-baseline", "--out", str(tmp_path / "fetched")]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == tmp_path / "fetched" / "main.json"
    assert _outputs(tmp_path / "output.txt")["baseline"] == str(path)
    storage = [r for r in github.requests if r.path.startswith("/storage/")]
    assert len(storage) == 1 and storage[0].authorization is None  # not sent to storage
    # and it gates like the original run
    assert main(["ci", "gate", str(path), str(synthetic.candidate), "--out",
                 str(tmp_path / "r")]) == 1


def test_an_artifact_that_would_unpack_outside_its_folder_is_refused(job, github, tmp_path,
                                                                     capsys):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../escape.json", "{}")
    github.runs = [{"id": 1, "head_branch": "main", "conclusion": "success", "head_sha": "",
                    "html_url": ""}]
    github.artifacts = {1: [{"id": 10, "name": "passline-baseline", "expired": False}]}
    github.blobs = {10: archive.getvalue()}
    assert main(["ci", "fetch-baseline", "--out", str(tmp_path / "f")]) == 3
    assert "outside" in capsys.readouterr().err
    assert not (tmp_path / "escape.json").exists()


def _shard(root: Path, session: str, index: int, count: int, cases: range) -> None:
    run_id = f"{session}-candidate-shard{index}of{count}"
    writer = RunWriter(root / run_id, {"run_id": run_id, "shard": [index, count],
                                       "variant": {"name": "candidate", "model": "sim-2",
                                                   "prompts": "v2"},
                                       "datasets": {"d@v1": {}}, "trials": 1})
    for i in cases:
        writer.write({"eval": "evals/t.py::test_x", "case_id": f"c{i}", "dataset": "d",
                      "dataset_version": "v1", "tags": [], "trial": 0, "status": "pass",
                      "score": 1.0, "scores": [], "cost_usd": 0.0, "tokens": 0,
                      "latency_s": 0.1, "run": None})
    writer.finish()


def test_ci_candidate_joins_every_shard_and_refuses_a_missing_one(tmp_path, capsys,
                                                                   monkeypatch):
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    runs = tmp_path / "runs"
    _shard(runs, "20261202-101500", 1, 2, range(0, 10, 2))
    assert main(["ci", "candidate", "--run-dir", str(runs)]) == 2
    assert "shard(s) 2/2 missing" in capsys.readouterr().err
    _shard(runs, "20261202-101502", 2, 2, range(1, 10, 2))
    assert main(["ci", "candidate", "--run-dir", str(runs), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    merged = Path(data["run_dir"])
    assert merged.name == "20261202-101500-candidate" and len(data["joined"]) == 2
    manifest = json.loads((merged / "manifest.json").read_text())
    assert manifest["totals"]["n"] == 10


def test_the_summary_shows_how_far_each_judge_can_be_trusted(synthetic, tmp_path):
    import dataclasses

    from passline.report._sides import load_report_side
    from passline.report._summary import judge_lines

    base = load_report_side(synthetic.baseline, "baseline")
    cand = load_report_side(synthetic.candidate, "candidate")
    text = build_report(synthetic.baseline, synthetic.candidate, tmp_path / "r"
                        ).summary_md.read_text()
    assert "**Judges**" in text and "Cohen's κ" in text
    judges = dict(cand.manifest["judges"])
    rubric = next(iter(judges))
    for trusted, expected in ((True, "trusted —"), (False, "**untrusted**"),
                              (None, "**not calibrated**")):
        judges[rubric] = {**judges[rubric], "trusted": trusted, "status": "uncalibrated"}
        side = dataclasses.replace(cand, manifest={**cand.manifest, "judges": judges})
        assert expected in "\n".join(judge_lines(base, side))
    no_judges = dataclasses.replace(cand, manifest={**cand.manifest, "judges": {}})
    assert judge_lines(dataclasses.replace(base, manifest={}), no_judges) == []


def test_the_last_resort_cut_closes_details_and_ends_with_the_link():
    from passline.report._summary import clip_tokens, fit

    link = "**[Full side-by-side report](https://x.example/r)**"
    text = "## head\n\n<details><summary>all</summary>\n\n" + "".join(
        f"- case-{i} " + "y" * 80 + "\n" for i in range(2_000)) + "\n</details>\n"
    out = fit(text, link, limit=20_000)
    assert len(out.encode()) <= 20_000
    assert out.count("<details>") == out.count("</details>") == 1
    assert out.rstrip().endswith(SUMMARY_MARKER) and link in out
    assert all(len(line) in (0, 88, 89, 90, 91) or not line.startswith("- case")
               for line in out.splitlines())  # whole lines only
    assert fit("short\n", link) == "short\n"
    # a reason keeps its head and its tail, never half a word
    why = "scorer: expected " + " ".join(f"word{i}" for i in range(50)) + " got: wrong_tool(x=1)"
    clipped = clip_tokens(why, 60)
    assert clipped.startswith("scorer:") and clipped.endswith("got: wrong_tool(x=1)")
    assert " … " in clipped and len(clipped) <= 60
    assert set(clipped.replace("…", "").split()) <= set(why.split())
    assert clip_tokens("x" * 500, 60) == "x" * 500  # one word is never cut


def test_ci_gate_does_not_judge_an_outage(job, tmp_path, capsys):
    runs = write_synthetic_runs(tmp_path / "runs", n_cases=12, trials=1, n_regressed=1,
                                n_errored=1)
    code = main(["ci", "gate", str(runs.baseline), str(runs.candidate), "--out",
                 str(tmp_path / "r")])
    assert code == 3
    out = capsys.readouterr().out
    # counted on the runs as read for the report: how many, which case, what error
    assert f"NOT RUN -- 1 agent run(s) in the candidate {runs.candidate} ended in error" in out
    assert "(first: " in out and ": None)" not in out
    assert "NOT RUN" in (tmp_path / "step_summary.md").read_text()
    assert _outputs(tmp_path / "output.txt") == {"verdict": "error", "exit-code": "3"}


def test_ci_gate_refuses_an_incomplete_candidate_unless_allow_partial(job, tmp_path, capsys):
    import json as _json

    runs = write_synthetic_runs(tmp_path / "runs", n_cases=30, trials=1, n_regressed=0,
                                n_improved=0, n_errored=0)
    manifest_path = Path(runs.candidate) / "manifest.json"
    manifest = _json.loads(manifest_path.read_text())
    manifest["completion"] = {"state": "interrupted", "planned_items": 30,
                              "finished_items": 30, "reason": "stopped by SIGTERM"}
    manifest_path.write_text(_json.dumps(manifest))
    code = main(["ci", "gate", str(runs.baseline), str(runs.candidate), "--out",
                 str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 3
    assert f"NOT RUN -- the candidate {runs.candidate} is incomplete (interrupted" in out
    assert _outputs(tmp_path / "output.txt")["exit-code"] == "3"
    code = main(["ci", "gate", str(runs.baseline), str(runs.candidate), "--out",
                 str(tmp_path / "r2"), "--allow-partial"])
    assert code == 0, capsys.readouterr().out


def test_ci_gate_and_report_confirm_read_each_run_once(job, synthetic, tmp_path, monkeypatch):
    """The gate's comparison and the report come from one reading of each run (a
    100,000-case run takes seconds to read), and give what reading twice gave."""
    import shutil

    from passline.compare import compare, gate, load_policy
    from passline.records import _read

    # as a run's writer leaves them: completion stated (else it is inferred from the rows)
    runs = {}
    for name in ("baseline", "candidate"):
        runs[name] = shutil.copytree(getattr(synthetic, name), tmp_path / "runs" / name)
        manifest = json.loads((runs[name] / "manifest.json").read_text())
        manifest["completion"] = {"state": "complete", "planned_items": 60,
                                  "finished_items": 60, "reason": ""}
        (runs[name] / "manifest.json").write_text(json.dumps(manifest))
    reads: list[str] = []
    real = _read._lines

    def counted(path: Path):
        reads.append(Path(path).parent.name)
        return real(path)

    monkeypatch.setattr(_read, "_lines", counted)
    main(["ci", "gate", str(runs["baseline"]), str(runs["candidate"]),
          "--out", str(tmp_path / "ci")])
    assert sorted(reads) == sorted(["baseline", "candidate"])
    reads.clear()
    main(["report", str(runs["baseline"]), str(runs["candidate"]), "--confirm",
          "--out", str(tmp_path / "report")])
    assert sorted(reads) == sorted(["baseline", "candidate"])

    want = gate(compare(runs["baseline"], runs["candidate"]), load_policy()).to_dict()
    got = json.loads((tmp_path / "ci" / "gate.json").read_text())["verdict"]
    assert got == json.loads(json.dumps(want))
