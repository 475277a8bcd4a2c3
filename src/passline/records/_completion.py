"""Whether a run record holds all the evidence it set out to collect.

The writer states it in ``manifest["completion"]`` (``{"state", "planned_items",
"finished_items", "reason"}``); records written before that field existed are judged from
what they do hold: no ``finished_at`` means the process died (crashed), a shard is a
deliberate subset (partial), and fewer result rows than the datasets' cases times the trials
means the session stopped early or ran a selection. Every reader that gives a verdict (the
gate, the report, ``--passline-baseline``) asks :func:`completion_of` first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

STATES = ("complete", "interrupted", "crashed", "partial")


@dataclasses.dataclass(frozen=True, slots=True)
class Completion:
    """How complete a run record is. ``inferred`` is True when the manifest did not say."""

    state: str  # "complete" | "interrupted" | "crashed" | "partial"
    planned_items: int | None
    finished_items: int
    reason: str = ""
    inferred: bool = False

    @property
    def complete(self) -> bool:
        return self.state == "complete"

    def describe(self) -> str:
        """One clause for an error message: "crashed: no end was written; 74 of 170 planned
        items finished"."""
        counts = (f"{self.finished_items} of {self.planned_items} planned items finished"
                  if self.planned_items else f"{self.finished_items} items finished")
        why = f"{self.reason}; " if self.reason else ""
        return f"{self.state}: {why}{counts}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def planned_from_rows(manifest: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]
                      ) -> tuple[int | None, int]:
    """(planned items, finished items) inferred from the rows of a record without a
    ``completion`` field: per eval, the number of cases of its dataset (from the manifest)
    times the trials that eval ran. None when a dataset's size is not recorded."""
    datasets = manifest.get("datasets") or {}
    sizes: dict[str, int] = {}
    for key, info in datasets.items() if isinstance(datasets, Mapping) else ():
        n = _int(info.get("n_cases")) if isinstance(info, Mapping) else None
        if n is not None:
            sizes[str(key)] = n
    per_eval: dict[str, tuple[str, int]] = {}
    seen: set[tuple[str, str, int]] = set()
    for row in rows:
        ev = str(row.get("eval"))
        trial = int(row.get("trial") or 0)
        seen.add((ev, str(row.get("case_id")), trial))
        ref = f"{row.get('dataset')}@{row.get('dataset_version')}"
        _, trials = per_eval.get(ev, (ref, 0))
        per_eval[ev] = (ref, max(trials, trial + 1))
    planned = 0
    for ref, trials in per_eval.values():
        if ref not in sizes:
            return None, len(seen)
        planned += sizes[ref] * trials
    return (planned if per_eval else None), len(seen)


def completion_of(manifest: Mapping[str, Any], *,
                  rows: Iterable[Mapping[str, Any]] | None = None,
                  finished_items: int | None = None,
                  planned_items: int | None = None) -> Completion:
    """The completion state of a run record.

    ``manifest["completion"]`` wins when present. Otherwise the state is inferred: no
    ``finished_at`` -> crashed; a shard -> partial; fewer finished items than planned (from
    ``rows`` and the manifest's dataset sizes, or the counts given) -> partial.

    >>> completion_of({"finished_at": None}, finished_items=74, planned_items=170).state
    'crashed'
    """
    stated = manifest.get("completion")
    if isinstance(stated, Mapping) and stated.get("state") in STATES:
        return Completion(
            state=str(stated["state"]),
            planned_items=_int(stated.get("planned_items")),
            finished_items=_int(stated.get("finished_items")) or 0,
            reason=str(stated.get("reason") or ""),
        )
    if rows is not None:
        planned_rows, finished_rows = planned_from_rows(manifest, rows)
        planned_items = planned_items if planned_items is not None else planned_rows
        finished_items = finished_rows if finished_items is None else finished_items
    if finished_items is None:
        totals = manifest.get("totals")
        finished_items = _int(totals.get("n")) if isinstance(totals, Mapping) else None
    finished = finished_items or 0
    if not manifest.get("finished_at"):
        return Completion("crashed", planned_items, finished,
                          "no end was written (the process died or is still running)", True)
    if manifest.get("shard"):
        shard = manifest["shard"]
        text = (f"shard {shard[0]} of {shard[1]}" if isinstance(shard, list | tuple)
                and len(shard) == 2 else "a shard")
        return Completion("partial", planned_items, finished,
                          f"{text}; join the shards with `passline merge`", True)
    if planned_items is not None and finished < planned_items:
        return Completion("partial", planned_items, finished,
                          "fewer results than its datasets' cases x trials (stopped early, "
                          "or a -k/--lf selection)", True)
    return Completion("complete", planned_items, finished, "", True)
