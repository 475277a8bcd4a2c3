"""The one vocabulary in which verdicts, reports, summary.md and junit.xml describe a result.

Every phrase says what was tested and how it came out, so words never contradict numbers:
"significant drop (p = 0.003)", "not significant (p = 0.14)", "not significant after Holm
(raw p = 0.012)", "not gated: fewer than 20 paired units", "within budget". A figure that was
not tested is never called "no change". Terminal, HTML, markdown and XML all call these.
"""

from __future__ import annotations

import math
from typing import Any

from passline.compare._results import MetricResult, SliceResult

FEW_UNITS = "not gated: fewer than {n} paired units"
CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no correction"}
METRIC_NOUNS = {"pass_rate": "pass rate", "score": "mean score", "cost": "cost per case",
                "latency_p95": "p95 latency"}


def p_text(p: float | None) -> str:
    """``p = 0.003`` / ``p < 0.0001``; "p = n/a" when no test ran."""
    if p is None or not isinstance(p, int | float) or not math.isfinite(p):
        return "p = n/a"
    if p < 0.0001:
        return "p < 0.0001"
    return f"p = {p:.2g}" if p < 0.01 else f"p = {p:.3f}".rstrip("0").rstrip(".")


def _level_text(level: float) -> str:
    return f"{level:.3g}"


def change_word(delta: float) -> str:
    return "drop" if delta < 0 else "rise"


def metric_reading(m: MetricResult, *, alpha: float | None = None, min_units: int = 20) -> str:
    """What the test of one metric found, in the shared vocabulary."""
    if m.not_gated == "few-units":
        return FEW_UNITS.format(n=min_units) + f" ({m.n_units})"
    if m.not_gated == "cached":
        return "not compared: model calls were served from the record/replay cache"
    if m.not_gated == "simulated":
        return ("not compared: the built-in simulator answered, so latency measures this "
                "machine's load, not a model")
    if m.not_gated == "undefined":
        return "not compared: the baseline value is zero"
    if m.stage2 is not None:
        s2 = m.stage2
        looks = (f"first look p = {s2.p1:.2g}, {s2.n_cases} re-run cases x {s2.trials} new "
                 f"trials p = {s2.p2:.2g}; p1*p2 = {s2.p1 * s2.p2:.2g} vs {s2.critical:.2g}")
        if s2.significant:
            return f"significant {change_word(m.delta)} after confirmation ({looks})"
        return f"not significant after confirmation ({looks})"
    if m.significant:
        return f"significant {change_word(m.delta)} ({p_text(m.p_value)})"
    if (m.delta_kind == "relative" and m.p_value is not None and m.p_value < m.level
            and not (m.ci_low > 0 or m.ci_high < 0)):
        # cost and latency need the interval and the paired test to agree (docs/statistics.md)
        return (f"not significant: the {1 - m.level:.0%} CI of the change includes 0 (the "
                f"paired test alone gives {p_text(m.p_value)})")
    if (alpha is not None and m.p_value is not None and m.level < alpha
            and m.level <= m.p_value < alpha):
        return (f"not significant ({p_text(m.p_value)}; the first-look level is "
                f"{_level_text(m.level)} when confirmation runs may follow)")
    return f"not significant ({p_text(m.p_value)})"


def mde_text(m: MetricResult) -> str:
    """The smallest change this comparison could detect, on the metric's scale."""
    if not isinstance(m.mde, int | float) or not math.isfinite(m.mde) or m.mde <= 0:
        return ""
    if m.delta_kind == "relative":
        return f"{m.mde:.1%}"
    if m.name == "pass_rate":
        return f"{m.mde * 100:.1f} points"
    return f"{m.mde:.3f}"


def power_sentence(m: MetricResult, n_pairs: int, n_units: int, unit_kind: str) -> str:
    """For a change that was not significant: what could not have been seen, and the fix."""
    size = mde_text(m)
    if not size or m.significant or m.not_gated:
        return ""
    units = ("cases" if unit_kind == "case" else "clusters" if unit_kind == "cluster"
             else "sampling units")
    where = (f"{n_pairs:,} cases" if unit_kind == "case"
             else f"{n_pairs:,} cases in {n_units:,} {units}")
    what = "drops" if m.higher_is_better else "rises"
    return f"could not detect {what} smaller than {size} with {where}; add cases or trials"


def slice_reading(s: SliceResult, correction: str, alpha: float) -> str:
    """A slice's result: significant only after the multiple-comparison adjustment."""
    name = CORRECTION_NAMES.get(correction, correction)
    if s.significant:
        label = "adjusted p" if correction != "none" else "p"
        value = p_text(s.p_adjusted).replace("p ", "", 1)
        return f"significant {change_word(s.delta)} ({label} {value})"
    if correction != "none" and s.p_value < alpha:
        return f"not significant after {name} ({p_text(s.p_value).replace('p', 'raw p', 1)})"
    return f"not significant ({p_text(s.p_value)})"


def wilson_text(rate: float, n: int, alpha: float) -> str:
    """A variant's own pass rate with its Wilson interval over n cases: "92.8% (95% CI
    91.0-94.3%)"."""
    from passline.compare._stats import wilson

    if not n or not math.isfinite(rate):
        return "n/a"
    lo, hi = wilson(rate * n, n, alpha)
    return f"{rate:.1%} ({1 - alpha:.0%} CI {lo:.1%}-{hi:.1%})"


def outcome_counts(outcomes: Any) -> str:
    """"2/3" passed trials."""
    outs = list(outcomes or ())
    return f"{sum(o == 'pass' for o in outs)}/{len(outs)}"
