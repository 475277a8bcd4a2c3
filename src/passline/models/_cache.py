"""Record/replay cache of model responses in SQLite (WAL), shared safely by processes.

The key is the sha256 of the canonical JSON of every request field that changes the output,
plus the trial index (so repeated trials stay independent samples) and a cache tag (e.g. a
judge rubric version). Fields that do not change the output are excluded by name
(``EXCLUDED_FIELDS``). Headers -- and so API keys -- are never part of what is stored.

Modes: ``off`` (no cache), ``rw`` (read, and record misses), ``replay`` (read only; a miss is
a :class:`~passline.errors.CacheMiss` naming the request, for keyless CI).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from passline._atomic import create_file
from passline._sqlite import connect, create_schema
from passline.errors import CacheMiss, ConfigError, RecordError

CACHE_SCHEMA_VERSION = 1
# request fields that never change what the model says
EXCLUDED_FIELDS = frozenset({"timeout", "stream", "stream_options", "extra_headers",
                             "extra_query", "user", "metadata", "store", "service_tier"})


def request_key(request: Mapping[str, Any], *, trial: int = 0, cache_tag: str = "") -> str:
    """Stable hash of a normalised request.

    >>> a = request_key({"model": "m", "messages": [], "timeout": 5})
    >>> a == request_key({"messages": [], "model": "m"})
    True
    """
    material = {k: v for k, v in request.items() if k not in EXCLUDED_FIELDS and v is not None}
    material["__trial__"] = trial
    material["__tag__"] = cache_tag
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def describe_request(request: Mapping[str, Any]) -> str:
    """A short human description of a request, for error messages."""
    last = next((m for m in reversed(request.get("messages") or []) if m.get("role") == "user"),
                None)
    text = str((last or {}).get("content") or "")[:80]
    return f"model={request.get('model')!r}, {len(request.get('messages') or [])} messages, " \
           f"last user message {text!r}"


class ResponseCache:
    """A SQLite file of request-key -> response JSON; safe across threads and processes."""

    def __init__(self, path: str | Path, mode: str = "rw") -> None:
        if mode not in ("off", "rw", "replay"):
            raise ConfigError(f"cache mode {mode!r} is not one of off, rw, replay")
        self.path = Path(path)
        self.mode = mode
        self._local = threading.local()
        self.hits = 0
        self.misses = 0
        self.writes = 0
        if mode != "off":
            self._init()

    def __repr__(self) -> str:
        return (f"ResponseCache({str(self.path)!r}, mode={self.mode!r}, hits={self.hits}, "
                f"misses={self.misses})")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
        return conn

    def _init(self) -> None:
        if self.mode == "replay" and not self.path.exists():
            raise CacheMiss(
                f"replay-only cache {self.path} does not exist; record it first with "
                f"--passline-cache rw (or set PASSLINE_CACHE_PATH to the recorded file)")
        if self.path.is_dir():
            raise ConfigError(
                f"cache_path {self.path} is a directory; point cache_path (--passline-cache-"
                "path=FILE, PASSLINE_CACHE_PATH) at a file, e.g. .passline/cache.sqlite")
        try:
            create_file(self.path)  # private unless shared_permissions (-wal/-shm follow it)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the cache {self.path}: {exc.strerror or exc}; point cache_path "
                "(--passline-cache-path=FILE, PASSLINE_CACHE_PATH) at a writable file") from exc
        try:
            self._create_tables()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise RecordError(
                f"{self.path} is not a readable passline cache ({exc}); it is only a cache: "
                "delete it (a new one is recorded) or point cache_path elsewhere") from exc

    def _create_tables(self) -> None:
        stored = create_schema(self._conn(), CACHE_SCHEMA_VERSION, [
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, "
            "request TEXT NOT NULL, response TEXT NOT NULL, created_at REAL NOT NULL)"])
        if stored != str(CACHE_SCHEMA_VERSION):
            raise RecordError(
                f"cache {self.path} has schema version {stored}, this passline reads "
                f"{CACHE_SCHEMA_VERSION}; delete the file or point PASSLINE_CACHE_PATH elsewhere")

    def get(self, key: str, request: Mapping[str, Any]) -> dict[str, Any] | None:
        """The recorded response, ``None`` on a miss (``CacheMiss`` in replay mode)."""
        if self.mode == "off":
            return None
        row = self._conn().execute("SELECT response FROM responses WHERE key=?",
                                   (key,)).fetchone()
        if row is None:
            self.misses += 1
            if self.mode == "replay":
                raise CacheMiss(
                    f"replay-only cache {self.path} has no response for request {key[:12]} "
                    f"({describe_request(request)}); re-record with --passline-cache rw")
            return None
        self.hits += 1
        return dict(json.loads(row[0]))

    def put(self, key: str, request: Mapping[str, Any], response: Mapping[str, Any]) -> None:
        if self.mode != "rw":
            return
        stored = {k: v for k, v in request.items() if k not in EXCLUDED_FIELDS}
        self._conn().execute(
            "INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?, ?)",
            (key, str(request.get("model", "")), json.dumps(stored, default=str),
             json.dumps(response), time.time()))
        self.writes += 1

    def __len__(self) -> int:
        if self.mode == "off":
            return 0
        return int(self._conn().execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
