"""Confirmation runs and completion states: how the gate decides with more evidence, and when
it refuses to decide at all."""

from __future__ import annotations

import numpy as np
import pytest

from passline.compare import (
    GatePolicy,
    RerunRequest,
    compare,
    confirm,
    first_look_alpha,
    gate,
)
from passline.compare._confirm import metric_critical
from passline.compare._stats import (
    bauer_koehne_critical,
    max_t_sign_flip,
    pass_rate_drop_pvalue,
    wilson,
)
from passline.errors import ExitCode, InfrastructureError
from passline.records import completion_of

EVAL = "evals/test_tools.py::test_tool_choice"


def make_run(outcomes, *, run_id="run", tags=None, scores=None):
    rows = []
    for i, case in enumerate(outcomes):
        trials = [case] if isinstance(case, str) else list(case)
        for t, status in enumerate(trials):
            rows.append({
                "schema_version": 1, "run_id": run_id, "eval": EVAL, "case_id": f"case-{i:04d}",
                "dataset": "tools-unit", "dataset_version": "v2",
                "tags": list(tags[i]) if tags else [], "cluster": None, "trial": t,
                "status": status, "scores": [],
                "score": (scores[i] if scores else 1.0) if status == "pass" else 0.0,
                "cost_usd": 0.001, "tokens": 100, "latency_s": 1.0, "error": None,
            })
    manifest = {"schema_version": 1, "run_id": run_id, "finished_at": "2026-11-27T10:00:00",
                "datasets": {"tools-unit@v2": {"name": "tools-unit", "version": "v2",
                                               "n_cases": len(outcomes)}}}
    return manifest, rows


class FakeRerun:
    """New trials from a per-side pass probability per case (seeded), recording requests."""

    def __init__(self, p_pass, *, baseline_available=True, seed=0, error_case=None):
        self.p_pass = p_pass  # (side, case_id) -> probability
        self.baseline_available = baseline_available
        self.rng = np.random.default_rng(seed)
        self.requests: list[RerunRequest] = []
        self.error_case = error_case

    def __call__(self, requests):
        self.requests += list(requests)
        out = {}
        for r in requests:
            p = self.p_pass(r.side, r.case_id)
            outs = []
            for _ in range(r.trials):
                if r.case_id == self.error_case:
                    outs.append(("error", 0.0))
                else:
                    ok = self.rng.random() < p
                    outs.append(("pass" if ok else "fail", 1.0 if ok else 0.0))
            out[r.key] = outs
        return out


MUST = [["must-pass"] if i < 2 else [] for i in range(40)]


def _must_pass_pair(cand_first):
    base = [["pass"] * 3] * 40
    cand = [cand_first, ["pass"] * 3] + [["pass"] * 3] * 38
    return make_run(base, tags=MUST, run_id="base"), make_run(cand, tags=MUST, run_id="cand")


def test_a_flaky_must_pass_case_is_not_confirmed_and_warns():
    base, cand = _must_pass_pair(["fail", "fail", "pass"])
    comparison = compare(base, cand, n_boot=200)
    (suspect,) = [m for m in comparison.must_pass if m.status == "suspect"]
    assert suspect.case_id == "case-0000"
    # the same agent on new trials: passes as the baseline does
    rerun = FakeRerun(lambda side, case: 0.9, seed=1)
    confirmed = confirm(comparison, GatePolicy(), rerun)
    (m,) = [m for m in confirmed.must_pass if m.case_id == "case-0000"]
    assert m.status == "not-confirmed" and m.looks >= 1 and len(m.new_candidate) >= 5
    verdict = gate(confirmed, GatePolicy())
    assert verdict.status == "pass"
    (warn,) = [c for c in verdict.checks if c.name == "must_pass_unconfirmed"]
    assert "not confirmed by the new trials" in warn.message
    assert {r.side for r in rerun.requests} == {"baseline", "candidate"}
    assert all(r.first_trial >= 1000 for r in rerun.requests)  # fresh samples, fresh seeds


