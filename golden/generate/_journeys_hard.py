"""journeys-e2e v2: harder journeys added to v1's (multi-hop, references, arithmetic, ...).

Every expectation is a world fact (a database value with its query in ``metadata.checks``,
or a policy number checked by ``_policy_qs.check_topics``), never a model's output. Each
template is one cluster (``journey-hard-<template>``) and every case is ``difficulty:hard``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from golden.generate._journeys import (
    LAB_EQUIPMENT,
    NO_CHANGES,
    READ_ONLY_FORBIDDEN,
    _read_only,
    _refund_expect,
    _spec,
    refundable,
)
from golden.generate._pick import Picker, Spec, item_text, money_text, month_range
from golden.generate._policy_qs import NUMERIC_FACTS, topic
from golden.generate._world import Check, WorldFacts, usd

APPROVAL_USD = 500.0  # POL-REF-002
RETURN_WINDOW_START = "2026-05-31"  # delivered on/after: inside POL-RTN-001's 30 days
FURNITURE_PREFIX = "FUR-"
RESTOCK_RATE = {"lab": 0.15, "furniture": 0.10}  # POL-RTN-002
UNIT = "json_extract(j.value, '$.unit_usd')"
UNIT_FROM = ("FROM orders, json_each(orders.items_json) j "
             "WHERE orders.id = ? AND json_extract(j.value, '$.sku') = ?")
ROOM_SQL = ("SELECT ROUND(o.total_usd - COALESCE((SELECT SUM(amount_usd) FROM refunds WHERE "
            "order_id = o.id), 0), 2) FROM orders o WHERE o.id = ?")


def _hard(template: str, message: str, intent: str, tools: tuple[str, ...],
          expected: dict[str, Any], checks: tuple[Check, ...] = (),
          extra: tuple[str, ...] = (), user_id: str | None = None) -> Spec:
    return _spec(f"journey-hard-{template}", "hard", message, intent, tools, expected, checks,
                 extra, user_id)


def _word(status: str) -> str:
    return "pending" if status == "pending_approval" else status


def _refund_status(amount: float) -> str:
    return "pending_approval" if amount > APPROVAL_USD else "issued"


def _small_line(p: Picker, w: WorldFacts, o: dict[str, Any]) -> dict[str, Any]:
    return p.choice([li for li in w.goods(o) if li["unit_usd"] <= APPROVAL_USD])


def _refundable_small(p: Picker) -> list[dict[str, Any]]:
    return [o for o in refundable(p)
            if any(li["unit_usd"] <= APPROVAL_USD for li in p.world.goods(o))]


# -- multi-hop ------------------------------------------------------------------------------


def multihop_returned(p: Picker, n: int) -> list[Spec]:
    """Customer -> their one returned order -> its refund (id, amount, status)."""
    w = p.world
    custs = []
    for c in sorted(w.customers):
        ret = [o for o in w.customer_orders(c) if o["status"] == "returned"]
        if len(ret) == 1 and len(ret[0]["refunds"]) == 1:
            custs.append(c)
    forms = (
        lambda c: f"{c} returned an order at some point. Which order was it, how much did we "
                  "refund on it and is that refund issued?",
        lambda c: f"Find the order {c} sent back to us and tell me the refund id and amount.",
    )
    out = []
    for i in range(n):
        c = p.pick("h-returned", custs, key=lambda x: x)
        o = next(o for o in w.customer_orders(c) if o["status"] == "returned")
        r = o["refunds"][0]
        checks = (w.check("SELECT id FROM orders WHERE customer_id = ? AND status = 'returned'",
                          c),
                  w.refund_field(o["id"], "id"), w.refund_field(o["id"], "amount_usd"),
                  w.refund_field(o["id"], "status"))
        facts = [o["id"], r["id"], usd(r["amount_usd"])]
        if i % 2 == 0:
            facts.append(_word(r["status"]))
        out.append(_hard("multihop-returned", forms[i % 2](c), "refund-status",
                         ("list_orders", "get_order"),
                         _read_only(["list_orders", "get_order"], facts), checks,
                         extra=("must-pass",)))
    return out


def multihop_ticket(p: Picker, n: int) -> list[Spec]:
    """Ticket -> the order it is about -> the amount still refundable on it."""
    w = p.world
    # orders with something left to refund: "0.00" is a poor fact ("nothing left" is right too)
    tickets = [t for t in w.tickets.values() if t["order_id"] and t["id"] != "TCK-30104"
               and w.orders[t["order_id"]]["status"] != "cancelled"
               and w.refundable_cents(w.orders[t["order_id"]]) > 0]
    out = []
    for i in range(n):
        t = p.pick("h-ticket", tickets, key=lambda x: x["id"])
        o = w.orders[t["order_id"]]
        room = w.check(ROOM_SQL, o["id"])
        message = (f"Ticket {t['id']} is about one of the customer's orders. Which order, and "
                   "how much of it could we still refund?" if i % 2 == 0 else
                   f"Before I reply on {t['id']}: look up the order that ticket refers to and "
                   "tell me its refundable amount. Just information, no action.")
        out.append(_hard("multihop-ticket", message, "ticket", ("get_ticket", "get_order"),
                         _read_only(["get_ticket", "get_order"], [o["id"], room.value]),
                         (w.ticket_field(t["id"], "order_id"), room)))
    return out


def multihop_invoice(p: Picker, n: int) -> list[Spec]:
    """Invoice -> its order -> that order's delivery date."""
    w = p.world
    invoices = [i for i in w.invoices.values() if i["order_id"]
                and w.orders[i["order_id"]]["status"] == "delivered"]
    out = []
    for i in range(n):
        inv = p.pick("h-invoice", invoices, key=lambda x: x["id"])
        o = w.orders[inv["order_id"]]
        message = (f"Which order is invoice {inv['id']} for, and on what date was that order "
                   "delivered?" if i % 2 == 0 else
                   f"The customer is disputing {inv['id']}, saying the goods never came. When "
                   "was the order behind that invoice delivered?")
        checks = (w.check("SELECT order_id FROM invoices WHERE id = ?", inv["id"]),
                  w.check("SELECT delivered_at FROM orders WHERE id = ?", o["id"]))
        out.append(_hard("multihop-invoice", message, "invoice", ("lookup_invoices", "get_order"),
                         _read_only(["lookup_invoices", "get_order"],
                                    [o["id"], o["delivered_at"]]), checks))
    return out


