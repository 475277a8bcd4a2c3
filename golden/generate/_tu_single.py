"""tools-unit: single-intent cases (one expected tool call each), by intent.

Each function returns ``n`` Specs. ``hard=True`` draws only the medium/hard templates
(used for the cases v2 adds). Templates are used round-robin so every phrasing appears.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from golden.generate._pick import (
    ACCOUNT_WORDS,
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
from golden.generate._policy_qs import TOPICS
from golden.generate._rows import call

Template = tuple[str, str, Callable[..., Any]]  # (template id, difficulty, builder)


def _run(p: Picker, prefix: str, intent: str, templates: list[Template], n: int, hard: bool,
         make: Callable[[str, str, Callable[..., Any]], Spec]) -> list[Spec]:
    chosen = [t for t in templates if t[1] != "easy"] if hard else templates
    out = []
    for i in range(n):
        tid, difficulty, fn = chosen[i % len(chosen)]
        spec = make(f"{prefix}-{tid}", difficulty, fn)
        spec.prefix = prefix
        out.append(spec)
    return out


def _single(cluster: str, difficulty: str, message: str, intent: str, c: dict[str, Any],
            checks: tuple[Any, ...] = (), forbidden: list[Any] | None = None,
            extra: tuple[str, ...] = ()) -> Spec:
    expected: dict[str, Any] = {"tool_calls": [c]}
    if forbidden:
        expected["forbidden"] = forbidden
    return Spec(prefix="", cluster=cluster, difficulty=difficulty, message=message,
                intent=intent, tools=(c["name"],), expected=expected, checks=checks,
                extra_tags=extra)


def order_status(p: Picker, n: int, hard: bool = False) -> list[Spec]:
    w = p.world
    orders = list(w.orders.values())
    tickets = {t["order_id"]: t for t in w.tickets.values() if t["order_id"]}
    templates: list[Template] = [
        ("t1", "easy", lambda o: f"What's the status of order {o['id']}?"),
        ("t2", "easy", lambda o: f"Where is order {o['id']}?"),
        ("t3", "easy", lambda o: f"Can you pull up order {o['id']} for me?"),
        ("t4", "easy", lambda o: f"Has {o['id']} shipped yet?"),
        ("t5", "medium", lambda o: f"A customer just called about {o['id']}. Has it been "
                                   "delivered, and if so when?"),
        ("t6", "medium", lambda o: f"I need the items and the total on {o['id']}, please."),
        ("t7", "medium", lambda o: f"{w.customers[o['customer_id']]['name']} is asking about "
                                   f"their order {o['id']}. What's going on with it?"),
        ("t8", "hard", lambda o: f"wheres {o['id']} at?? customer keeps emailing"),
        ("t9", "hard", lambda o: f"customer {o['customer_id']} says {o['id']} never arrived, "
                                 "can u check the order"),
        ("t10", "hard", lambda o: f"pls chek the staus of ordr {o['id']}"),
    ]
    if any(tickets.get(o["id"]) for o in orders):
        templates.append(("t11", "hard", lambda o: (
            f"Re ticket {tickets[o['id']]['id']}: what's the delivery status of the order "
            f"{o['id']}?" if o["id"] in tickets
            else f"Re our call today: is {o['id']} delivered?")))

    def make(cluster: str, difficulty: str, fn: Callable[..., str]) -> Spec:
        pool = [o for o in orders if o["id"] in tickets] if cluster.endswith("t11") else orders
        o = p.order("order-status", pool)
        return _single(cluster, difficulty, fn(o), "order-status",
                       call("get_order", order_id=o["id"]), (w.order_status(o["id"]),))

    return _run(p, "order-status", "order-status", templates, n, hard, make)


def list_orders(p: Picker, n: int, hard: bool = False) -> list[Spec]:
    w = p.world
    by_status: dict[str, list[str]] = {}
    for o in w.orders.values():
        by_status.setdefault(o["status"], [])
        if o["customer_id"] not in by_status[o["status"]]:
            by_status[o["status"]].append(o["customer_id"])
    customers = sorted({o["customer_id"] for o in w.orders.values()})
    templates: list[tuple[str, str, str | None, Callable[[str], str]]] = [
        ("t1", "easy", None, lambda c: f"Show me all orders for customer {c}."),
        ("t2", "easy", None, lambda c: f"What has {c} ordered recently?"),
        ("t3", "medium", "cancelled", lambda c: f"List the cancelled orders for {c}."),
        ("t4", "medium", "shipped", lambda c: f"Which of {c}'s orders are shipped but not "
                                              "delivered yet?"),
        ("t5", "medium", "returned", lambda c: f"Any returned orders on account {c}?"),
        ("t6", "medium", "delivered", lambda c: f"Which orders of customer {c} have been "
                                                "delivered?"),
        ("t7", "hard", None, lambda c: f"can you give me the order history of {c}, newest "
                                       "first"),
        ("t8", "hard", "placed", lambda c: f"For {c}: which orders are placed but haven't "
                                           "shipped?"),
    ]
    chosen = [t for t in templates if t[1] != "easy"] if hard else templates
    out = []
    for i in range(n):
        tid, difficulty, status, fn = chosen[i % len(chosen)]
        cus = p.pick(f"list-{status}", by_status[status] if status else customers,
                     key=lambda x: x)
        args = {"customer_id": cus, **({"status": status} if status else {})}
        spec = _single(f"list-orders-{tid}", difficulty, fn(cus), "list-orders",
                       call("list_orders", **args))
        spec.prefix = "list-orders"
        out.append(spec)
    return out


def ticket(p: Picker, n: int, hard: bool = False) -> list[Spec]:
    w = p.world
    tickets = [t for t in w.tickets.values() if t["id"] != "TCK-30104"]
    with_order = [t for t in tickets if t["order_id"]]
    templates: list[Template] = [
        ("t1", "easy", lambda t: f"What is ticket {t['id']} about?"),
        ("t2", "easy", lambda t: f"Summarise ticket {t['id']} for me."),
        ("t3", "medium", lambda t: f"Can you open {t['id']} and tell me what the customer "
                                   "wants?"),
        ("t4", "medium", lambda t: f"Any news on support ticket {t['id']}? What's its status?"),
        ("t5", "hard", lambda t: f"the customer on {t['id']} is chasing us about "
                                 f"{t['order_id']}, what did they write in the ticket?"),
        ("t6", "hard", lambda t: f"whats in tiket {t['id']}"),
    ]

    def make(cluster: str, difficulty: str, fn: Callable[..., str]) -> Spec:
        t = p.pick("ticket", with_order if cluster.endswith("t5") else tickets,
                   key=lambda x: x["id"])
        return _single(cluster, difficulty, fn(t), "ticket", call("get_ticket", ticket_id=t["id"]),
                       (w.ticket_field(t["id"], "status"),))

    return _run(p, "ticket", "ticket", templates, n, hard, make)


def refundable_orders(p: Picker) -> list[dict[str, Any]]:
    """Delivered orders without refunds, delivered within 14 days of the world's today."""
    return [o for o in p.world.orders_where(status="delivered") if not o["refunds"]
            and o["delivered_at"] >= "2026-06-16"]


