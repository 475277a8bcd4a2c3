"""Reading run records back: manifests, streamed rows, pandas DataFrames."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from passline.errors import RecordError
from passline.records._read import iter_results, read_manifest, results_path


def read_rows(run_dir: str | Path) -> Iterator[dict[str, Any]]:
    """Stream result rows; nothing when the run recorded no case yet. A cut last line (the
    process died mid-write) is skipped; any other bad line is a RecordError with file:line."""
    try:
        results_path(run_dir)
    except RecordError:
        return
    yield from iter_results(run_dir)


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """A loaded run: its manifest and its results as DataFrames.

    ``results`` has one row per case x trial (eval, case_id, dataset, trial, status, score,
    cost_usd, tokens, latency_s, tags, answer, tools); ``scores`` one row per score.
    """

    path: Path
    manifest: dict[str, Any]
    results: Any  # pandas.DataFrame
    scores: Any  # pandas.DataFrame

    def __repr__(self) -> str:
        t = self.manifest.get("totals") or {}
        return (f"RunRecord({self.manifest.get('run_id')!r}, rows={len(self.results)}, "
                f"pass_rate={t.get('pass_rate', 0):.3f})")


def load_run(path: str | Path) -> RunRecord:
    """Load a run record directory into pandas DataFrames.

    >>> run = passline.load_run("reports/runs/20261127-101500-candidate-1a2b")  # doctest: +SKIP
    >>> run.results.groupby("dataset").score.mean()                             # doctest: +SKIP
    """
    import pandas as pd

    manifest = read_manifest(path)
    flat: list[dict[str, Any]] = []
    score_rows: list[dict[str, Any]] = []
    for row in read_rows(path):
        run = row.get("run") or {}
        flat.append({
            "eval": row.get("eval"), "case_id": row.get("case_id"),
            "dataset": row.get("dataset"), "dataset_version": row.get("dataset_version"),
            "variant": row.get("variant"), "trial": row.get("trial"),
            "status": row.get("status"), "score": row.get("score"),
            "cost_usd": row.get("cost_usd"), "tokens": row.get("tokens"),
            "latency_s": row.get("latency_s"), "tags": row.get("tags") or [],
            "cluster": row.get("cluster"), "run_status": run.get("status"),
            "answer": run.get("answer"), "tools": [t.get("name") for t in
                                                   run.get("tool_calls") or []],
            "error": row.get("error"),
        })
        for score in row.get("scores") or []:
            score_rows.append({"eval": row.get("eval"), "case_id": row.get("case_id"),
                               "trial": row.get("trial"), **{k: score.get(k) for k in (
                                   "name", "value", "passed", "explanation")}})
    return RunRecord(Path(path), manifest, pd.DataFrame(flat), pd.DataFrame(score_rows))


def list_runs(run_root: str | Path) -> list[dict[str, Any]]:
    """Manifests of the runs under ``run_root``, newest first (unreadable ones skipped)."""
    out = []
    root = Path(run_root)
    if not root.exists():
        return []
    for manifest in root.glob("*/manifest.json"):
        try:
            data = read_manifest(manifest.parent)
        except RecordError:
            continue
        data["_path"] = str(manifest.parent)
        out.append(data)
    out.sort(key=lambda m: (m.get("created_at") or "", m.get("run_id") or ""), reverse=True)
    return out
