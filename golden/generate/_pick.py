"""Seeded picking of world entities and the small vocabularies the templates share."""

from __future__ import annotations

import calendar
import dataclasses
import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from golden.generate._world import Check, WorldFacts

T = TypeVar("T")

MONTHS = tuple(calendar.month_name)[1:]
# Months inside the world's ledger history (2025-07 .. 2026-06), as (year, month).
LEDGER_MONTHS = tuple([(2025, m) for m in range(7, 13)] + [(2026, m) for m in range(1, 7)])
QUARTERS = ((2025, 3), (2025, 4), (2026, 1), (2026, 2))
# How people name ledger accounts in a question -> the account.
ACCOUNT_WORDS: dict[str, tuple[str, ...]] = {
    "travel": ("travel", "travel spend", "travel costs"),
    "meals": ("meals", "meal expenses", "meals spend"),
    "software": ("software", "software subscriptions"),
    "marketing": ("marketing", "marketing spend"),
    "office": ("office", "office costs"),
    "shipping": ("shipping", "shipping (carrier charges)"),
    "payroll": ("payroll",),
    "inventory": ("inventory", "inventory (stock purchases)"),
    "revenue": ("revenue",),
    "refunds": ("refunds", "refunds paid out"),
}


def month_range(year: int, month: int) -> tuple[str, str]:
    last = calendar.monthrange(year, month)[1]
    return f"{year}-{month:02d}-01", f"{year}-{month:02d}-{last:02d}"


def quarter_range(year: int, quarter: int) -> tuple[str, str]:
    first = 3 * (quarter - 1) + 1
    return month_range(year, first)[0], month_range(year, first + 2)[1]


def item_text(name: str) -> str:
    """An item name as written mid-sentence: "the toner cartridge 58A", "the pH meter"."""
    return name[0].lower() + name[1:] if name[1:2].islower() else name


def money_text(value: float, style: int = 0) -> str:
    """An amount as a person writes it: "45.00", "$1,369.00", "1369 USD"..."""
    if style == 1:
        return f"${value:,.2f}"
    if style == 2:
        return f"{value:,.2f} USD"
    if style == 3 and float(value).is_integer():
        return f"{int(value)} dollars"
    return f"{value:.2f}"


@dataclasses.dataclass
class Spec:
    """One case before it gets an id: message, expectations, tags and provenance."""

    prefix: str
    cluster: str
    difficulty: str
    message: str
    intent: str
    tools: tuple[str, ...]
    expected: dict[str, Any]
    checks: tuple[Check, ...] = ()
    extra_tags: tuple[str, ...] = ()
    note: str | None = None
    user_id: str | None = None


class Picker:
    """Seeded choices that avoid repeating an entity until a pool is exhausted."""

    def __init__(self, world: WorldFacts, seed: int) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self._used: dict[str, set[Any]] = {}

    def pick(self, pool: str, candidates: Sequence[T], key: Callable[[T], Any] = id) -> T:
        if not candidates:
            raise RuntimeError(f"no candidates for {pool}")
        used = self._used.setdefault(pool, set())
        fresh = [c for c in candidates if key(c) not in used]
        if not fresh:
            used.clear()
            fresh = list(candidates)
        choice = self.rng.choice(fresh)
        used.add(key(choice))
        return choice

    def order(self, pool: str, candidates: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return self.pick(pool, candidates, key=lambda o: o["id"])

    def choice(self, options: Sequence[T]) -> T:
        return self.rng.choice(list(options))
