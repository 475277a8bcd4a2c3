"""tools-unit: two-intent messages (two expected tool calls; tagged intent:multi, hard)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from golden.generate._pick import (
    ACCOUNT_WORDS,
    LEDGER_MONTHS,
    MONTHS,
    Picker,
    Spec,
    item_text,
    money_text,
    month_range,
)
from golden.generate._policy_qs import TOPICS
from golden.generate._rows import call
from golden.generate._tu_single import refundable_orders

Builder = Callable[[Picker], tuple[str, list[dict[str, Any]], tuple[Any, ...], list[Any]]]


def _order_policy(p: Picker) -> tuple[str, list[dict[str, Any]], tuple[Any, ...], list[Any]]:
    o = p.order("multi-order", list(p.world.orders.values()))
    t = p.pick("multi-topic", [t for t in TOPICS if t.key in (
        "return-window", "damage-deadline", "free-shipping", "refund-timing", "restocking-fee")],
        key=lambda x: x.key)
    forms = (f"Where is {o['id']}, and can you tell me {t.clause}?",
             f"Two things: status of order {o['id']}, and {t.clause}.",
             f"Check {o['id']} for me and also look up {t.clause}.")
    return (p.choice(forms), [call("get_order", order_id=o["id"]), call("search_policies")],
            (p.world.order_status(o["id"]),), [])


def _balance_overdue(p: Picker) -> tuple[str, list[dict[str, Any]], tuple[Any, ...], list[Any]]:
    w = p.world
    cus = p.pick("multi-balance", sorted({i["customer_id"] for i in w.invoices.values()
                                          if i["status"] == "overdue"}), key=lambda x: x)
    forms = (f"What does {cus} owe in total, and which of their invoices are overdue?",
             f"For {cus}: outstanding balance plus the list of overdue invoices, please.",
             f"pull {cus}'s balance and their overdue invoices")
    return (p.choice(forms), [call("get_account_balance", customer_id=cus),
                              call("lookup_invoices", customer_id=cus, status="overdue")],
            (w.balance(cus),), [])


def _order_invoice(p: Picker) -> tuple[str, list[dict[str, Any]], tuple[Any, ...], list[Any]]:
    w = p.world
    inv = p.pick("multi-inv", [i for i in w.invoices.values() if i["order_id"]],
                 key=lambda x: x["id"])
    other = p.order("multi-order", [o for o in w.orders.values()
                                    if o["id"] != inv["order_id"]])
    forms = (f"Check the status of {other['id']} and the amount of invoice {inv['id']}.",
             f"Is invoice {inv['id']} paid? And where is order {other['id']}?",
             f"{inv['id']} amount + delivery status of {other['id']} pls")
    return (p.choice(forms), [call("get_order", order_id=other["id"]),
                              call("lookup_invoices", invoice_id=inv["id"])],
            (w.invoice_amount(inv["id"]), w.order_status(other["id"])), [])


def _ticket_escalate(p: Picker) -> tuple[str, list[dict[str, Any]], tuple[Any, ...], list[Any]]:
    w = p.world
    t = p.pick("multi-ticket", [t for t in w.tickets.values() if t["status"] != "closed"
                                and t["id"] != "TCK-30104"], key=lambda x: x["id"])
    pr = p.choice(("high", "urgent", "normal"))
    forms = (f"Read ticket {t['id']} and then escalate it with {pr} priority.",
             f"Summarise {t['id']} for me, and escalate it to a manager ({pr} priority).")
    return (p.choice(forms), [call("get_ticket", ticket_id=t["id"]),
                              call("escalate_ticket", ticket_id=t["id"], priority=pr)], (), [])


def _refund_timing(p: Picker) -> tuple[str, list[dict[str, Any]], tuple[Any, ...], list[Any]]:
    w = p.world
    o = p.order("multi-refund", refundable_orders(p))
    li = p.choice(w.goods(o))
    forms = (f"Refund {money_text(li['unit_usd'])} USD on {o['id']} for the damaged "
             f"{item_text(li['name'])}, and tell me how long it takes to reach the "
             "customer's card.",
             f"The {item_text(li['name'])} on {o['id']} arrived broken: refund "
             f"{money_text(li['unit_usd'], 1)} and look up how soon the customer sees it.")
    return (p.choice(forms), [call("issue_refund", order_id=o["id"], amount_usd=li["unit_usd"]),
                              call("search_policies")], (w.unit_price(o["id"], li["sku"]),), [])


def _two_ledgers(p: Picker) -> tuple[str, list[dict[str, Any]], tuple[Any, ...], list[Any]]:
    w = p.world
    a, b = p.rng.sample(["travel", "meals", "marketing", "software", "office"], 2)
    y, m = p.choice(LEDGER_MONTHS)
    start, end = month_range(y, m)
    when = f"{MONTHS[m - 1]} {y}"
    forms = (f"Compare {a} and {b} spend for {when}.",
             f"What were the {a} and the {b} totals in {when}?")
    return (p.choice(forms), [call("ledger_summary", account=a, start_date=start, end_date=end),
                              call("ledger_summary", account=b, start_date=start, end_date=end)],
            (w.ledger_total(a, start, end), w.ledger_total(b, start, end)), [])


def _two_orders(p: Picker) -> tuple[str, list[dict[str, Any]], tuple[Any, ...], list[Any]]:
    w = p.world
    orders = list(w.orders.values())
    a = p.order("multi-order", orders)
    b = p.order("multi-order", orders)
    forms = (f"What's the status of {a['id']} and {b['id']}?",
             f"Can you check both {a['id']} and {b['id']}? Customer says they're one shipment.")
    return (p.choice(forms), [call("get_order", order_id=a["id"]),
                              call("get_order", order_id=b["id"])],
            (w.order_status(a["id"]), w.order_status(b["id"])), [])


def _orders_balance(p: Picker) -> tuple[str, list[dict[str, Any]], tuple[Any, ...], list[Any]]:
    w = p.world
    cus = p.pick("multi-cus", sorted({o["customer_id"] for o in w.orders.values()}),
                 key=lambda x: x)
    forms = (f"List {cus}'s orders and tell me their outstanding balance.",
             f"Before I call {cus}: what have they ordered, and how much do they owe?")
    return (p.choice(forms), [call("list_orders", customer_id=cus),
                              call("get_account_balance", customer_id=cus)], (w.balance(cus),), [])


def _refund_status_policy(p: Picker) -> tuple[str, list[dict[str, Any]], tuple[Any, ...],
                                              list[Any]]:
    w = p.world
    o = p.order("multi-rs", [o for o in w.orders.values() if o["refunds"]])
    forms = (f"Has the refund on {o['id']} been issued, and how long do card refunds take?",
             f"Customer on {o['id']} asks where their refund is. Check it and the policy on "
             "refund timing.")
    return (p.choice(forms), [call("get_order", order_id=o["id"]), call("search_policies")],
            (w.refund_field(o["id"], "status"),), ["issue_refund"])


def _ticket_order(p: Picker) -> tuple[str, list[dict[str, Any]], tuple[Any, ...], list[Any]]:
    w = p.world
    t = p.pick("multi-ticket", [t for t in w.tickets.values() if t["order_id"]
                                and t["id"] != "TCK-30104"], key=lambda x: x["id"])
    other = p.order("multi-order", [o for o in w.orders.values()
                                    if o["customer_id"] == t["customer_id"]])
    forms = (f"Open ticket {t['id']} and also check order {other['id']} for the same customer.",)
    return (forms[0], [call("get_ticket", ticket_id=t["id"]),
                       call("get_order", order_id=other["id"])], (), [])


def _ledger_account(p: Picker) -> tuple[str, list[dict[str, Any]], tuple[Any, ...], list[Any]]:
    w = p.world
    acc = p.choice(["travel", "meals"])
    y, m = p.choice(LEDGER_MONTHS)
    start, end = month_range(y, m)
    t = next(t for t in TOPICS if t.key == ("hotel-limit" if acc == "travel" else "meal-limit"))
    word = p.choice(ACCOUNT_WORDS[acc])
    message = (f"What was our total {word} in {MONTHS[m - 1]} {y}, and remind me "
               f"{t.clause}.")
    return (message, [call("ledger_summary", account=acc, start_date=start, end_date=end),
                      call("search_policies")], (w.ledger_total(acc, start, end),), [])


BUILDERS: tuple[tuple[str, Builder], ...] = (
    ("order-policy", _order_policy),
    ("balance-overdue", _balance_overdue),
    ("order-invoice", _order_invoice),
    ("ticket-escalate", _ticket_escalate),
    ("refund-timing", _refund_timing),
    ("two-ledgers", _two_ledgers),
    ("two-orders", _two_orders),
    ("orders-balance", _orders_balance),
    ("refund-status-policy", _refund_status_policy),
    ("ticket-order", _ticket_order),
    ("ledger-policy", _ledger_account),
)


def multi(p: Picker, n: int, offset: int = 0) -> list[Spec]:
    """``n`` two-intent cases, builders used round-robin starting at ``offset``."""
    from golden.generate._rows import workers_of

    out = []
    for i in range(n):
        key, build = BUILDERS[(i + offset) % len(BUILDERS)]
        message, calls, checks, forbidden = build(p)
        expected: dict[str, Any] = {"tool_calls": calls}
        if forbidden:
            expected["forbidden"] = forbidden
        tools = tuple(c["name"] for c in calls)
        workers_of(tools)  # validates names
        out.append(Spec(prefix="multi", cluster=f"multi-{key}", difficulty="hard",
                        message=message, intent="multi", tools=tools, expected=expected,
                        checks=checks))
    return out
