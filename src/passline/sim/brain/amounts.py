"""Money in text: which number is an amount of money, and which is a quantity.

"Refund the coffee pods (box of 100) on ORD-10241, $42.50" holds two numbers; only one is
money. A careful reader (sim-2) takes a number marked as money ("$42.50", "42.50 USD",
"42 dollars") for a money parameter, never a quantity ("box of 100", "rack of 96", "4 L",
"70%", "qty 2"), and multiplies a unit price by the count asked for ("two units ... 36.50
USD each. Refund both." -> 73.0).
"""

from __future__ import annotations

import re

from passline.sim.brain.parsing import word_number
from passline.sim.brain.text import numbers_in

_CURRENCY_AFTER_RE = re.compile(r"\s*(?:usd|us\$|dollars?|bucks)\b", re.I)
_CURRENCY_BEFORE_RE = re.compile(r"(?:usd|us\$|\$)\s*$", re.I)
#: A unit after a number makes it a measure or a count, not money.
_UNIT_AFTER_RE = re.compile(
    r"\s*(?:%|percent\b|x\b|l\b|ml\b|g\b|kg\b|mg\b|cm\b|mm\b|ft\b|oz\b|lb\b|lbs\b|"
    r"ul\b|uL\b|pads?\b|reams?\b|sheets?\b|pcs\b|pieces?\b|units?\b|items?\b|boxes\b|"
    r"packs?\b|rolls?\b|pairs?\b|days?\b|weeks?\b|months?\b|years?\b|hours?\b|times\b|"
    r"drawers?\b|ports?\b|gb\b|tb\b)", re.I)
#: A container or count word before a number: "box of 100", "qty 2", "x3".
_UNIT_BEFORE_RE = re.compile(
    r"(?:\b(?:box|pack|rack|case|set|bag|roll|bundle|carton|pallet|kit|tray|tube)\s+of|"
    r"\bqty\.?|\bquantity|\bx|\bno\.?|#)\s*$", re.I)
_EACH_RE = re.compile(r"^\s*(?:usd|dollars?)?\s*(?:each|apiece|a piece|per (?:unit|item|piece))\b",
                      re.I)
_COUNT_RE = re.compile(
    r"\b(both|all (?:two|three|four|five)|(?:\d+|" + "|".join(
        "one two three four five six seven eight nine ten eleven twelve".split())
    + r"))\s+(?:units?|items?|pieces?|of (?:them|the|those|these)|pcs)\b", re.I)


def money_candidates(text: str) -> list[tuple[int, float]]:
    """(char offset, value) of the numbers in ``text`` marked as money, in order."""
    out = []
    for offset, raw, value in numbers_in(text):
        end = offset + len(raw)
        if raw.startswith("$") or _CURRENCY_BEFORE_RE.search(text[:offset]) or (
            _CURRENCY_AFTER_RE.match(text[end:])
        ):
            out.append((offset, abs(value)))
    return out


def is_quantity(text: str, offset: int, raw: str) -> bool:
    """Whether the number ``raw`` at ``offset`` is a measure or count ("box of 100", "4 L",
    "70%", "qty 2"), not an amount of money."""
    if raw.endswith("%"):
        return True
    end = offset + len(raw)
    if _CURRENCY_AFTER_RE.match(text[end:]) or raw.startswith("$"):
        return False
    if _UNIT_AFTER_RE.match(text[end:]):
        return True
    return bool(_UNIT_BEFORE_RE.search(text[max(0, offset - 16):offset]))


def money_amount(text: str) -> float | None:
    """The amount of money ``text`` asks for: the first money-marked number (times the count
    when it is a unit price: "two units ... 36.50 USD each"), else None."""
    found = money_candidates(text)
    if not found:
        return None
    offset, value = found[0]
    raw_end = _number_end(text, offset)
    if _EACH_RE.match(text[raw_end:]):
        count = _count(text)
        if count and count > 1:
            return round(value * count, 2)
    return value


def _number_end(text: str, offset: int) -> int:
    m = re.match(r"\$?\d[\d,]*(?:\.\d+)?(?:\s*(?:usd|dollars?))?", text[offset:], re.I)
    return offset + (m.end() if m else 0)


def _count(text: str) -> int | None:
    m = _COUNT_RE.search(text)
    if m:
        word = m.group(1).lower()
        if word == "both":
            return 2
        if word.startswith("all "):
            return word_number(word[4:])
        return int(word) if word.isdigit() else word_number(word)
    if re.search(r"\bboth\b", text, re.I):
        return 2
    return None
