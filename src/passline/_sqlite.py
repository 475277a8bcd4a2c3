"""The one way passline opens its SQLite files (response cache, call journal, traffic store).

Every file is in WAL mode (readers never block the writer), waits up to 30 s for another
process's lock instead of failing, and records its ``schema_version`` in a ``meta`` table
that a reader checks before trusting the rest.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

CREATE_ATTEMPTS = 50  # x 50 ms: two processes creating one file at once both succeed


def connect(path: str | Path, *, check_same_thread: bool = True,
            synchronous: Literal["NORMAL", "FULL"] = "NORMAL") -> sqlite3.Connection:
    """An autocommit connection that waits for other writers' locks (30 s).

    ``synchronous=NORMAL`` (the default) loses nothing when the process crashes; only an
    operating-system crash or power loss can drop the last transactions -- right for caches
    and journals, which are re-made by calling the model again. ``FULL`` for data that
    exists nowhere else."""
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None,
                           check_same_thread=check_same_thread)
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


def create_schema(conn: sqlite3.Connection, version: int, statements: Sequence[str]) -> str | None:
    """WAL mode, the ``meta`` table (its schema_version set to ``version`` if the file is
    new) and ``statements`` (``CREATE ... IF NOT EXISTS``), retried while another process
    creates the same file. Returns the file's schema_version as stored, None if missing."""
    for attempt in range(CREATE_ATTEMPTS):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                         (str(version),))
            for statement in statements:
                conn.execute(statement)
            break
        except sqlite3.OperationalError:  # another process is creating it right now
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(0.05)
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return None if row is None else str(row[0])
