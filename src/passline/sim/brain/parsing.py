"""Values stated in text: dates (absolute and relative), arithmetic, regex-shaped examples.

Relative dates resolve against a fixed epoch, so the simulator gives the same arguments on
every day it runs.
"""

from __future__ import annotations

import datetime as _dt
import re

from passline.sim.brain.text import ID_RE, ISO_DATE_RE

#: The simulator's fixed "today": relative dates ("last month") resolve against it.
EPOCH_DATE = _dt.date(2026, 6, 30)


# ---------------------------------------------------------------------------- dates

_MONTHS = {
    m: i
    for i, m in enumerate(
        "january february march april may june july august september october november december"
        .split(),
        start=1,
    )
}
_WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
}


def _month_range(year: int, month: int) -> tuple[_dt.date, _dt.date]:
    start = _dt.date(year, month, 1)
    nxt = _dt.date(year + (month == 12), month % 12 + 1, 1)
    return start, nxt - _dt.timedelta(days=1)


def date_range(text: str, *, today: _dt.date = EPOCH_DATE) -> tuple[_dt.date, _dt.date] | None:
    """A (start, end) range for the first date expression in ``text``, relative to ``today``.

    Understands ISO dates (one or two), "today", "yesterday", "last/this week|month|quarter|
    year", "last N days/weeks/months", "year to date" and month names ("in May", "May 2026";
    a month after ``today``'s month without a year means last year).
    """
    low = text.lower()
    iso = [_dt.date.fromisoformat(d) for d in ISO_DATE_RE.findall(text) if _valid_iso(d)]
    if len(iso) >= 2:
        return min(iso[:2]), max(iso[:2])
    if len(iso) == 1:
        return iso[0], iso[0]
    period = _named_period(low, today)
    if period is not None:
        return period
    if "yesterday" in low:
        d = today - _dt.timedelta(days=1)
        return d, d
    if re.search(r"\btoday\b", low):
        return today, today
    m = re.search(
        r"\b(?:last|past|previous)\s+(\d+|" + "|".join(_WORD_NUMBERS) + r")\s+(day|week|month)s?",
        low,
    )
    if m:
        n = int(m.group(1)) if m.group(1).isdigit() else _WORD_NUMBERS[m.group(1)]
        days = {"day": 1, "week": 7, "month": 30}[m.group(2)] * n
        return today - _dt.timedelta(days=days), today
    m = re.search(r"\b(last|previous|this|current)\s+(week|month|quarter|year)\b", low)
    if m:
        last = m.group(1) in ("last", "previous")
        unit = m.group(2)
        if unit == "week":
            monday = today - _dt.timedelta(days=today.weekday())
            if last:
                monday -= _dt.timedelta(days=7)
                return monday, monday + _dt.timedelta(days=6)
            return monday, today
        if unit == "month":
            if last:
                first = today.replace(day=1) - _dt.timedelta(days=1)
                return _month_range(first.year, first.month)
            return today.replace(day=1), today
        if unit == "quarter":
            q = (today.month - 1) // 3
            year = today.year
            if last:
                q -= 1
                if q < 0:
                    q, year = 3, year - 1
            start = _dt.date(year, 3 * q + 1, 1)
            end = _month_range(year, 3 * q + 3)[1]
            return start, min(end, today) if not last else end
        if last:
            return _dt.date(today.year - 1, 1, 1), _dt.date(today.year - 1, 12, 31)
        return _dt.date(today.year, 1, 1), today
    if re.search(r"\b(year to date|ytd)\b", low):
        return _dt.date(today.year, 1, 1), today
    m = re.search(r"\b(" + "|".join(_MONTHS) + r")\b(?:\s+(\d{4}))?", low)
    if m and not (m.group(1) == "may" and not m.group(2) and not re.search(r"\bin may\b", low)):
        month = _MONTHS[m.group(1)]
        year = int(m.group(2)) if m.group(2) else (
            today.year if month <= today.month else today.year - 1
        )
        return _month_range(year, month)
    return None


_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
             "4th": 4}
_YEAR = r"(?:\s+(?:of\s+)?(?:fy\s*)?('?\d{4}|'\d{2}))?"


def _named_period(low: str, today: _dt.date) -> tuple[_dt.date, _dt.date] | None:
    """Quarters ("Q3 2025", "the third quarter of 2025"), halves ("H2 2025", "the second
    half of 2025") and whole years ("in 2025", "for FY 2025"). Without a year: the most
    recent such period that has begun."""
    m = (re.search(r"\bq([1-4])" + _YEAR + r"\b", low)
         or re.search(r"\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter" + _YEAR,
                      low))
    if m:
        q = int(m.group(1)) if m.group(1).isdigit() else _ORDINALS[m.group(1)]
        year = _year(m.group(2), today, first_month=3 * q - 2)
        return _dt.date(year, 3 * q - 2, 1), _month_range(year, 3 * q)[1]
    m = (re.search(r"\bh([12])" + _YEAR + r"\b", low)
         or re.search(r"\b(first|second|1st|2nd)\s+half" + _YEAR, low))
    if m:
        h = int(m.group(1)) if m.group(1).isdigit() else _ORDINALS[m.group(1)]
        year = _year(m.group(2), today, first_month=6 * h - 5)
        return _dt.date(year, 6 * h - 5, 1), _month_range(year, 6 * h)[1]
    m = re.search(r"\b(?:in|for|during|of|fy|year)\s+(?:fy\s*)?(\d{4})\b(?!-)", low)
    if m and not re.search(r"\b(?:" + "|".join(_MONTHS) + r")\s+(?:of\s+)?" + m.group(1), low):
        year = int(m.group(1))
        if 1990 <= year <= today.year + 5:
            return _dt.date(year, 1, 1), _dt.date(year, 12, 31)
    return None


