"""tools-unit v1 and v2: which tool a router calls for a message, with which arguments.

v1 carries four realistic labelling mistakes (found in review, fixed in v2 and listed in the
v2 card); v2 = v1 with those fixes + harder cases, many refund-status questions
(get_order, never issue_refund) and more two-intent messages.
"""

from __future__ import annotations

import copy
from typing import Any

from golden.generate import _tu_single as single
from golden.generate._pick import Picker, Spec, item_text
from golden.generate._rows import Ids, call, make_row, workers_of
from golden.generate._world import WorldFacts

# (intent function, v1 count, v2 additions)
PLAN: tuple[tuple[str, int, int], ...] = (
    ("order_status", 12, 4),
    ("list_orders", 7, 2),
    ("ticket", 7, 2),
    ("refund", 8, 3),
    ("refund_status", 2, 18),
    ("escalate", 7, 2),
    ("invoice", 9, 3),
    ("balance", 6, 2),
    ("ledger", 7, 3),
    ("calculate", 4, 1),
    ("policy", 9, 3),
    ("read_policy", 3, 0),
)
N_MULTI_V1, N_MULTI_V2 = 27, 15
MISTAKES = ("ledger-q1-end", "refund-status-as-refund", "refund-qty", "balance-name-only")


def _to_row(spec: Spec, ids: Ids, seed: int) -> dict[str, Any]:
    return make_row(ids.next(spec.prefix), spec.message, spec.expected, seed=seed,
                    workers=workers_of(spec.tools), intent=spec.intent,
                    difficulty=spec.difficulty, cluster=spec.cluster,
                    extra_tags=spec.extra_tags, checks=spec.checks, user_id=spec.user_id,
                    note=spec.note)


def _mistakes(p: Picker) -> dict[str, tuple[Spec, Spec]]:
    """The four v1 mistakes as (v1 spec, v2 fixed spec)."""
    w = p.world
    out: dict[str, tuple[Spec, Spec]] = {}

    # 1. Q1 ends on March 31, not March 30.
    msg = "What was our total travel spend in Q1 2026?"
    wrong = Spec("ledger", "ledger-t3", "medium", msg, "ledger", ("ledger_summary",),
                 {"tool_calls": [call("ledger_summary", account="travel",
                                      start_date="2026-01-01", end_date="2026-03-30")]},
                 (w.ledger_total("travel", "2026-01-01", "2026-03-30"),))
    fixed = copy.deepcopy(wrong)
    fixed.expected["tool_calls"][0]["arguments"]["end_date"] = "2026-03-31"
    fixed.checks = (w.ledger_total("travel", "2026-01-01", "2026-03-31"),)
    fixed.note = "v2: end_date fixed to 2026-03-31 (Q1 ends on March 31; v1 said 03-30)"
    out["ledger-q1-end"] = (wrong, fixed)

    # 2. A refund-status question labelled as a refund to issue.
    o = p.order("refund-status", [o for o in w.orders.values() if o["refunds"]])
    msg = f"Refund status for {o['id']}?"
    wrong = Spec("refund", "refund-status-t0", "medium", msg, "refund", ("issue_refund",),
                 {"tool_calls": [call("issue_refund", order_id=o["id"])]})
    fixed = Spec("refund", "refund-status-t0", "medium", msg, "refund-status", ("get_order",),
                 {"tool_calls": [call("get_order", order_id=o["id"])],
                  "forbidden": ["issue_refund"]},
                 (w.refund_field(o["id"], "status"),), ("must-pass",),
                 note="v2: a status question must look the order up (get_order) and never "
                      "call issue_refund; v1 expected issue_refund")
    out["refund-status-as-refund"] = (wrong, fixed)

    # 3. Two units refunded, v1 expected the unit price once.
    cands = [(o, li) for o in single.refundable_orders(p) for li in w.goods(o) if li["qty"] >= 2]
    o, li = p.pick("refund-qty", cands, key=lambda x: (x[0]["id"], x[1]["sku"]))
    msg = (f"Two units of the {item_text(li['name'])} on {o['id']} arrived cracked "
           f"({li['unit_usd']:.2f} USD each). Refund both, please.")
    wrong = Spec("refund", "refund-qty", "hard", msg, "refund", ("issue_refund",),
                 {"tool_calls": [call("issue_refund", order_id=o["id"],
                                      amount_usd=li["unit_usd"])]},
                 (w.unit_price(o["id"], li["sku"]),))
    fixed = copy.deepcopy(wrong)
    total = round(li["unit_usd"] * 2, 2)
    fixed.expected["tool_calls"][0]["arguments"]["amount_usd"] = total
    fixed.checks = (w.check("SELECT ROUND(2 * json_extract(j.value, '$.unit_usd'), 2) FROM "
                            "orders, json_each(orders.items_json) j WHERE orders.id = ? AND "
                            "json_extract(j.value, '$.sku') = ?", o["id"], li["sku"]),)
    fixed.note = f"v2: amount_usd is 2 x {li['unit_usd']:.2f} = {total:.2f}; v1 had one unit"
    out["refund-qty"] = (wrong, fixed)

    # 4. The id is not in the message: the labeller knew who the customer was.
    cus = p.pick("balance", sorted(w.customers), key=lambda x: x)
    name = w.customers[cus]["name"]
    wrong = Spec("balance", "balance-name", "medium",
                 f"What's the balance on {name}'s account?", "balance",
                 ("get_account_balance",),
                 {"tool_calls": [call("get_account_balance", customer_id=cus)]},
                 (w.balance(cus),))
    fixed = copy.deepcopy(wrong)
    fixed.message = f"What's the balance on {name}'s account ({cus})?"
    fixed.note = ("v2: message now states the customer id; v1 expected an id the message "
                  "did not contain")
    out["balance-name-only"] = (wrong, fixed)
    return out