def refund(p: Picker, n: int, hard: bool = False) -> list[Spec]:
    w = p.world
    orders = refundable_orders(p)
    invoices = {i["order_id"]: i for i in w.invoices.values() if i["order_id"]}
    templates: list[tuple[str, str, bool, Callable[..., str]]] = [
        ("t1", "easy", False, lambda o, li, a: f"Please refund {money_text(a)} USD on order "
                                               f"{o['id']}: the {item_text(li['name'])} "
                                               "arrived damaged."),
        ("t2", "easy", True, lambda o, li, a: f"Refund the full order {o['id']} "
                                              f"({money_text(a)} USD), we shipped the wrong "
                                              "items."),
        ("t3", "medium", False, lambda o, li, a: f"The {item_text(li['name'])} in {o['id']} "
                                                 "arrived broken. Refund the price, "
                                                 f"{money_text(a, 1)}."),
        ("t4", "medium", False, lambda o, li, a: f"Go ahead and issue a refund of "
                                                 f"{money_text(a, 2)} for {o['id']}, damaged in "
                                                 "transit."),
        ("t5", "medium", True, lambda o, li, a: f"Customer got someone else's parcel instead of "
                                                f"{o['id']}. Refund them the whole "
                                                f"{money_text(a, 1)} please."),
        ("t6", "hard", False, lambda o, li, a: f"ord {o['id']}: {li['name'].lower()} came "
                                               f"smashed, refund {money_text(a)} pls"),
        ("t7", "hard", False, lambda o, li, a: f"For order {o['id']} (invoice "
                                               f"{invoices[o['id']]['id']}), refund "
                                               f"{money_text(a)} USD for the damaged "
                                               f"{item_text(li['name'])}."),
    ]
    chosen = [t for t in templates if t[1] != "easy"] if hard else templates
    out = []
    for i in range(n):
        tid, difficulty, full, fn = chosen[i % len(chosen)]
        pool = [o for o in orders if o["id"] in invoices] if tid == "t7" else orders
        o = p.order("refund", pool)
        li = p.choice(w.goods(o))
        if full:
            amount, check = o["total_usd"], w.order_total(o["id"])
        else:
            amount, check = li["unit_usd"], w.unit_price(o["id"], li["sku"])
        spec = _single(f"refund-{tid}", difficulty, fn(o, li, amount), "refund",
                       call("issue_refund", order_id=o["id"], amount_usd=amount), (check,))
        spec.prefix = "refund"
        out.append(spec)
    return out


