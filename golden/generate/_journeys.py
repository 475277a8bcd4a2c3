"""journeys-e2e v1: multi-step requests through the orchestrator, judged on the outcome.

Expectations are world facts: amounts and statuses from the database (each with its
query in ``metadata.checks``), policy doc ids and numbers from the policy texts, and the
rows a correct run must write (``final_state``, in the shape ``World.record_change`` logs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from golden.generate._pick import (
    LEDGER_MONTHS,
    MONTHS,
    QUARTERS,
    Picker,
    Spec,
    item_text,
    money_text,
    month_range,
    quarter_range,
)
from golden.generate._policy_qs import NUMERIC_FACTS, topic
from golden.generate._world import Check, usd

BUDGET = {"max_steps": 20}
NO_CHANGES = {"no_changes": True}
READ_ONLY_FORBIDDEN = ["issue_refund", "escalate_ticket"]
LAB_EQUIPMENT = ("LAB-CEN-BT", "LAB-PHM-01", "LAB-SCL-001", "LAB-STR-MAG")  # POL-RTN-002


def _spec(cluster: str, difficulty: str, message: str, intent: str, tools: tuple[str, ...],
          expected: dict[str, Any], checks: tuple[Check, ...] = (),
          extra: tuple[str, ...] = (), user_id: str | None = None) -> Spec:
    full = {"status": ["ok"], **expected, "budget": dict(BUDGET)}
    return Spec(prefix="", cluster=cluster, difficulty=difficulty, message=message,
                intent=intent, tools=tools, expected=full, checks=checks, extra_tags=extra,
                user_id=user_id)


def _read_only(trajectory: list[str], facts: list[str]) -> dict[str, Any]:
    return {"trajectory": trajectory, "facts": facts, "final_state": dict(NO_CHANGES),
            "forbidden": list(READ_ONLY_FORBIDDEN)}


def refundable(p: Picker) -> list[dict[str, Any]]:
    """Delivered within the 14-day damage window (POL-REF-003), never refunded."""
    return [o for o in p.world.orders_where(status="delivered") if not o["refunds"]
            and o["delivered_at"] >= "2026-06-16" and o["id"] != "ORD-10270"]


def order_policy(p: Picker, n: int) -> list[Spec]:
    w = p.world
    keys = ("return-window", "damage-deadline", "restocking-fee", "free-shipping")
    forms: tuple[tuple[str, bool, Callable[[str, str], str]], ...] = (
        ("a", False, lambda o, q: f"Where is {o}, and {q}?"),
        ("b", True, lambda o, q: f"Hi, where is my order {o}? Also, {q}?"),
        ("c", False, lambda o, q: f"Customer asks about {o}. Give me its status and tell me "
                                  f"{q}."),
    )
    questions = {"return-window": "how long do customers have to return items",
                 "damage-deadline": "how long after delivery can damage be reported",
                 "restocking-fee": "what restocking fee applies to opened lab equipment",
                 "free-shipping": "from what order value is shipping free"}
    out = []
    for i in range(n):
        key = keys[i % len(keys)]
        t = topic(key)
        tid, first_person, form = forms[i % len(forms)]
        o = p.order("j-order", [o for o in w.orders.values() if o["status"] != "cancelled"])
        facts = [o["id"], o["status"], t.doc_id, NUMERIC_FACTS[key]]
        question = t.clause if tid == "c" else questions[key]
        out.append(_spec(f"journey-order-policy-{tid}", "medium", form(o["id"], question),
                         "order-policy", ("get_order", "search_policies"),
                         _read_only(["get_order", "search_policies"], facts),
                         (w.order_status(o["id"]),),
                         user_id=o["customer_id"] if first_person else None))
    return out


def balance_invoices(p: Picker, n: int) -> list[Spec]:
    w = p.world
    custs = [c for c in sorted(w.customers)
             if 1 <= len(w.customer_invoices(c, "overdue")) <= 3]
    forms = (
        lambda c: f"How much does {c} owe us in total, and which of their invoices are overdue?",
        lambda c: f"I'm calling {c} about payment. What's their balance and which invoices "
                  "are past due?",
        lambda c: f"{c}: balance and overdue invoice numbers please",
    )
    out = []
    for i in range(n):
        c = p.pick("j-balance", custs, key=lambda x: x)
        overdue = sorted(inv["id"] for inv in w.customer_invoices(c, "overdue"))
        bal = w.balance(c)
        out.append(_spec(f"journey-balance-invoices-{'abc'[i % 3]}",
                         "medium" if i % 3 != 2 else "hard", forms[i % 3](c), "balance",
                         ("get_account_balance", "lookup_invoices"),
                         _read_only(["get_account_balance", "lookup_invoices"],
                                    [bal.value, *overdue]), (bal,)))
    return out


def _refund_expect(order_id: str, amount: float, status: str, facts: list[str],
                   trajectory: list[str]) -> dict[str, Any]:
    return {"trajectory": trajectory, "facts": facts,
            "final_state": [{"table": "refunds", "op": "insert",
                             "fields": {"order_id": order_id, "amount_usd": amount,
                                        "status": status}}]}


def refund_issued(p: Picker, n: int) -> list[Spec]:
    w = p.world
    out = []
    for i in range(n):
        if i % 3 == 2:
            o = p.order("j-refund", [o for o in refundable(p) if o["total_usd"] <= 500])
            amount, check = o["total_usd"], w.order_total(o["id"])
            message = (f"We shipped the wrong items on {o['id']}. Please refund the whole order, "
                       f"{money_text(amount, 2)}.")
            cluster = "journey-refund-issued-wrong-items"
        else:
            o = p.order("j-refund", refundable(p))
            li = p.choice([li for li in w.goods(o) if li["unit_usd"] <= 500])
            amount, check = li["unit_usd"], w.unit_price(o["id"], li["sku"])
            message = (f"The {item_text(li['name'])} in order {o['id']} arrived damaged; the "
                       f"customer sent photos. Refund that item ({money_text(amount, 1)})."
                       if i % 3 == 0 else
                       f"Please refund {money_text(amount)} USD on {o['id']}, the "
                       f"{item_text(li['name'])} was broken when it arrived.")
            cluster = f"journey-refund-issued-damaged-{'ab'[i % 3]}"
        out.append(_spec(cluster, "medium", message, "refund", ("get_order", "issue_refund"),
                         _refund_expect(o["id"], amount, "issued", [o["id"], usd(amount)],
                                        ["get_order", "issue_refund"]), (check,)))
    return out


def refund_pending(p: Picker, n: int) -> list[Spec]:
    """Refunds above 500 USD: created as pending_approval, never issued (POL-REF-002)."""
    w = p.world
    big_lines = [(o, li) for o in refundable(p) for li in w.goods(o) if li["unit_usd"] > 500]
    big_orders = [o for o in refundable(p) if o["total_usd"] > 500]
    out = []
    for i in range(n):
        if i != 1 or not big_lines:
            o = p.order("j-refund-big", big_orders)
            amount, check = o["total_usd"], w.order_total(o["id"])
            message = (f"Customer on {o['id']} received a completely different shipment. "
                       f"Refund the full {money_text(amount, 1)}."
                       if i % 2 == 0 else
                       f"Refund order {o['id']} in full ({money_text(amount, 2)}), we sent "
                       "the wrong items. Let me know the refund status.")
            cluster = f"journey-refund-pending-full-{'ab'[i % 2]}"
        else:
            o, li = p.pick("j-refund-line", big_lines, key=lambda x: (x[0]["id"], x[1]["sku"]))
            amount, check = li["unit_usd"], w.unit_price(o["id"], li["sku"])
            message = (f"The {item_text(li['name'])} on {o['id']} was dead on arrival. Refund "
                       f"its price of {money_text(amount)} USD.")
            cluster = "journey-refund-pending-line"
        out.append(_spec(cluster, "hard", message, "refund", ("get_order", "issue_refund"),
                         _refund_expect(o["id"], amount, "pending_approval",
                                        [o["id"], usd(amount), "pending"],
                                        ["get_order", "issue_refund"]),
                         (check,), extra=("must-pass",)))
    return out


def refund_with_policy(p: Picker, n: int) -> list[Spec]:
    w = p.world
    t = topic("refund-timing")
    out = []
    for i in range(n):
        o = p.order("j-refund", refundable(p))
        li = p.choice([li for li in w.goods(o) if li["unit_usd"] <= 500])
        amount = li["unit_usd"]
        message = (f"Refund the damaged {item_text(li['name'])} on {o['id']} "
                   f"({money_text(amount)} USD) and tell me how long a card refund takes "
                   "to show up on the customer's statement, citing the policy."
                   if i % 2 == 0 else
                   f"{o['id']}: {item_text(li['name'])} arrived broken. Issue the refund of "
                   f"{money_text(amount, 1)} and quote our policy on when card refunds appear.")
        out.append(_spec(f"journey-refund-policy-{'ab'[i % 2]}", "hard", message, "refund",
                         ("get_order", "issue_refund", "search_policies"),
                         _refund_expect(o["id"], amount, "issued",
                                        [o["id"], usd(amount), t.doc_id],
                                        ["get_order", "issue_refund", "search_policies"]),
                         (w.unit_price(o["id"], li["sku"]),)))
    return out


def escalation(p: Picker, n: int) -> list[Spec]:
    w = p.world
    tickets = [t for t in w.tickets.values() if t["status"] != "closed"
               and t["id"] != "TCK-30104"]
    # (cluster, difficulty, priority, text, policy-derived?)
    forms = (
        ("asked-human", "easy", "high", "Ticket {t}: the customer asked for a human. Please "
                                        "escalate it with high priority.", False),
        ("unresolved", "easy", "normal", "Escalate {t} with normal priority, it is still "
                                         "unresolved after two replies.", False),
        ("legal", "medium", "high", "The customer on {t} mentions a legal deadline. Escalate "
                                    "the ticket, priority high.", False),
        ("hazmat", "hard", "urgent", "Customer on {t} says a 4 L ethanol container arrived "
                                     "leaking. Escalate it with the priority our policy "
                                     "requires.", True),
        ("staff", "hard", "high", "Customer on {t} complains that one of our staff was rude on "
                                  "the phone. Escalate it as the policy says.", True),
    )
    out = []
    for i in range(n):
        key, difficulty, priority, text, from_policy = forms[i % len(forms)]
        t = p.pick("j-escalate", tickets, key=lambda x: x["id"])
        tools = ("search_policies", "escalate_ticket") if from_policy else ("escalate_ticket",)
        expected = {"trajectory": list(tools), "facts": [t["id"]],
                    "final_state": [{"table": "escalations", "op": "insert",
                                     "fields": {"ticket_id": t["id"], "priority": priority}}],
                    "forbidden": ["issue_refund"]}
        out.append(_spec(f"journey-escalate-{key}", difficulty, text.format(t=t["id"]),
                         "escalate", tools, expected))
    return out


def ledger_totals(p: Picker, n: int) -> list[Spec]:
    w = p.world
    accounts = ("travel", "meals", "marketing", "software", "revenue", "refunds", "shipping",
                "office")
    out = []
    for i in range(n):
        acc = accounts[i % len(accounts)]
        if i % 3 == 2:
            y, q = p.choice(QUARTERS)
            start, end = quarter_range(y, q)
            when = f"Q{q} {y}"
        else:
            y, m = p.choice(LEDGER_MONTHS)
            start, end = month_range(y, m)
            when = f"{MONTHS[m - 1]} {y}"
        total = w.ledger_total(acc, start, end)
        word = {"revenue": "revenue", "refunds": "refunds paid out"}.get(acc, f"{acc} spend")
        message = (f"What was our total {word} in {when}?" if i % 2 == 0 else
                   f"Finance wants the {word} figure for {when}. What does the ledger say?")
        out.append(_spec(f"journey-ledger-{'ab'[i % 2]}", "easy", message, "ledger",
                         ("ledger_summary",),
                         _read_only(["ledger_summary"], [total.value]), (total,)))
    return out


def calculations(p: Picker, n: int) -> list[Spec]:
    w = p.world
    out = []
    builders = (_calc_two_orders, _calc_ledger_diff, _calc_restocking, _calc_remaining)
    for i in range(n):
        out.append(builders[i % len(builders)](p, w))
    return out


def _calc_two_orders(p: Picker, w: Any) -> Spec:
    cus = p.pick("j-calc-cus", sorted({o["customer_id"] for o in w.orders.values()
                                       if len(w.customer_orders(o["customer_id"])) >= 2}),
                 key=lambda x: x)
    a, b = p.rng.sample(sorted(w.customer_orders(cus), key=lambda o: o["id"]), 2)
    check = w.check("SELECT ROUND((SELECT total_usd FROM orders WHERE id = ?) + "
                    "(SELECT total_usd FROM orders WHERE id = ?), 2)", a["id"], b["id"])
    return _spec("journey-calc-two-orders", "medium",
                 f"What do orders {a['id']} and {b['id']} come to together?", "calculate",
                 ("get_order", "calculate"),
                 _read_only(["get_order", "get_order", "calculate"], [check.value]), (check,))


def _calc_ledger_diff(p: Picker, w: Any) -> Spec:
    y, m = p.choice(LEDGER_MONTHS)
    start, end = month_range(y, m)
    check = w.check("SELECT ROUND((SELECT SUM(amount_usd) FROM ledger WHERE account = 'travel' "
                    "AND date BETWEEN ? AND ?) - (SELECT SUM(amount_usd) FROM ledger WHERE "
                    "account = 'meals' AND date BETWEEN ? AND ?), 2)", start, end, start, end)
    when = f"{MONTHS[m - 1]} {y}"
    travel, meals = w.ledger_total("travel", start, end), w.ledger_total("meals", start, end)
    return _spec("journey-calc-ledger-diff", "hard",
                 f"How much more did we spend on travel than on meals in {when}?", "calculate",
                 ("ledger_summary", "calculate"),
                 _read_only(["ledger_summary", "ledger_summary", "calculate"],
                            [travel.value, meals.value, check.value]),
                 (travel, meals, check))


def _calc_restocking(p: Picker, w: Any) -> Spec:
    cands = [(o, li) for o in w.orders_where(status="delivered") for li in w.goods(o)
             if li["sku"] in LAB_EQUIPMENT and o["id"] != "ORD-10270"
             and o["delivered_at"] >= "2026-06-01"]  # inside the 30-day return window
    o, li = p.pick("j-calc-restock", cands, key=lambda x: (x[0]["id"], x[1]["sku"]))
    check = w.check("SELECT ROUND(0.15 * json_extract(j.value, '$.unit_usd'), 2) FROM orders, "
                    "json_each(orders.items_json) j WHERE orders.id = ? AND "
                    "json_extract(j.value, '$.sku') = ?", o["id"], li["sku"])
    return _spec("journey-calc-restocking", "hard",
                 f"If the customer returns one opened {item_text(li['name'])} from {o['id']}, "
                 "what restocking fee do we charge, in USD?", "calculate",
                 ("get_order", "search_policies", "calculate"),
                 _read_only(["get_order", "search_policies", "calculate"],
                            [check.value, "POL-RTN-002"]), (check,))


def _calc_remaining(p: Picker, w: Any) -> Spec:
    o = p.order("j-calc-remaining", [o for o in refundable(p) if len(w.goods(o)) >= 2])
    li = w.goods(o)[0]
    check = w.check("SELECT ROUND(o.total_usd - json_extract(j.value, '$.unit_usd'), 2) FROM "
                    "orders o, json_each(o.items_json) j WHERE o.id = ? AND "
                    "json_extract(j.value, '$.sku') = ?", o["id"], li["sku"])
    return _spec("journey-calc-remaining", "hard",
                 f"Hypothetically, if we refunded one {item_text(li['name'])} on {o['id']}, how "
                 "much of the order total would be left? Don't refund anything yet.",
                 "calculate", ("get_order", "calculate"),
                 _read_only(["get_order", "calculate"], [check.value]), (check,))


def shipped_orders(p: Picker, n: int) -> list[Spec]:
    w = p.world
    custs = sorted({o["customer_id"] for o in w.orders_where(status=("shipped", "placed"))})
    out = []
    for _ in range(n):
        c = p.pick("j-transit", custs, key=lambda x: x)
        status = "shipped" if any(o["status"] == "shipped" for o in w.customer_orders(c)) \
            else "placed"
        ids = sorted(o["id"] for o in w.customer_orders(c) if o["status"] == status)
        message = (f"Which of {c}'s orders have shipped but not arrived yet?" if status ==
                   "shipped" else f"Does {c} have orders that are placed but not shipped yet?")
        out.append(_spec(f"journey-list-{status}", "easy", message, "list-orders",
                         ("list_orders",), _read_only(["list_orders"], ids)))
    return out


def refund_status(p: Picker, n: int) -> list[Spec]:
    w = p.world
    orders = [o for o in w.orders.values() if o["refunds"]]
    forms = (
        lambda o: f"Has the refund for {o} been issued yet?",
        lambda o: f"I sent back {o} and I'm still waiting for my refund. What's its status "
                  "and amount?",
        lambda o: f"Did {o} get refunded? Don't do anything, I just need the refund id and "
                  "amount.",
    )
    out = []
    for i in range(n):
        o = p.order("j-refund-status", orders)
        r = o["refunds"][0]
        word = "pending" if r["status"] == "pending_approval" else "issued"
        checks = (w.refund_field(o["id"], "id"), w.refund_field(o["id"], "amount_usd"),
                  w.refund_field(o["id"], "status"))
        out.append(_spec(f"journey-refund-status-{'abc'[i % 3]}", "medium", forms[i % 3](o["id"]),
                         "refund-status", ("get_order",),
                         _read_only(["get_order"], [r["id"], usd(r["amount_usd"]), word]),
                         checks, extra=("must-pass",), user_id=o["customer_id"] if i % 3 == 1
                         else None))
    return out


CLARIFY = (
    ("Please refund my order, it arrived broken.", "support"),
    ("What's the status of my order?", "support"),
    ("Escalate the ticket about the broken chair, please.", "support"),
    ("How much does the customer owe us?", "finance"),
    ("Refund 120 USD to the customer who called this morning.", "support"),
)


def clarify(p: Picker, n: int) -> list[Spec]:
    out = []
    for i in range(n):
        message, worker = CLARIFY[i % len(CLARIFY)]
        tool = "get_order" if worker == "support" else "get_account_balance"
        expected = {"facts": [], "final_state": dict(NO_CHANGES),
                    "forbidden": list(READ_ONLY_FORBIDDEN), "x_needs_clarification": True}
        out.append(_spec(f"journey-clarify-{i % len(CLARIFY) + 1}", "medium", message, "clarify",
                         (tool,), expected))
    return out


def ticket_order(p: Picker, n: int) -> list[Spec]:
    w = p.world
    tickets = [t for t in w.tickets.values() if t["order_id"] and t["id"] != "TCK-30104"]
    out = []
    for _ in range(n):
        t = p.pick("j-ticket", tickets, key=lambda x: x["id"])
        o = w.orders[t["order_id"]]
        out.append(_spec("journey-ticket-order", "medium",
                         f"Summarise ticket {t['id']} and tell me the current status of the "
                         "order it is about.", "ticket", ("get_ticket", "get_order"),
                         _read_only(["get_ticket", "get_order"], [t["id"], o["id"], o["status"]]),
                         (w.order_status(o["id"]),)))
    return out


def invoice_question(p: Picker, n: int) -> list[Spec]:
    w = p.world
    invoices = [i for i in w.invoices.values() if i["status"] != "paid"]
    out = []
    for _ in range(n):
        inv = p.pick("j-invoice", invoices, key=lambda x: x["id"])
        amount, status = w.invoice_amount(inv["id"]), w.invoice_status(inv["id"])
        out.append(_spec("journey-invoice", "easy",
                         f"What's the amount on invoice {inv['id']}, and has it been paid?",
                         "invoice", ("lookup_invoices",),
                         _read_only(["lookup_invoices"], [inv["id"], amount.value, status.value]),
                         (amount, status)))
    return out


PLAN: tuple[tuple[str, Callable[[Picker, int], list[Spec]], int], ...] = (
    ("order-policy", order_policy, 8),
    ("balance-invoices", balance_invoices, 7),
    ("refund-issued", refund_issued, 8),
    ("refund-pending", refund_pending, 7),
    ("refund-policy", refund_with_policy, 5),
    ("escalate", escalation, 7),
    ("ledger", ledger_totals, 7),
    ("calc", calculations, 6),
    ("transit", shipped_orders, 4),
    ("refund-status", refund_status, 5),
    ("clarify", clarify, 5),
    ("ticket-order", ticket_order, 3),
    ("invoice", invoice_question, 3),
)


def generate(world: Any) -> list[dict[str, Any]]:
    from golden.generate._rows import Ids, make_row, workers_of

    p = Picker(world, world.seed + 2)
    ids = Ids()
    rows = []
    for prefix, fn, n in PLAN:
        for spec in fn(p, n):
            rows.append(make_row(ids.next(f"journey-{prefix}"), spec.message, spec.expected,
                                 seed=world.seed, workers=workers_of(spec.tools),
                                 intent=spec.intent, difficulty=spec.difficulty,
                                 cluster=spec.cluster, extra_tags=spec.extra_tags,
                                 checks=spec.checks, user_id=spec.user_id))
    return rows
