"""Result records of a comparison: per metric, per case, per slice — frozen and JSON-ready."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from passline.compare._cases import CaseKey


def _clean(value: Any) -> Any:
    """JSON has no NaN: undefined figures become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _as_dict(obj: Any) -> dict[str, Any]:
    return _clean(dataclasses.asdict(obj))


@dataclasses.dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric compared between baseline and candidate.

    ``delta`` and the interval ``ci_low..ci_high`` are candidate minus baseline on the
    metric's scale when ``delta_kind`` is "absolute" (pass rate, score) and the relative
    change candidate / baseline - 1 when it is "relative" (cost, p95 latency). Undefined
    figures (too few cases) are NaN here and None in ``to_dict``.
    """

    name: str
    baseline: float
    candidate: float
    delta: float
    delta_kind: str  # "absolute" | "relative"
    ci_low: float
    ci_high: float
    p_value: float | None
    test: str
    n_pairs: int
    significant: bool
    direction: str  # "improved" | "regressed" | "unchanged"
    higher_is_better: bool
    mde: float  # minimum detectable |delta| at 80% power, same scale as delta
    design_effect: float | None
    level: float = 0.05  # the two-sided level ``significant`` was judged at
    p_raw: float | None = None  # the metric's own p before pass rate and score were adjusted
    n_units: int = 0  # sampling units (cases, or clusters) behind the pairs
    not_gated: str = ""  # why no significance was assessed: "few-units", "cached", "undefined"
    stage2: StageTwo | None = None  # the confirmation look, when one was taken
    p_drop: float | None = None  # one-sided p of a drop (pass rate and score, adjusted jointly)

    def to_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class StageTwo:
    """The second look of a two-stage test (docs/statistics.md, confirmation runs): new
    trials of the discordant cases, combined with the first look by Bauer-Koehne."""

    p1: float  # one-sided first-look p (drop)
    p2: float  # one-sided second-look p on the new trials only
    critical: float  # reject when p1 * p2 <= critical
    n_cases: int  # cases re-run
    trials: int  # new trials per case and side
    delta: float  # the metric's change on the new trials
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class MustPassCase:
    """A case carrying the must-pass tag, paired in both runs: its first trials and, after
    confirmation, the new trials and the exact test that decided it.

    ``status``: "ok" (the candidate passes a majority of its trials), "suspect" (it fails a
    majority and the baseline passes a majority: a regression if confirmed), "pre-existing"
    (both fail a majority), then after the gate: "confirmed", "not-confirmed", "untested"
    (no confirmation trials: no re-run possible, or the budget ran out).
    """

    eval: str
    case_id: str
    baseline_outcomes: tuple[str, ...]
    candidate_outcomes: tuple[str, ...]
    status: str
    new_baseline: tuple[str, ...] = ()  # confirmation trials (fresh samples)
    new_candidate: tuple[str, ...] = ()
    p_value: float | None = None  # one-sided exact p of the last look
    level: float | None = None  # the level that look was judged at
    looks: int = 0

    @property
    def key(self) -> CaseKey:
        return (self.eval, self.case_id)

    def to_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class CaseChange:
    """A case whose majority verdict flipped between baseline and candidate."""

    eval: str
    case_id: str
    dataset: str
    kind: str  # "regression" | "improvement"
    must_pass: bool
    tags: tuple[str, ...]
    cluster: str | None
    baseline_outcomes: tuple[str, ...]
    candidate_outcomes: tuple[str, ...]
    baseline_pass_rate: float
    candidate_pass_rate: float
    baseline_score: float
    candidate_score: float

    @property
    def key(self) -> CaseKey:
        return (self.eval, self.case_id)

    @property
    def score_delta(self) -> float:
        return self.candidate_score - self.baseline_score

    def to_dict(self) -> dict[str, Any]:
        data = _as_dict(self)
        data["score_delta"] = self.score_delta
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class FlakyCase:
    """A case whose trials disagree (some passed, some did not) within one run."""

    eval: str
    case_id: str
    side: str  # "baseline" | "candidate"
    outcomes: tuple[str, ...]
    pass_rate: float

    def to_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class SliceResult:
    """Pass rate compared on the cases carrying one tag, with a multiplicity-adjusted p."""

    slice: str
    n_pairs: int
    baseline: float
    candidate: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    test: str
    significant: bool  # judged on p_adjusted
    direction: str

    def to_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class RunInfo:
    """Which run (or baseline) one side of the comparison came from."""

    label: str  # run id, or baseline name
    kind: str  # "run" | "baseline" | "rows"
    source: str | None  # path read from, if any
    variant: dict[str, Any]
    datasets: dict[str, Any]
    trials: int | None
    n_cases: int
    cache_hits: int = 0  # model calls served from the record/replay cache (latency 0)
    simulated: bool = False  # served by the built-in simulator: latency is this machine's load

    def to_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Everything ``compare`` found; read by the gate, the report and the terminal summary."""

    baseline: RunInfo
    candidate: RunInfo
    alpha: float
    n_boot: int
    seed: int
    correction: str
    cluster_key: str | None
    n_pairs: int
    n_clusters: int
    datasets: tuple[str, ...]
    metrics: tuple[MetricResult, ...]
    changes: tuple[CaseChange, ...]
    flaky: tuple[FlakyCase, ...]
    slices: tuple[SliceResult, ...]
    only_in_baseline: tuple[CaseKey, ...]
    only_in_candidate: tuple[CaseKey, ...]
    warnings: tuple[str, ...]
    sampling_unit: str = "case"  # "case", "cluster", or "mixed" (per dataset)
    must_pass_tag: str = "must-pass"
    must_pass: tuple[MustPassCase, ...] = ()  # every paired must-pass case
    must_pass_missing: tuple[CaseKey, ...] = ()  # must-pass cases of the baseline not run
    confirmation: Confirmation | None = None
    # (eval, case_id, sampling unit, |change|) of every pair whose pass rate or score
    # differs, most different first: where confirmation trials are spent
    discordant: tuple[tuple[str, str, str, float], ...] = dataclasses.field(
        default=(), repr=False)

    def __repr__(self) -> str:
        shown = ", ".join(f"{m.name}={m.direction}" for m in self.metrics)
        return (
            f"Comparison({self.baseline.label!r} -> {self.candidate.label!r}, "
            f"n_pairs={self.n_pairs}, {shown}, regressions={len(self.regressions)})"
        )

    def metric(self, name: str) -> MetricResult:
        """One metric by name: ``pass_rate``, ``score``, ``cost`` or ``latency_p95``."""
        for m in self.metrics:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.metrics)
        raise KeyError(f"no metric {name!r} in this comparison; known: {known}")

    @property
    def regressions(self) -> tuple[CaseChange, ...]:
        return tuple(c for c in self.changes if c.kind == "regression")

    @property
    def improvements(self) -> tuple[CaseChange, ...]:
        return tuple(c for c in self.changes if c.kind == "improvement")

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.to_dict(),
            "candidate": self.candidate.to_dict(),
            "alpha": self.alpha,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "correction": self.correction,
            "cluster_key": self.cluster_key,
            "n_pairs": self.n_pairs,
            "n_clusters": self.n_clusters,
            "datasets": list(self.datasets),
            "metrics": [m.to_dict() for m in self.metrics],
            "changes": [c.to_dict() for c in self.changes],
            "flaky": [f.to_dict() for f in self.flaky],
            "slices": [s.to_dict() for s in self.slices],
            "only_in_baseline": [list(k) for k in self.only_in_baseline],
            "only_in_candidate": [list(k) for k in self.only_in_candidate],
            "warnings": list(self.warnings),
            "sampling_unit": self.sampling_unit,
            "must_pass_tag": self.must_pass_tag,
            "must_pass": [c.to_dict() for c in self.must_pass],
            "must_pass_missing": [list(k) for k in self.must_pass_missing],
            "confirmation": None if self.confirmation is None else self.confirmation.to_dict(),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Confirmation:
    """What the confirmation runs did: new trials for must-pass suspects and, for a
    borderline pass-rate or score drop, for the discordant cases (docs/statistics.md)."""

    runs: int  # agent runs spent
    budget: int  # the most it could spend ([tool.passline.gate] confirm_budget)
    baseline_rerun: bool  # whether the baseline's variant could be re-run
    note: str = ""  # what could not be done, and why

    def to_dict(self) -> dict[str, Any]:
        return _as_dict(self)
