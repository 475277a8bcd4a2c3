"""Read the two sides of a report: a run directory (rows with answers and traces) or a
baseline file (per-case summaries only).

A run is streamed once: each row is folded into compare's per-case summary and into the
report's compact per-trial payload, then dropped, so a 10,000-case run with traces never
sits in memory as parsed rows.
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

CaseKey = tuple[str, str]
NOT_RECORDED: Any = object()  # rows written before passline recorded case inputs


@dataclasses.dataclass(frozen=True)
class ReportSide:
    """One side of the report.

    ``trials`` maps (eval, case_id) to compact per-trial payloads in trial order (None when
    the side is a baseline file, which records no answers); ``io`` to the case's recorded
    ``(input, expected)``.
    """

    role: str  # "baseline" | "candidate"
    kind: str  # "run" | "baseline"
    label: str
    path: Path | None
    manifest: dict[str, Any]
    summaries: dict[CaseKey, CaseSummary]
    trials: dict[CaseKey, list[dict[str, Any]]] | None = None
    io: dict[CaseKey, tuple[Any, Any]] = dataclasses.field(default_factory=dict)
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


def _fold(rows: Iterator[dict[str, Any]], trials: dict[CaseKey, dict[int, dict[str, Any]]],
          io: dict[CaseKey, tuple[Any, Any]]) -> Iterator[dict[str, Any]]:
    """Pass rows through to summarize_rows, keeping the report's compact view of each."""
    from passline.report._payload import trial_payload

    for row in rows:
        key = (str(row["eval"]), str(row["case_id"]))
        payload = trial_payload(row)
        trials.setdefault(key, {})[payload["n"]] = payload  # a repeated trial: keep the last
        if key not in io:
            io[key] = (row.get("input", NOT_RECORDED), row.get("expected"))
        yield row


def _ordered(by_trial: dict[CaseKey, dict[int, dict[str, Any]]]
             ) -> dict[CaseKey, list[dict[str, Any]]]:
    return {k: list(v.values()) if len(v) == 1 else [v[n] for n in sorted(v)]
            for k, v in by_trial.items()}


def input_of(io: tuple[Any, Any] | None) -> Any:
    """The recorded input, or :data:`NOT_RECORDED`."""
    return NOT_RECORDED if io is None else io[0]


def load_report_side(source: Any, role: str) -> ReportSide:
    """Load a run directory, a baseline file or a loaded :class:`Baseline`."""
    if isinstance(source, Baseline):
        return ReportSide(role, "baseline", source.name, source.path, dict(source.manifest),
                          dict(source.cases), baseline=source)
    if not isinstance(source, str | os.PathLike):
        raise RecordError(f"report {role}: cannot read a {type(source).__name__}; pass a run "
                          "directory (reports/runs/<run-id>/) or a baseline file")
    path = Path(source)
    if path.is_dir():
        manifest = read_manifest(path)
        by_trial: dict[CaseKey, dict[int, dict[str, Any]]] = {}
        io: dict[CaseKey, tuple[Any, Any]] = {}
        lenient: list[bool] = []
        rows = iter_results(path, on_lenient=lambda: lenient.append(True))
        summaries = _summarize(_fold(rows, by_trial, io), where=str(path))
        label = str(manifest.get("run_id") or path.name)
        return ReportSide(role, "run", label, path, manifest, summaries, _ordered(by_trial),
                          io, lenient=bool(lenient))
    if path.is_file():
        loaded = load_baseline(path)
        return ReportSide(role, "baseline", loaded.name, path, dict(loaded.manifest),
                          dict(loaded.cases), baseline=loaded)
    raise RecordError(f"report {role} {str(path)!r} does not exist; pass a run directory "
                      "(reports/runs/<run-id>/) or a baseline file (reports/baselines/NAME.json)")