# -- references, distractors, several intents ------------------------------------------------


def _other_order(p: Picker, w: WorldFacts, o: dict[str, Any]) -> dict[str, Any]:
    same = [x for x in w.customer_orders(o["customer_id"]) if x["id"] != o["id"]]
    return p.choice(same or [x for x in w.orders.values() if x["id"] != o["id"]])


def reference(p: Picker, n: int) -> list[Spec]:
    """Two orders named, the one to refund picked by reference ("the second one", "that")."""
    w = p.world
    forms = (
        lambda a, b, it, m: f"I'm looking at two orders, {a} and {b}. In the second one, "
                            f"the {it} arrived broken. Refund that item ({m}).",
        lambda a, b, it, m: f"{b} and {a} are both from this customer. The first one is the "
                            f"problem: the {it} came smashed. Please refund it, {m}.",
        lambda a, b, it, m: f"{a} is fine. The issue is with {b}: the {it} was damaged in "
                            f"transit. Issue a refund of {m} on that order.",
    )
    out = []
    for i in range(n):
        o = p.order("h-ref", _refundable_small(p))
        li = _small_line(p, w, o)
        other = _other_order(p, w, o)
        amount = li["unit_usd"]
        name = item_text(li["name"]).removeprefix("the ")
        message = forms[i % len(forms)](other["id"], o["id"], name, money_text(amount, i % 3))
        expected = _refund_expect(o["id"], amount, "issued", [o["id"], usd(amount)],
                                  ["get_order", "issue_refund"])
        expected["forbidden"] = [{"name": "issue_refund", "arguments": {"order_id": other["id"]}}]
        out.append(_hard("reference", message, "refund", ("get_order", "issue_refund"),
                         expected, (w.unit_price(o["id"], li["sku"]),)))
    return out


def distractor(p: Picker, n: int) -> list[Spec]:
    """A second id of another kind in the message that must not be acted on."""
    w = p.world
    out = []
    for i in range(n):
        o = p.order("h-distract", _refundable_small(p))
        li = _small_line(p, w, o)
        amount = li["unit_usd"]
        if i % 2 == 0:
            inv = p.pick("h-distract-inv", [x for x in w.invoices.values()
                                            if x["order_id"] and x["order_id"] != o["id"]],
                         key=lambda x: x["id"])
            wrong = inv["order_id"]
            message = (f"The customer quotes invoice {inv['id']} in their email, but that "
                       "invoice is for another purchase. The damaged "
                       f"{item_text(li['name'])} came in {o['id']}: refund that item "
                       f"({money_text(amount, 1)}).")
        else:
            t = p.pick("h-distract-tck", [x for x in w.tickets.values() if x["order_id"]
                                          and x["order_id"] != o["id"]
                                          and x["id"] != "TCK-30104"], key=lambda x: x["id"])
            wrong = t["order_id"]
            message = (f"Ticket {t['id']} is about a different order, leave it alone. On "
                       f"{o['id']} the {item_text(li['name'])} arrived broken; refund "
                       f"{money_text(amount)} USD for it.")
        expected = _refund_expect(o["id"], amount, "issued", [o["id"], usd(amount)],
                                  ["get_order", "issue_refund"])
        expected["forbidden"] = ["escalate_ticket",
                                 {"name": "issue_refund", "arguments": {"order_id": wrong}}]
        out.append(_hard("distractor", message, "refund", ("get_order", "issue_refund"),
                         expected, (w.unit_price(o["id"], li["sku"]),)))
    return out


