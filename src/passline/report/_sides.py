"""Read the two sides of a report: a run directory (rows with answers and traces) or a
baseline file (per-case summaries only).

A run is streamed once: each row is folded into compare's per-case summary and into the
report's compact per-trial payload, then dropped, so a 10,000-case run with traces never
sits in memory as parsed rows. The payloads are kept as the JSON bytes the page carries
(a 100,000-case run: about 85 MB, where the same payloads as Python objects took 750 MB);
the few readers that look inside one (why a case fails, the prompts a regressed case
used) decode it again.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from passline.compare import Baseline, CaseSummary, iter_results, load_baseline, read_manifest
from passline.compare import summarize_rows as _summarize
from passline.errors import RecordError
from passline.report._format import finite

CaseKey = tuple[str, str]
NOT_RECORDED: Any = object()  # rows written before passline recorded case inputs


@dataclasses.dataclass(frozen=True)
class ReportSide:
    """One side of the report.

    ``trials`` maps (eval, case_id) to the case's compact per-trial payloads in trial order,
    as one JSON array (UTF-8 bytes; None when the side is a baseline file, which records no
    answers: :func:`trials_of` decodes them); ``shown`` to the JSON array ``[input, expected]``
    of the case as the page shows them (the input as text, None when not recorded);
    ``judged`` to each judge scorer's (mean score, trials below threshold, trials judged).
    """

    role: str  # "baseline" | "candidate"
    kind: str  # "run" | "baseline"
    label: str
    path: Path | None
    manifest: dict[str, Any]
    summaries: dict[CaseKey, CaseSummary]
    trials: dict[CaseKey, bytes] | None = None
    shown: dict[CaseKey, bytes] = dataclasses.field(default_factory=dict)
    judged: dict[str, tuple[float, int, int]] = dataclasses.field(default_factory=dict)
    baseline: Baseline | None = None
    # some rows held what only the json module reads (NaN, huge ints, lone surrogates):
    # their payloads are written with it too
    lenient: bool = False

    @property
    def compare_source(self) -> Baseline:
        """The summaries as compare reads them, so the run is not parsed a second time."""
        if self.baseline is not None:
            return self.baseline
        return Baseline(name=self.label, path=self.path, saved_at="",
                        source_run=self.label, manifest=self.manifest, cases=self.summaries)

    @property
    def variant(self) -> dict[str, Any]:
        return dict(self.manifest.get("variant") or {})


# one trial as the fold keeps it: its payload as a one-element JSON array, and its judge
# scores (name, value, passed)
_Trial = tuple[bytes, tuple[tuple[str, Any, bool], ...]]


def _fold(rows: Iterator[dict[str, Any]], trials: dict[CaseKey, dict[int, _Trial]],
          shown: dict[CaseKey, bytes], lenient: list[bool]) -> Iterator[dict[str, Any]]:
    """Pass rows through to summarize_rows, keeping the report's compact view of each.
    ``lenient`` grows by one (the reader's ``on_lenient``) just before a row only the json
    module reads comes through: that row's payload is written with it too."""
    from passline.report._payload import encode, judge_scores, shown_values, trial_payload

    flagged = 0
    for row in rows:
        fast = len(lenient) == flagged
        flagged = len(lenient)
        key = (str(row["eval"]), str(row["case_id"]))
        payload = trial_payload(row)
        # a repeated trial: keep the last
        trials.setdefault(key, {})[payload["n"]] = (b"[" + encode(payload, fast=fast) + b"]",
                                                    judge_scores(payload))
        if key not in shown:
            shown[key] = encode(shown_values(row.get("input", NOT_RECORDED),
                                             row.get("expected")), fast=fast, exact=True)
        yield row


def _ordered(by_trial: dict[CaseKey, dict[int, _Trial]]
             ) -> tuple[dict[CaseKey, bytes], dict[str, tuple[float, int, int]]]:
    """Each case's trials as one JSON array in trial order, and each judge scorer's (mean,
    trials below threshold, trials judged) over the cases and trials in that order."""
    out: dict[CaseKey, bytes] = {}
    judged: dict[str, tuple[list[float], list[int]]] = {}
    for key, per_trial in by_trial.items():
        ordered = (list(per_trial.values()) if len(per_trial) == 1
                   else [per_trial[n] for n in sorted(per_trial)])
        out[key] = (ordered[0][0] if len(ordered) == 1
                    else b"[" + b",".join(t[0][1:-1] for t in ordered) + b"]")
        for _, scores in ordered:
            for name, value, passed in scores:
                if finite(value):
                    values, below = judged.setdefault(name, ([], [0]))
                    values.append(float(value))
                    below[0] += not passed
    return out, {name: (sum(values) / len(values), below[0], len(values))
                 for name, (values, below) in judged.items()}


def trials_of(side: ReportSide, key: CaseKey) -> list[dict[str, Any]] | None:
    """The case's trial payloads on one side, decoded (None when the side kept none)."""
    if side.trials is None:
        return None
    from passline.report._payload import decode

    data = side.trials.get(key)
    return [] if data is None else decode(data)


def load_report_side(source: Any, role: str) -> ReportSide:
    """Load a run directory, a baseline file or a loaded :class:`Baseline` (a side
    already loaded is returned as it is)."""
    if isinstance(source, ReportSide):
        return source
    if isinstance(source, Baseline):
        return ReportSide(role, "baseline", source.name, source.path, dict(source.manifest),
                          dict(source.cases), baseline=source)
    if not isinstance(source, str | os.PathLike):
        raise RecordError(f"report {role}: cannot read a {type(source).__name__}; pass a run "
                          "directory (reports/runs/<run-id>/) or a baseline file")
    path = Path(source)
    if path.is_dir():
        manifest = read_manifest(path)
        by_trial: dict[CaseKey, dict[int, _Trial]] = {}
        shown: dict[CaseKey, bytes] = {}
        lenient: list[bool] = []
        rows = iter_results(path, on_lenient=lambda: lenient.append(True))
        summaries = _summarize(_fold(rows, by_trial, shown, lenient), where=str(path))
        label = str(manifest.get("run_id") or path.name)
        trials, judged = _ordered(by_trial)
        return ReportSide(role, "run", label, path, manifest, summaries, trials, shown,
                          judged, lenient=bool(lenient))
    if path.is_file():
        loaded = load_baseline(path)
        return ReportSide(role, "baseline", loaded.name, path, dict(loaded.manifest),
                          dict(loaded.cases), baseline=loaded)
    raise RecordError(f"report {role} {str(path)!r} does not exist; pass a run directory "
                      "(reports/runs/<run-id>/) or a baseline file (reports/baselines/NAME.json)")
