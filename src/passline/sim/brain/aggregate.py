"""Arithmetic over looked-up amounts: "What do INV-55501 and INV-55502 add up to?"

A capable model looks the amounts up first, then hands the arithmetic to a calculator tool
instead of doing it in its head (sim-2). The amounts come from this turn's tool results, or
from facts earlier steps reported (a worker's "Facts from earlier steps"). sim-1 never
combines results.
"""

from __future__ import annotations

import re
from typing import Any

from passline.sim.brain.parsing import word_number
from passline.sim.brain.text import ID_RE, normalize_number, terms

_SUM_RE = re.compile(
    r"\b(?:together|in total|combined|altogether|all together|sum of|add up|added up|"
    r"come to|total of both|grand total)\b", re.I)
_DIFFERENCE_RE = re.compile(
    r"\bhow much (?:more|less|higher|lower)\b|\bdifference between\b|\bmore than\b.*\bby how "
    r"much\b|\bexceed(?:s|ed)? .* by how much\b", re.I)
_EXPRESSION_NAMES = ("expression", "expr", "formula", "calculation")
_MAIN_AMOUNT_RE = re.compile(r"(?:^|_)(?:total|amount|balance|sum)(?:_|$)")
_FACT_TOTAL_RE = re.compile(r"\b(?:total|balance)\s+\$?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)",
                            re.I)


def combine_op(text: str) -> str | None:
    """"+" when ``text`` asks for a sum of amounts, "-" for a difference, "left" for what
    remains of a total after taking an item out, else None."""
    if _DIFFERENCE_RE.search(text):
        return "-"
    if _LEFT_RE.search(text):
        return "left"
    if _SUM_RE.search(text):
        return "+"
    return None


_LEFT_RE = re.compile(r"\b(?:would be|is|be) left\b|\bleft over\b|\bremain(?:s|ing|der)?\b",
                      re.I)
#: An order line as results and reports state it: "Wireless keyboard (qty 1, unit 49.00 USD)".
_LINE_RE = re.compile(r"([A-Z][^;:()]*?(?:\([^()]*\)[^;:()]*?)?)\s*\(qty\s+(\d+),\s*unit\s+"
                      r"\$?([\d,]+(?:\.\d+)?)", re.I)


def is_calculator(tool: Any) -> bool:
    """A tool that evaluates an arithmetic expression (a required ``expression``-like string)."""
    for name in tool.required:
        schema = tool.properties.get(name) or {}
        desc = str(schema.get("description") or "").lower() if isinstance(schema, dict) else ""
        if name.lower() in _EXPRESSION_NAMES or "arithmetic" in desc:
            return True
    return False


def expression_param(tool: Any) -> str:
    for name in tool.required:
        schema = tool.properties.get(name) or {}
        desc = str(schema.get("description") or "").lower() if isinstance(schema, dict) else ""
        if name.lower() in _EXPRESSION_NAMES or "arithmetic" in desc:
            return name
    return tool.required[0]


def main_amounts(results: list[tuple[str, Any]], facts: str, request: str) -> list[str]:
    """The headline amounts of the records the request compares (an order's or a ledger's
    total), in order: from two or more results of one tool, else -- when the request names
    two or more records of one kind -- from "total 218.70 USD" in earlier steps' facts."""
    by_tool: dict[str, list[str]] = {}
    for name, data in results:
        value = _main_amount(data)
        if value is not None:
            by_tool.setdefault(name, []).append(value)
    for values in by_tool.values():
        if len(values) >= 2:
            return values
    if results:
        return []
    prefixes = [i.split("-")[0] for i in ID_RE.findall(request)]
    if not any(prefixes.count(p) >= 2 for p in set(prefixes)):
        return []
    found: list[str] = []
    for m in _FACT_TOTAL_RE.finditer(facts):
        norm = normalize_number(m.group(1))
        if norm is not None:
            found.append(norm)
    return found


def _main_amount(data: Any) -> str | None:
    if not isinstance(data, dict) or "error" in data:
        return None
    for key, value in data.items():
        if (isinstance(value, int | float) and not isinstance(value, bool)
                and _MAIN_AMOUNT_RE.search(key.lower())):
            return normalize_number(str(value))
    return None


def remainder_amounts(results: list[tuple[str, Any]], facts: str, request: str) -> list[str]:
    """[total, item amount] for "what remains of the invoice if we credit back one desk
    lamp?": the record's total and the price of the line item the request names."""
    totals = [v for _, data in results if (v := _main_amount(data)) is not None]
    lines: list[tuple[str, int, str]] = []
    for _, data in results:
        for item in (data.get("items") or []) if isinstance(data, dict) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                price = next((v for k, v in item.items() if k.startswith("unit")
                              and isinstance(v, int | float)), None)
                if price is not None:
                    lines.append((item["name"], int(item.get("qty") or 1), str(price)))
    if not results:
        totals = [n for m in _FACT_TOTAL_RE.finditer(facts)
                  if (n := normalize_number(m.group(1))) is not None]
        lines = [(m.group(1).strip(), int(m.group(2)), m.group(3).replace(",", ""))
                 for m in _LINE_RE.finditer(facts)]
    if not totals or not lines:
        return []
    wanted = set(terms(request))
    named = [(name, price) for name, _qty, price in lines
             if terms(name) and set(terms(name)) <= wanted]
    if not named:
        return []
    count = _count_asked(request)
    unit = normalize_number(named[0][1]) or named[0][1]
    return [totals[0], f"{unit}*{count}" if count > 1 else unit]


def _count_asked(request: str) -> int:
    m = re.search(r"\b(\d+|one|two|three|four|five|six|both)\s+(?:of\s+the\s+)?[a-z]", request,
                  re.I)
    if not m:
        return 1
    word = m.group(1).lower()
    return 2 if word == "both" else int(word) if word.isdigit() else (word_number(word) or 1)


def expression_for(op: str, amounts: list[str]) -> str | None:
    """``a+b+...`` or ``a-b`` over the amounts (None with fewer than two)."""
    if len(amounts) < 2:
        return None
    if op in ("-", "left"):
        return f"{amounts[0]}-{amounts[1]}"
    return "+".join(amounts)