def three_intents(p: Picker, n: int) -> list[Spec]:
    """Order status + a customer's balance + a policy number, in one message."""
    w = p.world
    keys = ("return-window", "damage-deadline", "free-shipping", "refund-threshold")
    custs = [c for c in sorted(w.customers) if w.customer_invoices(c, "open")
             or w.customer_invoices(c, "overdue")]
    forms = (
        lambda o, c, q: f"Three things: where is {o}, what does {c} owe us, and tell me {q}.",
        lambda o, c, q: f"Quick ones. 1) status of {o} 2) {c}'s outstanding balance 3) {q}",
        lambda o, c, q: f"Can you tell me the status of {o}? Also I need the balance on "
                        f"{c}. And remind me {q}.",
    )
    out = []
    for i in range(n):
        key = keys[i % len(keys)]
        t = topic(key)
        o = p.order("h-three", [x for x in w.orders.values() if x["status"] != "cancelled"])
        c = p.pick("h-three-cus", [x for x in custs if x != o["customer_id"]], key=lambda x: x)
        bal = w.balance(c)
        tools = ("get_order", "get_account_balance", "search_policies")
        facts = [o["id"], o["status"], bal.value, t.doc_id, NUMERIC_FACTS[key]]
        out.append(_hard("three-intents", forms[i % len(forms)](o["id"], c, t.clause),
                         "multi-intent", tools, _read_only(list(tools), facts),
                         (w.order_status(o["id"]), bal)))
    return out


def clarify_plus_clear(p: Picker, n: int) -> list[Spec]:
    """One clear read-only request and one that names no record: answer one, ask about the other."""
    w = p.world
    custs = [c for c in sorted(w.customers) if w.customer_invoices(c, "overdue")]
    out = []
    for i in range(n):
        if i % 2 == 0:
            c = p.pick("h-clarify-cus", custs, key=lambda x: x)
            bal = w.balance(c)
            message = (f"Two things: refund the order that arrived broken last week, and tell "
                       f"me {c}'s current balance." if i % 4 == 0 else
                       f"What's the balance on {c}? And escalate the ticket about the late "
                       "delivery, the customer is upset.")
            tools, facts, check = ("get_account_balance",), [bal.value], bal
        else:
            inv = p.pick("h-clarify-inv", [x for x in w.invoices.values()
                                           if x["status"] != "paid"], key=lambda x: x["id"])
            check = w.invoice_amount(inv["id"])
            message = (f"Refund 80 USD to the customer who phoned earlier. Also, what is the "
                       f"amount on invoice {inv['id']}?" if i % 4 == 1 else
                       f"How much is invoice {inv['id']} for? Then escalate that customer's "
                       "complaint ticket as urgent.")
            tools, facts = ("lookup_invoices",), [inv["id"], check.value]
        expected = {"trajectory": list(tools), "facts": facts, "final_state": dict(NO_CHANGES),
                    "forbidden": list(READ_ONLY_FORBIDDEN), "x_needs_clarification": True}
        out.append(_hard("clarify-plus-clear", message, "clarify", tools, expected, (check,)))
    return out


# -- arithmetic ---------------------------------------------------------------------------


