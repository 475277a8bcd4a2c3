"""gate(comparison, policy): turn a Comparison into a verdict and an exit code.

Every way the gate can fail on noise has a share of ``alpha`` (docs/statistics.md, "The
gate's false alarms"): a pass-rate or score drop must be significant (pass rate and score
tested jointly) and beyond its margin; a must-pass case that newly fails must be confirmed
by an exact test; cost and latency fail on increases beyond their budgets that are
significant (interval excludes zero, paired sign-flip test agrees, at least
``MIN_RELATIVE_UNITS`` paired units). Latency is skipped when either run was served from the
record/replay cache. Missing evidence (must-pass cases not run) gives "incomplete", exit 3.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from passline.compare import _stats as st
from passline.compare import _words as words
from passline.compare._compare import MIN_RELATIVE_UNITS
from passline.compare._confirm import MUST_PASS_SHARE
from passline.compare._results import Comparison, MetricResult, MustPassCase
from passline.errors import ConfigError, ExitCode, GateFailed
from passline.settings import find_pyproject, load_tool_table

GATED_METRICS = ("pass_rate", "score")


@dataclasses.dataclass(frozen=True)
class GatePolicy:
    """Gate thresholds; ``[tool.passline.gate]`` in pyproject.toml overrides the defaults.

    ``max_drop`` / ``score_max_drop`` are absolute margins: a significant drop smaller than
    the margin is reported but tolerated. Budgets are relative per-case increases; ``inf``
    disables one. ``confirm_*`` bound the confirmation runs (docs/statistics.md):
    ``confirm_trials`` new trials per case, variant and look (0 turns confirmation off),
    ``confirm_looks`` looks at a must-pass suspect, ``confirm_budget`` agent runs in all.
    """

    alpha: float = 0.05
    max_drop: float = 0.02
    score_max_drop: float = 0.02
    must_pass_tag: str = "must-pass"
    max_cost_increase: float = 0.20
    max_p95_latency_increase: float = 0.25
    fail_on_missing_cases: bool = False
    metrics: tuple[str, ...] = GATED_METRICS
    sampling_unit: str = "auto"
    confirm_trials: int = 5
    confirm_looks: int = 3
    confirm_budget: int = 400
    confirm_metrics: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"gate alpha must be in (0, 1), got {self.alpha}")
        for name in ("max_drop", "score_max_drop", "max_cost_increase",
                     "max_p95_latency_increase"):
            if getattr(self, name) < 0:
                raise ConfigError(f"gate {name} must be >= 0 (inf disables), got "
                                  f"{getattr(self, name)}")
        unknown = [m for m in self.metrics if m not in GATED_METRICS]
        if unknown:
            raise ConfigError(f"gate metrics {unknown} unknown; choose from {list(GATED_METRICS)}")
        if self.sampling_unit not in ("auto", "case", "cluster"):
            raise ConfigError(f"gate sampling_unit {self.sampling_unit!r} is unknown; use "
                              "'auto' (clusters where a dataset card declares them), 'case' or "
                              "'cluster'")
        for name in ("confirm_trials", "confirm_budget"):
            if getattr(self, name) < 0:
                raise ConfigError(f"gate {name} must be >= 0 (0 turns confirmation off), got "
                                  f"{getattr(self, name)}")
        if self.confirm_looks < 1:
            raise ConfigError(f"gate confirm_looks must be >= 1, got {self.confirm_looks}")

    @property
    def confirms(self) -> bool:
        """Whether confirmation runs are allowed at all."""
        return self.confirm_trials > 0 and self.confirm_budget > 0

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], *, where: str = "[tool.passline.gate]"
                     ) -> GatePolicy:
        """Build from a config table, rejecting unknown keys and wrong types."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in table.items():
            name = key.replace("-", "_")
            if name not in fields:
                raise ConfigError(f"{where}: unknown key {key!r}; known keys: "
                                  f"{', '.join(fields)}")
            default = getattr(cls(), name)
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(default, float):
                ok = isinstance(value, int | float) and not isinstance(value, bool)
                value = float(value) if ok else value
            elif isinstance(default, tuple):
                ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
                value = tuple(value) if ok else value
            else:
                ok = isinstance(value, str)
            if not ok:
                raise ConfigError(f"{where}: {key} = {value!r} should be of the type of its "
                                  f"default {default!r}")
            values[name] = value
        try:
            return cls(**values)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None