def refund_status_templates(p: Picker) -> list[Template]:
    tickets = {t["order_id"]: t for t in p.world.tickets.values()
               if t["subject"].startswith("Refund status")}
    return [
        ("t1", "easy", lambda o: f"Has the refund for order {o['id']} been processed?"),
        ("t2", "easy", lambda o: f"What's the status of the refund on {o['id']}?"),
        ("t3", "medium", lambda o: f"The customer wants to know when the refund for {o['id']} "
                                   "will show on their card. Can you check?"),
        ("t4", "medium", lambda o: f"Did we already refund {o['id']}? If so, how much?"),
        ("t5", "medium", lambda o: f"Is the refund on {o['id']} still pending approval?"),
        ("t6", "medium", lambda o: f"Check the refund for {o['id']}: was it issued, and when?"),
        ("t7", "hard", lambda o: f"refund for {o['id']}, has it gone thru yet?"),
        ("t8", "hard", lambda o: f"They returned {o['id']} weeks ago and still see no money "
                                 "back. Where is their refund?"),
        ("t9", "hard", lambda o: (f"Follow-up on ticket {tickets[o['id']]['id']}: has the refund "
                                  f"on {o['id']} been issued?") if o["id"] in tickets else
                                 f"Follow-up on {o['id']}: has the refund been issued?"),
        ("t10", "hard", lambda o: f"Customer {o['customer_id']} asks about their refund "
                                  f"for {o['id']}: issued or not?"),
        # "look up" is how people ask, and what the v3-regressed refund description invites
        ("t11", "easy", lambda o: f"Can you look up the refund on {o['id']}?"),
        ("t12", "medium", lambda o: f"Look up what refunds were processed for {o['id']}, "
                                    "I don't want to refund anything."),
    ]