def _year(raw: str | None, today: _dt.date, *, first_month: int) -> int:
    if raw:
        digits = raw.lstrip("'")
        return int(digits) if len(digits) == 4 else 2000 + int(digits)
    return today.year if first_month <= today.month else today.year - 1


def _valid_iso(text: str) -> bool:
    try:
        _dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def word_number(text: str) -> int | None:
    """``"three"`` -> 3 (zero..twelve), else None."""
    return _WORD_NUMBERS.get(text.lower())


# ---------------------------------------------------------------------------- regex examples


def regex_example(pattern: str, *, digit: str = "12345") -> str | None:
    """A short string matching ``pattern`` (e.g. ``^ORD-\\d{5}$`` -> ``ORD-12345``), or None.

    Walks the parsed regex: literals, classes (first member), repeats (minimum count, at least
    one), groups and alternation (first branch). Digits cycle through ``digit`` so examples
    read like ids. The result is checked against the pattern before it is returned.
    """
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    try:
        parsed = _parser.parse(pattern)
    except (re.error, RecursionError, ValueError):
        return None
    counter = [0]

    def next_digit() -> str:
        ch = digit[counter[0] % len(digit)]
        counter[0] += 1
        return ch

    def category_char(cat: object) -> str:
        if cat is c.CATEGORY_DIGIT:
            return next_digit()
        if cat is c.CATEGORY_SPACE:
            return " "
        return "a"

    def walk(items: object, depth: int = 0) -> str:
        if depth > 20:
            raise ValueError("too deep")
        out = []
        for op, arg in items:  # type: ignore[attr-defined]
            if op is c.LITERAL:
                out.append(chr(arg))
            elif op is c.ANY:
                out.append("a")
            elif op is c.IN:
                out.append(in_char(arg))
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
                lo, hi, sub = arg
                count = max(lo, 1) if hi else 0
                count = min(count, 64)
                out.append("".join(walk(sub, depth + 1) for _ in range(count)))
            elif op is c.SUBPATTERN:
                out.append(walk(arg[-1], depth + 1))
            elif op is c.BRANCH:
                out.append(walk(arg[1][0], depth + 1))
            elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
                continue
            elif op is c.CATEGORY:
                out.append(category_char(arg))
            else:
                raise ValueError(f"unsupported regex op {op}")
        return "".join(out)

    def in_char(members: list[tuple[object, object]]) -> str:
        if members and members[0][0] is c.NEGATE:
            for candidate in "aA0-_ ":
                if re.fullmatch(f"[{pattern_class(members)}]", candidate):
                    return candidate
            return "a"
        for op, arg in members:
            if op is c.LITERAL:
                return chr(arg)  # type: ignore[arg-type]
            if op is c.RANGE:
                low, high = int(arg[0]), int(arg[1])  # type: ignore[index]
                if chr(low) == "0" and chr(high) == "9":
                    return next_digit()
                return chr(low)
            if op is c.CATEGORY:
                return category_char(arg)
        return "a"

    def pattern_class(members: list[tuple[object, object]]) -> str:
        # only used to test a candidate against a negated class: rebuild from the source
        m = re.search(r"\[\^([^\]]*)\]", pattern)
        return "^" + m.group(1) if m else "^"

    try:
        example = walk(parsed)
    except (ValueError, TypeError, RecursionError):
        return None
    try:
        return example if re.search(pattern, example) else None
    except re.error:
        return None


# ---------------------------------------------------------------------------- arithmetic

_ARITH_WORDS = [
    (r"\bplus\b|\badded to\b", "+"), (r"\bminus\b|\bless\b", "-"),
    (r"\btimes\b|\bmultiplied by\b|\bx\b", "*"), (r"\bdivided by\b|\bover\b", "/"),
]


def arithmetic_expression(text: str) -> str | None:
    """An arithmetic expression stated in ``text`` ("what is 12.5 times 4" -> "12.5*4";
    "15% of 240" -> "15/100*240"; "sum of 3, 4 and 5" -> "3+4+5")."""
    low = ID_RE.sub(" ", text.lower()).replace("$", "")
    low = re.sub(r"(\d),(\d{3})", r"\1\2", low)
    m = re.search(r"(\d+(?:\.\d+)?)\s*%\s*of\s*(\d+(?:\.\d+)?)", low)
    if m:
        return f"{m.group(1)}/100*{m.group(2)}"
    m = (re.search(r"\b(sum|total|average|mean) of\s+([\d.\s,and]+)", low)
         or re.search(r"\b(add) (?:up|together)?\s*([\d.\s,and]+)", low))
    if m:
        nums = re.findall(r"\d+(?:\.\d+)?", m.group(2))
        if len(nums) >= 2:
            joined = "+".join(nums)
            return joined if m.group(1) in ("sum", "total", "add") else f"({joined})/{len(nums)}"
    for pattern, op in _ARITH_WORDS:
        low = re.sub(pattern, f" {op} ", low)
    runs = re.findall(r"[\d.()+\-*/%\s]*\d[\d.()+\-*/%\s]*", low)
    best = max((r.strip() for r in runs if re.search(r"\d\s*[-+*/%]\s*[\d(]", r)), key=len,
               default=None)
    return re.sub(r"\s+", "", best) if best else None