def load_policy(root: str | Path | None = None, **overrides: Any) -> GatePolicy:
    """The gate policy from ``[tool.passline.gate]`` found from ``root`` upwards, then
    ``overrides`` (None values ignored), e.g. ``load_policy(alpha=0.01)``."""
    pyproject = find_pyproject(Path(root) if root else Path.cwd())
    table: dict[str, Any] = {}
    where = "[tool.passline.gate]"
    if pyproject is not None:
        raw = load_tool_table(pyproject).get("gate", {})
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{pyproject}: [tool.passline] gate must be a table")
        table = dict(raw)
        where = f"{pyproject} [tool.passline.gate]"
    table.update({k: v for k, v in overrides.items() if v is not None})
    return GatePolicy.from_mapping(table, where=where)


@dataclasses.dataclass(frozen=True, slots=True)
class CheckResult:
    """One gate check: ``pass``, ``fail``, ``warn`` (passes, but a reader must look) or
    ``skip``, with the sentence explaining it. ``incomplete`` marks a failure that is missing
    evidence rather than a regression (exit 3, not 1)."""

    name: str
    status: str
    message: str
    improved: bool = False
    incomplete: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


VERDICT_CODES = {"regressed": ExitCode.REGRESSION, "incomplete": ExitCode.INFRASTRUCTURE_ERROR,
                 "improved": ExitCode.OK, "pass": ExitCode.OK}


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's decision. ``status`` is "regressed", "incomplete" (evidence is missing:
    exit 3), "improved" or "pass"."""

    status: str
    exit_code: ExitCode
    reasons: tuple[str, ...]
    checks: tuple[CheckResult, ...]
    baseline: str
    candidate: str

    @property
    def passed(self) -> bool:
        return self.exit_code == ExitCode.OK

    def raise_for_status(self) -> None:
        """Raise :class:`GateFailed` carrying the reasons when the gate failed."""
        if not self.passed:
            failing = [c.message for c in self.checks if c.status == "fail"]
            raise GateFailed(f"{self.candidate} regressed against {self.baseline}: "
                             + "; ".join(failing))

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": int(self.exit_code),
            "reasons": list(self.reasons),
            "checks": [c.to_dict() for c in self.checks],
            "baseline": self.baseline,
            "candidate": self.candidate,
        }


def _num(x: float, fmt: str, scale: float, sign: bool) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x * scale:{'+' if sign else ''}.{fmt}}"


def _figures(m: MetricResult, level: float) -> tuple[str, str]:
    """("71.2% -> 58.0%", "-13.2 pts, 95% CI -18.0..-8.1") on the metric's scale."""
    if m.name == "pass_rate":
        values, fmt, scale, unit = f"{m.baseline:.1%} -> {m.candidate:.1%}", "1f", 100, " pts"
    else:
        values, fmt, scale, unit = f"{m.baseline:.3f} -> {m.candidate:.3f}", "3f", 1, ""
    clause = (f"{_num(m.delta, fmt, scale, True)}{unit}, {level:.0%} CI "
              f"{_num(m.ci_low, fmt, scale, True)}..{_num(m.ci_high, fmt, scale, True)}")
    return values, clause


def _mean_check(m: MetricResult, label: str, margin: float, where: str, level: float,
                comparison: Comparison) -> CheckResult:
    values, clause = _figures(m, level)
    reading = words.metric_reading(m, alpha=comparison.alpha)
    margin_text = f"{margin * 100:.1f}-pt" if m.name == "pass_rate" else f"{margin:.3f}"
    head = f"{label} {values} ({clause}){where}: {reading}"
    if m.significant and m.delta < 0:
        if -m.delta > margin:
            return CheckResult(m.name, "fail", f"{head}, beyond the {margin_text} margin")
        return CheckResult(m.name, "pass", f"{head}, within the {margin_text} margin")
    if m.significant and m.delta > 0:
        return CheckResult(m.name, "pass", head, improved=True)
    power = words.power_sentence(m, comparison.n_pairs, comparison.n_clusters,
                                 comparison.sampling_unit)
    return CheckResult(m.name, "pass", f"{head}; {power}" if power else head)


def _cache_note(comparison: Comparison) -> str:
    """Why latency cannot be compared ("" when it can): cached model calls take 0 s, and the
    built-in simulator's latency is the CPU load of the machine that ran it."""
    sim = [name for name, info in (("baseline", comparison.baseline),
                                   ("candidate", comparison.candidate)) if info.simulated]
    if sim:
        return (f"the {' and the '.join(sim)} {'was' if len(sim) == 1 else 'were'} answered "
                "by the built-in simulator, whose latency measures this machine's load, not a "
                "model")
    sides = [(name, info.cache_hits) for name, info in
             (("baseline", comparison.baseline), ("candidate", comparison.candidate))
             if info.cache_hits > 0]
    if not sides:
        return ""
    shown = " and ".join(f"the {name} ({hits} cache hit{'s' if hits != 1 else ''})"
                         for name, hits in sides)
    return (f"model calls of {shown} were served from the record/replay cache, which takes "
            "no time; compare latency between runs made with --passline-cache off")


