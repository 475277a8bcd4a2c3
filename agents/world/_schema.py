"""The SQLite schema of the Larkspur Supply Co. world (tables the tools read and write)."""

from __future__ import annotations

import datetime as dt

# Bump when the tables or the generator change: a template built by an older version is rebuilt.
SCHEMA_VERSION = 1
GENERATOR_VERSION = 1
SEED = 20260630
TODAY = dt.date(2026, 6, 30)  # the world's fixed "today"; every date is relative to it

# Table -> primary-key column, in a stable order (used for hashing and snapshots).
TABLES: dict[str, str] = {
    "customers": "id",
    "orders": "id",
    "invoices": "id",
    "ledger": "id",
    "tickets": "id",
    "refunds": "id",
    "escalations": "id",
}

DDL = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('gold', 'silver', 'standard')),
    region TEXT NOT NULL
);
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    created TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('placed', 'shipped', 'delivered', 'cancelled', 'returned')),
    total_usd REAL NOT NULL,
    items_json TEXT NOT NULL,
    shipped_at TEXT,
    delivered_at TEXT
);
CREATE INDEX orders_customer ON orders(customer_id);
CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    order_id TEXT REFERENCES orders(id),
    issued TEXT NOT NULL,
    due TEXT NOT NULL,
    amount_usd REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('paid', 'open', 'overdue'))
);
CREATE INDEX invoices_customer ON invoices(customer_id);
CREATE TABLE ledger (
    id INTEGER PRIMARY KEY,
    date TEXT NOT NULL,
    account TEXT NOT NULL,
    amount_usd REAL NOT NULL,
    memo TEXT NOT NULL,
    ref TEXT
);
CREATE INDEX ledger_account_date ON ledger(account, date);
CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    order_id TEXT REFERENCES orders(id),
    opened TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'pending', 'closed')),
    priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    subject TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    amount_usd REAL NOT NULL CHECK (amount_usd > 0),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('issued', 'pending_approval')),
    idempotency_key TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE INDEX refunds_order ON refunds(order_id);
CREATE TABLE escalations (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    reason TEXT NOT NULL,
    reason_key TEXT NOT NULL,
    priority TEXT NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (ticket_id, reason_key)
);
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tbl TEXT NOT NULL,
    row_id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('insert', 'update')),
    fields_json TEXT NOT NULL
);
"""
