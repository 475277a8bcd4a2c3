"""passline's own run records as traffic: each (case, trial) of a run is one conversation.

Point it at a run directory (``reports/runs/<run-id>/``) or its ``results.jsonl``; the
conversation is the row's case input, the agent's answer and its tool calls, with the tokens,
cost and latency the row recorded, and from ``calls.jsonl`` the model the calls reached and
how many there were. (A run's ``calls.jsonl`` alone reads as a chat-completions
log, one record per model call.)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from passline.traffic._record import TrafficRecord, record_id


def run_dir_of(path: Path) -> Path | None:
    """The run directory ``path`` is (or whose results file it is), else None."""
    folder = path if path.is_dir() else path.parent
    if (folder / "manifest.json").is_file() and (path.is_dir() or path.name.startswith(
            "results.jsonl")):
        return folder
    return None


def read(run_dir: Path, *, display: str) -> Iterator[TrafficRecord]:
    from passline.records import read_manifest, read_rows

    manifest = read_manifest(run_dir)
    variant: Mapping[str, Any] = manifest.get("variant") or {}
    run_id = str(manifest.get("run_id") or run_dir.name)
    calls = _calls_by_run(run_dir)
    for row in read_rows(run_dir):
        captured = calls.get(str(row.get("run_key")), [])
        models = [str(c.get("model")) for c in captured if c.get("model")]
        run = row.get("run") or {}
        usage = run.get("usage") or {}
        tags = [*(row.get("tags") or []), f"variant:{variant.get('name', '?')}"]
        yield TrafficRecord(
            id=record_id("passline", run_id, row.get("eval"), row.get("case_id"),
                         row.get("trial")),
            source="passline",
            origin=f"{display}#{row.get('case_id')}:t{row.get('trial')}",
            input=dict(row.get("input") or {}), answer=str(run.get("answer") or ""),
            recorded_at=str(manifest.get("created_at") or "") or None,
            model=max(set(models), key=models.count) if models else str(variant.get("model")
                                                                         or ""),
            tool_calls=tuple({k: t.get(k) for k in ("name", "arguments", "id", "result",
                                                     "error") if t.get(k) is not None}
                             for t in run.get("tool_calls") or ()),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cost_usd=float(row.get("cost_usd") or 0.0),
            latency_s=float(row.get("latency_s") or 0.0),
            status="error" if row.get("status") == "error" else "ok", error=row.get("error"),
            tags=tuple(str(t) for t in tags),
            metadata={"run_id": run_id, "eval": row.get("eval"), "case_id": row.get("case_id"),
                      "dataset": f"{row.get('dataset')}@{row.get('dataset_version')}",
                      "trial": row.get("trial"), "variant": dict(variant),
                      "prompts": variant.get("prompts"), "model_calls": len(captured)})


def _calls_by_run(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The captured model calls of ``calls.jsonl`` (when the run has one), by run key: the
    models a case actually reached and how many calls it made."""
    import json

    path = run_dir / "calls.jsonl"
    out: dict[str, list[dict[str, Any]]] = {}
    if not path.is_file():
        return out
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                call = json.loads(line)
            except json.JSONDecodeError:  # a cut last line of an interrupted run
                continue
            if isinstance(call, dict) and call.get("error") is None:
                out.setdefault(str(call.get("run_key")), []).append(
                    {"model": call.get("model"), "seq": call.get("seq")})
    return out