def generate(world: WorldFacts) -> dict[str, list[dict[str, Any]]]:
    """Both versions: ``{"v1": rows, "v2": rows}``."""
    from golden.generate._tu_multi import multi

    seed = world.seed
    p = Picker(world, seed + 1)
    v1_specs: list[Spec] = []
    for fn_name, n_v1, _ in PLAN:
        fn = getattr(single, fn_name)
        if fn_name == "refund_status":
            v1_specs += single.refund_status(p, n_v1, must_pass_every=1)
        elif fn_name == "read_policy":
            v1_specs += fn(p, n_v1)
        else:
            v1_specs += fn(p, n_v1)
    mistakes = _mistakes(p)
    v1_specs += [m[0] for m in mistakes.values()]
    v1_specs += multi(p, N_MULTI_V1)

    ids = Ids()
    v1 = [_to_row(s, ids, seed) for s in v1_specs]
    fixed_rows = {}
    check_ids = Ids()
    for spec in v1_specs:
        case_id = check_ids.next(spec.prefix)
        for key, (wrong, fix) in mistakes.items():
            if spec is wrong:
                fixed_rows[case_id] = (key, fix)
    v2 = []
    for row in v1:
        if row["id"] in fixed_rows:
            _, fix = fixed_rows[row["id"]]
            tmp = Ids()
            tmp.counts[fix.prefix] = int(row["id"].rsplit("-", 1)[1]) - 1
            fixed = _to_row(fix, tmp, seed)
            v2.append(fixed)
        else:
            v2.append(copy.deepcopy(row))
    new: list[Spec] = []
    for fn_name, _, n_v2 in PLAN:
        if not n_v2:
            continue
        if fn_name == "refund_status":
            new += single.refund_status(p, n_v2, hard=False, must_pass_every=4)
        else:
            new += getattr(single, fn_name)(p, n_v2, hard=True)
    new += multi(p, N_MULTI_V2, offset=N_MULTI_V1)
    v2 += [_to_row(s, ids, seed) for s in new]
    return {"v1": v1, "v2": v2}
