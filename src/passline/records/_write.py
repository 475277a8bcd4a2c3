"""Writing run records: append-only results, atomic manifest."""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from passline._atomic import atomic_write_json

RECORD_SCHEMA_VERSION = 1


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def git_sha(cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=cwd, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation between observations; 0 if empty.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5)
    2.5
    """
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(values, n=1000, method="inclusive")
    return float(cuts[min(max(round(q * 1000) - 1, 0), len(cuts) - 1)]) if 0 < q < 1 else \
        float(min(values) if q <= 0 else max(values))


def totals(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Summary figures over result rows (what the manifest and the terminal show)."""
    rows = list(rows)
    n = len(rows)
    passed = sum(1 for r in rows if r.get("status") == "pass")
    errors = sum(1 for r in rows if r.get("status") == "error")
    latencies = [float(r.get("latency_s") or 0.0) for r in rows]
    scores = [float(r.get("score") or 0.0) for r in rows]
    return {
        "n": n, "passed": passed, "failed": n - passed - errors, "errors": errors,
        "pass_rate": passed / n if n else 0.0,
        "mean_score": statistics.fmean(scores) if scores else 0.0,
        "cost_usd": sum(float(r.get("cost_usd") or 0.0) for r in rows),
        "judge_cost_usd": sum(float(r.get("judge_cost_usd") or 0.0) for r in rows),
        "tokens": sum(int(r.get("tokens") or 0) for r in rows),
        "latency_p50_s": percentile(latencies, 0.5),
        "latency_p95_s": percentile(latencies, 0.95),
    }


class RunWriter:
    """One run record being written. Thread-safe; rows are flushed as they arrive."""

    def __init__(self, run_dir: Path, manifest: Mapping[str, Any]) -> None:
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.manifest: dict[str, Any] = {"schema_version": RECORD_SCHEMA_VERSION,
                                         "created_at": now_iso(), "finished_at": None,
                                         **manifest}
        self._lock = threading.Lock()
        self._rows: list[dict[str, Any]] = []  # summary fields only, for totals
        self._fh = open(self.dir / "results.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self._calls_fh: Any = None
        atomic_write_json(self.dir / "manifest.json", self.manifest)

    def __repr__(self) -> str:
        return f"RunWriter({str(self.dir)!r}, rows={len(self._rows)})"

    def write(self, row: Mapping[str, Any]) -> None:
        line = json.dumps({"schema_version": RECORD_SCHEMA_VERSION,
                           "run_id": self.manifest.get("run_id"), **row}, default=str)
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()
            self._rows.append({k: row.get(k) for k in (
                "status", "score", "latency_s", "cost_usd", "tokens", "judge_cost_usd",
                "dataset", "dataset_version", "tags", "eval", "trial")})

    def write_calls(self, calls: Iterable[Mapping[str, Any]]) -> None:
        """Append captured model calls to ``calls.jsonl`` (opened on first use)."""
        from passline.capture import CALLS_SCHEMA_VERSION

        lines = "".join(json.dumps({"schema_version": CALLS_SCHEMA_VERSION, **c}, default=str)
                        + "\n" for c in calls)
        with self._lock:
            if self._calls_fh is None:
                self._calls_fh = open(self.dir / "calls.jsonl", "a",  # noqa: SIM115
                                      encoding="utf-8")
            self._calls_fh.write(lines)
            self._calls_fh.flush()

    @property
    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def finish(self, **extra: Any) -> dict[str, Any]:
        with self._lock:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            if self._calls_fh is not None:
                self._calls_fh.flush()
                os.fsync(self._calls_fh.fileno())
                self._calls_fh.close()
            self.manifest.update(extra)
            self.manifest["finished_at"] = now_iso()
            self.manifest["totals"] = totals(self._rows)
            atomic_write_json(self.dir / "manifest.json", self.manifest)
        return self.manifest
