"""The template context of index.html: the comparison and verdict turned into display rows.

Everything here is plain strings and numbers; the template escapes them all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from passline.compare import CaseChange, Comparison, MetricResult, Verdict
from passline.compare import _words as words
from passline.report import _format as fmt
from passline.report._judges import role_text, trust_text
from passline.report._sides import CaseKey, ReportSide, trials_of

MAX_LISTED_CHANGES = 100  # per list in the summary sections; the case view holds them all
MAX_LISTED_FLAKY = 50
MAX_SLICE_ROWS = 200
FILTERS = (("all", "all"), ("regressed", "regressed"), ("improved", "improved"),
           ("changed", "changed"), ("flaky", "flaky"), ("error", "errors"))
VERDICT_LABELS = {"regressed": "REGRESSED", "incomplete": "INCOMPLETE", "improved": "IMPROVED",
                  "pass": "PASS"}
CHECK_MARKS = {"fail": "✗", "warn": "⚠", "pass": "✓", "skip": "–"}


def case_reason(trials: Sequence[Mapping[str, Any]] | None, limit: int = 160) -> str:
    """One line on why a case fails in the candidate, from its candidate trials' payloads
    (:func:`passline.report._sides.trials_of`): its error or failing scores."""
    for trial in trials or ():
        if trial["st"] == "pass":
            continue
        if trial.get("e"):
            return fmt.clip(f"error: {trial['e']}", limit)
        failing = [f"{s[0]}: {s[3]}" if s[3] else s[0] for s in trial["sc"] if not s[2]]
        if failing:
            return fmt.clip("; ".join(failing), limit)
        if trial.get("f"):  # the eval's own assertion failed
            return fmt.clip(str(trial["f"]).replace("\n", " "), limit)
        return fmt.clip(f"status {trial['st']}", limit)
    return ""


def _when(value: Any) -> str:
    text = str(value or "")
    return text[:16].replace("T", " ") if text else "—"


def side_latency(side: ReportSide) -> tuple[float, float] | None:
    """p50 and p95 of the side's per-case mean latencies (inverted-CDF rule): the same
    figures as the manifest totals and the p95 latency metric, from any record kind."""
    from passline.records._write import percentile

    values = [s.latency_s for s in side.summaries.values()]
    if not values:
        return None
    return percentile(values, 0.5), percentile(values, 0.95)


def _side_view(side: ReportSide, css: str, alpha: float) -> dict[str, Any]:
    variant = side.variant
    totals = dict(side.manifest.get("totals") or {})
    summaries = side.summaries.values()
    n = len(side.summaries)
    cost = totals.get("cost_usd")
    if cost is None:
        cost = sum(s.cost_usd * s.n_trials for s in summaries)
    tokens = totals.get("tokens")
    if tokens is None:
        tokens = sum(s.tokens * s.n_trials for s in summaries)
    judge = totals.get("judge_cost_usd") or 0.0
    cost_text = fmt.money(cost) + (f" (+{fmt.money(judge)} judge)" if judge else "")
    lat = side_latency(side)
    trials = side.manifest.get("trials")
    if not isinstance(trials, int):
        trials = max((s.n_trials for s in summaries), default=0)
    rate = sum(s.pass_rate for s in summaries) / n if n else math.nan
    return {
        "role": side.role, "css": css, "kind": side.kind, "label": side.label,
        "variant": str(variant.get("name") or "—"), "model": str(variant.get("model") or "—"),
        "prompts": str(variant.get("prompts") or "—"), "n_cases": f"{n:,}", "trials": trials,
        "created_at": _when(side.manifest.get("created_at")), "cost": cost_text,
        "tokens": fmt.integer(tokens),
        "latency": f"{fmt.seconds(lat[0])} / {fmt.seconds(lat[1])}" if lat else "—",
        "pass_rate": words.wilson_text(rate, n, alpha),
    }


def metric_row(m: MetricResult, alpha: float, comparison: Comparison | None = None
               ) -> dict[str, Any]:
    ci = (f"{fmt.metric_delta(m.name, m.delta_kind, m.ci_low, unit=False)} .. "
          f"{fmt.metric_delta(m.name, m.delta_kind, m.ci_high)}"
          if fmt.finite(m.ci_low) and fmt.finite(m.ci_high) else "n/a")
    note = words.metric_reading(m, alpha=alpha)
    if comparison is not None:
        power = words.power_sentence(m, comparison.n_pairs, comparison.n_clusters,
                                     comparison.sampling_unit)
        if power:
            note += f"; {power}"
    if m.design_effect is not None and math.isfinite(m.design_effect) and m.design_effect > 1.05:
        note += f"; design effect {m.design_effect:.2f}"
    return {
        "name": m.name, "label": fmt.METRIC_LABELS.get(m.name, m.name),
        "baseline": fmt.metric_value(m.name, m.baseline),
        "candidate": fmt.metric_value(m.name, m.candidate),
        "delta": fmt.metric_delta(m.name, m.delta_kind, m.delta), "ci": ci,
        "p": fmt.p_value(m.p_value), "test": fmt.TEST_LABELS.get(m.test, m.test),
        "n": f"{m.n_pairs:,}", "direction": m.direction, "note": note,
    }


def must_pass_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """Must-pass cases that need a reader's eye, pre-existing failures first."""
    labels = {"pre-existing": "fails in the baseline too (pre-existing)",
              "confirmed": "newly fails, confirmed", "suspect": "newly failed, not confirmed",
              "untested": "newly failed, not confirmed (no new trials)",
              "not-confirmed": "newly failed, not confirmed by new trials"}
    order = {"pre-existing": 0, "confirmed": 1}
    rows = []
    for m in sorted((m for m in comparison.must_pass if m.status != "ok"),
                    key=lambda m: (order.get(m.status, 2), m.eval, m.case_id)):
        again = ""
        if m.new_candidate or m.new_baseline:
            again = (f"new trials: candidate {words.outcome_counts(m.new_candidate)}"
                     + (f", baseline {words.outcome_counts(m.new_baseline)}"
                        if m.new_baseline else "")
                     + f"; exact one-sided {words.p_text(m.p_value)}")
        elif m.p_value is not None:
            again = f"exact one-sided {words.p_text(m.p_value)} on the first trials"
        rows.append({"case_id": m.case_id, "eval": m.eval, "status": m.status,
                     "label": labels.get(m.status, m.status),
                     "outcomes_b": fmt.outcomes(m.baseline_outcomes),
                     "outcomes_c": fmt.outcomes(m.candidate_outcomes), "again": again})
    return rows