def refund_status(p: Picker, n: int, hard: bool = False,
                  must_pass_every: int = 0) -> list[Spec]:
    """Questions about a past refund: get_order, and issue_refund is forbidden."""
    w = p.world
    orders = [o for o in w.orders.values() if o["refunds"]]
    specs = _run(p, "refund-status", "refund-status", refund_status_templates(p), n, hard,
                 lambda cluster, difficulty, fn: _refund_status_spec(p, orders, cluster,
                                                                     difficulty, fn))
    if must_pass_every:
        for i, spec in enumerate(specs):
            if i % must_pass_every == 0:
                spec.extra_tags = ("must-pass",)
    return specs


def _refund_status_spec(p: Picker, orders: list[dict[str, Any]], cluster: str, difficulty: str,
                        fn: Callable[..., str]) -> Spec:
    o = p.order("refund-status", orders)
    w = p.world
    return _single(cluster, difficulty, fn(o), "refund-status",
                   call("get_order", order_id=o["id"]),
                   (w.refund_field(o["id"], "status"), w.refund_field(o["id"], "amount_usd")),
                   forbidden=["issue_refund"])


PRIORITY_PHRASES: tuple[tuple[str, str, str | None, str], ...] = (
    ("t1", "easy", "high", "Escalate ticket {t} to a manager with high priority."),
    ("t2", "easy", None, "Please hand {t} over to a human, the customer asked for one."),
    ("t3", "medium", "urgent", "{t} needs to go to the support manager. Mark it urgent."),
    ("t4", "medium", "high", "Can you escalate {t}? Priority: high."),
    ("t5", "medium", None, "Escalate {t}, it's still unresolved after two replies."),
    ("t6", "hard", "high", "customer on {t} is threatening legal action, escalate w/ high prio"),
    ("t7", "hard", "low", "escalate {t} (order {o}) as low priority, it's just catalog feedback"),
    ("t8", "medium", "normal", "Please escalate ticket {t} to Finance, normal priority is fine."),
)


def escalate(p: Picker, n: int, hard: bool = False) -> list[Spec]:
    w = p.world
    tickets = [t for t in w.tickets.values() if t["status"] != "closed" and t["id"] != "TCK-30104"]
    chosen = [t for t in PRIORITY_PHRASES if t[1] != "easy"] if hard else list(PRIORITY_PHRASES)
    out = []
    for i in range(n):
        tid, difficulty, priority, text = chosen[i % len(chosen)]
        pool = [t for t in tickets if t["order_id"]] if "{o}" in text else tickets
        t = p.pick("escalate", pool, key=lambda x: x["id"])
        args = {"ticket_id": t["id"], **({"priority": priority} if priority else {})}
        spec = _single(f"escalate-{tid}", difficulty, text.format(t=t["id"], o=t["order_id"]),
                       "escalate", call("escalate_ticket", **args))
        spec.prefix = "escalate"
        out.append(spec)
    return out


