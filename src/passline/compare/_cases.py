"""Per-case summaries: the trials of one (eval, case) folded into one paired unit.

Both a run directory and a baseline file reduce to a mapping ``(eval, case_id) ->
CaseSummary``; everything in compare works from these, so comparing against a saved
baseline gives exactly the figures that comparing against the original run gives.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from passline.errors import RecordError

log = logging.getLogger(__name__)

CaseKey = tuple[str, str]  # (eval, case_id)
STATUSES = ("pass", "fail", "error")


@dataclasses.dataclass(frozen=True, slots=True)
class CaseSummary:
    """One (eval, case) of one run: per-trial outcomes and per-case means over trials."""

    eval: str
    case_id: str
    dataset: str
    dataset_version: str
    tags: tuple[str, ...]
    cluster: str | None
    outcomes: tuple[str, ...]  # "pass" | "fail" | "error", in trial order
    score: float  # mean over trials of the row's score (0.0 for an errored trial)
    cost_usd: float
    latency_s: float
    tokens: float

    @property
    def key(self) -> CaseKey:
        return (self.eval, self.case_id)

    @property
    def n_trials(self) -> int:
        return len(self.outcomes)

    @property
    def pass_rate(self) -> float:
        """Fraction of trials that passed (errors count as not passed)."""
        # count(), not sum(<generator>): read a million times for a 100,000-case report
        return self.outcomes.count("pass") / len(self.outcomes)

    @property
    def passed(self) -> bool:
        """Majority verdict: strictly more than half of the trials passed (a tie fails)."""
        return self.pass_rate > 0.5

    @property
    def flaky(self) -> bool:
        """Some trials passed and some did not."""
        return 0.0 < self.pass_rate < 1.0

    @property
    def n_errors(self) -> int:
        return self.outcomes.count("error")

    @property
    def dataset_label(self) -> str:
        return f"{self.dataset}@{self.dataset_version}" if self.dataset_version else self.dataset

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["tags"] = list(self.tags)
        data["outcomes"] = list(self.outcomes)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseSummary:
        try:
            outcomes = tuple(str(o) for o in data["outcomes"])
            summary = cls(
                eval=str(data["eval"]),
                case_id=str(data["case_id"]),
                dataset=str(data.get("dataset") or ""),
                dataset_version=str(data.get("dataset_version") or ""),
                tags=tuple(data.get("tags") or ()),
                cluster=None if data.get("cluster") is None else str(data["cluster"]),
                outcomes=outcomes,
                score=float(data["score"]),
                cost_usd=float(data.get("cost_usd") or 0.0),
                latency_s=float(data.get("latency_s") or 0.0),
                tokens=float(data.get("tokens") or 0.0),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordError(f"case summary {dict(data)!r:.120} is malformed: {exc}") from exc
        if not outcomes or any(o not in STATUSES for o in outcomes):
            raise RecordError(
                f"case {summary.eval}::{summary.case_id}: outcomes {list(outcomes)} must be a "
                f"non-empty list of {', '.join(STATUSES)}"
            )
        return summary


def _row_score(row: Mapping[str, Any]) -> float:
    if row.get("status") == "error":
        return 0.0
    if row.get("score") is not None:
        return float(row["score"])
    values = [float(s["value"]) for s in row.get("scores") or ()]
    return sum(values) / len(values) if values else 0.0


def summarize_rows(
    rows: Iterable[Mapping[str, Any]], *, cluster_key: str | None = "cluster", where: str = "rows"
) -> dict[CaseKey, CaseSummary]:
    """Fold result rows (one per eval x case x trial) into one CaseSummary per (eval, case).

    A repeated (eval, case, trial) keeps the last row (as after re-running a shard) and logs it.
    """
    # per trial, only what compare needs (so traces and answers can be freed while
    # streaming): (status, score, cost, latency, tokens, dataset, version, tags, cluster)
    trials: dict[CaseKey, dict[int, tuple[Any, ...]]] = {}
    for row in rows:
        status = row.get("status")
        if status not in STATUSES:
            raise RecordError(
                f"{where}: case {row.get('case_id')!r} has status {status!r}; "
                f"expected one of {', '.join(STATUSES)}"
            )
        key = (str(row["eval"]), str(row["case_id"]))
        per_trial = trials.get(key)
        if per_trial is None:
            per_trial = trials[key] = {}
        trial = int(row.get("trial") or 0)
        if trial in per_trial:
            log.warning("%s: duplicate row for %s::%s trial %d; keeping the last",
                        where, key[0], key[1], trial)
        per_trial[trial] = (
            status, _row_score(row), float(row.get("cost_usd") or 0.0),
            float(row.get("latency_s") or 0.0), float(row.get("tokens") or 0.0),
            row.get("dataset") or "", row.get("dataset_version") or "",
            tuple(row.get("tags") or ()), None if cluster_key is None else row.get(cluster_key),
        )
    out: dict[CaseKey, CaseSummary] = {}
    for key, per_trial in trials.items():
        ordered = (list(per_trial.values()) if len(per_trial) == 1
                   else [per_trial[t] for t in sorted(per_trial)])
        n = len(ordered)
        _, _, _, _, _, dataset, version, tags, cluster = ordered[0]
        out[key] = CaseSummary(
            eval=key[0],
            case_id=key[1],
            dataset=str(dataset),
            dataset_version=str(version),
            tags=tags,
            cluster=None if cluster is None else str(cluster),
            outcomes=tuple([r[0] for r in ordered]),
            score=sum([r[1] for r in ordered]) / n,
            cost_usd=sum([r[2] for r in ordered]) / n,
            latency_s=sum([r[3] for r in ordered]) / n,
            tokens=sum([r[4] for r in ordered]) / n,
        )
    return out
