"""The local traffic store: recorded conversations, redacted, in SQLite (WAL).

``<traffic_dir>/traffic.sqlite`` (``traffic_dir`` in ``[tool.passline]``, default
``.passline/traffic``). One import is one transaction, so a reader (a shadow run in another
terminal) sees all of an import or none of it; WAL lets it read while an import writes.
Records are keyed by a stable id: importing the same file twice adds nothing. The store has a
``schema_version``; a store written by a passline whose format this one does not know is
refused with a clear message.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from passline._atomic import create_file
from passline._sqlite import connect, create_schema
from passline.errors import ConfigError, RecordError
from passline.traffic._record import TRAFFIC_SCHEMA_VERSION, TrafficRecord, redacted

STORE_NAME = "traffic.sqlite"


@dataclasses.dataclass(frozen=True)
class ImportResult:
    """What one ``traces import`` did."""

    files: tuple[str, ...]
    added: int
    skipped: int  # already in the store (same id)
    redactions: int  # records in which redaction changed something
    by_source: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which recorded conversations to use: all, a time window, tags, ids, a sample."""

    since: str | None = None  # ISO date or time, inclusive
    until: str | None = None  # exclusive
    tags: tuple[str, ...] = ()  # every one must be present
    ids: tuple[str, ...] = ()
    source: str | None = None
    sample: int | None = None  # this many, drawn at random with ``seed``
    seed: int = 0

    def describe(self) -> str:
        parts = []
        if self.since or self.until:
            parts.append(f"recorded {self.since or '…'} to {self.until or '…'}")
        if self.tags:
            parts.append("tags " + ", ".join(self.tags))
        if self.ids:
            parts.append(f"{len(self.ids)} id(s)")
        if self.source:
            parts.append(f"source {self.source}")
        if self.sample:
            parts.append(f"sample of {self.sample} (seed {self.seed})")
        return "; ".join(parts) or "all recorded conversations"


class TrafficStore:
    """Recorded conversations under ``folder`` (created on first write)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / STORE_NAME

    def __repr__(self) -> str:
        return f"TrafficStore({str(self.path)!r})"

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        if not self.path.exists():
            if not create:
                raise RecordError(f"no traffic store at {self.path}; import recorded traffic "
                                  "first: passline traces import FILE...")
            create_file(self.path)  # private unless shared_permissions (-wal/-shm follow it)
        conn = connect(self.path, synchronous="FULL")  # the only copy of imported traffic
        stored = create_schema(conn, TRAFFIC_SCHEMA_VERSION, [
            "CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, recorded_at TEXT, "
            "imported_at TEXT, source TEXT, model TEXT, tags TEXT, data TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS records_time ON records(recorded_at)"])
        if stored != str(TRAFFIC_SCHEMA_VERSION):
            conn.close()
            raise RecordError(f"{self.path}: traffic store schema_version {stored} is not "
                              f"supported (this passline reads {TRAFFIC_SCHEMA_VERSION}); "
                              "upgrade passline, or import the traffic again into a new "
                              "traffic_dir")
        return conn

    def add(self, records: Iterable[TrafficRecord], *, imported_at: str,
            extra_tags: Sequence[str] = ()) -> tuple[int, int, int, dict[str, int]]:
        """Redact and insert records in one transaction: (added, skipped, redacted, by
        source). Nothing is written unless every record was read."""
        rows: list[tuple[Any, ...]] = []
        changed = 0
        by_source: dict[str, int] = {}
        for record in records:
            if extra_tags:
                record = dataclasses.replace(record, tags=tuple(dict.fromkeys(
                    [*record.tags, *extra_tags])))
            clean = redacted(record)
            changed += clean != record
            data = clean.to_dict()
            rows.append((clean.id, clean.recorded_at, imported_at, clean.source, clean.model,
                         json.dumps(list(clean.tags)), json.dumps(data, default=str)))
            by_source[clean.source] = by_source.get(clean.source, 0) + 1
        conn = self._connect(create=True)
        try:
            conn.execute("BEGIN IMMEDIATE")
            before = conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
            conn.executemany("INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            after = conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
        added = after - before
        return added, len(rows) - added, changed, by_source

    def count(self) -> int:
        if not self.path.exists():
            return 0
        conn = self._connect(create=False)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM records").fetchone()[0])
        finally:
            conn.close()

    def select(self, selection: Selection | None = None) -> list[TrafficRecord]:
        """The records a selection names, oldest first (ties by id), sampled last."""
        sel = selection or Selection()
        query, params = "SELECT data, tags FROM records WHERE 1=1", []
        if sel.since:
            query += " AND recorded_at >= ?"
            params.append(sel.since)
        if sel.until:
            query += " AND recorded_at < ?"
            params.append(sel.until)
        if sel.source:
            query += " AND source = ?"
            params.append(sel.source)
        if sel.ids:
            query += f" AND id IN ({','.join('?' * len(sel.ids))})"
            params += list(sel.ids)
        query += " ORDER BY recorded_at, id"
        conn = self._connect(create=False)
        try:
            rows = conn.execute(query, params).fetchall()
        finally:
            conn.close()
        out = []
        for data, tags in rows:
            if sel.tags and not set(sel.tags) <= set(json.loads(tags)):
                continue
            out.append(TrafficRecord.from_dict(json.loads(data)))
        if sel.ids:
            missing = sorted(set(sel.ids) - {r.id for r in out})
            if missing:
                raise ConfigError(f"traffic ids not in {self.path}: {', '.join(missing[:5])}"
                                  "; list them with `passline traces list`")
        if sel.sample is not None and sel.sample < len(out):
            out = sorted(random.Random(sel.seed).sample(out, sel.sample),
                         key=lambda r: (r.recorded_at or "", r.id))
        return out


def selection_version(records: Sequence[TrafficRecord]) -> str:
    """A short fingerprint of a set of records: the "dataset version" of a shadow run."""
    digest = hashlib.sha256("\n".join(sorted(r.id for r in records)).encode()).hexdigest()
    return digest[:12]
