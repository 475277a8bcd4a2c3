"""gate(comparison, policy): turn a Comparison into a verdict and an exit code.

A drop that is not statistically significant never fails the gate; a must-pass case
newly failing always does; cost and latency budgets fail on relative increases beyond
their limits that are significant (interval excludes zero, paired sign-flip test agrees, at
least ``MIN_RELATIVE_UNITS`` paired units). Latency is skipped when either run was served
from the record/replay cache.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from passline.compare._compare import MIN_RELATIVE_UNITS
from passline.compare._results import Comparison, MetricResult
from passline.errors import ConfigError, ExitCode, GateFailed
from passline.settings import find_pyproject, load_tool_table

GATED_METRICS = ("pass_rate", "score")
_TEST_NAMES = {
    "mcnemar-exact": "McNemar",
    "sign-flip": "sign-flip",
    "cluster-sign-flip": "cluster sign-flip",
}


@dataclasses.dataclass(frozen=True)
class GatePolicy:
    """Gate thresholds; ``[tool.passline.gate]`` in pyproject.toml overrides the defaults.

    ``max_drop`` / ``score_max_drop`` are absolute margins: a significant drop smaller than
    the margin is reported but tolerated. Budgets are relative per-case increases; ``inf``
    disables one.
    """

    alpha: float = 0.05
    max_drop: float = 0.02
    score_max_drop: float = 0.02
    must_pass_tag: str = "must-pass"
    max_cost_increase: float = 0.20
    max_p95_latency_increase: float = 0.25
    fail_on_missing_cases: bool = False
    metrics: tuple[str, ...] = GATED_METRICS

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
    """One gate check: ``pass``, ``fail`` or ``skip``, with the sentence explaining it."""

    name: str
    status: str
    message: str
    improved: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's decision. ``status`` is "regressed", "improved" or "pass"."""

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


def _p(p: float | None) -> str:
    if p is None:
        return ""
    return "p<0.0001" if p < 0.0001 else f"p={p:.2g}"


def _stat_clause(m: MetricResult, fmt: str, scale: float, unit: str, level: float) -> str:
    def num(x: float, sign: bool) -> str:
        if not math.isfinite(x):
            return "n/a"
        return f"{x * scale:{'+' if sign else ''}.{fmt}}"

    test = _TEST_NAMES.get(m.test, m.test)
    return (f"{num(m.delta, True)}{unit}, {level:.0%} CI "
            f"{num(m.ci_low, True)}..{num(m.ci_high, True)}, {test} {_p(m.p_value)}")


def _mean_check(m: MetricResult, label: str, margin: float, alpha: float, where: str,
                as_percent: bool, level: float) -> CheckResult:
    if as_percent:
        values = f"{m.baseline:.1%} -> {m.candidate:.1%}"
        clause = _stat_clause(m, "1f", 100, " pts", level)
        margin_text = f"{margin * 100:.1f}-pt"
    else:
        values = f"{m.baseline:.3f} -> {m.candidate:.3f}"
        clause = _stat_clause(m, "3f", 1, "", level)
        margin_text = f"{margin:.3f}"
    significant = m.p_value is not None and m.p_value < alpha
    if significant and m.delta < 0:
        if -m.delta > margin:
            return CheckResult(m.name, "fail", f"{label} dropped {values} ({clause}){where}")
        return CheckResult(m.name, "pass", f"{label} dropped {values} ({clause}){where}, "
                                           f"within the {margin_text} margin")
    if significant and m.delta > 0:
        return CheckResult(m.name, "pass", f"{label} rose {values} ({clause}){where}",
                           improved=True)
    return CheckResult(m.name, "pass",
                       f"{label} {values} ({clause}){where}: no significant change")


