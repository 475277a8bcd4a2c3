"""Dates and times stated in a request, each with where it stands (sim-2's reading).

ISO dates, day-and-month dates ("July 10", "3rd of August", "15 September 2026"), relative days
(today, tomorrow, yesterday, weekdays, "in 3 days") and clock times ("at 3pm", "09:30"). A day
and month without a year is the occurrence nearest to the simulator's fixed today
(``parsing.EPOCH_DATE``), as a reader takes "July 10" to mean the coming one and "March 3"
the past one. Periods ("last month", "Q3 2025") are ``parsing.date_range``'s.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from passline.sim.brain.parsing import EPOCH_DATE

_MONTH_NAMES = ("january february march april may june july august september october "
                "november december").split()
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)} | {
    m[:3]: i for i, m in enumerate(_MONTH_NAMES, 1)} | {"sept": 9}
_WEEKDAYS = {d: i for i, d in enumerate(
    "monday tuesday wednesday thursday friday saturday sunday".split())}
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(\d{4}))?"
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}


@dataclass(frozen=True)
class DateMention:
    start: int
    end: int
    day: _dt.date


@dataclass(frozen=True)
class TimeMention:
    start: int
    end: int
    hour: int
    minute: int


def _nearest(month: int, day: int, today: _dt.date) -> _dt.date | None:
    options = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            options.append(_dt.date(year, month, day))
        except ValueError:
            continue
    return min(options, key=lambda d: (abs((d - today).days), d < today)) if options else None


def _make(year: str | None, month: int, day: int, today: _dt.date) -> _dt.date | None:
    if year:
        try:
            return _dt.date(int(year), month, day)
        except ValueError:
            return None
    return _nearest(month, day, today)


def date_mentions(text: str, *, today: _dt.date = EPOCH_DATE) -> list[DateMention]:
    """Every single day ``text`` names, in order of appearance."""
    low = text.lower()
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, day: _dt.date | None) -> None:
        if day is None or any(a < end and start < b for a, b in taken):
            return
        taken.append((start, end))
        found.append(DateMention(start, end, day))

    for m in re.finditer(r"\b(\d{4})-(\d{2})-(\d{2})\b", text):
        try:
            add(m.start(), m.end(), _dt.date(int(m[1]), int(m[2]), int(m[3])))
        except ValueError:
            continue
    for m in re.finditer(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b{_YEAR}", low):
        add(m.start(), m.end(), _make(m[3], _MONTHS[m[2]], int(m[1]), today))
    for m in re.finditer(rf"\b{_MONTH}\s+{_DAY}\b(?!:){_YEAR}", low):
        if m[1] == "may" and not re.match(r"\d", m[2]):
            continue
        add(m.start(), m.end(), _make(m[3], _MONTHS[m[1]], int(m[2]), today))
    relative = {"today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0,
                "this evening": 0, "tomorrow": 1, "yesterday": -1, "day after tomorrow": 2}
    for phrase, delta in sorted(relative.items(), key=lambda kv: -len(kv[0])):
        for m in re.finditer(rf"\b(?:the\s+)?{phrase}\b", low):
            add(m.start(), m.end(), today + _dt.timedelta(days=delta))
    for m in re.finditer(r"\b(next|this|coming|last|on)?\s*(monday|tuesday|wednesday|thursday|"
                         r"friday|saturday|sunday)s?\b", low):
        ahead = (_WEEKDAYS[m[2]] - today.weekday()) % 7
        if m[1] == "last":
            back = (today.weekday() - _WEEKDAYS[m[2]]) % 7 or 7
            day = today - _dt.timedelta(days=back)
        else:
            day = today + _dt.timedelta(days=ahead or 7)
        add(m.start() + (len(m[0]) - len(m[0].lstrip())), m.end(), day)
    for m in re.finditer(r"\bin\s+(\d+|" + "|".join(_NUMBER_WORDS) + r"|a)\s+(day|week)s?\b",
                         low):
        n = 1 if m[1] == "a" else int(m[1]) if m[1].isdigit() else _NUMBER_WORDS[m[1]]
        add(m.start(), m.end(), today + _dt.timedelta(days=n * (7 if m[2] == "week" else 1)))
    return sorted(found, key=lambda d: d.start)


def time_mentions(text: str) -> list[TimeMention]:
    """Clock times: "3pm", "3:30 pm", "09:30", "14:00", "noon", "midnight"."""
    low = text.lower()
    out: list[TimeMention] = []
    for m in re.finditer(r"\b(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)(?![a-z])", low):
        hour = int(m[1]) % 12 + (12 if m[3].startswith("p") else 0)
        if hour < 24:
            out.append(TimeMention(m.start(), m.end(), hour, int(m[2] or 0)))
    for m in re.finditer(r"(?<![\d:-])(\d{1,2}):(\d{2})(?![\d:])(?!\s*(?:a\.?m|p\.?m))", low):
        if int(m[1]) < 24 and int(m[2]) < 60 and not any(t.start <= m.start() < t.end
                                                          for t in out):
            out.append(TimeMention(m.start(), m.end(), int(m[1]), int(m[2])))
    for word, hour in (("noon", 12), ("midday", 12), ("midnight", 0)):
        for m in re.finditer(rf"\b{word}\b", low):
            out.append(TimeMention(m.start(), m.end(), hour, 0))
    return sorted(out, key=lambda t: t.start)


def date_time(day: _dt.date, time: TimeMention | None) -> str:
    """ISO 8601 date-time (local, no zone) of a day and an optional clock time."""
    hour, minute = (time.hour, time.minute) if time else (0, 0)
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00"
