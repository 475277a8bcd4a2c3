"""Confirmation runs: new trials before a must-pass failure or a borderline drop fails CI.

Pure decision logic; the new trials come from a :class:`Rerun` the caller provides (the
pytest session submits jobs to its runner; ``passline gate --confirm`` starts a pytest
session of its own). Nothing here calls back into the runner.

Two procedures, both valid whatever the first look showed (docs/statistics.md, "Confirmation
runs"):

* **Must-pass**: a must-pass case that fails a majority of its candidate trials is re-run in
  looks of ``confirm_trials`` new trials (both variants when the baseline can be re-run).
  The candidate side of the exact test holds only the *new* trials (its first trials chose
  the case); the baseline side holds all of the baseline's trials (none of them chose it).
  Boschloo's one-sided exact test decides at each look against ``alpha_must_pass /
  (suspects x looks)`` (Bonferroni over the cases the candidate's first trials flagged and
  over the looks), so a flaky case that did not change fails CI with probability at most its
  share.
* **Pass rate and score**: with a confirmation look available the first look is judged at a
  smaller level; a drop larger than its margin whose first-look p is between that level and
  the futility bound gets new trials of the discordant cases on both variants, and the two
  looks are combined with Bauer and Koehne's product rule, which keeps the overall level.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from passline.compare import _stats as st
from passline.compare._results import Comparison, Confirmation, MustPassCase, StageTwo
from passline.errors import InfrastructureError

if TYPE_CHECKING:
    from passline.compare._gate import GatePolicy

CONFIRM_TRIAL_BASE = 1000  # trial numbers of confirmation runs (fresh seeds, fresh cache keys)
FIRST_LOOK_SHARE = 0.6  # of the one-sided alpha/2, spent at the first look of the metrics
FUTILITY_P = 0.25  # one-sided first-look p above which a drop is not confirmed
MUST_PASS_SHARE = 0.5  # of alpha: the must-pass family's share of the gate's false alarms

RerunKey = tuple[str, str, str]  # (side, eval, case_id)


@dataclasses.dataclass(frozen=True, slots=True)
class RerunRequest:
    """Run ``trials`` new trials (numbered from ``first_trial``) of one case on one side."""

    side: str  # "baseline" | "candidate"
    eval: str
    case_id: str
    first_trial: int
    trials: int

    @property
    def key(self) -> RerunKey:
        return (self.side, self.eval, self.case_id)


class Rerun(Protocol):
    """Runs new trials: ``rerun(requests) -> {(side, eval, case_id): [(status, score), ...]}``
    in trial order. ``baseline_available`` says whether the baseline's variant can be run
    (same agent code as when the baseline was recorded)."""

    baseline_available: bool

    def __call__(self, requests: Sequence[RerunRequest]
                 ) -> Mapping[RerunKey, Sequence[tuple[str, float]]]: ...


def first_look_alpha(alpha: float) -> float:
    """Two-sided level of the pass-rate and score tests when a confirmation look may follow."""
    return 2 * FIRST_LOOK_SHARE * alpha / 2


def metric_critical(alpha: float) -> float:
    """Bauer-Koehne critical value for p1 * p2 (one-sided, overall level alpha / 2)."""
    return st.bauer_koehne_critical(alpha / 2, FIRST_LOOK_SHARE * alpha / 2, FUTILITY_P)


class _Budget:
    def __init__(self, total: int) -> None:
        self.total, self.spent = total, 0

    def left(self) -> int:
        return self.total - self.spent


def _run(rerun: Rerun, requests: list[RerunRequest], budget: _Budget, *, allow_errors: bool
         ) -> Mapping[RerunKey, Sequence[tuple[str, float]]]:
    if not requests:
        return {}
    got = rerun(requests)
    budget.spent += sum(r.trials for r in requests)
    errors = [(k, o) for k, outs in got.items() for o in outs if o[0] == "error"]
    if errors and not allow_errors:
        (side, ev, case), _ = errors[0]
        raise InfrastructureError(
            f"{len(errors)} confirmation run(s) ended in error (first: {side} {case} in {ev}); "
            "an outage must not decide a gate. Fix the cause and re-run, or allow errors "
            "(they then count as failed trials)")
    return got


def confirm(comparison: Comparison, policy: GatePolicy, rerun: Rerun, *,
            allow_errors: bool = False, progress: Callable[[str], None] | None = None
            ) -> Comparison:
    """Spend up to ``policy.confirm_budget`` new agent runs on the must-pass suspects and on
    borderline drops; returns the comparison with the decisions in ``must_pass``,
    ``metrics[...].stage2`` and ``confirmation``. ``comparison`` must have been computed with
    ``first_look_alpha=first_look_alpha(alpha)`` when ``rerun.baseline_available``."""
    budget = _Budget(policy.confirm_budget)
    notes: list[str] = []
    must_pass = _confirm_must_pass(comparison, policy, rerun, budget, allow_errors, notes,
                                   progress)
    metrics = comparison.metrics
    if policy.confirm_metrics and rerun.baseline_available:
        metrics = _confirm_metrics(comparison, policy, rerun, budget, allow_errors, notes,
                                   progress)
    elif policy.confirm_metrics:
        notes.append("pass rate and score were not re-tested: the baseline's variant cannot "
                     "be re-run here")
    info = Confirmation(runs=budget.spent, budget=budget.total,
                        baseline_rerun=rerun.baseline_available, note="; ".join(notes))
    return dataclasses.replace(comparison, must_pass=must_pass, metrics=metrics,
                               confirmation=info)


# --- must-pass --------------------------------------------------------------------------------

def _passes(outcomes: Sequence[str]) -> int:
    return sum(o == "pass" for o in outcomes)


def _confirm_must_pass(comparison: Comparison, policy: GatePolicy, rerun: Rerun,
                       budget: _Budget, allow_errors: bool, notes: list[str],
                       progress: Callable[[str], None] | None) -> tuple[MustPassCase, ...]:
    cases = list(comparison.must_pass)
    flagged = [m for m in cases if m.status in ("suspect", "pre-existing")]
    if not flagged:
        return tuple(cases)
    looks, trials = policy.confirm_looks, policy.confirm_trials
    # Bonferroni over every case the candidate's first trials flagged (pre-existing ones
    # are not re-run, which only removes chances to reject) and over the looks
    level = MUST_PASS_SHARE * comparison.alpha / len(flagged) / looks
    state: dict[tuple[str, str], MustPassCase] = {
        m.key: dataclasses.replace(m, status="untested", level=level)
        for m in flagged if m.status == "suspect"}
    active = list(state)
    for look in range(looks):
        per_case = trials * (2 if rerun.baseline_available else 1)
        n_fit = min(len(active), budget.left() // per_case) if per_case else 0
        if n_fit < len(active) and look == 0:
            notes.append(f"{len(active) - n_fit} must-pass suspect(s) not re-run: the "
                         f"confirmation budget of {budget.total} runs ran out")
        batch = active[:n_fit]
        if not batch:
            break
        if progress:
            progress(f"confirming {len(batch)} must-pass case(s), look {look + 1} of {looks}")
        first = CONFIRM_TRIAL_BASE + look * trials
        requests = [RerunRequest("candidate", ev, cid, first, trials) for ev, cid in batch]
        if rerun.baseline_available:
            requests += [RerunRequest("baseline", ev, cid, first, trials) for ev, cid in batch]
        got = _run(rerun, requests, budget, allow_errors=allow_errors)
        still: list[tuple[str, str]] = []
        for key in batch:
            m = state[key]
            new_c = m.new_candidate + tuple(s for s, _ in got.get(("candidate", *key), ()))
            new_b = m.new_baseline + tuple(s for s, _ in got.get(("baseline", *key), ()))
            base_all = m.baseline_outcomes + new_b
            p = st.pass_rate_drop_pvalue(_passes(base_all), len(base_all), _passes(new_c),
                                         len(new_c))
            confirmed = p <= level
            no_drop = len(new_c) and _passes(new_c) / len(new_c) >= (
                _passes(base_all) / len(base_all))
            status = ("confirmed" if confirmed else
                      "not-confirmed" if no_drop or look == looks - 1 else "untested")
            state[key] = dataclasses.replace(m, new_candidate=new_c, new_baseline=new_b,
                                             p_value=p, looks=look + 1, status=status)
            if status == "untested":
                still.append(key)
        active = still
    for key in active:  # ran out of budget between looks: what was seen did not confirm it
        if state[key].looks:
            state[key] = dataclasses.replace(state[key], status="not-confirmed")
    return tuple(state.get(m.key, m) for m in cases)


# --- pass rate and score ------------------------------------------------------------------------

def _confirm_metrics(comparison: Comparison, policy: GatePolicy, rerun: Rerun,
                     budget: _Budget, allow_errors: bool, notes: list[str],
                     progress: Callable[[str], None] | None) -> tuple[Any, ...]:
    alpha = comparison.alpha
    a1 = FIRST_LOOK_SHARE * alpha / 2
    margins = {"pass_rate": policy.max_drop, "score": policy.score_max_drop}
    borderline = [
        m.name for m in comparison.metrics
        if m.name in policy.metrics and m.p_drop is not None and m.delta < 0
        and -m.delta > margins[m.name] and a1 < m.p_drop <= FUTILITY_P]
    if not borderline:
        return comparison.metrics
    discordant = comparison.discordant
    trials = policy.confirm_trials
    n_fit = min(len(discordant), budget.left() // (2 * trials)) if trials else 0
    if n_fit < 2:
        notes.append("a borderline drop was not re-tested: the confirmation budget was spent")
        return comparison.metrics
    chosen = discordant[:n_fit]
    if n_fit < len(discordant):
        notes.append(f"re-ran the {n_fit} most discordant of {len(discordant)} discordant "
                     "cases (budget)")
    if progress:
        progress(f"confirming a borderline {' and '.join(borderline)} drop: {n_fit} cases x "
                 f"{trials} new trials per variant")
    first = CONFIRM_TRIAL_BASE + policy.confirm_looks * trials  # after the must-pass looks
    requests = [RerunRequest(side, ev, cid, first, trials) for side in ("baseline", "candidate")
                for ev, cid, _, _ in chosen]
    got = _run(rerun, requests, budget, allow_errors=allow_errors)
    import numpy as np

    def rates(side: str, key: tuple[str, str]) -> tuple[float, float]:
        outs = got.get((side, *key), ())
        if not outs:
            return (math.nan, math.nan)
        return (sum(s == "pass" for s, _ in outs) / len(outs),
                sum(0.0 if s == "error" else v for s, v in outs) / len(outs))

    d_pass, d_score, labels = [], [], []
    for ev, cid, unit, _ in chosen:
        (pb, sb), (pc, sc) = rates("baseline", (ev, cid)), rates("candidate", (ev, cid))
        if math.isnan(pb) or math.isnan(pc):
            continue
        d_pass.append(pc - pb)
        d_score.append(sc - sb)
        labels.append(unit)
    index, n_units = st.unit_index(labels)
    (drop_pass, _), (drop_score, _) = _stage_two_pvalues(
        np.asarray(d_pass), np.asarray(d_score), index, n_units, comparison)
    p2 = {"pass_rate": drop_pass, "score": drop_score}
    delta2 = {"pass_rate": float(np.mean(d_pass)) if d_pass else math.nan,
              "score": float(np.mean(d_score)) if d_score else math.nan}
    critical = metric_critical(alpha)
    out = []
    for m in comparison.metrics:
        if m.name not in borderline:
            out.append(m)
            continue
        assert m.p_drop is not None
        significant = m.p_drop * p2[m.name] <= critical
        stage2 = StageTwo(p1=m.p_drop, p2=p2[m.name], critical=critical, n_cases=len(labels),
                          trials=trials, delta=delta2[m.name], significant=significant)
        out.append(dataclasses.replace(
            m, stage2=stage2, significant=significant,
            direction="regressed" if significant else "unchanged"))
    return tuple(out)


def _stage_two_pvalues(d_pass: Any, d_score: Any, index: Any, n_units: int,
                       comparison: Comparison) -> tuple[tuple[float, float], tuple[float, float]]:
    from passline.compare._compare import quality_pvalues

    if not n_units:
        return (1.0, 1.0), (1.0, 1.0)
    return quality_pvalues(d_pass, d_score, index, n_units, n_perm=comparison.n_boot,
                           rng=st.make_rng(comparison.seed, 7))