def restocking_net(p: Picker, n: int) -> list[Spec]:
    """Refund after POL-RTN-002's restocking fee (15% lab equipment, 10% furniture)."""
    w = p.world
    cands = [(o, li) for o in w.orders_where(status="delivered") if not o["refunds"]
             and o["delivered_at"] >= RETURN_WINDOW_START and o["id"] != "ORD-10270"
             for li in w.goods(o)
             if li["sku"] in LAB_EQUIPMENT or li["sku"].startswith(FURNITURE_PREFIX)]
    out = []
    for i in range(n):
        pool = [x for x in cands if x[1]["sku"].startswith(FURNITURE_PREFIX) == (i % 2 == 1)]
        if i >= 2:
            pool = [x for x in pool if x[1]["qty"] >= 2] or pool
        o, li = p.pick("h-restock", pool, key=lambda x: (x[0]["id"], x[1]["sku"]))
        rate = RESTOCK_RATE["furniture" if li["sku"].startswith(FURNITURE_PREFIX) else "lab"]
        units = 2 if i >= 2 and li["qty"] >= 2 else 1
        check = w.check(f"SELECT ROUND(? * (1 - ?) * {UNIT}, 2) {UNIT_FROM}", units, rate, o["id"],
                        li["sku"])
        name = item_text(li["name"]).removeprefix("the ")
        what = f"an opened {name}" if units == 1 else f"two opened units of the {name}"
        message = (f"Customer is returning {what} from {o['id']}, in resalable condition. "
                   "After our restocking fee, how much do we refund?" if i % 2 == 0 else
                   f"{o['id']}: the customer sends back {what}, unused and like new. What "
                   "refund amount is left once the restocking fee is taken off?")
        tools = ("get_order", "search_policies", "calculate")
        out.append(_hard("restocking-net", message, "calculate", tools,
                         _read_only(list(tools), [check.value, "POL-RTN-002"]), (check,)))
    return out


def units_refund(p: Picker, n: int) -> list[Spec]:
    """Refund k of a line's q units: k x unit price, pending above 500 USD."""
    w = p.world
    cands = [(o, li) for o in refundable(p) for li in w.goods(o) if li["qty"] >= 2]
    out = []
    big = [x for x in cands if x[1]["qty"] >= 3 and 2 * x[1]["unit_usd"] > APPROVAL_USD]
    for i in range(n):
        pool = big if i % 4 == 3 and big else cands  # one in four above the approval limit
        o, li = p.pick("h-units", pool, key=lambda x: (x[0]["id"], x[1]["sku"]))
        k = 2 if li["qty"] >= 3 else 1
        amount = round(k * li["unit_usd"], 2)
        status = _refund_status(amount)
        check = w.check(f"SELECT ROUND(? * {UNIT}, 2) {UNIT_FROM}", k, o["id"], li["sku"])
        name = item_text(li["name"]).removeprefix("the ")
        message = (f"{k} of the {li['qty']} units of {name} on {o['id']} arrived damaged. Refund "
                   f"{'those' if k > 1 else 'that one'}, at the unit price from the order."
                   if i % 2 == 0 else
                   f"On {o['id']} the customer got {li['qty']} x {name}; {k} "
                   f"{'were' if k > 1 else 'was'} damaged on arrival. Work out the refund for "
                   "the damaged ones and issue it.")
        facts = [o["id"], usd(amount)] + (["pending"] if status != "issued" else [])
        out.append(_hard("units-refund", message, "refund", ("get_order", "issue_refund"),
                         _refund_expect(o["id"], amount, status, facts,
                                        ["get_order", "issue_refund"]),
                         (check,), extra=("must-pass",) if status != "issued" else ()))
    return out


# -- dates in words, negations, earlier refunds ----------------------------------------------

WORD_PERIODS = (  # (words, start, end): relative to the world's today, 2026-06-30
    ("in last March", *month_range(2026, 3)),
    ("in the first quarter of this year", "2026-01-01", "2026-03-31"),
    ("last September", *month_range(2025, 9)),
    ("in the second half of last year", "2025-07-01", "2025-12-31"),
)


