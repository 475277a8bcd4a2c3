"""The call journal: every completed model call of a session, kept so a resumed run never pays
for the same call twice.

It lives in the run record (``reports/runs/<run-id>/journal.sqlite``, in the record of the
session's first variant), is written whatever the user's cache setting, and is deleted when
the session's runs complete. After a crash or an
interrupt, ``--passline-resume`` opens the same journal: a call whose request key was answered
before is answered from the journal, in the order the earlier session received the answers
(so a case that asked the same thing twice gets the same two answers again). A session never
replays its own entries -- within one session every call is a fresh sample, exactly as
without a journal.

The interface is the one of :class:`~passline.models.ResponseCache` (``get``/``put``), so the
capture layer records calls of agents' own clients in the same journal. SQLite in WAL mode:
each ``put`` is one committed insert, which survives ``kill -9`` (not a power cut: the log is
not fsynced per call, which would cost a disk flush per model call).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from passline._atomic import create_file
from passline._sqlite import connect, create_schema

log = logging.getLogger(__name__)

JOURNAL_SCHEMA_VERSION = 1
# a journal is a crash aid, not an archive: past this size new calls are no longer kept
MAX_JOURNAL_BYTES = 512 * 1024 * 1024


class CallJournal:
    """Completed model calls of one session (and of the sessions it resumes).

    >>> journal = CallJournal("reports/runs/RUN-ID/journal.sqlite")   # doctest: +SKIP
    >>> journal.put(key, request, response)                          # doctest: +SKIP
    >>> journal.get(key, request) is None   # its own entries are never replayed  # doctest: +SKIP
    True
    """

    def __init__(self, path: str | Path, *, max_bytes: int = MAX_JOURNAL_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.origin = uuid.uuid4().hex  # entries written by this object are never replayed
        self.replayed = 0
        self.written = 0
        self._bytes = 0
        self._full = False
        self._closed = False
        self._served: dict[str, int] = {}
        # the keys earlier sessions answered, read once at open: only they can be replayed,
        # so a call of a first session (every call, then) costs no query here
        self._replayable: frozenset[str] = frozenset()
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._open()

    def __repr__(self) -> str:
        return (f"CallJournal({str(self.path)!r}, replayed={self.replayed}, "
                f"written={self.written})")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, check_same_thread=False)
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def _open(self) -> None:
        try:
            self._init()
        except sqlite3.DatabaseError as exc:
            # a journal only saves money; a damaged one is set aside, never a reason to fail
            aside = self.path.with_name(self.path.name + f".corrupt-{int(time.time())}")
            log.warning("call journal %s is unreadable (%s); moved to %s, starting a new one",
                        self.path, exc, aside)
            self.close()
            self._local = threading.local()
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self._init()

    def _init(self) -> None:
        create_file(self.path)
        conn = self._conn()
        stored = create_schema(conn, JOURNAL_SCHEMA_VERSION, [
            "CREATE TABLE IF NOT EXISTS calls (key TEXT NOT NULL, seq INTEGER NOT NULL, "
            "origin TEXT NOT NULL, response TEXT NOT NULL, created_at REAL NOT NULL, "
            "PRIMARY KEY (key, seq))"])
        if stored != str(JOURNAL_SCHEMA_VERSION):
            raise sqlite3.DatabaseError(f"schema version {stored}")
        size = conn.execute("SELECT COALESCE(SUM(LENGTH(response)), 0) FROM calls").fetchone()
        self._bytes = int(size[0])
        self._replayable = frozenset(key for (key,) in conn.execute(
            "SELECT DISTINCT key FROM calls"))

    def get(self, key: str, request: Mapping[str, Any]) -> dict[str, Any] | None:
        """The next answer an *earlier* session received for this request, or ``None``."""
        if self._closed or key not in self._replayable:
            return None
        with self._lock:
            after = self._served.get(key, 0)
        row = self._conn().execute(
            "SELECT seq, response FROM calls WHERE key=? AND seq>? AND origin<>? "
            "ORDER BY seq LIMIT 1", (key, after, self.origin)).fetchone()
        if row is None:
            return None
        with self._lock:
            if self._served.get(key, 0) >= row[0]:  # a concurrent get took this one
                return None
            self._served[key] = row[0]
            self.replayed += 1
        return dict(json.loads(row[1]))

    def put(self, key: str, request: Mapping[str, Any], response: Mapping[str, Any]) -> None:
        """Record one completed call (its response; the request is only known by its key)."""
        if self._closed or self._full:
            return
        text = json.dumps(response)
        if self._bytes + len(text) > self.max_bytes:
            self._full = True
            log.warning("call journal %s reached %d MB; later calls of this session are not "
                        "journaled", self.path, self.max_bytes // 2**20)
            return
        self._conn().execute(
            "INSERT INTO calls SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ? FROM calls "
            "WHERE key=?", (key, self.origin, text, time.time(), key))
        with self._lock:
            self._bytes += len(text)
            self.written += 1

    def __len__(self) -> int:
        if self._closed:
            return 0
        return int(self._conn().execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(sqlite3.ProgrammingError):  # closed by its thread already
                conn.close()
        self._local = threading.local()

    def remove(self) -> None:
        """Close and delete the journal (its runs completed: nothing left to resume)."""
        self._closed = True
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
