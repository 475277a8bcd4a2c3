"""The agents' memory: persistence, upserts, playbook relevance and the context budget."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from agents.memory import MemoryStore, load_seed_playbooks
from agents.tools._text import approx_tokens
from passline.errors import AgentError


def test_memory_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "mem" / "memory.sqlite"
    with MemoryStore(path) as store:
        store.remember("u1", "preferred_contact", "email")
        store.remember("u1", "preferred_contact", "phone")  # upsert replaces
        store.remember("u2", "company", "Northgate Labs")
        store.add_episode("u1", "s1", "Asked about invoice INV-20042.", "2026-06-01T09:00:00")
        store.add_episode("u1", "s2", "Refund RFD-40021 issued for ORD-10042.",
                          "2026-06-20T09:00:00")
        store.add_playbook("custom", ["pallet"], ["Check pallet size."])
    with MemoryStore(path) as store:
        assert store.facts("u1") == {"preferred_contact": "phone"}
        assert store.facts("u2") == {"company": "Northgate Labs"}
        assert store.facts("nobody") == {}
        recent = store.recent_episodes("u1", k=5)
        assert [e.session_id for e in recent] == ["s2", "s1"]
        assert [e.session_id for e in store.recent_episodes("u1", k=1)] == ["s2"]
        assert [p.name for p in store.playbooks_for("ship a pallet", k=3)] == ["custom"]
        seeded = {p.name for p in load_seed_playbooks()}
        assert {p.name for p in store.playbooks()} == seeded | {"custom"}


def test_seed_playbooks_are_relevant_by_term_overlap(tmp_path: Path) -> None:
    store = MemoryStore(tmp_path / "m.sqlite")
    assert store.playbooks_for("Where is my refund for ORD-10042?", k=1)[0].name == \
        "refund status"
    assert store.playbooks_for("I want a refund, the chair arrived damaged", k=1)[0].name == \
        "refund request"
    assert store.playbooks_for("How much did we spend on travel last quarter?", k=1)[0].name \
        == "spend report"
    assert store.playbooks_for("Good morning!", k=3) == []
    refund = store.playbooks_for("refund please", k=1)[0]
    assert any("POL-REF" in step for step in refund.steps)
    assert refund.render().startswith("Playbook 'refund")
    store.close()


def test_relevant_memory_includes_only_relevant_items(tmp_path: Path) -> None:
    store = MemoryStore(tmp_path / "m.sqlite")
    store.remember("u1", "preferred_contact", "email, never phone")
    store.remember("u1", "favourite_colour", "green")
    store.add_episode("u1", "s1", "Refund RFD-40021 for damaged chair in ORD-10042 issued.",
                      "2026-06-01T09:00:00")
    store.add_episode("u1", "s2", "Asked for volume pricing on gloves.", "2026-06-02T09:00:00")
    store.add_episode("u2", "s3", "Refund for another user's order.", "2026-06-03T09:00:00")
    text = store.relevant_memory("u1", "Is my refund for the chair done? Contact me by email.",
                                 budget_tokens=500)
    assert "preferred_contact: email" in text and "RFD-40021" in text
    assert "green" not in text and "gloves" not in text and "another user" not in text
    assert store.relevant_memory("u1", "What's the weather?", budget_tokens=500) == ""
    assert store.relevant_memory("nobody", "refund", budget_tokens=500) == ""
    store.close()


def test_relevant_memory_respects_the_budget(tmp_path: Path) -> None:
    store = MemoryStore(tmp_path / "m.sqlite")
    for i in range(40):
        store.add_episode("u1", f"s{i}", f"Refund question {i} about order ORD-{10000 + i} "
                          "and its refund status, answered from the refund policy.",
                          f"2026-05-{1 + i % 28:02d}T{i % 24:02d}:00:00")
        store.remember("u1", f"refund_note_{i:02d}", f"prefers refunds to card ({i})")
    previous = ""
    for budget in (0, 5, 20, 40, 80, 160, 320, 640, 5000):
        text = store.relevant_memory("u1", "refund status", budget_tokens=budget)
        assert approx_tokens(text) <= budget
        assert len(text) >= len(previous)  # a larger budget never shows less
        previous = text
    assert previous.count("\n- ") == 80  # everything fits in the largest budget
    # the most relevant item first: episodes share two terms with the text, facts one
    small = store.relevant_memory("u1", "refund status", budget_tokens=40)
    assert small.startswith("Relevant past conversations:") and small.count("\n- ") == 1
    assert "[2026-05-28T03:00:00]" in small  # the most recent among equally relevant ones
    tiny = store.relevant_memory("u1", "refund status", budget_tokens=20)
    assert tiny.startswith("Known facts about the user:") and tiny.count("\n- ") == 1
    store.close()


def test_store_refuses_unknown_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    MemoryStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(AgentError, match="schema version 99"):
        MemoryStore(path)


def test_store_is_safe_across_threads(tmp_path: Path) -> None:
    store = MemoryStore(tmp_path / "m.sqlite", seed_playbooks=False)
    assert store.playbooks() == []

    def work(n: int) -> None:
        for i in range(25):
            store.add_episode("u1", f"t{n}", f"episode {n}-{i}", f"2026-06-01T00:{i:02d}:00")
            store.remember("u1", f"k{n}", str(i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.recent_episodes("u1", k=1000)) == 100
    assert store.facts("u1") == {f"k{n}": "24" for n in range(4)}
    store.close()
