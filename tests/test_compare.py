"""compare(): paired statistics a reviewer relies on, checked on synthetic run records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats

from passline.compare import compare, read_results
from passline.errors import RecordError

EVAL = "evals/test_tools.py::test_tool_choice"
N_BOOT = 400  # small: fast tests; the intervals asserted on are far from their limits


def make_run(outcomes, *, run_id="run", tags=None, clusters=None, cost=0.001, latency=1.0,
             version="v2", fingerprint="f00d"):
    """A (manifest, rows) pair; ``outcomes[i]`` is a status or a list of per-trial statuses."""
    rows = []
    for i, case in enumerate(outcomes):
        trials = [case] if isinstance(case, str) else list(case)
        for t, status in enumerate(trials):
            rows.append({
                "schema_version": 1, "run_id": run_id, "variant": run_id, "eval": EVAL,
                "case_id": f"case-{i:04d}", "dataset": "tools-unit", "dataset_version": version,
                "tags": list(tags[i]) if tags else [],
                "cluster": clusters[i] if clusters else None,
                "trial": t, "status": status, "scores": [],
                "score": 1.0 if status == "pass" else 0.0,
                "cost_usd": cost * (1 + (i % 7) / 10), "tokens": 100,
                "latency_s": latency * (1 + (i % 11) / 10), "error": None,
            })
    manifest = {"schema_version": 1, "run_id": run_id,
                "datasets": {f"tools-unit@{version}": {"name": "tools-unit", "version": version,
                                                       "fingerprint": fingerprint,
                                                       "n_cases": len(outcomes)}}}
    return manifest, rows


def write_run(folder: Path, manifest, rows) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def flips(n_pass, n_flip, n_fail=0):
    """Baseline: n_pass + n_flip pass; candidate: the n_flip cases fail."""
    base = ["pass"] * (n_pass + n_flip) + ["fail"] * n_fail
    cand = ["pass"] * n_pass + ["fail"] * (n_flip + n_fail)
    return base, cand


# --- reading records ---------------------------------------------------------------------

def test_read_results_returns_manifest_and_rows(tmp_path):
    manifest, rows = make_run(["pass", "fail"], run_id="r1")
    run = write_run(tmp_path / "r1", manifest, rows)
    got_manifest, got_rows = read_results(run)
    assert got_manifest["run_id"] == "r1"
    assert [r["status"] for r in got_rows] == ["pass", "fail"]


def test_read_results_refuses_unknown_schema_versions(tmp_path):
    manifest, rows = make_run(["pass"])
    run = write_run(tmp_path / "new", {**manifest, "schema_version": 2}, rows)
    with pytest.raises(RecordError, match=r"manifest.json: schema_version 2 is not supported"):
        read_results(run)
    rows[0]["schema_version"] = 7
    run = write_run(tmp_path / "row", manifest, [*make_run(["pass"])[1], rows[0]])
    with pytest.raises(RecordError, match=r"results.jsonl:2: schema_version 7"):
        read_results(run)


def test_a_cut_last_line_is_skipped_like_the_records_reader_does(tmp_path, caplog):
    # review #15: `runs show` read a crashed run, `passline gate` refused it
    from passline.records import read_rows

    manifest, rows = make_run(["pass", "fail"])
    run = write_run(tmp_path / "r", manifest, rows)
    with (run / "results.jsonl").open("a") as fh:
        fh.write('{"schema_version": 1, "eval": "x", "case')  # the process died here
    with caplog.at_level("WARNING", logger="passline.compare._io"):
        _, got = read_results(run)
    assert [r["status"] for r in got] == ["pass", "fail"]
    assert [r["status"] for r in read_rows(run)] == ["pass", "fail"]
    assert "results.jsonl:3: skipping a cut last line" in caplog.text
    assert compare(run, run, n_boot=N_BOOT).n_pairs == 2


def test_a_corrupt_line_before_the_end_is_refused_with_file_and_line(tmp_path):
    manifest, rows = make_run(["pass", "pass"])
    run = write_run(tmp_path / "r", manifest, rows)
    lines = (run / "results.jsonl").read_text().splitlines(keepends=True)
    (run / "results.jsonl").write_text(lines[0] + '{"schema_version": 1, "ev\n' + lines[1])
    with pytest.raises(RecordError, match=r"results.jsonl:2: not valid JSON"):
        read_results(run)
    # a complete (newline-terminated) but invalid last line is corruption, not a torn write
    (run / "results.jsonl").write_text(lines[0] + "{oops}\n")
    with pytest.raises(RecordError, match=r"results.jsonl:2: not valid JSON"):
        read_results(run)


def test_missing_run_directory_is_a_clear_error(tmp_path):
    with pytest.raises(RecordError, match="does not exist; pass a run directory"):
        compare(tmp_path / "nope", tmp_path / "nope")


# --- overall metrics ----------------------------------------------------------------------

def test_mcnemar_p_matches_exact_binomial_on_discordant_pairs():
    # 12 cases pass -> fail, 3 fail -> pass, 70 pass in both, 15 fail in both
    base = ["pass"] * 12 + ["fail"] * 3 + ["pass"] * 70 + ["fail"] * 15
    cand = ["fail"] * 12 + ["pass"] * 3 + ["pass"] * 70 + ["fail"] * 15
    result = compare(make_run(base), make_run(cand), n_boot=N_BOOT)
    m = result.metric("pass_rate")
    # the gate's p is the exact sign-flip test, which on single-trial pass/fail is McNemar's
    assert m.test == "sign-flip"
    assert m.p_value == pytest.approx(stats.binomtest(3, 15, 0.5).pvalue, rel=1e-12)
    assert m.p_raw == pytest.approx(stats.binomtest(3, 15, 0.5).pvalue, rel=1e-12)
    assert (m.baseline, m.candidate, m.n_pairs) == (0.82, 0.73, 100)
    assert m.delta == pytest.approx(-0.09)


def test_identical_runs_show_no_significant_change():
    outcomes = ["pass"] * 70 + ["fail"] * 30
    result = compare(make_run(outcomes, run_id="a"), make_run(outcomes, run_id="b"),
                     n_boot=N_BOOT)
    for m in result.metrics:
        assert not m.significant, m
        assert m.direction == "unchanged"
    assert result.metric("pass_rate").p_value == 1.0
    assert result.changes == ()
    assert result.warnings == ()


def test_clear_regression_is_significant_with_an_interval_excluding_zero():
    base, cand = flips(n_pass=60, n_flip=30, n_fail=10)
    result = compare(make_run(base), make_run(cand), n_boot=N_BOOT)
    m = result.metric("pass_rate")
    assert m.direction == "regressed" and m.significant
    assert m.delta == pytest.approx(-0.30)
    assert m.ci_high < 0 and m.ci_low <= -0.3 <= m.ci_high
    assert m.p_raw < 1e-6  # McNemar exact
    # 30 discordant cases: random sign flips, whose smallest p is 2 / (n_boot + 1)
    assert m.p_value == pytest.approx(2 / (N_BOOT + 1))
    assert 0 < m.mde < 0.3
    assert len(result.regressions) == 30 and result.improvements == ()
    assert result.metric("score").direction == "regressed"


def test_score_sign_flip_p_matches_scipy_exact_permutation_test():
    base = ["pass"] * 10 + ["fail"] * 2
    cand = ["fail", "pass", "fail", "fail", "pass", "pass", "fail", "pass", "pass", "pass",
            "pass", "fail"]
    m = compare(make_run(base), make_run(cand), n_boot=N_BOOT).metric("score")
    diffs = [(c == "pass") - (b == "pass") for b, c in zip(base, cand, strict=True)]
    nonzero = [d for d in diffs if d]
    expected = stats.permutation_test(
        (nonzero,), lambda x, axis: x.sum(axis=axis), permutation_type="samples",
        n_resamples=float("inf"), alternative="two-sided").pvalue
    assert m.test == "sign-flip"
    assert m.p_value == pytest.approx(expected)


def test_trials_are_averaged_per_case_and_tested_as_fractions():
    base = [["pass", "pass", "pass"]] * 40
    cand = [["pass", "fail", "pass"]] * 20 + [["pass"] * 3] * 20
    m = compare(make_run(base), make_run(cand), n_boot=N_BOOT).metric("pass_rate")
    assert m.baseline == 1.0
    assert m.candidate == pytest.approx((20 * 2 / 3 + 20) / 40)
    assert m.test == "sign-flip"  # fractional per-case rates: not McNemar
    assert m.significant


def test_cost_and_p95_latency_are_relative_changes():
    outcomes = ["pass"] * 60
    result = compare(make_run(outcomes, cost=0.001, latency=1.0),
                     make_run(outcomes, cost=0.0015, latency=2.0), n_boot=N_BOOT)
    cost, lat = result.metric("cost"), result.metric("latency_p95")
    assert cost.delta_kind == lat.delta_kind == "relative"
    assert cost.delta == pytest.approx(0.5)
    assert lat.delta == pytest.approx(1.0)
    assert cost.direction == lat.direction == "regressed"  # lower is better
    assert cost.ci_low > 0 and lat.ci_low > 0


def test_same_seed_gives_the_same_numbers():
    base, cand = flips(50, 8, 42)
    one = compare(make_run(base), make_run(cand), n_boot=N_BOOT, seed=3).to_dict()
    two = compare(make_run(base), make_run(cand), n_boot=N_BOOT, seed=3).to_dict()
    assert one == two


def test_no_shared_cases_is_an_error_not_an_empty_pass():
    manifest, rows = make_run(["pass"])
    for r in rows:
        r["case_id"] = "other"
    with pytest.raises(RecordError, match="share no"):
        compare(make_run(["pass"]), (manifest, rows), n_boot=N_BOOT)


# --- clusters -------------------------------------------------------------------------------

def test_cluster_bootstrap_is_wider_than_iid_when_whole_clusters_move():
    # 20 template clusters of 10 cases; each cluster flips as a block
    clusters = [f"tmpl-{i // 10}" for i in range(200)]
    base = ["pass"] * 200
    cand = ["fail" if (i // 10) in (0, 3, 7) else "pass" for i in range(200)]
    clustered = compare(make_run(base, clusters=clusters), make_run(cand, clusters=clusters),
                        n_boot=N_BOOT, sampling_unit="cluster")
    iid = compare(make_run(base, clusters=clusters), make_run(cand, clusters=clusters),
                  n_boot=N_BOOT, cluster_key=None)
    mc, mi = clustered.metric("pass_rate"), iid.metric("pass_rate")
    assert clustered.n_clusters == 20 and iid.n_clusters == 200
    assert (mc.ci_high - mc.ci_low) > 1.5 * (mi.ci_high - mi.ci_low)
    assert mc.design_effect > 5  # ~ cluster size when the whole cluster moves together
    assert mc.test == "cluster-sign-flip" and mi.test == "sign-flip"
    assert mc.p_value > mi.p_value
    assert mc.mde > mi.mde


# --- per-case views -------------------------------------------------------------------------

def test_flaky_cases_are_flagged_per_side_with_their_trials():
    base = [["pass", "fail", "pass"], ["pass"] * 3, ["fail"] * 3]
    cand = [["pass"] * 3, ["pass", "pass", "error"], ["fail"] * 3]
    result = compare(make_run(base), make_run(cand), n_boot=N_BOOT)
    flaky = {(f.side, f.case_id): f.outcomes for f in result.flaky}
    assert flaky == {("baseline", "case-0000"): ("pass", "fail", "pass"),
                     ("candidate", "case-0001"): ("pass", "pass", "error")}


def test_regressions_come_first_and_must_pass_ones_lead():
    tags = [["must-pass"] if i == 5 else [] for i in range(10)]
    base = ["pass"] * 8 + ["fail"] * 2
    cand = ["pass", "fail", "pass", "pass", "pass", "fail", "pass", "pass", "pass", "fail"]
    result = compare(make_run(base, tags=tags), make_run(cand, tags=tags), n_boot=N_BOOT)
    kinds = [(c.case_id, c.kind, c.must_pass) for c in result.changes]
    assert kinds == [("case-0005", "regression", True), ("case-0001", "regression", False),
                     ("case-0008", "improvement", False)]
    assert result.changes[0].score_delta == -1.0


def test_missing_cases_are_listed_on_each_side():
    manifest, rows = make_run(["pass"] * 5)
    cand_rows = [r for r in rows if r["case_id"] != "case-0001"]
    extra = dict(rows[0], case_id="new-case")
    result = compare((manifest, rows), (manifest, [*cand_rows, extra]), n_boot=N_BOOT)
    assert result.only_in_baseline == ((EVAL, "case-0001"),)
    assert result.only_in_candidate == ((EVAL, "new-case"),)
    assert result.n_pairs == 4


def test_dataset_version_mismatch_is_warned():
    result = compare(make_run(["pass"] * 3, version="v1"), make_run(["pass"] * 3, version="v2"),
                     n_boot=N_BOOT)
    assert any("baseline used version v1, candidate v2" in w for w in result.warnings)
    result = compare(make_run(["pass"] * 3, fingerprint="aaa"),
                     make_run(["pass"] * 3, fingerprint="bbb"), n_boot=N_BOOT)
    assert any("fingerprints differ" in w for w in result.warnings)


# --- slices ---------------------------------------------------------------------------------

def _sliced():
    workers = ["worker:support", "worker:finance", "worker:policy"]
    tags = [[workers[i % 3], f"difficulty:{'easy' if i % 2 else 'hard'}", "must-pass-ish"]
            for i in range(150)]
    base = ["pass"] * 150
    cand = ["fail" if i % 3 == 0 and i < 90 else "pass" for i in range(150)]
    return make_run(base, tags=tags), make_run(cand, tags=tags)


def test_slices_are_adjusted_for_multiplicity():
    base, cand = _sliced()
    result = compare(base, cand, n_boot=N_BOOT)
    by_name = {s.slice: s for s in result.slices}
    assert set(by_name) == {"worker:support", "worker:finance", "worker:policy",
                            "difficulty:easy", "difficulty:hard"}  # only prefix:value tags
    assert by_name["worker:support"].n_pairs == 50
    assert by_name["worker:support"].direction == "regressed"
    assert by_name["worker:finance"].direction == "unchanged"
    for s in result.slices:
        assert s.p_adjusted >= s.p_value
    smallest = min(result.slices, key=lambda s: s.p_value)
    assert smallest.p_adjusted == pytest.approx(min(1.0, 5 * smallest.p_value))  # Holm step 1


def test_slice_prefixes_and_bh_correction():
    base, cand = _sliced()
    result = compare(base, cand, n_boot=N_BOOT, slice_prefixes=["worker"], correction="bh")
    assert [s.slice for s in result.slices] == ["worker:finance", "worker:policy",
                                                "worker:support"]
    ps = [s.p_value for s in result.slices]
    expected = stats.false_discovery_control(ps, method="bh")
    assert [s.p_adjusted for s in result.slices] == pytest.approx(list(expected))


def test_comparison_serialises_to_strict_json():
    base, cand = _sliced()
    data = compare(base, cand, n_boot=N_BOOT).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["metrics"][0]["name"] == "pass_rate"


def test_errored_trials_count_as_failures_with_zero_score():
    manifest, rows = make_run([["pass", "pass"], ["pass", "pass"]])
    cand_manifest, cand_rows = make_run([["pass", "error"], ["pass", "pass"]])
    cand_rows[1]["score"] = 0.9  # an errored row's own score is not trusted
    result = compare((manifest, rows), (cand_manifest, cand_rows), n_boot=N_BOOT)
    assert result.metric("pass_rate").candidate == pytest.approx(0.75)
    assert result.metric("score").candidate == pytest.approx(0.75)
    assert [c.case_id for c in result.regressions] == ["case-0000"]  # 1 of 2 is not a majority


def test_one_case_scored_by_several_evals_is_one_sampling_unit():
    manifest, rows = make_run(["pass"] * 30)
    other = [dict(r, eval="evals/test_e2e.py::test_answer") for r in rows]
    result = compare((manifest, rows + other), (manifest, rows + other), n_boot=N_BOOT)
    assert (result.n_pairs, result.n_clusters) == (60, 30)
    # ignoring clusters does not make one agent run two pieces of evidence
    independent = compare((manifest, rows + other), (manifest, rows + other), n_boot=N_BOOT,
                          cluster_key=None)
    assert independent.n_clusters == 30


def test_unknown_status_is_a_record_error():
    manifest, rows = make_run(["pass"])
    rows[0]["status"] = "passed"
    with pytest.raises(RecordError, match="status 'passed'; expected one of pass, fail, error"):
        compare((manifest, rows), make_run(["pass"]), n_boot=N_BOOT)