def invoice(p: Picker, n: int, hard: bool = False) -> list[Spec]:
    w = p.world
    invoices = list(w.invoices.values())
    with_order = [i for i in invoices if i["order_id"]]
    by_status = {s: sorted({i["customer_id"] for i in invoices if i["status"] == s})
                 for s in ("open", "overdue", "paid")}
    # (tid, difficulty, kind, status, text); kind: inv = by invoice id, cus = by customer
    templates = [
        ("t1", "easy", "inv", None, "How much is invoice {i}?"),
        ("t2", "easy", "inv", None, "When is invoice {i} due?"),
        ("t3", "easy", "inv", None, "Is {i} paid?"),
        ("t4", "medium", "cus", "overdue", "Show me the overdue invoices for {c}."),
        ("t5", "medium", "cus", "open", "Which invoices of {c} are still open?"),
        ("t6", "medium", "cus", None, "List all invoices for customer {c}."),
        ("t7", "medium", "all", "overdue", "Which invoices are overdue right now?"),
        ("t8", "hard", "inv", None, "inv {i} for order {o}: amount and due date?"),
        ("t9", "hard", "inv", None, "Customer {c} disputes invoice {i}. What does the invoice "
                                    "say?"),
        ("t10", "hard", "cus", "paid", "which invoices has {c} paid already"),
    ]
    chosen = [t for t in templates if t[1] != "easy"] if hard else templates
    out = []
    for i in range(n):
        tid, difficulty, kind, status, text = chosen[i % len(chosen)]
        checks: tuple[Any, ...] = ()
        if kind == "inv":
            inv = p.pick("invoice", with_order if "{o}" in text else invoices,
                         key=lambda x: x["id"])
            args: dict[str, Any] = {"invoice_id": inv["id"]}
            message = text.format(i=inv["id"], o=inv["order_id"], c=inv["customer_id"])
            checks = (w.invoice_amount(inv["id"]),)
        elif kind == "cus":
            cus = p.pick(f"invoice-{status}", by_status[status] if status else
                         sorted(w.customers), key=lambda x: x)
            args = {"customer_id": cus, **({"status": status} if status else {})}
            message = text.format(c=cus)
        else:
            args, message = {"status": status}, text
        spec = _single(f"invoice-{tid}", difficulty, message, "invoice",
                       call("lookup_invoices", **args), checks)
        spec.prefix = "invoice"
        out.append(spec)
    return out


def balance(p: Picker, n: int, hard: bool = False) -> list[Spec]:
    w = p.world
    customers = sorted(w.customers)
    templates: list[Template] = [
        ("t1", "easy", lambda c: f"How much does {c} owe us?"),
        ("t2", "easy", lambda c: f"What's the outstanding balance for customer {c}?"),
        ("t3", "medium", lambda c: f"Can you check {c}'s account balance before I call them?"),
        ("t4", "medium", lambda c: f"What is the total unpaid amount on account {c}?"),
        ("t5", "hard", lambda c: f"{w.customers[c]['name']} ({c}) wants to settle everything "
                                 "they owe. What's the figure?"),
        ("t6", "hard", lambda c: f"balanse for {c}??"),
    ]

    def make(cluster: str, difficulty: str, fn: Callable[..., str]) -> Spec:
        c = p.pick("balance", customers, key=lambda x: x)
        return _single(cluster, difficulty, fn(c), "balance",
                       call("get_account_balance", customer_id=c), (w.balance(c),))

    return _run(p, "balance", "balance", templates, n, hard, make)


def _period(p: Picker, kind: str) -> tuple[str, str, str]:
    """(how the period is said, start, end) for a month, a quarter or explicit dates."""
    if kind == "month":
        y, m = p.choice(LEDGER_MONTHS)
        start, end = month_range(y, m)
        return f"{MONTHS[m - 1]} {y}", start, end
    if kind == "quarter":
        y, q = p.choice(QUARTERS)
        start, end = quarter_range(y, q)
        return f"Q{q} {y}", start, end
    if kind == "half":
        return "the first half of 2026", "2026-01-01", "2026-06-30"
    y, m = p.choice(LEDGER_MONTHS)
    start, end = month_range(y, m)
    mid = f"{start[:8]}15"
    return f"from {start} to {mid}", start, mid