def test_a_real_must_pass_regression_is_confirmed_and_fails():
    base, cand = _must_pass_pair(["fail", "fail", "fail"])
    rerun = FakeRerun(lambda side, case: 0.0 if (side, case) == ("candidate", "case-0000")
                      else 1.0)
    confirmed = confirm(compare(base, cand, n_boot=200), GatePolicy(), rerun)
    verdict = gate(confirmed, GatePolicy())
    assert verdict.status == "regressed" and verdict.exit_code == ExitCode.REGRESSION
    first = verdict.reasons[0]
    assert first.startswith("1 must-pass case newly fails, confirmed by an exact test: "
                            "case-0000")
    assert "0/5 new candidate trials vs 8/8 baseline trials" in first  # stopped at look 1
    assert confirmed.confirmation.runs == 10  # 5 per variant, one look


def test_without_a_baseline_rerun_the_baseline_keeps_its_recorded_trials():
    base, cand = _must_pass_pair(["fail", "fail", "fail"])
    rerun = FakeRerun(lambda side, case: 0.0, baseline_available=False)
    confirmed = confirm(compare(base, cand, n_boot=200), GatePolicy(), rerun)
    (m,) = [m for m in confirmed.must_pass if m.case_id == "case-0000"]
    assert m.new_baseline == () and {r.side for r in rerun.requests} == {"candidate"}
    # 3/3 recorded baseline trials vs 0/15 new candidate trials: still shown
    assert m.status == "confirmed" and m.p_value < m.level


def test_the_budget_bounds_the_runs():
    base, cand = _must_pass_pair(["fail", "fail", "fail"])
    rerun = FakeRerun(lambda side, case: 0.5)
    confirmed = confirm(compare(base, cand, n_boot=200), GatePolicy(confirm_budget=7), rerun)
    assert confirmed.confirmation.runs == 0  # one look needs 10 runs: none fits
    assert "budget" in confirmed.confirmation.note
    (m,) = [m for m in confirmed.must_pass if m.case_id == "case-0000"]
    assert m.status == "untested"
    assert gate(confirmed, GatePolicy()).status == "pass"  # unconfirmed: a warning


def test_errored_confirmation_runs_are_an_outage():
    base, cand = _must_pass_pair(["fail", "fail", "fail"])
    rerun = FakeRerun(lambda side, case: 1.0, error_case="case-0000")
    with pytest.raises(InfrastructureError, match="confirmation run"):
        confirm(compare(base, cand, n_boot=200), GatePolicy(), rerun)


def _borderline_pair(rng, n=300, drop=0.0):
    p = rng.uniform(0.5, 0.95, n)
    base = [["pass" if rng.random() < p[i] else "fail" for _ in range(3)] for i in range(n)]
    cand = [["pass" if rng.random() < max(p[i] - drop, 0) else "fail" for _ in range(3)]
            for i in range(n)]
    return p, make_run(base, run_id="b"), make_run(cand, run_id="c")


def test_a_borderline_drop_gets_a_second_look_that_decides():
    rng = np.random.default_rng(3)
    policy = GatePolicy(max_cost_increase=float("inf"), max_p95_latency_increase=float("inf"))
    for _ in range(40):  # find a pair whose first look is borderline (seeded: deterministic)
        p, base, cand = _borderline_pair(rng, drop=0.04)
        comparison = compare(base, cand, n_boot=400, first_look_alpha=first_look_alpha(0.05))
        pr = comparison.metric("pass_rate")
        if pr.delta < -0.02 and 0.015 < pr.p_drop <= 0.25:
            break
    else:
        pytest.fail("no borderline pair found")
    assert not pr.significant
    truth = {f"case-{i:04d}": p[i] for i in range(len(p))}
    rerun = FakeRerun(lambda side, case: truth[case] - (0.3 if side == "candidate" else 0.0))
    confirmed = confirm(comparison, policy, rerun)
    m = confirmed.metric("pass_rate")
    assert m.stage2 is not None and m.stage2.significant and m.significant
    assert m.stage2.p1 * m.stage2.p2 <= metric_critical(0.05)
    assert "significant drop after confirmation" in gate(confirmed, policy).reasons[0]
    # the same first look, new trials that show no difference: not significant
    same = confirm(comparison, policy, FakeRerun(lambda side, case: truth[case], seed=5))
    assert not same.metric("pass_rate").significant
    assert same.metric("pass_rate").stage2.significant is False


