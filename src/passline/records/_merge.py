"""``passline merge``: join shard or xdist records of one variant into one run record."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from passline.errors import RecordError
from passline.records._load import read_manifest, read_rows
from passline.records._write import RunWriter, completion


def merge_runs(run_dirs: Sequence[str | Path], out_dir: str | Path,
               run_id: str | None = None) -> dict[str, Any]:
    """Merge runs of the same variant; rows are ordered deterministically and deduplicated
    by (eval, case_id, trial) -- merging the same shards in any order gives the same file."""
    if not run_dirs:
        raise RecordError("nothing to merge: give at least one run directory")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise RecordError(f"{out} already exists and is not empty; merge into a new directory "
                          "(merging appends nothing to existing records)")
    manifests = [read_manifest(d) for d in run_dirs]
    variants = {m["variant"]["name"] + "=" + m["variant"]["model"] + ":" + m["variant"]["prompts"]
                for m in manifests}
    if len(variants) > 1:
        raise RecordError(f"cannot merge runs of different variants: {sorted(variants)}; merge "
                          "each variant's shards separately")
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    for d in run_dirs:
        for row in read_rows(d):
            rows.setdefault((str(row.get("eval")), str(row.get("case_id")),
                             int(row.get("trial") or 0)), row)
    first = manifests[0]
    datasets: dict[str, Any] = {}
    for m in manifests:
        datasets.update(m.get("datasets") or {})
    new_id = run_id or Path(out_dir).name
    writer = RunWriter(Path(out_dir), {
        **{k: v for k, v in first.items() if k not in ("totals", "created_at", "finished_at",
                                                        "schema_version", "shard", "completion",
                                                        "session", "resumed_at")},
        "run_id": new_id, "datasets": datasets,
        "merged_from": [m.get("run_id") for m in manifests]})
    for key in sorted(rows):
        row = dict(rows[key])
        row.pop("schema_version", None)
        row["run_id"] = new_id
        writer.write(row)
    return writer.finish(completion=_merged_completion(manifests, len(rows)))


def _merged_completion(manifests: Sequence[dict[str, Any]], finished: int) -> dict[str, Any]:
    """Complete only if the inputs ended normally and together cover every planned item."""
    planned = max([int((m.get("completion") or {}).get("planned_items") or 0)
                   for m in manifests] + [finished])
    unfinished = [str(m.get("run_id")) for m in manifests if not m.get("finished_at") or (
        m.get("completion") or {}).get("state") in ("interrupted", "crashed")]
    if unfinished:
        return completion("interrupted", planned=planned, finished=finished,
                          reason=f"merged from unfinished run(s) {', '.join(unfinished)}")
    if finished >= planned:
        return completion("complete", planned=planned, finished=finished)
    return completion("partial", planned=planned, finished=finished,
                      reason=f"{planned - finished} of {planned} planned items have no result "
                      "in the merged runs")
