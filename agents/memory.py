"""The agents' persisted memory: episodic (past conversations), semantic (user facts) and
procedural (playbooks), in one SQLite file.

Relevance is lexical term overlap (stemmed, stopwords removed): cheap, deterministic and
explainable. ``relevant_memory`` packs only relevant facts and episodes into a token budget,
so memory never crowds the context window.

>>> store = MemoryStore(tmp_path / "memory.sqlite")  # doctest: +SKIP
>>> store.remember("u1", "preferred_contact", "email")  # doctest: +SKIP
>>> store.relevant_memory("u1", "how should we contact you?", budget_tokens=100)  # doctest: +SKIP
'Known facts about the user:\\n- preferred_contact: email'
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from agents.tools._text import approx_tokens, tokens
from passline.errors import AgentError

SCHEMA_VERSION = 1
PLAYBOOKS_PATH = Path(__file__).resolve().parent / "playbooks.json"
MAX_EPISODES_CONSIDERED = 500  # most recent episodes scanned for relevance

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS episodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    ts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS episodes_user_ts ON episodes(user_id, ts);
CREATE TABLE IF NOT EXISTS facts (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE TABLE IF NOT EXISTS playbooks (
    name TEXT PRIMARY KEY,
    trigger_terms TEXT NOT NULL,
    steps TEXT NOT NULL
);
"""


@dataclasses.dataclass(frozen=True, slots=True)
class Episode:
    """One remembered conversation: a short summary of a past session."""

    user_id: str
    session_id: str
    summary: str
    ts: str


@dataclasses.dataclass(frozen=True, slots=True)
class Playbook:
    """A procedure for a kind of request: when its trigger terms appear, follow its steps."""

    name: str
    trigger_terms: tuple[str, ...]
    steps: tuple[str, ...]

    def render(self) -> str:
        steps = "\n".join(f"{i}. {step}" for i, step in enumerate(self.steps, 1))
        return f"Playbook '{self.name}':\n{steps}"