def _cache_note(comparison: Comparison) -> str:
    """Why latency cannot be compared ("" when it can): cached model calls take 0 s."""
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
                  n_units: int, not_comparable: str = "") -> CheckResult:
    if money:
        values = f"${m.baseline:.5f} -> ${m.candidate:.5f}"
    else:
        values = f"{m.baseline:.2f}s -> {m.candidate:.2f}s"
    if not_comparable:
        return CheckResult(m.name, "skip", f"{label} {values}: not compared: {not_comparable}")
    if not math.isfinite(m.delta):
        return CheckResult(m.name, "skip", f"{label} {values}: no relative change defined "
                                           "(baseline is zero)")
    ci = (f"{m.ci_low:+.1%}..{m.ci_high:+.1%}" if math.isfinite(m.ci_low) else "n/a")
    text = f"{label} {'rose' if m.delta > 0 else 'fell'} {values} ({m.delta:+.1%}, " \
           f"{level:.0%} CI {ci})"
    if not math.isfinite(limit):
        return CheckResult(m.name, "skip", f"{text}; no budget set")
    if m.delta > limit and m.significant and m.ci_low > 0:
        return CheckResult(m.name, "fail", f"{text}, over the +{limit:.0%} budget")
    if m.delta > limit:
        why = (f"too few paired units ({n_units} < {MIN_RELATIVE_UNITS}) to call it significant"
               if n_units < MIN_RELATIVE_UNITS else "the increase is not significant")
        return CheckResult(m.name, "pass", f"{text}, over the +{limit:.0%} budget but {why}")
    return CheckResult(m.name, "pass", f"{text}, within the +{limit:.0%} budget")


def _key_text(eval_id: str, case_id: str) -> str:
    return f"{case_id} ({eval_id})"


def gate(comparison: Comparison, policy: GatePolicy | None = None) -> Verdict:
    """Decide whether the candidate may replace the baseline.

    >>> verdict = gate(compare(baseline_dir, candidate_dir), load_policy())  # doctest: +SKIP
    >>> verdict.status, int(verdict.exit_code)  # doctest: +SKIP
    ('pass', 0)
    """
    policy = policy or GatePolicy()
    level = 1 - comparison.alpha  # the confidence level the comparison's intervals have
    where = f" on {', '.join(comparison.datasets)}" if any(comparison.datasets) else ""
    checks: list[CheckResult] = []
    margins = {"pass_rate": ("pass rate", policy.max_drop, True),
               "score": ("mean score", policy.score_max_drop, False)}
    for name in policy.metrics:
        label, margin, pct = margins[name]
        checks.append(_mean_check(comparison.metric(name), label, margin, policy.alpha, where,
                                  pct, level))

    newly_failing = [c for c in comparison.regressions if policy.must_pass_tag in c.tags]
    if newly_failing:
        shown = [
            f"{_key_text(c.eval, c.case_id)}: "
            f"{sum(o == 'pass' for o in c.baseline_outcomes)}/{len(c.baseline_outcomes)} -> "
            f"{sum(o == 'pass' for o in c.candidate_outcomes)}/{len(c.candidate_outcomes)} "
            "trials passed"
            for c in newly_failing[:10]
        ]
        more = f"; and {len(newly_failing) - 10} more" if len(newly_failing) > 10 else ""
        noun = "case newly fails" if len(newly_failing) == 1 else "cases newly fail"
        text = f"{len(newly_failing)} {policy.must_pass_tag} {noun}: " + "; ".join(shown)
        checks.append(CheckResult("must_pass", "fail", text + more))
    else:
        checks.append(CheckResult("must_pass", "pass",
                                  f"no {policy.must_pass_tag} case newly fails"))

    checks.append(_budget_check(comparison.metric("cost"), "cost per case",
                                policy.max_cost_increase, money=True, level=level,
                                n_units=comparison.n_clusters))
    checks.append(_budget_check(comparison.metric("latency_p95"), "p95 latency",
                                policy.max_p95_latency_increase, money=False,
                                level=level, n_units=comparison.n_clusters,
                                not_comparable=_cache_note(comparison)))

    missing = comparison.only_in_baseline
    if missing:
        examples = ", ".join(f"{e}::{c}" for e, c in missing[:5])
        text = (f"{len(missing)} baseline case(s) missing from the candidate (e.g. {examples})")
        checks.append(CheckResult("missing_cases", "fail" if policy.fail_on_missing_cases
                                  else "pass", text))

    failed = [c for c in checks if c.status == "fail"]
    if failed:
        status, code = "regressed", ExitCode.REGRESSION
    elif any(c.improved for c in checks):
        status, code = "improved", ExitCode.OK
    else:
        status, code = "pass", ExitCode.OK
    ordered = failed + [c for c in checks if c.status != "fail"]
    reasons = tuple(c.message for c in ordered)
    return Verdict(status=status, exit_code=code, reasons=reasons, checks=tuple(checks),
                   baseline=comparison.baseline.label, candidate=comparison.candidate.label)
