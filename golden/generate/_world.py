"""Read-only facts of the world database that golden cases are generated from.

Every expectation in golden/ is a fact of this database (or of a policy text): the
generator reads it here and records the query behind each amount as a ``check`` in the
row's metadata, so tests can re-run it and notice when the world changes.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

from agents.world import SEED, TODAY, template_path

ISO_TODAY = TODAY.isoformat()


def usd(value: float) -> str:
    """An amount as written in facts: two decimals, no thousands separator ("731.20")."""
    return f"{value:.2f}"


@dataclasses.dataclass(frozen=True)
class Check:
    """A SQL query over the world database and the value it must return (as text).

    Stored in ``metadata.checks`` of a row: where an expected amount or id comes from.
    """

    sql: str
    params: tuple[Any, ...]
    value: str

    def to_dict(self) -> dict[str, Any]:
        return {"sql": self.sql, "params": list(self.params), "value": self.value}


def run_check(conn: sqlite3.Connection, check: dict[str, Any]) -> str:
    """Run a stored check's query; the first column of the first row, formatted as text."""
    row = conn.execute(check["sql"], check["params"]).fetchone()
    value = row[0] if row else None
    return usd(value) if isinstance(value, float) else str(value)


class WorldFacts:
    """The world database loaded into plain dicts, plus helpers that build checks."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else template_path()
        self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        self.conn.row_factory = sqlite3.Row
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        self.seed = int(meta["seed"])
        if self.seed != SEED:
            raise RuntimeError(f"world database {self.path} was built from seed {self.seed}, "
                               f"expected {SEED}; rebuild it with `python -m agents.world build`")
        self.customers = self._rows("SELECT * FROM customers ORDER BY id")
        self.orders = self._rows("SELECT * FROM orders ORDER BY id")
        for order in self.orders.values():
            order["items"] = json.loads(order.pop("items_json"))
            order["refunds"] = []
        self.invoices = self._rows("SELECT * FROM invoices ORDER BY id")
        self.tickets = self._rows("SELECT * FROM tickets ORDER BY id")
        self.refunds = self._rows("SELECT * FROM refunds ORDER BY id")
        for refund in self.refunds.values():
            self.orders[refund["order_id"]]["refunds"].append(refund)

    def close(self) -> None:
        self.conn.close()

    def _rows(self, sql: str) -> dict[str, dict[str, Any]]:
        return {str(r["id"]): dict(r) for r in self.conn.execute(sql)}

    # -- selections (always sorted, so a seeded rng picks the same rows every time) -------

    def orders_where(self, **conds: Any) -> list[dict[str, Any]]:
        return [o for o in self.orders.values()
                if all(o[k] in v if isinstance(v, tuple) else o[k] == v
                       for k, v in conds.items())]

    def customer_orders(self, customer_id: str) -> list[dict[str, Any]]:
        return [o for o in self.orders.values() if o["customer_id"] == customer_id]

    def customer_invoices(self, customer_id: str,
                          status: str | None = None) -> list[dict[str, Any]]:
        return [i for i in self.invoices.values() if i["customer_id"] == customer_id
                and (status is None or i["status"] == status)]

    @staticmethod
    def goods(order: dict[str, Any]) -> list[dict[str, Any]]:
        """The order's item lines without the shipping line."""
        return [li for li in order["items"] if li["sku"] != "SHIP-STD"]

    def refundable_cents(self, order: dict[str, Any]) -> int:
        done = sum(round(r["amount_usd"] * 100) for r in order["refunds"])
        return round(order["total_usd"] * 100) - done

    # -- checks -----------------------------------------------------------------------------

    def check(self, sql: str, *params: Any) -> Check:
        row = self.conn.execute(sql, params).fetchone()
        if row is None:
            raise RuntimeError(f"check query returned no row: {sql} {params}")
        value = row[0]
        return Check(sql, tuple(params), usd(value) if isinstance(value, float) else str(value))

    def order_total(self, order_id: str) -> Check:
        return self.check("SELECT total_usd FROM orders WHERE id = ?", order_id)

    def order_status(self, order_id: str) -> Check:
        return self.check("SELECT status FROM orders WHERE id = ?", order_id)

    def unit_price(self, order_id: str, sku: str) -> Check:
        return self.check("SELECT json_extract(j.value, '$.unit_usd') FROM orders, "
                          "json_each(orders.items_json) j WHERE orders.id = ? AND "
                          "json_extract(j.value, '$.sku') = ?", order_id, sku)

    def balance(self, customer_id: str) -> Check:
        return self.check("SELECT ROUND(COALESCE(SUM(amount_usd), 0), 2) FROM invoices "
                          "WHERE customer_id = ? AND status IN ('open', 'overdue')", customer_id)

    def invoice_amount(self, invoice_id: str) -> Check:
        return self.check("SELECT amount_usd FROM invoices WHERE id = ?", invoice_id)

    def invoice_status(self, invoice_id: str) -> Check:
        return self.check("SELECT status FROM invoices WHERE id = ?", invoice_id)

    def ledger_total(self, account: str, start: str, end: str) -> Check:
        return self.check("SELECT ROUND(COALESCE(SUM(amount_usd), 0), 2) FROM ledger "
                          "WHERE account = ? AND date BETWEEN ? AND ?", account, start, end)

    def refund_field(self, order_id: str, field: str) -> Check:
        if field not in ("id", "amount_usd", "status"):
            raise ValueError(field)
        return self.check(f"SELECT {field} FROM refunds WHERE order_id = ? ORDER BY id LIMIT 1",
                          order_id)

    def ticket_field(self, ticket_id: str, field: str) -> Check:
        if field not in ("status", "priority", "order_id", "customer_id"):
            raise ValueError(field)
        return self.check(f"SELECT {field} FROM tickets WHERE id = ?", ticket_id)

    def customer_field(self, customer_id: str, field: str) -> Check:
        if field not in ("email", "phone", "tier", "name"):
            raise ValueError(field)
        return self.check(f"SELECT {field} FROM customers WHERE id = ?", customer_id)

    def exists(self, kind: str, ident: str) -> bool:
        table = {"ORD": self.orders, "INV": self.invoices, "CUS": self.customers,
                 "TCK": self.tickets, "RFD": self.refunds}[kind]
        return ident in table