def ledger(p: Picker, n: int, hard: bool = False) -> list[Spec]:
    w = p.world
    templates = [
        ("t1", "easy", "month", None, "What did we spend on {a} in {when}?"),
        ("t2", "easy", "month", "revenue", "How much revenue came in during {when}?"),
        ("t3", "medium", "quarter", None, "What's the {a} total for {when}?"),
        ("t4", "medium", "dates", None, "Sum the {a} ledger {when}."),
        ("t5", "medium", "month", "refunds", "What were total refunds paid out in {when}?"),
        ("t6", "hard", "half", None, "{a}, {when}: what's the total?"),
        ("t7", "hard", "quarter", None, "how much did {a} cost us in {when}"),
    ]
    chosen = [t for t in templates if t[1] != "easy"] if hard else templates
    accounts = [a for a in ACCOUNT_WORDS if a not in ("revenue", "refunds")]
    out = []
    for i in range(n):
        tid, difficulty, kind, account, text = chosen[i % len(chosen)]
        acc = account or p.pick("ledger-account", accounts, key=lambda x: x)
        when, start, end = _period(p, kind)
        words = ACCOUNT_WORDS[acc] if difficulty != "hard" else ACCOUNT_WORDS[acc][:1]
        message = text.format(a=p.choice(words), when=when)
        message = message[0].upper() + message[1:] if difficulty != "hard" else message
        spec = _single(f"ledger-{tid}", difficulty, message, "ledger",
                       call("ledger_summary", account=acc, start_date=start, end_date=end),
                       (w.ledger_total(acc, start, end),))
        spec.prefix = "ledger"
        out.append(spec)
    return out


def calculate(p: Picker, n: int, hard: bool = False) -> list[Spec]:
    """Arithmetic on world amounts; ``expression`` is expected only when written literally."""
    w = p.world
    orders = list(w.orders.values())
    out = []
    templates = [
        ("t1", "easy", True, lambda a, b: (f"Quick calc: {a:.2f}*12", f"{a:.2f}*12")),
        ("t2", "medium", True, lambda a, b: (f"What is ({a:.2f}-{b:.2f})*0.15?",
                                             f"({a:.2f}-{b:.2f})*0.15")),
        ("t3", "medium", False, lambda a, b: (f"What's 15% of {a:,.2f} USD?", "")),
        ("t4", "hard", False, lambda a, b: (f"add up {a:.2f}, {b:.2f} and 12.50 for me", "")),
    ]
    chosen = [t for t in templates if t[1] != "easy"] if hard else templates
    for i in range(n):
        tid, difficulty, literal, fn = chosen[i % len(chosen)]
        a = p.order("calc-a", orders)["total_usd"]
        b = p.order("calc-b", [o for o in orders if o["total_usd"] < a] or orders)["total_usd"]
        message, expression = fn(a, b)
        args = {"expression": expression} if literal else {}
        spec = _single(f"calculate-{tid}", difficulty, message, "calculate",
                       call("calculate", **args))
        spec.prefix = "calculate"
        out.append(spec)
    return out


def policy(p: Picker, n: int, hard: bool = False) -> list[Spec]:
    """Policy questions: search_policies, with the query text left out of the expectation."""
    out = []
    topics = list(TOPICS)
    for _ in range(n):
        t = p.pick("policy", topics, key=lambda x: x.key)
        qi = p.rng.randrange(len(t.questions))
        if hard:
            qi = max(range(len(t.questions)), key=lambda k: (t.questions[k][0].islower(), k))
        question = t.questions[qi]
        difficulty = "hard" if question[0].islower() else ("easy" if qi == 0 else "medium")
        spec = _single(f"policy-{t.key}", difficulty, question, "policy",
                       call("search_policies"), forbidden=["issue_refund"])
        spec.prefix = "policy"
        out.append(spec)
    return out


def read_policy(p: Picker, n: int) -> list[Spec]:
    from agents.world import load_policies

    docs = [d for d in load_policies() if d.id != "POL-REF-006"]
    texts = [("t1", "easy", "Show me the full text of {d}."),
             ("t2", "medium", "Open policy {d} please, I need the whole document."),
             ("t3", "medium", "I need all of {d} ({title}), not just a snippet.")]
    out = []
    for i in range(n):
        tid, difficulty, text = texts[i % len(texts)]
        d = p.pick("read-policy", docs, key=lambda x: x.id)
        spec = _single(f"read-policy-{tid}", difficulty, text.format(d=d.id, title=d.title),
                       "read-policy", call("read_policy", doc_id=d.id))
        spec.prefix = "read-policy"
        out.append(spec)
    return out