def _budget_check(m: MetricResult, label: str, limit: float, money: bool, level: float,
                  not_comparable: str = "") -> CheckResult:
    if money:
        values = f"${m.baseline:.5f} -> ${m.candidate:.5f}"
    else:
        values = f"{m.baseline:.2f}s -> {m.candidate:.2f}s"
    if not_comparable:
        return CheckResult(m.name, "skip", f"{label} {values}: not compared: {not_comparable}")
    if not math.isfinite(m.delta):
        return CheckResult(m.name, "skip", f"{label} {values}: not compared: the baseline "
                                           "value is zero")
    ci = (f"{m.ci_low:+.1%}..{m.ci_high:+.1%}" if math.isfinite(m.ci_low) else "n/a")
    text = (f"{label} {values} ({m.delta:+.1%}, {level:.0%} CI {ci}): "
            f"{words.metric_reading(m, min_units=MIN_RELATIVE_UNITS)}")
    if not math.isfinite(limit):
        return CheckResult(m.name, "skip", f"{text}; no budget set")
    budget = f"the +{limit:.0%} budget"
    if m.significant and m.delta > limit:
        return CheckResult(m.name, "fail", f"{text}, over {budget}")
    if m.delta > limit:
        return CheckResult(m.name, "pass", f"{text}; over {budget} but not shown to be")
    return CheckResult(m.name, "pass", f"{text}; within budget (+{limit:.0%})")


def _key_text(eval_id: str, case_id: str) -> str:
    return f"{case_id} ({eval_id})"


def _must_pass_line(m: MustPassCase) -> str:
    first = (f"{words.outcome_counts(m.baseline_outcomes)} -> "
             f"{words.outcome_counts(m.candidate_outcomes)} trials passed")
    if not (m.new_candidate or m.new_baseline):
        return f"{_key_text(m.eval, m.case_id)}: {first}"
    base_all = m.baseline_outcomes + m.new_baseline
    again = (f"then {words.outcome_counts(m.new_candidate)} new candidate trials vs "
             f"{words.outcome_counts(base_all)} baseline trials, exact one-sided "
             f"{words.p_text(m.p_value)} (level {m.level:.2g})")
    return f"{_key_text(m.eval, m.case_id)}: {first}; {again}"


def _listing(items: list[str], limit: int = 10) -> str:
    more = f"; and {len(items) - limit} more" if len(items) > limit else ""
    return "; ".join(items[:limit]) + more


def _must_pass_checks(comparison: Comparison, policy: GatePolicy) -> list[CheckResult]:
    tag = policy.must_pass_tag
    cases = list(comparison.must_pass)
    confirmed = [m for m in cases if m.status == "confirmed"]
    suspects = [m for m in cases if m.status in ("suspect", "untested", "not-confirmed")]
    pre = [m for m in cases if m.status == "pre-existing"]
    out: list[CheckResult] = []
    if comparison.confirmation is None and suspects:
        # no new trials: an exact test of the first trials, Bonferroni over every must-pass case
        level = MUST_PASS_SHARE * comparison.alpha / max(len(cases), 1)
        still: list[MustPassCase] = []
        for m in suspects:
            p = st.pass_rate_drop_pvalue(
                sum(o == "pass" for o in m.baseline_outcomes), len(m.baseline_outcomes),
                sum(o == "pass" for o in m.candidate_outcomes), len(m.candidate_outcomes))
            m = dataclasses.replace(m, p_value=p, level=level)
            (confirmed if p <= level else still).append(
                dataclasses.replace(m, status="confirmed" if p <= level else "untested"))
        suspects = still
    if pre:
        noun = "case fails" if len(pre) == 1 else "cases fail"
        out.append(CheckResult("must_pass_pre_existing", "warn",
                               f"{len(pre)} {tag} {noun} in the baseline too (pre-existing, "
                               f"flaky or broken; not a new regression): "
                               + _listing([_must_pass_line(m) for m in pre])))
    if confirmed:
        noun = "case newly fails" if len(confirmed) == 1 else "cases newly fail"
        out.append(CheckResult("must_pass", "fail",
                               f"{len(confirmed)} {tag} {noun}, confirmed by an exact test: "
                               + _listing([_must_pass_line(m) for m in confirmed])))
    if suspects:
        if comparison.confirmation is None:
            why = ("not confirmed: no confirmation runs (they run in pytest sessions, or with "
                   "`passline gate --confirm`); the first trials alone cannot show it "
                   f"(exact one-sided {words.p_text(min(m.p_value or 1.0 for m in suspects))}"
                   f" at best, level {suspects[0].level:.2g})")
        else:
            why = "not confirmed by the new trials (flaky, not shown to be worse)"
        noun = "case" if len(suspects) == 1 else "cases"
        out.append(CheckResult("must_pass_unconfirmed", "warn",
                               f"{len(suspects)} {tag} {noun} failed a majority of the "
                               f"candidate's trials but {why}: "
                               + _listing([_must_pass_line(m) for m in suspects])))
    if not confirmed:
        n = len(cases)
        out.append(CheckResult("must_pass", "pass",
                               f"no {tag} case is shown to newly fail ({n} {tag} "
                               f"case{'s' if n != 1 else ''} paired)"))
    return out


