"""Run records: ``reports/runs/<run-id>/{manifest.json, results.jsonl}``.

Written incrementally (one JSON line per case x trial, flushed as it finishes) so a crash
loses at most the line being written; the manifest is rewritten atomically at start and end.
Readers refuse unknown schema versions with a clear message.
"""

from __future__ import annotations

from passline.records._completion import Completion, completion_of
from passline.records._load import RunRecord, list_runs, load_run, read_manifest, read_rows
from passline.records._merge import merge_runs
from passline.records._write import RECORD_SCHEMA_VERSION, RunWriter, atomic_write_json, totals

__all__ = [
    "RECORD_SCHEMA_VERSION",
    "Completion",
    "RunRecord",
    "RunWriter",
    "atomic_write_json",
    "completion_of",
    "list_runs",
    "load_run",
    "merge_runs",
    "read_manifest",
    "read_rows",
    "totals",
]
