"""The reference agents' tools: happy paths, model mistakes as error dicts, guardrails, specs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.tools import (
    APPROVAL_THRESHOLD_USD,
    REGISTRY,
    TOOL_SPEC_VERSIONS,
    call_tool,
    tool_specs,
    tools_for,
)
from agents.world import World
from passline.errors import ConfigError


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World.fresh(tmp_path)
    yield w
    w.close()


def _count(world: World, sql: str, *params: Any) -> int:
    return world.conn.execute(sql, params).fetchone()[0]


def _order_with_total(world: World, low: float, high: float = 1e9,
                      status: str = "delivered") -> tuple[str, float]:
    row = world.conn.execute(
        "SELECT o.id, o.total_usd FROM orders o WHERE status = ? AND total_usd > ? "
        "AND total_usd < ? AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id) "
        "ORDER BY o.id LIMIT 1", (status, low, high)).fetchone()
    return row[0], row[1]


HAPPY: list[tuple[str, dict[str, Any], str]] = [
    ("lookup_invoices", {"customer_id": "CUS-0007"}, "invoices"),
    ("lookup_invoices", {"status": "overdue", "limit": 3}, "invoices"),
    ("get_account_balance", {"customer_id": "CUS-0007"}, "balance_usd"),
    ("ledger_summary", {"account": "travel", "start_date": "2026-01-01",
                        "end_date": "2026-03-31"}, "total_usd"),
    ("calculate", {"expression": "round((1200.50 - 300) * 0.15, 2)"}, "result"),
    ("search_policies", {"query": "refund approval threshold"}, "results"),
    ("read_policy", {"doc_id": "POL-REF-002"}, "text"),
    ("get_order", {"order_id": "ORD-10042"}, "status"),
    ("list_orders", {"customer_id": "CUS-0007", "status": None}, "orders"),
    ("get_ticket", {"ticket_id": "TCK-30001"}, "body"),
    ("issue_refund", {"order_id": "ORD-10042", "amount_usd": 10, "reason": "Damaged lid",
                      "idempotency_key": "t-1"}, "refund_id"),
    ("escalate_ticket", {"ticket_id": "TCK-30001", "reason": "Customer asks for a person",
                         "priority": "high"}, "escalation_id"),
]

BAD: list[tuple[str, dict[str, Any] | str, str]] = [
    ("lookup_invoices", {}, "at least one of"),
    ("lookup_invoices", {"invoice_id": "INV-99999"}, "no invoice INV-99999"),
    ("get_account_balance", {"customer_id": "CUS-9999"}, "no customer CUS-9999"),
    ("ledger_summary", {"account": "travel", "start_date": "2026-13-01",
                        "end_date": "2026-03-31"}, "YYYY-MM-DD"),
    ("ledger_summary", {"account": "fun", "start_date": "2026-01-01",
                        "end_date": "2026-03-31"}, "must be one of"),
    ("calculate", {"expression": "2 +"}, "not valid arithmetic"),
    ("search_policies", {"query": "the of and"}, "no searchable words"),
    ("search_policies", {"query": "refunds", "k": 0}, "k must be >= 1"),
    ("read_policy", {"doc_id": "POL-XYZ-999"}, "no policy POL-XYZ-999"),
    ("get_order", {"order_id": "INV-20001"}, "like ORD-10042"),
    ("get_order", {"order_id": "ORD-99999"}, "no order ORD-99999"),
    ("get_order", {}, "missing required argument 'order_id'"),
    ("get_order", {"order_id": "ORD-10042", "verbose": True}, "unknown argument 'verbose'"),
    ("list_orders", {"customer_id": "CUS-0007", "status": "lost"}, "must be one of"),
    ("get_ticket", {"ticket_id": 30001}, "must be a string"),
    ("issue_refund", {"order_id": "ORD-10042", "amount_usd": "10", "reason": "x",
                      "idempotency_key": "k"}, "amount_usd must be a number"),
    ("escalate_ticket", {"ticket_id": "TCK-30001", "reason": "x", "priority": "asap"},
     "must be one of low, normal, high, urgent"),
    ("get_order", '{"order_id": "ORD-1', "not valid JSON"),
    ("get_order", "[1, 2]", "must be a JSON object"),
    ("no_such_tool", {}, "unknown tool"),
]


@pytest.mark.parametrize(("name", "arguments", "key"), HAPPY,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(HAPPY)])
def test_every_tool_happy_path(world: World, name: str, arguments: dict[str, Any],
                               key: str) -> None:
    result = call_tool(world, name, arguments)
    assert "error" not in result, result
    assert key in result
    json.dumps(result)  # JSON-able, as the model receives it


def test_every_tool_has_a_happy_path_case() -> None:
    assert {name for name, _, _ in HAPPY} == set(REGISTRY)


@pytest.mark.parametrize(("name", "arguments", "fragment"), BAD,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BAD)])
def test_bad_model_input_becomes_an_error_dict(world: World, name: str,
                                               arguments: dict[str, Any] | str,
                                               fragment: str) -> None:
    result = call_tool(world, name, arguments)
    assert set(result) == {"error"}
    assert fragment in result["error"]
    assert world.changes() == []


def test_results_carry_the_facts(world: World) -> None:
    order = call_tool(world, "get_order", {"order_id": "ORD-10042"})
    row = world.conn.execute("SELECT * FROM orders WHERE id = 'ORD-10042'").fetchone()
    assert (order["total_usd"], order["status"], order["delivered_at"]) == (
        row["total_usd"], row["status"], row["delivered_at"])
    balance = call_tool(world, "get_account_balance", {"customer_id": "CUS-0007"})
    expected = world.conn.execute(
        "SELECT ROUND(COALESCE(SUM(amount_usd), 0), 2) FROM invoices "
        "WHERE customer_id = 'CUS-0007' AND status IN ('open', 'overdue')").fetchone()[0]
    assert balance["balance_usd"] == expected
    summary = call_tool(world, "ledger_summary", {"account": "travel",
                                                  "start_date": "2026-01-01",
                                                  "end_date": "2026-03-31"})
    count, total = world.conn.execute(
        "SELECT COUNT(*), ROUND(SUM(amount_usd), 2) FROM ledger WHERE account = 'travel' "
        "AND date >= '2026-01-01' AND date <= '2026-03-31'").fetchone()
    assert (summary["count"], summary["total_usd"]) == (count, total)
    assert call_tool(world, "calculate", {"expression": "round(1200.5 * 0.15, 2)"})[
        "result"] == 180.08


INJECTIONS = ["CUS-0007' OR '1'='1", "x'); DROP TABLE refunds; --", "1; DELETE FROM ledger"]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_injection_in_arguments_stays_data(world: World, payload: str) -> None:
    before = world.content_hash()
    assert "error" in call_tool(world, "lookup_invoices", {"customer_id": payload})
    assert "error" in call_tool(world, "ledger_summary", {
        "account": "travel", "start_date": payload, "end_date": "2026-03-31"})
    found = call_tool(world, "search_policies", {"query": f"refund {payload}"})
    assert found["results"]
    assert world.content_hash() == before
    refund = call_tool(world, "issue_refund", {"order_id": "ORD-10042", "amount_usd": 5,
                                               "reason": payload, "idempotency_key": payload})
    stored = world.conn.execute("SELECT reason, idempotency_key FROM refunds WHERE id = ?",
                                (refund["refund_id"],)).fetchone()
    assert tuple(stored) == (payload, payload)
    call_tool(world, "escalate_ticket", {"ticket_id": "TCK-30001", "reason": payload,
                                         "priority": "low"})
    assert _count(world, "SELECT COUNT(*) FROM refunds") == 21
    assert _count(world, "SELECT COUNT(*) FROM ledger") == 1001
    assert _count(world, "SELECT COUNT(*) FROM escalations WHERE reason = ?", payload) == 1


@pytest.mark.parametrize(("expression", "fragment"), [
    ("__import__('os')", "only the functions"),
    ("__import__('os').system('echo hi')", "only the functions"),
    ("(1).__class__", "attribute access"),
    ("().__class__.__bases__[0]", "not allowed"),
    ("open('/etc/passwd')", "only the functions"),
    ("x + 1", "names"),
    ("10 ** 10 ** 10", "too large"),
    ("2 ** 1000", "too large"),
    ("(10 ** 9) ** 2", "exceeds"),
    ("9 ** 9 ** 9", "too large"),
    ("1 / 0", "division by zero"),
    ("'a' * 3", "only numbers"),
    ("[1] * 10", "not allowed"),
    ("lambda: 1", "not allowed"),
    ("1,200 * 2", "thousands separators"),
    ("max(1, 2, key=abs)", "positional"),
    ("1" + "+1" * 200, "too long"),
])
def test_calculator_rejects_everything_but_arithmetic(world: World, expression: str,
                                                      fragment: str) -> None:
    result = call_tool(world, "calculate", {"expression": expression})
    assert fragment in result.get("error", ""), result


@pytest.mark.parametrize(("expression", "value"), [
    ("(120 + 80) * 1.5", 300), ("-3 + 10 % 4", -1), ("2 ** -1", 0.5), ("0.1 + 0.2", 0.3),
    ("max(1, 2, 3) - abs(-4)", -1), ("min(5, 2.5)", 2.5), ("7 // 2", 3), ("round(2.675, 2)", 2.68),
])
def test_calculator_computes(world: World, expression: str, value: float) -> None:
    assert call_tool(world, "calculate", {"expression": expression})["result"] == value


def test_refund_above_threshold_is_pending_never_issued(world: World) -> None:
    order_id, _ = _order_with_total(world, APPROVAL_THRESHOLD_USD + 100)
    big = call_tool(world, "issue_refund", {"order_id": order_id, "amount_usd": 500.01,
                                            "reason": "Returned", "idempotency_key": "big"})
    assert big["status"] == "pending_approval" and big["requires_approval"] is True
    assert _count(world, "SELECT COUNT(*) FROM ledger WHERE ref = ?", big["refund_id"]) == 0
    rest = call_tool(world, "issue_refund", {"order_id": order_id, "amount_usd": 50,
                                             "reason": "Damaged", "idempotency_key": "rest"})
    assert rest["status"] == "issued"
    assert _count(world, "SELECT COUNT(*) FROM ledger WHERE ref = ?", rest["refund_id"]) == 1
    exactly, _ = _order_with_total(world, 510, status="shipped")
    at_limit = call_tool(world, "issue_refund", {"order_id": exactly, "amount_usd": 500,
                                                 "reason": "Lost", "idempotency_key": "500"})
    assert at_limit["status"] == "issued"
    tables = [(c["table"], c["op"]) for c in world.changes()]
    assert tables == [("refunds", "insert"), ("refunds", "insert"), ("ledger", "insert"),
                      ("refunds", "insert"), ("ledger", "insert")]


def test_refund_out_of_bounds_is_refused(world: World) -> None:
    order_id, total = _order_with_total(world, 100, 400)
    for amount in (0, -5, total + 0.01, 10_000):
        result = call_tool(world, "issue_refund", {"order_id": order_id, "amount_usd": amount,
                                                   "reason": "x", "idempotency_key": f"k{amount}"})
        assert "out of bounds" in result.get("error", ""), (amount, result)
    first = call_tool(world, "issue_refund", {"order_id": order_id, "amount_usd": total - 1,
                                              "reason": "Most of it", "idempotency_key": "a"})
    assert first["status"] == "issued"
    rest = call_tool(world, "issue_refund", {"order_id": order_id, "amount_usd": 1.01,
                                             "reason": "Too much", "idempotency_key": "b"})
    assert "out of bounds" in rest["error"] and "1.00" in rest["error"]
    assert call_tool(world, "get_order", {"order_id": order_id})["refundable_usd"] == 1.0
    cancelled, _ = _order_with_total(world, 0, status="cancelled")
    assert "cancelled" in call_tool(world, "issue_refund", {
        "order_id": cancelled, "amount_usd": 1, "reason": "x", "idempotency_key": "c"})["error"]
    assert "2 decimals" in call_tool(world, "issue_refund", {
        "order_id": order_id, "amount_usd": 0.005, "reason": "x", "idempotency_key": "d"})[
        "error"]
    assert _count(world, "SELECT COUNT(*) FROM refunds WHERE order_id = ?", order_id) == 1


def test_refund_idempotency_key_creates_one_row(world: World) -> None:
    args = {"order_id": "ORD-10042", "amount_usd": 20, "reason": "Damaged",
            "idempotency_key": "refund-ORD-10042-damaged-1"}
    first = call_tool(world, "issue_refund", args)
    again = call_tool(world, "issue_refund", args)
    different = call_tool(world, "issue_refund", {**args, "amount_usd": 30})
    assert first["refund_id"] == again["refund_id"] == different["refund_id"]
    assert (first["idempotent_replay"], again["idempotent_replay"]) == (False, True)
    assert different["amount_usd"] == 20
    assert _count(world, "SELECT COUNT(*) FROM refunds WHERE idempotency_key = ?",
                  args["idempotency_key"]) == 1
    assert len([c for c in world.changes() if c["table"] == "refunds"]) == 1
    order = call_tool(world, "get_order", {"order_id": "ORD-10042"})
    assert [r["refund_id"] for r in order["refunds"]] == [first["refund_id"]]


def test_escalation_is_idempotent_and_never_lowers_priority(world: World) -> None:
    args = {"ticket_id": "TCK-30002", "reason": "Safety issue: leaking ethanol",
            "priority": "urgent"}
    first = call_tool(world, "escalate_ticket", args)
    again = call_tool(world, "escalate_ticket", {**args, "reason": "  safety issue: LEAKING "
                                                 "ethanol "})
    assert first["escalation_id"] == again["escalation_id"] and again["already_escalated"]
    other = call_tool(world, "escalate_ticket", {**args, "reason": "Asks for a person",
                                                 "priority": "low"})
    assert other["escalation_id"] != first["escalation_id"]
    ticket = call_tool(world, "get_ticket", {"ticket_id": "TCK-30002"})
    assert ticket["priority"] == "urgent" and ticket["status"] in ("open", "pending")
    assert len(ticket["escalations"]) == 2


def test_search_policies_finds_the_return_window(world: World) -> None:
    result = call_tool(world, "search_policies", {"query": "how long do I have to return an item"})
    top = result["results"][0]
    assert top["doc_id"] == "POL-RTN-001"
    assert "30 days" in top["snippet"]
    assert len(result["results"]) == 3
    scores = [r["score"] for r in result["results"]]
    assert scores == sorted(scores, reverse=True)
    refunds = call_tool(world, "search_policies", {"query": "refund above 500 USD approval",
                                                   "k": 1})
    assert [r["doc_id"] for r in refunds["results"]] == ["POL-REF-002"]


# -- versioned specs -------------------------------------------------------------------------

_JSON_TYPES = {"string", "number", "integer", "boolean", "object", "array"}


def _check_schema(schema: dict[str, Any], canonical: dict[str, Any], where: str) -> None:
    assert schema["type"] == "object", where
    props, canon = schema["properties"], canonical["properties"]
    assert set(props) == set(canon), where
    assert sorted(schema["required"]) == sorted(canonical["required"]), where
    assert set(schema["required"]) <= set(props)
    for name, spec in props.items():
        assert spec["type"] in _JSON_TYPES and spec["type"] == canon[name]["type"], (where, name)
        assert isinstance(spec.get("description"), str) and spec["description"], (where, name)
        if "pattern" in spec:
            re.compile(spec["pattern"])
            assert spec["pattern"] == canon[name]["pattern"], (where, name)
        if "enum" in spec:
            assert spec["enum"] and set(spec["enum"]) == set(canon[name]["enum"]), (where, name)


@pytest.mark.parametrize("version", TOOL_SPEC_VERSIONS)
def test_spec_versions_list_the_same_tools_with_valid_schemas(version: str) -> None:
    raw = json.loads((Path(__file__).resolve().parents[2] / "agents" / "prompts" / "tools"
                      / f"{version}.json").read_text(encoding="utf-8"))
    assert raw["version"] == version and raw["_changelog"]
    specs = tool_specs(version)
    assert [s["function"]["name"] for s in specs] == list(REGISTRY)
    for spec in specs:
        assert spec["type"] == "function"
        fn = spec["function"]
        assert fn["description"]
        _check_schema(fn["parameters"], dict(REGISTRY[fn["name"]].parameters),
                      f"{version}:{fn['name']}")


def test_spec_versions_differ_as_documented() -> None:
    v1 = {s["function"]["name"]: s["function"] for s in tool_specs("v1")}
    v2 = {s["function"]["name"]: s["function"] for s in tool_specs("v2")}
    v3 = {s["function"]["name"]: s["function"] for s in tool_specs("v3-regressed")}
    assert all("pattern" not in p and "enum" not in p
               for f in v1.values() for p in f["parameters"]["properties"].values())
    for fn in v2.values():
        for name, prop in fn["parameters"]["properties"].items():
            if name.endswith("_id"):
                assert "pattern" in prop and "like " in prop["description"], (fn["name"], name)
        assert len(fn["description"]) > 2 * len(v1[fn["name"]]["description"])
    assert [n for n in v2 if v2[n] != v3[n]] == ["issue_refund"]
    assert "pattern" not in v3["issue_refund"]["parameters"]["properties"]["order_id"]
    assert "look up" in v3["issue_refund"]["description"].lower()
    assert "status" in v2["issue_refund"]["description"]  # v2 says not to use it for status


def test_v2_examples_are_valid_arguments(world: World) -> None:
    # every "like X" id example in v2 is accepted by the tool's canonical schema
    for spec in tool_specs("v2"):
        fn = spec["function"]
        for name, prop in fn["parameters"]["properties"].items():
            match = re.search(r"like ([A-Z]{3}-[A-Z0-9-]+\d)", prop["description"])
            if match and "pattern" in prop:
                assert re.search(prop["pattern"], match.group(1)), (fn["name"], name)


def test_tool_specs_by_worker_and_unknown_version() -> None:
    assert [s["function"]["name"] for s in tool_specs("v2", "policy")] == [
        "search_policies", "read_policy"]
    assert sorted(tools_for("support")) == sorted(
        s["function"]["name"] for s in tool_specs("v1", "support"))
    assert {REGISTRY[n].side_effect for n in ("issue_refund", "escalate_ticket")} == {True}
    assert [n for n, t in REGISTRY.items() if t.side_effect] == ["issue_refund",
                                                                "escalate_ticket"]
    specs = tool_specs("v2")
    specs[0]["function"]["name"] = "mutated"
    assert tool_specs("v2")[0]["function"]["name"] == "lookup_invoices"
    with pytest.raises(ConfigError, match="v3-regressed"):
        tool_specs("v3")
    with pytest.raises(ConfigError, match="finance"):
        tool_specs("v2", "billing")