def confirmation_text(comparison: Comparison) -> str:
    info = comparison.confirmation
    if info is None:
        return ("No confirmation runs: must-pass failures and borderline drops were judged on "
                "the first trials alone.")
    text = (f"Confirmation runs: {info.runs:,} agent runs of a {info.budget:,}-run budget; the "
            f"baseline's variant was {'re-run' if info.baseline_rerun else 'not re-run'}.")
    return text + (f" {info.note}." if info.note else "")


def _change_view(c: CaseChange, index: int, cand: ReportSide) -> dict[str, Any]:
    return {
        "index": index, "case_id": c.case_id, "eval": c.eval, "must_pass": c.must_pass,
        "outcomes_b": fmt.outcomes(c.baseline_outcomes),
        "outcomes_c": fmt.outcomes(c.candidate_outcomes),
        "score_b": f"{c.baseline_score:.2f}", "score_c": f"{c.candidate_score:.2f}",
        "reason": case_reason(trials_of(cand, c.key)) if c.kind == "regression" else "",
    }


def _judges(base: ReportSide, cand: ReportSide) -> list[dict[str, Any]]:
    rows = []
    for side in (cand, base):
        judges = side.manifest.get("judges") or {}
        if not isinstance(judges, Mapping):
            continue
        for rubric in sorted(judges, key=str):
            j = judges[rubric] if isinstance(judges[rubric], Mapping) else {}

            def num(key: str, j: Mapping[str, Any] = j) -> str:
                v = j.get(key)
                return f"{v:.2f}" if fmt.finite(v) else "—"

            bias = j.get("position_bias_rate")
            rows.append({"rubric": str(rubric), "side": side.role, "accuracy": num("accuracy"),
                         "kappa": num("kappa"), "weighted_kappa": num("weighted_kappa"),
                         "n": _judge_items(j),
                         "position_bias": fmt.pct(bias) if fmt.finite(bias) else "—",
                         "trusted": bool(j.get("trusted")),
                         # untrusted-judge policy: what its scores did (docs/judges.md)
                         "role": role_text(j), "trust": trust_text(j)})
    return rows


def _judge_items(j: Mapping[str, Any]) -> str:
    """Calibration items the judge was measured on (manifests store ``n_items``)."""
    n = j.get("n_items", j.get("n"))
    return fmt.integer(n) if fmt.finite(n) else "—"


