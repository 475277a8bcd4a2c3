"""Writing run records: append-only results, atomic manifest, completion state.

Every manifest says how its run ended (``completion``): ``complete`` (every planned item
finished and the session ended normally), ``interrupted`` (Ctrl-C, SIGTERM, ``-x``,
``--maxfail``, an endpoint that went down: finalised but not complete), ``partial`` (a
deliberate subset: a shard, a ``-k``/``--lf`` deselection). ``crashed`` is never written: a
reader infers it from a manifest without ``finished_at`` (the process died).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import statistics
import subprocess
import threading
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from passline._atomic import atomic_write_bytes, atomic_write_json, make_dirs, open_append

RECORD_SCHEMA_VERSION = 1
COMPLETION_STATES = ("complete", "interrupted", "crashed", "partial")
# the fields that identify one result row (one item: eval x case x trial of a variant)
ROW_KEY_FIELDS = ("eval", "dataset", "dataset_version", "case_id", "trial")


def row_key(row: Mapping[str, Any]) -> tuple[str, str, str, str, int]:
    """What makes a row unique within a run record (resume skips items that have one)."""
    return (str(row.get("eval")), str(row.get("dataset")), str(row.get("dataset_version")),
            str(row.get("case_id")), int(row.get("trial") or 0))


def completion(state: str, *, planned: int, finished: int, reason: str = "") -> dict[str, Any]:
    """The ``completion`` object of a manifest (see the module docstring)."""
    if state not in COMPLETION_STATES:
        raise ValueError(f"completion state {state!r} is not one of {COMPLETION_STATES}")
    return {"state": state, "planned_items": int(planned), "finished_items": int(finished),
            "reason": reason}


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
    """The ``q`` quantile (0..1) by the inverted-CDF rule: the smallest observed value with at
    least a fraction ``q`` of the values at or below it (numpy's ``method="inverted_cdf"``,
    the rule compare and the report use too); 0 if empty.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5)
    2.0
    """
    if not values:
        return 0.0
    ordered = sorted(values)
    index = math.ceil(q * len(ordered) - 1e-9) - 1
    return float(ordered[min(max(index, 0), len(ordered) - 1)])


def case_latencies(rows: Iterable[Mapping[str, Any]]) -> list[float]:
    """Mean latency of each (eval, case) over its trials: the values latency percentiles are
    taken over, everywhere (a case's trials are not independent samples of latency)."""
    sums: dict[tuple[Any, Any], list[float]] = {}
    for r in rows:
        acc = sums.setdefault((r.get("eval"), r.get("case_id")), [0.0, 0.0])
        acc[0] += float(r.get("latency_s") or 0.0)
        acc[1] += 1
    return [total / n for total, n in sums.values()]


def totals(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Summary figures over result rows (what the manifest and the terminal show)."""
    tally = RowTally()
    for row in rows:
        tally.add(row)
    return tally.totals()


class RowTally:
    """What :func:`totals` needs from result rows, kept as they stream past: counts and
    one packed float per row per figure (8 bytes, not a dict per row), so a 100,000-row
    session holds a few MB here and the figures are exactly those of the rows."""

    __slots__ = (
        "_case_latency",
        "_cost",
        "_judge_cost",
        "_score",
        "errors",
        "max_trial",
        "n",
        "passed",
        "tokens",
    )

    def __init__(self) -> None:
        self.n = self.passed = self.errors = self.tokens = 0
        self.max_trial = -1
        # (eval, case) -> [latency sum, trials]: percentiles are over each case's mean
        # latency (case_latencies), one small list per case rather than a dict per row
        self._case_latency: dict[tuple[Any, Any], list[float]] = {}
        self._score = array("d")
        self._cost = array("d")
        self._judge_cost = array("d")

    def __repr__(self) -> str:
        return f"RowTally(n={self.n}, passed={self.passed}, errors={self.errors})"

    def add(self, row: Mapping[str, Any]) -> None:
        status = row.get("status")
        self.n += 1
        self.passed += status == "pass"
        self.errors += status == "error"
        self.tokens += int(row.get("tokens") or 0)
        self.max_trial = max(self.max_trial, int(row.get("trial") or 0))
        acc = self._case_latency.setdefault((row.get("eval"), row.get("case_id")), [0.0, 0.0])
        acc[0] += float(row.get("latency_s") or 0.0)
        acc[1] += 1
        self._score.append(float(row.get("score") or 0.0))
        self._cost.append(float(row.get("cost_usd") or 0.0))
        self._judge_cost.append(float(row.get("judge_cost_usd") or 0.0))

    @property
    def cases(self) -> int:
        """Distinct (eval, case) pairs seen: the units of a pass rate's interval."""
        return len(self._case_latency)

    def totals(self) -> dict[str, Any]:
        n = self.n
        latencies = [total / count for total, count in self._case_latency.values()]
        return {
            "n": n, "passed": self.passed, "failed": n - self.passed - self.errors,
            "errors": self.errors,
            "pass_rate": self.passed / n if n else 0.0,
            "mean_score": statistics.fmean(self._score) if n else 0.0,
            "cost_usd": sum(self._cost),
            "judge_cost_usd": sum(self._judge_cost),
            "tokens": self.tokens,
            "latency_p50_s": percentile(latencies, 0.5),
            "latency_p95_s": percentile(latencies, 0.95),
        }


def summary_groups(row: Mapping[str, Any], slice_prefix: str = "worker:") -> list[str]:
    """The groups of the terminal's summary table a row counts in: its dataset, and each
    slice of it (tags starting with ``slice_prefix`` or ``difficulty:``)."""
    dataset = f"{row.get('dataset')}@{row.get('dataset_version')}"
    return [dataset, *(f"  {dataset} {tag}" for tag in row.get("tags") or ()
                       if tag.startswith((slice_prefix, "difficulty:")))]


class RunWriter:
    """One run record being written. Thread-safe; rows are flushed as they arrive.

    ``resume=True`` continues the record already in ``run_dir`` (``--passline-resume``): its
    rows are kept (a line cut by the crash is dropped first), ``keys`` holds the items they
    cover, and the manifest keeps its ``created_at`` and records the resume."""

    def __init__(self, run_dir: Path, manifest: Mapping[str, Any], *,
                 resume: bool = False,
                 drop: Callable[[Mapping[str, Any]], bool] | None = None) -> None:
        self.dir = Path(run_dir)
        make_dirs(self.dir)
        self._lock = threading.Lock()
        # figures of the rows written, never the rows: a record is streamed to disk
        self.tally = RowTally()
        self.groups: dict[str, RowTally] = {}  # per dataset and slice, for the terminal
        self.keys: set[tuple[str, str, str, str, int]] = set()  # of the resumed rows
        base: dict[str, Any] = {"schema_version": RECORD_SCHEMA_VERSION,
                                "created_at": now_iso(), "finished_at": None}
        if resume:
            from passline.records._read import iter_results, read_manifest

            old = read_manifest(self.dir)
            _drop_cut_last_line(self.dir / "results.jsonl")
            _drop_cut_last_line(self.dir / "calls.jsonl")
            if drop is not None:
                _rewrite_without(self.dir / "results.jsonl", drop)
            if (self.dir / "results.jsonl").exists():
                for row in iter_results(self.dir):
                    self._count(row)
                    self.keys.add(row_key(row))
            base.update(created_at=old.get("created_at") or base["created_at"],
                        resumed_at=[*(old.get("resumed_at") or []), now_iso()])
        self.manifest: dict[str, Any] = {**base, **manifest, "finished_at": None}
        self.manifest.pop("completion", None)
        self._fh = open_append(self.dir / "results.jsonl")
        self._calls_fh: Any = None
        atomic_write_json(self.dir / "manifest.json", self.manifest)

    def __repr__(self) -> str:
        return f"RunWriter({str(self.dir)!r}, rows={self.tally.n})"

    def _count(self, row: Mapping[str, Any]) -> None:
        self.tally.add(row)
        for group in summary_groups(row):
            tally = self.groups.get(group)
            if tally is None:
                tally = self.groups[group] = RowTally()
            tally.add(row)

    def write(self, row: Mapping[str, Any]) -> None:
        line = json.dumps({"schema_version": RECORD_SCHEMA_VERSION,
                           "run_id": self.manifest.get("run_id"), **row}, default=str)
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()
            self._count(row)

    def write_calls(self, calls: Iterable[Mapping[str, Any]]) -> None:
        """Append captured model calls to ``calls.jsonl`` (opened on first use)."""
        from passline.capture import CALLS_SCHEMA_VERSION

        lines = "".join(json.dumps({"schema_version": CALLS_SCHEMA_VERSION, **c}, default=str)
                        + "\n" for c in calls)
        with self._lock:
            if self._calls_fh is None:
                self._calls_fh = open_append(self.dir / "calls.jsonl")
            self._calls_fh.write(lines)
            self._calls_fh.flush()

    @property
    def n_rows(self) -> int:
        """Rows in the record (those of the session it resumes included)."""
        return self.tally.n

    def finish(self, **extra: Any) -> dict[str, Any]:
        """Finalise the manifest (totals, ``extra`` -- e.g. ``completion``)."""
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()
            if self._calls_fh is not None and not self._calls_fh.closed:
                self._calls_fh.flush()
                os.fsync(self._calls_fh.fileno())
                self._calls_fh.close()
            self.manifest.update(extra)
            self.manifest["finished_at"] = now_iso()
            self.manifest["totals"] = self.tally.totals()
            atomic_write_json(self.dir / "manifest.json", self.manifest)
        return self.manifest


def _rewrite_without(path: Path, drop: Callable[[Mapping[str, Any]], bool]) -> None:
    """Atomically rewrite a results file without the rows ``drop`` selects (kept rows stay
    byte for byte). Used once, when a resume runs those items again."""
    if not path.is_file():
        return
    kept: list[bytes] = []
    dropped = 0
    with open(path, "rb") as fh:
        for raw in fh:
            try:
                row = json.loads(raw)
            except ValueError:  # a damaged line is the reader's to report, not ours to drop
                row = None
            if isinstance(row, dict) and drop(row):
                dropped += 1
            else:
                kept.append(raw)
    if dropped:
        atomic_write_bytes(path, b"".join(kept))


def _drop_cut_last_line(path: Path) -> None:
    """Truncate a results file after its last complete line: a crash mid-write leaves a cut
    line, and appending after it would glue the next row onto it."""
    if not path.is_file():
        return
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        keep = 0
        chunk = 1 << 16
        pos = size
        while pos > 0:  # find the last newline, reading backwards
            start = max(0, pos - chunk)
            fh.seek(start)
            block = fh.read(pos - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            pos = start
        fh.truncate(keep)