def load_seed_playbooks(path: Path = PLAYBOOKS_PATH) -> list[Playbook]:
    """The playbooks shipped in agents/playbooks.json."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AgentError(f"cannot read playbooks {path}: {exc}; fix or restore the file") from exc
    return [Playbook(p["name"], tuple(p["trigger_terms"]), tuple(p["steps"]))
            for p in data["playbooks"]]


def _overlap(wanted: set[str], text: str) -> int:
    return len(wanted & set(tokens(text)))


class MemoryStore:
    """Episodic, semantic and procedural memory persisted in SQLite (WAL).

    Safe to share between threads of one process (a lock serialises access) and between
    processes (SQLite locking, 10 s busy timeout). With ``seed_playbooks`` the shipped
    playbooks are installed when the store has none.
    """

    def __init__(self, path: str | os.PathLike[str], *, seed_playbooks: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                     timeout=10)
        self._conn.execute("PRAGMA journal_mode=WAL")
        version, empty = self._create_schema()
        if version != str(SCHEMA_VERSION):
            self._conn.close()
            raise AgentError(f"memory store {self.path} has schema version {version}, "
                             f"expected {SCHEMA_VERSION}; move it away to start afresh")
        if seed_playbooks and empty:
            self.install_playbooks(load_seed_playbooks())

    def _create_schema(self) -> tuple[str, bool]:
        conn = self._conn
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _DDL.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
                version = conn.execute(
                    "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
                empty = conn.execute("SELECT COUNT(*) FROM playbooks").fetchone()[0] == 0
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return version, empty

    def __repr__(self) -> str:
        return f"MemoryStore({str(self.path)!r})"

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- episodic ------------------------------------------------------------------------
    def add_episode(self, user_id: str, session_id: str, summary: str, ts: str) -> None:
        """Remember a past session's summary; ``ts`` is an ISO timestamp (sortable)."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO episodes (user_id, session_id, summary, ts) VALUES (?, ?, ?, ?)",
                (user_id, session_id, summary, ts))

    def recent_episodes(self, user_id: str, k: int = 5) -> list[Episode]:
        """The ``k`` most recent episodes of a user, newest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT user_id, session_id, summary, ts FROM episodes WHERE user_id = ? "
                "ORDER BY ts DESC, id DESC LIMIT ?", (user_id, k)).fetchall()
        return [Episode(*row) for row in rows]

    # -- semantic ------------------------------------------------------------------------
    def remember(self, user_id: str, key: str, value: str) -> None:
        """Store a fact about a user; a later value for the same key replaces the earlier."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO facts (user_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value",
                (user_id, key, value))

    def facts(self, user_id: str) -> dict[str, str]:
        """All facts about a user, by key."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, value FROM facts WHERE user_id = ? ORDER BY key", (user_id,))
            return dict(rows.fetchall())

    # -- procedural ----------------------------------------------------------------------
    def add_playbook(self, name: str, trigger_terms: Sequence[str], steps: Sequence[str]) -> None:
        """Add or replace the playbook called ``name``."""
        self.install_playbooks([Playbook(name, tuple(trigger_terms), tuple(steps))])

    def install_playbooks(self, playbooks: Iterable[Playbook]) -> None:
        """Add or replace several playbooks at once."""
        with self._lock:
            self._conn.executemany(
                "INSERT INTO playbooks (name, trigger_terms, steps) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET trigger_terms = excluded.trigger_terms, "
                "steps = excluded.steps",
                [(p.name, json.dumps(list(p.trigger_terms)), json.dumps(list(p.steps)))
                 for p in playbooks])

    def playbooks(self) -> list[Playbook]:
        """Every playbook, by name."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT name, trigger_terms, steps FROM playbooks ORDER BY name").fetchall()
        return [Playbook(n, tuple(json.loads(t)), tuple(json.loads(s))) for n, t, s in rows]

    def playbooks_for(self, text: str, k: int = 1) -> list[Playbook]:
        """Up to ``k`` playbooks whose trigger terms occur in ``text``, best first.

        A trigger term counts when all its words occur in the text; longer matching
        phrases weigh more. Playbooks with no matching trigger are never returned.
        """
        wanted = set(tokens(text))
        scored = []
        for playbook in self.playbooks():
            score = 0
            for term in playbook.trigger_terms:
                term_tokens = set(tokens(term))
                if term_tokens and term_tokens <= wanted:
                    score += len(term_tokens)
            if score:
                scored.append((-score, playbook.name, playbook))
        return [p for _, _, p in sorted(scored)[:k]]

    # -- context -------------------------------------------------------------------------
    def relevant_memory(self, user_id: str, text: str, budget_tokens: int) -> str:
        """Facts and episodes of ``user_id`` relevant to ``text``, within ``budget_tokens``.

        Only items sharing at least one term with ``text`` are included, most relevant
        first (recent first among equals), until the next item would exceed the budget
        (about 4 characters per token). Returns "" when nothing relevant fits.
        """
        wanted = set(tokens(text))
        if not wanted or budget_tokens <= 0:
            return ""
        facts = [(_overlap(wanted, f"{key} {value}"), f"- {key}: {value}")
                 for key, value in self.facts(user_id).items()]
        with self._lock:
            rows = self._conn.execute(
                "SELECT summary, ts FROM episodes WHERE user_id = ? ORDER BY ts DESC, id DESC "
                "LIMIT ?", (user_id, MAX_EPISODES_CONSIDERED)).fetchall()
        episodes = [(_overlap(wanted, summary), f"- [{ts}] {summary}") for summary, ts in rows]
        candidates = sorted(
            [(-score, 0, i, line) for i, (score, line) in enumerate(facts) if score > 0]
            + [(-score, 1, i, line) for i, (score, line) in enumerate(episodes) if score > 0])
        chosen: dict[int, list[tuple[int, str]]] = {0: [], 1: []}
        rendered = ""
        for _, section, order, line in candidates:
            chosen[section].append((order, line))
            attempt = _render(chosen)
            if approx_tokens(attempt) > budget_tokens:
                chosen[section].pop()
                continue
            rendered = attempt
        return rendered


_HEADERS = {0: "Known facts about the user:", 1: "Relevant past conversations:"}


def _render(chosen: dict[int, list[tuple[int, str]]]) -> str:
    parts = []
    for section in (0, 1):
        if chosen[section]:
            lines = [line for _, line in sorted(chosen[section])]
            parts.append("\n".join([_HEADERS[section], *lines]))
    return "\n\n".join(parts)