def test_two_stage_design_keeps_its_level():
    # Bauer-Koehne: alpha1 + c * ln(alpha0 / alpha1) = alpha; the first look spends alpha1
    c = bauer_koehne_critical(0.025, 0.015, 0.25)
    assert 0.015 + c * np.log(0.25 / 0.015) == pytest.approx(0.025)
    assert first_look_alpha(0.05) == pytest.approx(0.03)
    # simulated under the null with uniform p-values: the rejection rate is alpha
    rng = np.random.default_rng(0)
    p1, p2 = rng.random(400_000), rng.random(400_000)
    reject = (p1 <= 0.015) | ((p1 > 0.015) & (p1 <= 0.25) & (p1 * p2 <= c))
    assert reject.mean() == pytest.approx(0.025, abs=0.001)


def test_max_t_adjusts_jointly_and_equals_the_single_test_for_one_metric():
    rng = np.random.default_rng(1)
    t = rng.normal(0, 1, (1, 12))
    drop, rise = max_t_sign_flip(t, n_perm=100, rng=rng)
    # exact enumeration (12 units): the two tails of one metric share only the observed flip
    assert drop[0] + rise[0] == pytest.approx(1 + 1 / 2**12)
    from scipy import stats

    exact = stats.permutation_test((t[0],), np.sum, permutation_type="samples",
                                   n_resamples=np.inf, alternative="less").pvalue
    assert drop[0] == pytest.approx(exact)
    both = np.vstack([t, rng.normal(0, 1, (1, 12))])
    drop2, _ = max_t_sign_flip(both, n_perm=100, rng=rng)
    assert drop2[0] >= drop[0]  # adjusting for a second metric never lowers a p-value


def test_exact_test_and_wilson_interval():
    assert pass_rate_drop_pvalue(8, 8, 0, 5) < 0.001
    assert pass_rate_drop_pvalue(3, 3, 0, 3) == pytest.approx(0.0156, abs=0.002)
    assert pass_rate_drop_pvalue(3, 3, 3, 3) == 1.0
    lo, hi = wilson(9, 10, 0.05)
    assert (round(lo, 3), round(hi, 3)) == (0.596, 0.982)  # textbook Wilson 95% for 9/10


# --- completion ----------------------------------------------------------------------------

def test_completion_states_are_inferred_from_older_manifests():
    rows = [{"eval": "e", "case_id": f"c{i}", "trial": 0, "dataset": "d",
             "dataset_version": "v1"} for i in range(4)]
    datasets = {"d@v1": {"n_cases": 10}}
    crashed = completion_of({"datasets": datasets}, rows=rows)
    assert crashed.state == "crashed" and crashed.inferred
    assert crashed.describe().endswith("4 of 10 planned items finished")
    stopped = completion_of({"datasets": datasets, "finished_at": "x"}, rows=rows)
    assert stopped.state == "partial" and "stopped early" in stopped.reason
    shard = completion_of({"datasets": datasets, "finished_at": "x", "shard": [1, 2]},
                          rows=rows)
    assert shard.state == "partial" and "passline merge" in shard.reason
    full = completion_of({"datasets": {"d@v1": {"n_cases": 4}}, "finished_at": "x"},
                         rows=rows)
    assert full.complete
    # the writer's own statement wins
    said = completion_of({"finished_at": "x", "completion": {
        "state": "interrupted", "planned_items": 10, "finished_items": 4,
        "reason": "SIGINT"}}, rows=rows)
    assert (said.state, said.inferred, said.reason) == ("interrupted", False, "SIGINT")


def test_sampling_unit_follows_the_dataset_card_declaration():
    clusters = [f"t{i // 5}" for i in range(40)]
    manifest, rows = make_run(["pass"] * 40)
    rows = [dict(r, cluster=clusters[int(r["case_id"][-4:])]) for r in rows]
    plain = compare((manifest, rows), (manifest, rows), n_boot=200)
    assert plain.sampling_unit == "case" and plain.n_clusters == 40
    declared = dict(manifest, datasets={"tools-unit@v2": {
        "name": "tools-unit", "version": "v2", "n_cases": 40, "sampling_unit": "cluster"}})
    clustered = compare((declared, rows), (declared, rows), n_boot=200)
    assert clustered.sampling_unit == "cluster" and clustered.n_clusters == 8
