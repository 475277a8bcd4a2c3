"""Durable execution: each completed step of a run is journaled in SQLite (WAL).

A run that dies (an exception, exhausted retries, a killed process) is started again with
the same ``run_key`` and workdir; every step already in the journal returns its recorded
result instead of running again -- so a refund issued before the crash is not issued twice.
Side-effecting tools also get an idempotency key derived from the run key and step number,
which covers a crash between the side effect and the journal write.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

JOURNAL_SCHEMA_VERSION = 1


class Journal:
    """Ordered, append-only record of a run's steps, keyed by ``(run_key, seq)``."""

    def __init__(self, path: str | Path, run_key: str) -> None:
        self.path = Path(path)
        self.run_key = run_key
        self.seq = 0
        self.replayed = 0
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                           (str(JOURNAL_SCHEMA_VERSION),))
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS steps (run_key TEXT, seq INTEGER, name TEXT, "
            "payload TEXT, ts REAL, PRIMARY KEY (run_key, seq))")

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, run_key={self.run_key!r}, seq={self.seq})"

    def next_key(self) -> str:
        """An idempotency key for the next step (stable across resumes)."""
        return f"{self.run_key}:{self.seq + 1}"

    async def step(self, name: str, fn: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``fn`` once per (run, step); on resume return the recorded result instead."""
        self.seq += 1
        row = self._conn.execute("SELECT name, payload FROM steps WHERE run_key=? AND seq=?",
                                 (self.run_key, self.seq)).fetchone()
        if row is not None and row[0] == name:
            self.replayed += 1
            return json.loads(row[1])
        if row is not None:  # the run took another path this time: forget the stale tail
            self._conn.execute("DELETE FROM steps WHERE run_key=? AND seq>=?",
                               (self.run_key, self.seq))
        result = await fn()
        self._conn.execute("INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?)",
                           (self.run_key, self.seq, name, json.dumps(result, default=str),
                            time.time()))
        return result

    def is_recorded(self, name: str) -> bool:
        """Whether the next step is ``name`` and already journaled (it will be replayed)."""
        row = self._conn.execute("SELECT name FROM steps WHERE run_key=? AND seq=?",
                                 (self.run_key, self.seq + 1)).fetchone()
        return row is not None and row[0] == name

    def close(self) -> None:
        self._conn.close()
