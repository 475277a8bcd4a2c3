"""Turn whatever the user hands compare (run dir, baseline file, (manifest, rows)) into one side."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

from passline.compare._baseline import Baseline, load_baseline
from passline.compare._cases import CaseKey, CaseSummary, summarize_rows
from passline.compare._io import iter_results, read_manifest
from passline.compare._results import RunInfo
from passline.errors import RecordError
from passline.records._completion import Completion

RunSource: TypeAlias = (
    "str | os.PathLike[str] | Baseline | tuple[Mapping[str, Any], Iterable[Mapping[str, Any]]]"
)


@dataclasses.dataclass(frozen=True)
class Side:
    info: RunInfo
    manifest: dict[str, Any]
    cases: dict[CaseKey, CaseSummary]


def _info(label: str, kind: str, source: str | None, manifest: Mapping[str, Any],
          cases: Mapping[CaseKey, CaseSummary]) -> RunInfo:
    trials = manifest.get("trials")
    cache = manifest.get("cache")
    hits = cache.get("hits") if isinstance(cache, Mapping) else None
    return RunInfo(
        label=label,
        kind=kind,
        source=source,
        variant=dict(manifest.get("variant") or {}),
        datasets=dict(manifest.get("datasets") or {}),
        trials=int(trials) if isinstance(trials, int) else None,
        n_cases=len(cases),
        cache_hits=hits if isinstance(hits, int) and not isinstance(hits, bool) else 0,
        simulated=simulated(manifest),
    )


def simulated(manifest: Mapping[str, Any]) -> bool:
    """Whether the run's model was the built-in simulator (a ``sim-*`` model with no other
    endpoint configured): its latency is CPU time on the machine that ran it."""
    variant = manifest.get("variant")
    settings = manifest.get("settings")
    model = str(variant.get("model") or "") if isinstance(variant, Mapping) else ""
    base_url = str(settings.get("base_url") or "") if isinstance(settings, Mapping) else ""
    return model.startswith("sim-") and base_url in ("", "sim")


def _strip_clusters(cases: dict[CaseKey, CaseSummary]) -> dict[CaseKey, CaseSummary]:
    return {k: dataclasses.replace(c, cluster=None) for k, c in cases.items()}


def load_side(source: Any, *, cluster_key: str | None, role: str) -> Side:
    """Read one side of a comparison; ``role`` ("baseline"/"candidate") names it in errors."""
    if isinstance(source, Baseline):
        cases = source.cases if cluster_key else _strip_clusters(source.cases)
        return Side(_info(source.name, "baseline", str(source.path) if source.path else None,
                          source.manifest, cases), dict(source.manifest), cases)
    if isinstance(source, tuple) and len(source) == 2:
        manifest, rows = source
        if not isinstance(manifest, Mapping):
            raise RecordError(f"{role}: expected (manifest dict, rows), got {type(manifest)}")
        cases = summarize_rows(rows, cluster_key=cluster_key, where=role)
        label = str(manifest.get("run_id") or role)
        return Side(_info(label, "rows", None, manifest, cases), dict(manifest), cases)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            manifest = read_manifest(path)
            cases = summarize_rows(iter_results(path), cluster_key=cluster_key, where=str(path))
            label = str(manifest.get("run_id") or path.name)
            return Side(_info(label, "run", str(path), manifest, cases), manifest, cases)
        if path.is_file():
            return load_side(load_baseline(path), cluster_key=cluster_key, role=role)
        raise RecordError(
            f"{role} {str(path)!r} does not exist; pass a run directory "
            "(reports/runs/<run-id>/) or a baseline file (reports/baselines/NAME.json)"
        )
    raise RecordError(
        f"{role}: cannot compare a {type(source).__name__}; pass a run directory, a baseline "
        "file, a loaded Baseline or a (manifest, rows) pair"
    )


def source_completion(source: Any) -> Completion | None:
    """The completion state of a run directory or baseline file (None for in-memory rows)."""
    from passline.records import completion_of

    if isinstance(source, Baseline):
        rows = [{"eval": c.eval, "case_id": c.case_id, "trial": t, "dataset": c.dataset,
                 "dataset_version": c.dataset_version}
                for c in source.cases.values() for t in range(c.n_trials)]
        return completion_of(source.manifest, rows=rows)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            from passline.records import read_rows

            return completion_of(read_manifest(path), rows=read_rows(path))
        if path.is_file():
            return source_completion(load_baseline(path))
    return None


def incomplete_reason(source: Any, role: str) -> str:
    """"" when ``source`` is a complete record, else one line saying what is missing."""
    state = source_completion(source)
    if state is None or state.complete:
        return ""
    label = str(source.name if isinstance(source, Baseline) else source)
    return f"the {role} {label} is incomplete ({state.describe()})"