def build_context(*, title: str, comparison: Comparison, verdict: Verdict, base: ReportSide,
                  cand: ReportSide, cases: Sequence[Mapping[str, Any]], charts: Mapping[str, Any],
                  prompt_diffs: Sequence[Any], manifest_diff: Sequence[tuple[str, str, str]],
                  generated_at: str, passline_version: str,
                  captured_changes: Sequence[Any] = ()) -> dict[str, Any]:
    """Everything index.html.j2 shows, as display strings."""
    index_of: dict[CaseKey, int] = {(c["e"], c["id"]): int(c["i"]) for c in cases}
    regs, imps = comparison.regressions, comparison.improvements
    pr = comparison.metric("pass_rate")
    headline = (f"{len(regs):,} regressed, {len(imps):,} improved of {comparison.n_pairs:,} "
                f"paired cases · pass rate {fmt.pct(pr.baseline)} → {fmt.pct(pr.candidate)}")
    slices = sorted(comparison.slices, key=lambda s: (not s.significant, s.p_adjusted, s.slice))
    slice_rows = [{
        "reading": words.slice_reading(s, comparison.correction, comparison.alpha),
        "slice": s.slice, "n": f"{s.n_pairs:,}", "baseline": fmt.pct(s.baseline),
        "candidate": fmt.pct(s.candidate), "delta": fmt.metric_delta("pass_rate", "absolute",
                                                                     s.delta),
        "ci": (f"{fmt.metric_delta('pass_rate', 'absolute', s.ci_low, unit=False)} .. "
               f"{fmt.metric_delta('pass_rate', 'absolute', s.ci_high)}"),
        "p": fmt.p_value(s.p_value), "p_adjusted": fmt.p_value(s.p_adjusted),
        "direction": s.direction,
    } for s in slices[:MAX_SLICE_ROWS]]
    flaky = [{"case_id": f.case_id, "eval": f.eval, "side": f.side,
              "outcomes": fmt.outcomes(f.outcomes), "pass_rate": fmt.pct(f.pass_rate),
              "index": index_of.get((f.eval, f.case_id), -1)}
             for f in comparison.flaky[:MAX_LISTED_FLAKY]]
    only = ([("baseline", e, c) for e, c in comparison.only_in_baseline[:10]]
            + [("candidate", e, c) for e, c in comparison.only_in_candidate[:10]])
    missing = [s.role for s in (base, cand)
               if not s.manifest.get("prompts") and not s.manifest.get("captured_prompts")]
    prompts_missing = ("in the " + " and ".join(missing) + " manifest"
                       + ("s" if len(missing) > 1 else "")) if missing else ""
    return {
        "title": title,
        "generated_at": generated_at,
        "passline_version": passline_version,
        "verdict": {"status": verdict.status,
                    "label": VERDICT_LABELS.get(verdict.status, verdict.status.upper()),
                    "headline": headline,
                    "reasons": [(c.status, c.message) for c in _ordered_checks(verdict)]},
        "sides": [_side_view(base, "base", comparison.alpha),
                  _side_view(cand, "cand", comparison.alpha)],
        "n_pairs": f"{comparison.n_pairs:,}", "n_clusters": f"{comparison.n_clusters:,}",
        "datasets": ", ".join(comparison.datasets) or "—",
        "level": f"{1 - comparison.alpha:.0%}", "correction": comparison.correction,
        "metrics": [metric_row(m, comparison.alpha, comparison) for m in comparison.metrics],
        "must_pass": must_pass_rows(comparison),
        "confirmation": confirmation_text(comparison),
        "sampling_unit": comparison.sampling_unit,
        "slices": slice_rows, "slices_total": len(comparison.slices),
        "regressions": [_change_view(c, index_of[c.key], cand)
                        for c in regs[:MAX_LISTED_CHANGES]],
        "regressions_total": len(regs),
        "improvements": [_change_view(c, index_of[c.key], cand)
                         for c in imps[:MAX_LISTED_CHANGES]],
        "improvements_total": len(imps),
        "flaky": flaky, "flaky_total": len(comparison.flaky),
        "max_trials": max((len(s.outcomes) for side in (base, cand)
                           for s in side.summaries.values()), default=0),
        "only_examples": only, "only_baseline_total": len(comparison.only_in_baseline),
        "only_candidate_total": len(comparison.only_in_candidate),
        "warnings": list(comparison.warnings),
        "filters": FILTERS,
        "charts": charts,
        "prompt_diffs": list(prompt_diffs),
        "captured_changes": list(captured_changes),
        "captured_recorded": all(s.manifest.get("captured_prompts") for s in (base, cand)),
        "prompt_diffs_changed": any(d.status != "unchanged" for d in prompt_diffs)
        or bool(captured_changes),
        "prompt_diffs_unchanged": [d.label for d in prompt_diffs if d.status == "unchanged"],
        "prompts_recorded": not missing, "prompts_missing": prompts_missing,
        "manifest_diff": list(manifest_diff),
        "judges": _judges(base, cand),
    }


def _ordered_checks(verdict: Verdict) -> list[Any]:
    """Failing checks first, then warnings, in the gate's order (as Verdict.reasons)."""
    rank = {"fail": 0, "warn": 1}
    return sorted(verdict.checks, key=lambda c: rank.get(c.status, 2))
