"""The reference agents' world: deterministic build, sizes, ids, fresh copies, policy corpus."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agents.world import (
    AREAS,
    INJECTED_DOCS,
    INJECTED_TICKETS,
    TODAY,
    World,
    build,
    load_policies,
    template_path,
)
from agents.world import _world as world_module
from agents.world.__main__ import main as world_cli
from passline.errors import AgentError

REPO = Path(__file__).resolve().parents[2]


def _rows(path: Path, query: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def test_two_builds_have_identical_content(tmp_path: Path) -> None:
    first = build(tmp_path / "a")
    second = build(tmp_path / "b")
    with World.open(first) as a, World.open(second) as b:
        assert a.content_hash() == b.content_hash()
    other = build(tmp_path / "c", seed=7)
    with World.open(first) as a, World.open(other) as c:
        assert a.content_hash() != c.content_hash()


def test_sizes_ids_and_realistic_amounts() -> None:
    path = template_path()
    counts = {t: _rows(path, f"SELECT COUNT(*) FROM {t}")[0][0]
              for t in ("customers", "orders", "invoices", "ledger", "tickets", "refunds")}
    assert counts == {"customers": 60, "orders": 300, "invoices": 300, "ledger": 1000,
                      "tickets": 120, "refunds": 20}
    patterns = {"customers": r"CUS-\d{4}", "orders": r"ORD-\d{5}", "invoices": r"INV-\d{5}",
                "tickets": r"TCK-\d{5}", "refunds": r"RFD-\d{5}"}
    firsts = {"customers": "CUS-0001", "orders": "ORD-10001", "invoices": "INV-20001",
              "tickets": "TCK-30001", "refunds": "RFD-40001"}
    for table, pattern in patterns.items():
        ids = [r[0] for r in _rows(path, f"SELECT id FROM {table} ORDER BY id")]
        assert all(re.fullmatch(pattern, i) for i in ids), table
        assert ids[0] == firsts[table]
    assert _rows(path, "SELECT COUNT(*) FROM orders WHERE total_usd > 500")[0][0] >= 30
    statuses = {r[0] for r in _rows(path, "SELECT DISTINCT status FROM orders")}
    assert statuses == {"placed", "shipped", "delivered", "cancelled", "returned"}
    assert {r[0] for r in _rows(path, "SELECT DISTINCT status FROM invoices")} == {
        "paid", "open", "overdue"}
    assert {r[0] for r in _rows(path, "SELECT DISTINCT status FROM refunds")} == {
        "issued", "pending_approval"}
    # consistency a grader relies on: nothing after "today", refunds within order totals
    assert _rows(path, "SELECT MAX(created) FROM orders")[0][0] <= TODAY.isoformat()
    over = _rows(path, "SELECT o.id FROM orders o JOIN refunds r ON r.order_id = o.id "
                       "GROUP BY o.id HAVING SUM(r.amount_usd) > MAX(o.total_usd) + 0.001")
    assert over == []
    pending = _rows(path, "SELECT amount_usd FROM refunds WHERE status = 'pending_approval'")
    assert all(amount > 500 for (amount,) in pending)
    assert _rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]


def test_fresh_copies_are_private_and_start_without_changes(tmp_path: Path) -> None:
    one = World.fresh(tmp_path / "one")
    two = World.fresh(tmp_path / "two")
    assert one.changes() == [] and one.content_hash() == two.content_hash()
    with one.conn:
        one.conn.execute("BEGIN")
        one.conn.execute("UPDATE tickets SET status = 'closed' WHERE id = 'TCK-30001'")
        one.record_change("tickets", "TCK-30001", "update", {"status": "closed"})
    assert one.changes() == [{"table": "tickets", "id": "TCK-30001", "op": "update",
                              "fields": {"status": "closed"}}]
    assert two.changes() == [] and one.content_hash() != two.content_hash()
    one.close()
    resumed = World.fresh(tmp_path / "one", resume=True)
    assert len(resumed.changes()) == 1
    resumed.close()
    restarted = World.fresh(tmp_path / "one")
    assert restarted.changes() == [] and restarted.content_hash() == two.content_hash()
    assert restarted.snapshot()["counts"]["orders"] == 300
    restarted.close()
    two.close()


def test_open_refuses_missing_database(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match=r"World\.fresh"):
        World.open(tmp_path / "nope.sqlite")


def test_template_is_built_on_first_use_even_when_processes_race(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = (
        "import sys; from pathlib import Path; import agents.world._world as w\n"
        "w.BUILD_DIR = Path(sys.argv[1])\n"
        # as runs use it: each process copies the template into its own workdir; opening
        # the shared template read-write while another process renames over it is not a use
        "print(w.World.fresh(Path(sys.argv[2])).content_hash())\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path),
                               str(tmp_path / "runs" / str(i))], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": str(REPO), "PATH": ""}) for i in range(3)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    hashes = {out.strip() for out, _ in outputs}
    assert len(hashes) == 1
    assert sorted(f.name for f in tmp_path.iterdir() if f.suffix == ".tmp") == []
    # an outdated template (wrong generator version) is rebuilt
    conn = sqlite3.connect(tmp_path / "world.sqlite")
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'generator_version'")
    conn.commit()
    conn.close()
    monkeypatch.setattr(world_module, "BUILD_DIR", tmp_path)
    monkeypatch.setattr(world_module, "_template_checked", set())
    with World.open(world_module.template_path()) as world:
        assert world.content_hash() == hashes.pop()


def test_cli_builds_into_out_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert world_cli(["build", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "world.sqlite").is_file()
    assert "300 orders" in capsys.readouterr().out


def test_policy_corpus_is_complete_and_well_formed() -> None:
    docs = load_policies()
    assert len(docs) >= 30
    assert len({d.id for d in docs}) == len(docs)
    assert {d.id.split("-")[1] for d in docs} == set(AREAS)
    for doc in docs:
        words = len(doc.text.split())
        assert 80 <= words <= 250, (doc.id, words)
        assert doc.text.startswith(f"# {doc.id} {doc.title}")
        assert doc.area == AREAS[doc.id.split("-")[1]]
    by_id = {d.id: d for d in docs}
    assert "above 500 USD require manager approval" in by_id["POL-REF-002"].text
    assert "within 30 days of" in by_id["POL-RTN-001"].text
    assert "Gold tier: within 4 business hours" in by_id["POL-SLA-001"].text
    assert "75 USD per person per day" in by_id["POL-EXP-001"].text


def test_injected_documents_and_tickets_are_marked() -> None:
    docs = {d.id: d for d in load_policies()}
    injected = [d for d in docs.values() if "ignore prior instructions" in d.text.lower()]
    assert [d.id for d in injected] == list(INJECTED_DOCS)
    path = template_path()
    bodies = _rows(path, "SELECT id FROM tickets WHERE body LIKE '%ignore your previous%'")
    assert [r[0] for r in bodies] == list(INJECTED_TICKETS)
    assert _rows(path, f"SELECT order_id FROM tickets WHERE id = '{INJECTED_TICKETS[0]}'")[0][0]
