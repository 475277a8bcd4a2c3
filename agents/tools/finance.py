"""Finance worker tools: invoices, account balances, ledger summaries and a safe calculator."""

from __future__ import annotations

from typing import Any

from agents.tools._calc import CalcError, evaluate
from agents.tools._registry import ToolInputError, money, tool
from agents.world import World

INVOICE_STATUSES = ("paid", "open", "overdue")
ACCOUNTS = ("revenue", "refunds", "shipping", "office", "travel", "meals", "software",
            "payroll", "marketing", "inventory")
CUSTOMER_ID = {"type": "string", "pattern": r"^CUS-\d{4}$", "examples": ["CUS-0007"]}
INVOICE_ID = {"type": "string", "pattern": r"^INV-\d{5}$", "examples": ["INV-20042"]}


def _invoice(row: Any) -> dict[str, Any]:
    return {"invoice_id": row["id"], "customer_id": row["customer_id"],
            "order_id": row["order_id"], "issued": row["issued"], "due": row["due"],
            "amount_usd": money(row["amount_usd"]), "status": row["status"]}


def _customer(world: World, customer_id: str) -> Any:
    row = world.conn.execute("SELECT id, name, tier FROM customers WHERE id = ?",
                             (customer_id,)).fetchone()
    if row is None:
        raise ToolInputError(f"no customer {customer_id}; check the customer id "
                             "(like CUS-0007), e.g. from get_order or list_orders")
    return row


@tool("lookup_invoices", worker="finance", parameters={
    "properties": {
        "customer_id": CUSTOMER_ID,
        "status": {"type": "string", "enum": list(INVOICE_STATUSES)},
        "invoice_id": INVOICE_ID,
        "limit": {"type": "integer", "minimum": 1, "maximum": 50},
    },
})
def lookup_invoices(world: World, customer_id: str | None = None, status: str | None = None,
                    invoice_id: str | None = None, limit: int = 10) -> dict[str, Any]:
    """Invoices filtered by id, customer and/or status, newest first."""
    if not (customer_id or status or invoice_id):
        raise ToolInputError("give at least one of invoice_id, customer_id or status")
    if customer_id:
        _customer(world, customer_id)
    # Fully parameterised: optional filters are "(? IS NULL OR column = ?)", never formatted in.
    where = ("WHERE (:id IS NULL OR id = :id) AND (:cus IS NULL OR customer_id = :cus) "
             "AND (:status IS NULL OR status = :status)")
    params = {"id": invoice_id, "cus": customer_id, "status": status, "limit": limit}
    total = world.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(amount_usd), 0) FROM invoices " + where, params).fetchone()
    rows = world.conn.execute(
        "SELECT id, customer_id, order_id, issued, due, amount_usd, status FROM invoices "
        + where + " ORDER BY issued DESC, id DESC LIMIT :limit", params).fetchall()
    if invoice_id and not rows:
        raise ToolInputError(f"no invoice {invoice_id}" + (
            f" for customer {customer_id}" if customer_id else "") + "; check the invoice id")
    return {"invoices": [_invoice(r) for r in rows], "count": len(rows),
            "total_matching": total[0], "total_amount_usd": money(total[1])}


@tool("get_account_balance", worker="finance", parameters={
    "properties": {"customer_id": CUSTOMER_ID},
    "required": ["customer_id"],
})
def get_account_balance(world: World, customer_id: str) -> dict[str, Any]:
    """A customer's balance: the sum of their open and overdue invoices."""
    customer = _customer(world, customer_id)
    sums = {status: (0, 0.0) for status in ("open", "overdue")}
    for status, n, amount in world.conn.execute(
            "SELECT status, COUNT(*), SUM(amount_usd) FROM invoices "
            "WHERE customer_id = ? AND status IN ('open', 'overdue') GROUP BY status",
            (customer_id,)):
        sums[status] = (n, amount)
    return {
        "customer_id": customer_id, "customer_name": customer["name"], "tier": customer["tier"],
        "balance_usd": money(sums["open"][1] + sums["overdue"][1]),
        "open_usd": money(sums["open"][1]), "open_invoices": sums["open"][0],
        "overdue_usd": money(sums["overdue"][1]), "overdue_invoices": sums["overdue"][0],
        "currency": "USD",
    }


@tool("ledger_summary", worker="finance", parameters={
    "properties": {
        "account": {"type": "string", "enum": list(ACCOUNTS)},
        "start_date": {"type": "string", "format": "date", "examples": ["2026-01-01"]},
        "end_date": {"type": "string", "format": "date", "examples": ["2026-03-31"]},
    },
    "required": ["account", "start_date", "end_date"],
})
def ledger_summary(world: World, account: str, start_date: str, end_date: str) -> dict[str, Any]:
    """Total and count of ledger entries of one account between two dates (inclusive)."""
    if start_date > end_date:
        raise ToolInputError(f"start_date {start_date} is after end_date {end_date}; "
                             "swap them")
    count, total = world.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(amount_usd), 0) FROM ledger "
        "WHERE account = ? AND date BETWEEN ? AND ?", (account, start_date, end_date)).fetchone()
    return {"account": account, "start_date": start_date, "end_date": end_date,
            "total_usd": money(total), "count": count, "currency": "USD"}


@tool("calculate", worker="finance", parameters={
    "properties": {"expression": {"type": "string", "minLength": 1, "maxLength": 200,
                                  "examples": ["round((1200.50 - 300) * 0.15, 2)"]}},
    "required": ["expression"],
})
def calculate(world: World, expression: str) -> dict[str, Any]:
    """Evaluate plain arithmetic safely (no names, no attributes, bounded exponents)."""
    try:
        result = evaluate(expression)
    except CalcError as exc:
        raise ToolInputError(str(exc)) from exc
    return {"expression": expression, "result": result}
