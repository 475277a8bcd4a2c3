"""Money in text: which number is an amount of money, and which is a quantity.

"Credit the printer paper (pack of 500) on INV-55501, $18.90" holds two numbers; only one
is money. A careful reader (sim-2) takes a number marked as money ("$18.90", "18.90 USD",
"19 dollars") for a money parameter, never a quantity (a CLDR unit or a plural noun after it:
"4 L", "12 kg", "30 sheets"; a count word before it: "pack of 500", "qty 2"; a percentage),
and multiplies a unit price by the count asked for ("three chairs at 45.00 USD each, credit
all three" -> 135.0).
"""

from __future__ import annotations

import re

from passline.sim.brain.parsing import word_number
from passline.sim.brain.text import numbers_in

_CURRENCY_AFTER_RE = re.compile(r"\s*(?:usd|us\$|dollars?|bucks)\b", re.I)
_CURRENCY_BEFORE_RE = re.compile(r"(?:usd|us\$|\$)\s*$", re.I)
#: Words after a number that say it counts or measures something (besides CLDR units).
_COUNT_AFTER_RE = re.compile(r"\s*(?:%|percent\b|x\b|times\b|pcs\b)", re.I)
#: A count word before a number: "<container> of 100", "qty 2", "x3", "#4"; money words
#: before "of" ("a total of 500") do not count.
_UNIT_BEFORE_RE = re.compile(r"(?:\b([a-z]+)\s+of|\bqty\.?|\bquantity|\bx|\bno\.?|#)\s*$", re.I)
_MONEY_NOUNS = frozenset("total amount sum refund payment price cost balance fee credit charge "
                         "value deposit invoice bill transfer".split())
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
    if _COUNT_AFTER_RE.match(text[end:]):
        return True
    nxt = re.match(r"\s*([^\W\d_]+)", text[end:])
    if nxt:
        from passline.sim.brain.lexicon import unit_of

        word = nxt.group(1)
        if unit_of(word) is not None and word.lower() not in ("each", "usd", "in", "per"):
            return True
        if word.lower().endswith("s") and len(word) > 3 and word.lower() not in (
                "dollars", "bucks", "cents", "euros", "pounds"):
            return True  # "30 sheets", "2 chairs": a count of things
    before = _UNIT_BEFORE_RE.search(text[max(0, offset - 16):offset])
    return before is not None and (before.group(1) or "").lower() not in _MONEY_NOUNS


def money_amount(text: str) -> float | None:
    """The amount of money ``text`` asks for: the first money-marked number (times the count
    when it is a unit price: "three chairs ... 45.00 USD each"), else None."""
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
