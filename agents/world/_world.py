"""The World: one agent run's private copy of the company database, and its template."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Any

from agents.world._build import build_database, content_hash
from agents.world._schema import GENERATOR_VERSION, SCHEMA_VERSION, SEED, TABLES
from passline.errors import AgentError

log = logging.getLogger(__name__)

BUILD_DIR = Path(__file__).resolve().parent / "build"
TEMPLATE_NAME = "world.sqlite"
_template_lock = threading.Lock()
_template_checked: set[Path] = set()


def _is_current(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return (meta.get("schema_version") == str(SCHEMA_VERSION)
            and meta.get("generator_version") == str(GENERATOR_VERSION)
            and meta.get("seed") == str(SEED))


def build(out_dir: Path | None = None, *, seed: int = SEED) -> Path:
    """Build the world database into ``out_dir`` (default ``agents/world/build``) atomically.

    The database is written to a temporary file in the same directory and renamed over the
    target, so a concurrent reader sees either the old complete file or the new one.

    >>> path = build(Path("/tmp/w"))  # doctest: +SKIP
    """
    out_dir = Path(out_dir) if out_dir is not None else BUILD_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / TEMPLATE_NAME
    fd, tmp_name = tempfile.mkstemp(prefix=".world-", suffix=".tmp", dir=out_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()  # sqlite must create the file itself
        build_database(tmp, seed=seed)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("built world database %s (seed %s)", target, seed)
    return target


def template_path() -> Path:
    """Path of the template world database, building it on first use (or when outdated).

    Safe when several processes race: each builds into its own temp file and renames it
    over the target; the builds are byte-identical in content, so any winner is correct.
    """
    target = BUILD_DIR / TEMPLATE_NAME
    with _template_lock:
        if target in _template_checked and target.exists():
            return target
        if not _is_current(target):
            build(BUILD_DIR)
        _template_checked.add(target)
    return target


class World:
    """A world database opened for tools: ``World.fresh(workdir)`` gives a run its own copy.

    >>> world = World.fresh(tmp_path)  # doctest: +SKIP
    >>> world.snapshot()["counts"]["orders"]  # doctest: +SKIP
    300
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        # Tools hold this while they read-modify-write, so a World shared by threads stays sane.
        self.lock = threading.RLock()

    def __repr__(self) -> str:
        return f"World({str(self.path)!r})"

    @classmethod
    def fresh(cls, workdir: str | os.PathLike[str], *, resume: bool = False) -> World:
        """Copy the template to ``workdir/world.sqlite`` and open it.

        With ``resume=True`` an existing copy is opened as it is (a durable run picking up
        where it stopped) instead of being replaced by a pristine one.
        """
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        target = workdir / TEMPLATE_NAME
        if resume and target.exists():
            return cls.open(target)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".world-", suffix=".tmp", dir=workdir)
        os.close(fd)
        try:
            shutil.copyfile(template_path(), tmp_name)
            os.replace(tmp_name, target)
        finally:
            Path(tmp_name).unlink(missing_ok=True)
        return cls.open(target)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> World:
        """Open an existing world database (WAL mode, autocommit; tools open transactions)."""
        path = Path(path)
        if not path.is_file():
            raise AgentError(f"world database {path} does not exist; create one with "
                             "World.fresh(workdir) or `python -m agents.world build`")
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if version is None or version[0] != str(SCHEMA_VERSION):
            conn.close()
            raise AgentError(f"world database {path} has schema version "
                             f"{version[0] if version else None}, expected {SCHEMA_VERSION}; "
                             "rebuild it with World.fresh(workdir)")
        return cls(path, conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record_change(self, table: str, row_id: str, op: str, fields: dict[str, Any]) -> None:
        """Journal a row a tool created or updated (call inside the tool's transaction)."""
        self.conn.execute(
            "INSERT INTO changes (tbl, row_id, op, fields_json) VALUES (?, ?, ?, ?)",
            (table, str(row_id), op, json.dumps(fields, sort_keys=True)),
        )

    def changes(self) -> list[dict[str, Any]]:
        """Rows created/updated by side-effecting tools since ``fresh``, oldest first."""
        rows = self.conn.execute(
            "SELECT tbl, row_id, op, fields_json FROM changes ORDER BY seq").fetchall()
        return [{"table": t, "id": i, "op": op, "fields": json.loads(f)} for t, i, op, f in rows]

    def snapshot(self) -> dict[str, Any]:
        """A small summary of the world's state, for end-to-end scorers and traces."""
        counts = {t: self.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                  for t in TABLES}

        def by_status(table: str) -> dict[str, int]:
            rows = self.conn.execute(
                f"SELECT status, COUNT(*) FROM {table} GROUP BY status ORDER BY status")
            return {status: n for status, n in rows}

        return {
            "counts": counts,
            "refunds_by_status": by_status("refunds"),
            "tickets_by_status": by_status("tickets"),
            "invoices_by_status": by_status("invoices"),
            "n_changes": self.conn.execute("SELECT COUNT(*) FROM changes").fetchone()[0],
            "content_hash": content_hash(self.conn),
        }

    def content_hash(self) -> str:
        """sha256 of every row; equal hashes mean equal worlds."""
        return content_hash(self.conn)