def gate(comparison: Comparison, policy: GatePolicy | None = None) -> Verdict:
    """Decide whether the candidate may replace the baseline.

    >>> verdict = gate(compare(baseline_dir, candidate_dir), load_policy())  # doctest: +SKIP
    >>> verdict.status, int(verdict.exit_code)  # doctest: +SKIP
    ('pass', 0)
    """
    policy = policy or GatePolicy()
    if comparison.must_pass_tag != policy.must_pass_tag:
        raise ConfigError(
            f"the comparison marked must-pass cases by the tag {comparison.must_pass_tag!r}, "
            f"the gate policy says {policy.must_pass_tag!r}; pass "
            f"must_pass_tag={policy.must_pass_tag!r} to compare()")
    level = 1 - comparison.alpha  # the confidence level the comparison's intervals have
    where = f" on {', '.join(comparison.datasets)}" if any(comparison.datasets) else ""
    checks: list[CheckResult] = []
    margins = {"pass_rate": ("pass rate", policy.max_drop),
               "score": ("mean score", policy.score_max_drop)}
    for name in policy.metrics:
        label, margin = margins[name]
        checks.append(_mean_check(comparison.metric(name), label, margin, where, level,
                                  comparison))
    checks += _must_pass_checks(comparison, policy)
    checks.append(_budget_check(comparison.metric("cost"), "cost per case",
                                policy.max_cost_increase, money=True, level=level))
    checks.append(_budget_check(comparison.metric("latency_p95"), "p95 latency",
                                policy.max_p95_latency_increase, money=False, level=level,
                                not_comparable=_cache_note(comparison)))
    checks += _missing_checks(comparison, policy)

    failed = [c for c in checks if c.status == "fail"]
    if any(not c.incomplete for c in failed):
        status = "regressed"
    elif failed:
        status = "incomplete"
    elif any(c.improved for c in checks):
        status = "improved"
    else:
        status = "pass"
    order = {"fail": 0, "warn": 1}
    ordered = sorted(checks, key=lambda c: order.get(c.status, 2))  # stable: keeps gate order
    reasons = tuple(c.message for c in ordered)
    return Verdict(status=status, exit_code=VERDICT_CODES[status], reasons=reasons,
                   checks=tuple(ordered),
                   baseline=comparison.baseline.label, candidate=comparison.candidate.label)


def _missing_checks(comparison: Comparison, policy: GatePolicy) -> list[CheckResult]:
    out: list[CheckResult] = []
    missing = comparison.only_in_baseline
    if comparison.must_pass_missing:
        keys = comparison.must_pass_missing
        out.append(CheckResult(
            "must_pass_missing", "fail",
            f"{len(keys)} {policy.must_pass_tag} case(s) of the baseline were not run by the "
            f"candidate, so they cannot be vouched for: "
            + _listing([_key_text(e, c) for e, c in keys]), incomplete=True))
    if missing:
        listed = _listing([f"{e}::{c}" for e, c in missing], 20)
        text = (f"{len(missing)} baseline case(s) were not run by the candidate and are left "
                f"out of the statistics: {listed}")
        if policy.fail_on_missing_cases:
            out.append(CheckResult("missing_cases", "fail", text + " (fail_on_missing_cases)",
                                   incomplete=True))
        else:
            out.append(CheckResult("missing_cases", "warn", text))
    return out