def dates_in_words(p: Picker, n: int) -> list[Spec]:
    w = p.world
    out = []
    march = sorted({o["customer_id"] for o in w.orders.values()
                    if o["created"].startswith("2026-03")})
    accounts = ("travel", "software", "marketing", "meals")
    for i in range(n):
        if i % 2 == 0:
            c = p.pick("h-dates-cus", march, key=lambda x: x)
            start, end = month_range(2026, 3)
            ids = sorted(o["id"] for o in w.customer_orders(c) if start <= o["created"] <= end)
            check = w.check("SELECT group_concat(id, ',') FROM (SELECT id FROM orders WHERE "
                            "customer_id = ? AND created BETWEEN ? AND ? ORDER BY id)",
                            c, start, end)
            message = (f"Which orders did {c} place last March?" if i % 4 == 0 else
                       f"{c} says they ordered something from us last March. Which order ids "
                       "were those?")
            out.append(_hard("dates-in-words", message, "list-orders", ("list_orders",),
                             _read_only(["list_orders"], ids), (check,)))
        else:
            words, start, end = WORD_PERIODS[1:][(i // 2) % (len(WORD_PERIODS) - 1)]
            acc = accounts[(i // 2) % len(accounts)]
            total = w.ledger_total(acc, start, end)
            out.append(_hard("dates-in-words", f"How much did we spend on {acc} {words}?",
                             "ledger", ("ledger_summary",),
                             _read_only(["ledger_summary"], [total.value]), (total,)))
    return out


def negation(p: Picker, n: int) -> list[Spec]:
    """An action word negated: look things up, change nothing."""
    w = p.world
    out = []
    tickets = [t for t in w.tickets.values() if t["status"] != "closed" and t["id"] != "TCK-30104"]
    for i in range(n):
        if i % 2 == 0:
            t = p.pick("h-neg-tck", tickets, key=lambda x: x["id"])
            message = (f"Do not escalate {t['id']}. I only want its current priority and "
                       "status." if i % 4 == 0 else
                       f"No escalation on {t['id']} please, the customer calmed down. What "
                       "priority and status does it have now?")
            checks = (w.ticket_field(t["id"], "priority"), w.ticket_field(t["id"], "status"))
            out.append(_hard("negation", message, "ticket", ("get_ticket",),
                             _read_only(["get_ticket"], [t["id"], t["priority"], t["status"]]),
                             checks))
        else:
            o = p.order("h-neg-ord", _refundable_small(p))
            li = _small_line(p, w, o)
            name = item_text(li["name"]).removeprefix("the ")
            message = (f"{o['id']}: the {name} arrived dented, but don't refund it yet: "
                       "what would a refund of that item come to?"
                       if i % 4 == 1 else
                       f"Don't issue anything on {o['id']}, just tell me the unit price of the "
                       f"{name} on it.")
            check = w.unit_price(o["id"], li["sku"])
            out.append(_hard("negation", message, "order", ("get_order",),
                             _read_only(["get_order"], [check.value]), (check,)))
    return out


def earlier_refunds(p: Picker, n: int) -> list[Spec]:
    """Orders with refunds already: what was refunded, what may still be refunded."""
    w = p.world
    with_room = [o for o in w.orders.values() if o["refunds"] and w.refundable_cents(o) > 0]
    full = [o for o in w.orders.values() if o["refunds"] and w.refundable_cents(o) <= 0]
    out = []
    for i in range(n):
        o = p.order("h-earlier", with_room if i % 2 == 0 else full)
        room = w.check(ROOM_SQL, o["id"])
        done = w.check("SELECT ROUND(SUM(amount_usd), 2) FROM refunds WHERE order_id = ?",
                       o["id"])
        message = (f"Part of {o['id']} was refunded before. How much was refunded already, and "
                   "how much more could we refund if the customer asks? Don't refund anything."
                   if i % 2 == 0 else
                   f"The customer on {o['id']} wants more money back. What has been refunded on "
                   "that order so far and what is the most we could still refund?")
        # fully refunded: "nothing left" is as right as "0.00", so the fact is the refunds' ids
        left = [room.value] if i % 2 == 0 else sorted(r["id"] for r in o["refunds"])
        expected = _read_only(["get_order"], [done.value, *left])
        expected["x_refundable_usd"] = float(room.value)
        out.append(_hard("earlier-refunds", message, "refund-status", ("get_order",),
                         expected, (done, room), extra=("must-pass",)))
    return out


HARD_PLAN: tuple[tuple[str, Callable[[Picker, int], list[Spec]], int], ...] = (
    ("multihop", multihop_returned, 4),
    ("multihop", multihop_ticket, 4),
    ("multihop", multihop_invoice, 4),
    ("reference", reference, 4),
    ("distractor", distractor, 4),
    ("three-intents", three_intents, 4),
    ("clarify-mixed", clarify_plus_clear, 4),
    ("restocking", restocking_net, 4),
    ("units-refund", units_refund, 4),
    ("dates", dates_in_words, 4),
    ("negation", negation, 4),
    ("earlier-refunds", earlier_refunds, 4),
)


def generate(world: Any) -> list[dict[str, Any]]:
    """The v2 additions only (v2 = v1's rows, unchanged, followed by these)."""
    from golden.generate._rows import Ids, make_row, workers_of

    p = Picker(world, world.seed + 22)
    ids = Ids()
    rows = []
    for prefix, fn, n in HARD_PLAN:
        for spec in fn(p, n):
            rows.append(make_row(ids.next(f"journey-hard-{prefix}"), spec.message,
                                 spec.expected, seed=world.seed,
                                 workers=workers_of(spec.tools), intent=spec.intent,
                                 difficulty=spec.difficulty, cluster=spec.cluster,
                                 extra_tags=spec.extra_tags, checks=spec.checks,
                                 user_id=spec.user_id))
    return rows
