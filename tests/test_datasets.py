"""The shipped golden datasets: regenerable byte for byte, valid, and true to the world."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agents.tools import APPROVAL_THRESHOLD_USD, REGISTRY
from agents.world import get_policy, template_path
from golden.generate import DATASETS, build_all, write_all
from golden.generate._world import run_check
from passline.golden import diff, load_cases, read_lock, validate

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden"
KNOWN_TOOLS = set(REGISTRY)
REFS = [f"{name}@{version}" for name, version in DATASETS]
ID_PATTERNS = {
    "ORD": re.compile(r"\bORD-\d{5}\b"), "INV": re.compile(r"\bINV-\d{5}\b"),
    "CUS": re.compile(r"\bCUS-\d{4}\b"), "TCK": re.compile(r"\bTCK-\d{5}\b"),
    "RFD": re.compile(r"\bRFD-\d{5}\b"),
}
POLICY_ID = re.compile(r"\bPOL-[A-Z]{3}-\d{3}\b")
AMOUNT = re.compile(r"^\d+\.\d{2}$")


def _rows(ref: str) -> list[dict[str, Any]]:
    name, version = ref.split("@")
    path = GOLDEN / name / version / "data.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


ALL_ROWS = [(ref, row) for ref in REFS for row in _rows(ref)]


@pytest.fixture(scope="module")
def world() -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{template_path()}?mode=ro", uri=True)
    yield conn
    conn.close()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _refunds_expected(row: dict[str, Any]) -> list[tuple[str, float, str | None]]:
    """(order id, amount, status or None) of every refund a row expects to be made."""
    exp = row["expected"]
    out = [(c["arguments"]["order_id"], c["arguments"]["amount_usd"], None)
           for c in exp.get("tool_calls", []) if c["name"] == "issue_refund"
           and "amount_usd" in c["arguments"]]
    if isinstance(exp.get("final_state"), list):
        out += [(s["fields"]["order_id"], s["fields"]["amount_usd"], s["fields"]["status"])
                for s in exp["final_state"] if s["table"] == "refunds"]
    return out


def test_generator_reproduces_the_committed_files_byte_for_byte(tmp_path):
    written = write_all(tmp_path)
    assert len(written) == 2 * len(DATASETS)
    for path in written:
        rel = path.relative_to(tmp_path)
        assert path.read_bytes() == (GOLDEN / rel).read_bytes(), (
            f"golden/{rel} differs from the generator's output; run `python -m golden.generate`"
            ", review the diff, then bump the dataset version")
    assert build_all() == build_all()


@pytest.mark.parametrize("ref", REFS)
def test_each_dataset_validates_against_the_lock_and_the_tool_registry(ref):
    assert [str(p) for p in validate(ref, root=ROOT, known_tools=KNOWN_TOOLS)] == []


def test_lock_pins_every_generated_version_with_its_case_count():
    lock = read_lock(ROOT)  # also pins hand-written datasets (judge-calibration)
    assert {key: lock[key]["n_cases"] for key in REFS} == {ref: len(_rows(ref)) for ref in REFS}


def test_sizes_and_mix():
    sizes = {ref: len(_rows(ref)) for ref in REFS}
    assert 100 <= sizes["tools-unit@v1"] <= 120
    assert sizes["tools-unit@v2"] >= 160
    assert sizes["journeys-e2e@v1"] >= 60
    assert sizes["guardrails-redteam@v1"] >= 30
    for ref in ("tools-unit@v1", "tools-unit@v2"):
        multi = sum("intent:multi" in r["tags"] for r in _rows(ref))
        assert 0.2 <= multi / sizes[ref] <= 0.3, ref
    v2_status = [r for r in _rows("tools-unit@v2") if "intent:refund-status" in r["tags"]]
    assert len(v2_status) >= 15


@pytest.mark.parametrize("ref", ["tools-unit@v1", "tools-unit@v2"])
def test_tools_unit_versions_load_as_cases(ref):
    cases = load_cases(ref, root=ROOT, known_tools=KNOWN_TOOLS)
    assert len(cases) == len(_rows(ref))
    assert all(c.expected["tool_calls"] for c in cases)


def test_v2_keeps_v1_ids_and_changes_only_the_reviewed_mistakes():
    d = diff("tools-unit@v1", "tools-unit@v2", root=ROOT)
    assert d.removed == ()
    changed = {c.id for c in d.changed}
    noted = {r["id"] for r in _rows("tools-unit@v2") if "review_note" in r["metadata"]}
    assert changed == noted and len(noted) == 4
    card = (GOLDEN / "tools-unit" / "v2" / "card.md").read_text(encoding="utf-8")
    assert all(f"`{case_id}`" in card for case_id in noted)


@pytest.mark.parametrize(("ref", "row"), ALL_ROWS, ids=[f"{r}:{w['id']}" for r, w in ALL_ROWS])
def test_every_id_exists_in_the_world(world, ref, row):
    text = " ".join([row["input"]["message"], row["input"].get("user_id", ""),
                     *_strings(row["expected"])])
    tables = {"ORD": "orders", "INV": "invoices", "CUS": "customers", "TCK": "tickets",
              "RFD": "refunds"}
    for kind, pattern in ID_PATTERNS.items():
        for ident in pattern.findall(text):
            found = world.execute(f"SELECT 1 FROM {tables[kind]} WHERE id = ?",
                                  (ident,)).fetchone()
            assert found, f"{ref}:{row['id']} names {ident}, which is not in the world"
    for doc_id in POLICY_ID.findall(text):
        assert get_policy(doc_id) is not None, f"{ref}:{row['id']} cites unknown {doc_id}"


def test_every_recorded_check_still_holds(world):
    n = 0
    for ref, row in ALL_ROWS:
        for check in row["metadata"].get("checks", []):
            assert run_check(world, check) == check["value"], (ref, row["id"], check)
            n += 1
    assert n > 200


def test_amounts_are_facts_of_the_world(world):
    for ref, row in ALL_ROWS:
        values = {c["value"] for c in row["metadata"].get("checks", [])}
        for fact in row["expected"].get("facts", []):
            if AMOUNT.match(fact):
                assert fact in values, f"{ref}:{row['id']}: fact {fact} has no world check"
        for order_id, amount, status in _refunds_expected(row):
            assert f"{amount:.2f}" in values, f"{ref}:{row['id']}: refund {amount} unchecked"
            total, done = world.execute(
                "SELECT total_usd, (SELECT COALESCE(SUM(amount_usd), 0) FROM refunds "
                "WHERE order_id = o.id) FROM orders o WHERE id = ?", (order_id,)).fetchone()
            assert 0 < amount <= total - done + 1e-9, f"{ref}:{row['id']}: not refundable"
            if status is not None:
                wanted = "pending_approval" if amount > APPROVAL_THRESHOLD_USD else "issued"
                assert status == wanted, f"{ref}:{row['id']}: POL-REF-002 says {wanted}"


@pytest.mark.parametrize("ref", REFS)
def test_tags_are_well_formed(ref):
    rows = _rows(ref)
    for row in rows:
        tags = row["tags"]
        kinds = [t.split(":", 1)[0] for t in tags if ":" in t]
        assert kinds.count("intent") == 1 and kinds.count("difficulty") == 1, row["id"]
        assert kinds.count("worker") >= 1, row["id"]
        assert set(kinds) <= {"intent", "difficulty", "worker", "attack"}, row["id"]
        assert all(t == "must-pass" or ":" in t for t in tags), row["id"]
        assert {t.split(":")[1] for t in tags if t.startswith("difficulty:")} <= {
            "easy", "medium", "hard"}
        assert row["metadata"]["cluster"] and "seed" in row["metadata"]["source"]
        calls = row["expected"].get("tool_calls", [])
        workers = {f"worker:{REGISTRY[c['name']].worker}" for c in calls}
        assert workers <= set(tags), row["id"]
        if "intent:multi" in tags:
            assert len(calls) == 2 and "difficulty:hard" in tags, row["id"]
        if "intent:refund-status" in tags:
            assert "issue_refund" in row["expected"]["forbidden"], row["id"]
            assert all(c["name"] != "issue_refund" for c in calls), row["id"]
        if ref.startswith("guardrails-redteam"):
            assert kinds.count("attack") == 1, row["id"]
            # must-pass exactly on the attacks that try to get money out
            refund_attack = any(t in tags for t in (
                "attack:injection-user", "attack:injection-doc", "attack:injection-ticket",
                "attack:over-limit", "attack:social"))
            assert ("must-pass" in tags) == refund_attack, row["id"]
            if any(isinstance(f, dict) and f["name"] == "issue_refund"
                   for f in row["expected"].get("forbidden", [])):
                assert refund_attack, row["id"]
    assert any("must-pass" in r["tags"] for r in rows)


def test_pii_expectations_name_the_customers_real_contact_data(world):
    for ref, row in ALL_ROWS:
        values = row["expected"].get("x_pii_values", [])
        for value in values:
            found = world.execute("SELECT 1 FROM customers WHERE email = ? OR phone = ?",
                                  (value, value)).fetchone()
            assert found, f"{ref}:{row['id']}: {value} is no customer's e-mail or phone"


def test_journeys_v2_keeps_v1_unchanged_and_adds_at_least_40_hard_cases():
    d = diff("journeys-e2e@v1", "journeys-e2e@v2", root=ROOT)
    assert d.removed == () and d.changed == ()
    v1_ids = {r["id"] for r in _rows("journeys-e2e@v1")}
    new = [r for r in _rows("journeys-e2e@v2") if r["id"] not in v1_ids]
    assert len(new) >= 40
    for row in new:
        assert "difficulty:hard" in row["tags"], row["id"]
        assert row["metadata"]["cluster"].startswith("journey-hard-"), row["id"]
        assert row["metadata"].get("checks"), f"{row['id']}: no world check behind it"
    assert len({r["metadata"]["cluster"] for r in new}) >= 10
    card = (GOLDEN / "journeys-e2e" / "v2" / "card.md").read_text(encoding="utf-8")
    assert f"v2 extends v1 with {len(new)} harder cases" in card


def test_journeys_v2_refunds_name_one_order_and_forbid_the_distractor():
    for row in _rows("journeys-e2e@v2"):
        exp = row["expected"]
        wanted = {s["fields"]["order_id"] for s in exp["final_state"]
                  if isinstance(exp["final_state"], list) and s["table"] == "refunds"}
        banned = {f["arguments"]["order_id"] for f in exp.get("forbidden", [])
                  if isinstance(f, dict) and f["name"] == "issue_refund"}
        assert not wanted & banned, row["id"]
        if "x_needs_clarification" in exp:
            assert exp["final_state"] == {"no_changes": True}, row["id"]
            assert "issue_refund" in exp["forbidden"], row["id"]


def test_journeys_v2_restocking_rates_follow_pol_rtn_002():
    restock = [r for r in _rows("journeys-e2e@v2")
               if r["metadata"]["cluster"] == "journey-hard-restocking-net"]
    assert len(restock) >= 4
    text = " ".join(get_policy("POL-RTN-002").text.split())
    assert "15 percent of the item price for lab equipment" in text
    assert "10 percent for furniture" in text
    for row in restock:  # check params: (units, fee rate, order id, sku)
        (check,) = row["metadata"]["checks"]
        units, rate, _order_id, sku = check["params"]
        assert rate == (0.10 if sku.startswith("FUR-") else 0.15), row["id"]
        assert units == (2 if "two opened units" in row["input"]["message"] else 1), row["id"]
        assert "POL-RTN-002" in row["expected"]["facts"], row["id"]
