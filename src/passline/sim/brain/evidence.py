"""Evidence for the simulator's judge: the facts a context states, and the numbers in a text.

Every value of every JSON object in a tool result becomes a fact described by its key
("unit_usd" -> unit price), the name or title of the object it sits in and the id of its
record; every number inside a JSON string or prose passage ("Desk 2x3 m", "a fee of 12
percent for tools") becomes a fact described by the words around it, with its unit. The
descriptors come from the request's own text and JSON keys, plus a small table of general
synonyms ("each" ~ "unit", "together" ~ "total"); nothing here knows any dataset.
``binding`` checks an answer's claims against these facts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from passline.sim.brain.text import ID_RE, ISO_DATE_RE, sentences, split_identifier, stem, terms

#: general synonyms folded onto one descriptor term (how people name a field's meaning);
#: written as plain words and stemmed like every other term
_SYNONYM_WORDS = {
    "each": "unit", "apiece": "unit", "per": "unit", "piece": "unit", "price": "unit",
    "together": "total", "altogether": "total", "combined": "total", "sum": "total",
    "overall": "total", "come": "total", "whole": "total",
    "cost": "amount", "charge": "amount", "fee": "amount",
    "quantity": "qty", "pieces": "qty",
    "entries": "count", "records": "count", "transactions": "count", "bookings": "count",
    "owes": "balance", "outstanding": "balance",
    "placed": "created", "ordered": "created",
    "left": "shipped", "dispatched": "shipped",
    "arrived": "delivered", "received": "delivered",
}
_SYNONYMS = {stem(k): stem(v) for k, v in _SYNONYM_WORDS.items()}
#: units a number can carry, folded to a canonical unit; numbers of different canonical units
#: never support each other
_UNIT_WORDS = {
    "usd": "usd", "dollar": "usd", "$": "usd", "cent": "cent", "cents": "cent",
    "eur": "eur", "euro": "eur", "gbp": "gbp",
    "percent": "pct", "%": "pct", "pct": "pct", "per cent": "pct",
    "day": "day", "business day": "bday", "working day": "bday", "business hour": "bhour",
    "hour": "hour", "minute": "minute", "week": "week", "month": "month", "year": "year",
    "mile": "mile", "km": "km", "kilometre": "km", "kilometer": "km", "ft": "ft", "foot": "ft",
    "feet": "ft", "m": "m", "metre": "m", "meter": "m", "cm": "cm", "inch": "inch", "kg": "kg",
    "g": "g", "lb": "lb", "l": "l", "litre": "l", "liter": "l", "ml": "ml", "gallon": "gal",
}
_UNIT_STEMS = {stem(w) for key in _UNIT_WORDS for w in key.split() if w.isalpha()} | {"usd"}
_KEY_UNITS = {"usd": "usd", "eur": "eur", "gbp": "gbp", "pct": "pct", "percent": "pct",
              "days": "day", "hours": "hour"}
#: units that are loose forms of another (a claim in the loose unit is imprecise, not wrong)
LOOSE_UNITS = {("hour", "bhour"), ("day", "bday")}
_APPROX_RE = re.compile(r"\b(?:about|around|roughly|approximately|approx\.?|nearly|almost|"
                        r"some|just over|just under|a little (?:over|under)|close to|~)\s*$",
                        re.I)
NUMBER_RE = re.compile(r"(?<![\w.])\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(\s*k\b)?"
                        r"(?![\w])(?!-\d)", re.I)
_DIMENSION_RE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:x|×|by)\s*(\d+(?:\.\d+)?)"
                           r"(?:\s*(?:x|×|by)\s*(\d+(?:\.\d+)?))?", re.I)
#: general status vocabulary: each word names one class; a record's status value is read the
#: same way, so "pending approval" and "pending_approval" fall in one class
STATUS_CLASSES = {
    "pending": "pending", "awaiting": "pending", "approval": "pending", "review": "pending",
    "progress": "pending", "hold": "pending",
    "issued": "done", "processed": "done", "completed": "done", "refunded": "done",
    "paid": "paid", "settled": "paid",
    "open": "open", "unpaid": "open", "outstanding": "open",
    "overdue": "overdue", "late": "overdue",
    "shipped": "shipped", "dispatched": "shipped", "transit": "transit",
    "delivered": "delivered", "arrived": "delivered",
    "placed": "placed", "processing": "placed",
    "cancelled": "cancelled", "canceled": "cancelled",
    "returned": "returned", "closed": "closed",
}
_STATUS_KEY_RE = re.compile(r"status|state", re.I)
_NAME_KEYS = ("name", "title", "subject", "label", "description")
_SKIP_KEYS = {"score", "rank", "relevance", "idempotency_key", "embedding"}


# ------------------------------------------------------------------ values


def _decimal(raw: str) -> Decimal | None:
    try:
        value = Decimal(raw.replace(",", "").replace("$", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _canon_terms(words: Iterable[str]) -> set[str]:
    out = set()
    for t in words:
        out.add(_SYNONYMS.get(t, t))
    return out


def descriptor(text: str) -> set[str]:
    """What a value is about: content terms, synonyms folded, unit words left out (a unit is
    compared as a unit, not as a word)."""
    return {t for t in _canon_terms(terms(text)) if t not in _UNIT_STEMS}


def _unit_after(text: str) -> str | None:
    """The unit written right after a number ("USD", "percent", "business days", "ft"), with
    its rate part when it has one ("EUR per hour" -> "eur/hour")."""
    unit = _plain_unit_after(text)
    if unit is None:
        return None
    m = re.match(r"\s*(?:-\s*)?[A-Za-z%$]+(?:[\s-]+(?:business|working))?[\s-]*"
                 r"(?:[A-Za-z]+\s+)?(?:per|a|an|/)\s*([A-Za-z]+(?:\s+[A-Za-z]+)?)", text)
    if m:
        per = _plain_unit_after(" " + m.group(1))
        if per is not None and per != unit:
            return f"{unit}/{per}"
    return unit


def _plain_unit_after(text: str) -> str | None:
    m = re.match(r"\s*(?:-\s*)?([A-Za-z%$]+(?:[\s-]+[A-Za-z]+)?)", text)
    if not m:
        return None
    phrase = m.group(1).lower()
    words_ = phrase.replace("-", " ").split()
    if len(words_) == 2:
        two = f"{stem(words_[0])} {stem(words_[1])}"
        for key, unit in _UNIT_WORDS.items():
            if " " in key and two == " ".join(stem(w) for w in key.split()):
                return unit
    first = words_[0]
    if first in _UNIT_WORDS:
        return _UNIT_WORDS[first]
    return _UNIT_WORDS.get(stem(first))


def _unit_before(text: str) -> str | None:
    m = re.search(r"(\$|usd|eur|gbp)\s*$", text, re.I)
    return _UNIT_WORDS.get(m.group(1).lower()) if m else None


@dataclass(frozen=True)
class Number:
    """A number found in text: its value, unit, offset, and whether it was hedged."""

    value: Decimal
    unit: str | None
    start: int
    end: int
    approx: bool = False


def numbers(text: str) -> list[Number]:
    """Every number in ``text`` that is not part of an id or a date: plain ("1,052.00"),
    with a currency sign or word, thousands ("5.4k"), and each side of a dimension
    ("2x3 m" gives 2 and 3, both in m)."""
    blocked = [m.span() for m in ID_RE.finditer(text)] + [
        m.span() for m in ISO_DATE_RE.finditer(text)]
    out: list[Number] = []
    taken: list[tuple[int, int]] = []
    for m in _DIMENSION_RE.finditer(text):
        if any(a <= m.start() < b for a, b in blocked):
            continue
        unit = _unit_after(text[m.end():])
        for g in (1, 2, 3):
            if m.group(g) is not None:
                value = _decimal(m.group(g))
                if value is not None:
                    out.append(Number(value, unit, m.start(g), m.end(g)))
        taken.append(m.span())
    for m in NUMBER_RE.finditer(text):
        if any(a <= m.start() < b for a, b in blocked + taken):
            continue
        value = _decimal(m.group(1) + (m.group(2) or ""))
        if value is None:
            continue
        if m.group(3):
            value *= 1000
        before = text[max(0, m.start() - 24):m.start()]
        unit = _unit_after(text[m.end():]) or _unit_before(before)
        if unit and unit.partition("/")[0] == "cent":  # "80 cents per km" is 0.80 USD per km
            value /= 100
            unit = "usd" + unit[4:]
        out.append(Number(value, unit, m.start(), m.end(),
                          approx=bool(m.group(3) or _APPROX_RE.search(before))))
    out.sort(key=lambda n: n.start)
    return out


# ------------------------------------------------------------------ evidence


@dataclass(frozen=True)
class Fact:
    """One thing the context states: a value (number, date, id or status class), what it
    is about (descriptor terms), its unit, and the record (id) it belongs to."""

    kind: str  # "number" | "date" | "id" | "status"
    value: str
    terms: frozenset[str]
    unit: str | None = None
    record: str | None = None


@dataclass
class Evidence:
    """Every fact of the context, with term weights for matching descriptors."""

    facts: list[Fact] = field(default_factory=list)
    text_terms: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    records: dict[str, list[Fact]] = field(default_factory=dict)
    #: what kind of thing each record is ("refund", "order"), from its id key and parent key
    record_types: dict[str, set[str]] = field(default_factory=dict)
    #: the sources' raw text (contact details are compared character for character)
    raw: str = ""
    #: the ids of the records of each JSON list (a result listing orders, invoices ...)
    id_lists: list[list[str]] = field(default_factory=list)
    _idf: dict[str, float] = field(default_factory=dict)

    def add(self, fact: Fact) -> None:
        self.facts.append(fact)
        if fact.record:
            self.records.setdefault(fact.record, []).append(fact)

    def finish(self) -> Evidence:
        df: dict[str, int] = {}
        for f in self.facts:
            for t in f.terms:
                df[t] = df.get(t, 0) + 1
        n = max(len(self.facts), 1)
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        return self

    def weight(self, term: str) -> float:
        return self._idf.get(term, math.log(1 + max(len(self.facts), 1)))

    def overlap(self, a: Iterable[str], b: frozenset[str] | set[str]) -> float:
        return sum(self.weight(t) for t in set(a) if t in b)

    def numbers(self) -> list[Fact]:
        return [f for f in self.facts if f.kind == "number"]


def gather(sources: Sequence[str]) -> Evidence:
    """The facts of every source: JSON lines / JSON documents walked key by key, prose (and
    the text inside JSON strings) read number by number."""
    ev = Evidence()
    for source in sources:
        if not source:
            continue
        ev.text_terms |= descriptor(source)
        ev.raw += "\n" + source
        ev.ids |= {m.group().upper() for m in ID_RE.finditer(source)}
        parsed = list(_json_values(source))
        if parsed:
            for value in parsed:
                _walk(value, ev, context=frozenset(), record=None)
        else:
            _prose(source, ev, base=frozenset(), record=None)
    return ev.finish()


def _json_values(text: str) -> Iterator[object]:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return
    try:
        yield json.loads(stripped)
        return
    except ValueError:
        pass
    for line in stripped.splitlines():
        line = line.strip()
        if line.startswith(("{", "[")):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def _own_id(node: dict[str, object]) -> tuple[str, str] | None:
    """(key, id) of the record a JSON object is: its first ``*id`` field holding an id."""
    return next(((k, str(v).upper()) for k, v in node.items()
                 if isinstance(v, str) and k.lower().endswith("id") and ID_RE.fullmatch(v)),
                None)


def own_id(node: dict[str, object]) -> str | None:
    found = _own_id(node)
    return found[1] if found else None


def _key_terms(key: str) -> set[str]:
    words_ = split_identifier(key).split()
    out = _canon_terms(stem(w) for w in words_ if w not in ("at", "id", "usd", "on"))
    return out


def _walk(node: object, ev: Evidence, *, context: frozenset[str], record: str | None) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, ev, context=context, record=record)
        return
    if not isinstance(node, dict):
        return
    own = _own_id(node)
    if own is not None:
        ev.record_types.setdefault(own[1], set()).update(_key_terms(own[0]) | context)
    record = own[1] if own else record
    name_terms: set[str] = set()
    for key in _NAME_KEYS:
        value = node.get(key)
        if isinstance(value, str) and len(value) < 120:
            name_terms |= descriptor(value)
    local = frozenset(context | name_terms)
    for key, value in node.items():
        if key in _SKIP_KEYS:
            continue
        kterms = frozenset(_key_terms(key))
        unit = next((u for suffix, u in _KEY_UNITS.items()
                     if key.lower().endswith("_" + suffix) or key.lower() == suffix), None)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            number = norm(abs(Decimal(str(value))))
            ev.add(Fact("number", number, local | kterms, unit, record))
        elif isinstance(value, str):
            if ID_RE.fullmatch(value.strip()):
                ev.add(Fact("id", value.strip().upper(), local | kterms, None, record))
            elif ISO_DATE_RE.fullmatch(value.strip()):
                ev.add(Fact("date", value.strip(), local | kterms, None, record))
            elif _STATUS_KEY_RE.search(key):
                for cls in status_classes(value):
                    ev.add(Fact("status", cls, kterms, None, record))
            else:
                _prose(value, ev, base=local | kterms, record=record)
        elif isinstance(value, list):
            ev.add(Fact("number", str(len(value)), local | kterms | {"count"}, None, record))
            listed = [i for i in (own_id(item) for item in value if isinstance(item, dict))
                      if i is not None][:200]
            if len(listed) > 1:
                ev.id_lists.append(list(dict.fromkeys(listed)))
            _walk(value, ev, context=frozenset(kterms), record=record)
        elif isinstance(value, dict):
            _walk(value, ev, context=local | kterms, record=record)


def _prose(text: str, ev: Evidence, *, base: frozenset[str], record: str | None) -> None:
    for m in ISO_DATE_RE.finditer(text):
        ev.add(Fact("date", m.group(), base | frozenset(window(text, m.start(), m.end())),
                    None, record))
    for m in ID_RE.finditer(text):
        ev.add(Fact("id", m.group().upper(), base, None, record))
    for sent in sentences(text) or [text]:
        found = numbers(sent)
        for i, num in enumerate(found):
            lo = found[i - 1].end if i > 0 else 0
            hi = found[i + 1].start if i + 1 < len(found) else len(sent)
            around = window(sent, num.start, num.end, lo=lo, hi=hi)
            ev.add(Fact("number", norm(num.value), base | frozenset(around), num.unit, record))


def window(text: str, start: int, end: int, *, lo: int = 0, hi: int | None = None,
            before: int = 6, after: int = 9) -> set[str]:
    """Descriptor terms around a value: a few words before it and after it, not crossing the
    neighbouring numbers (``lo``/``hi``)."""
    hi = len(text) if hi is None else hi
    left_text = text[lo:start]
    # a value in brackets annotates what stands before the bracket ("the chair (40 USD)")
    if re.search(r"\(\s*\$?$", left_text):
        left_text = left_text[:left_text.rfind("(")]
    left_text = re.split(r"[;()]|\s[-–—]\s", left_text)[-1]
    # "Price: 40 USD" keeps its label; "... in full: 40 USD" starts a new clause at the colon
    if ":" in left_text and not left_text.rstrip().endswith(":"):
        left_text = left_text.rsplit(":", 1)[1]
    right_text = re.split(r"[;:()]|\s[-–—]\s", text[end:hi])[0]
    left = left_text.split()[-before:]
    right = right_text.split()[:after]
    return descriptor(" ".join(left + right))


def norm(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def status_classes(text: str) -> list[str]:
    """Status classes named in ``text`` ("pending_approval" -> ["pending"])."""
    out = []
    # "gone through" / "went through" / "go through" say a payment or refund was completed
    text = re.sub(r"\b(?:gone|went|go|gone)\s+through\b", "processed", text, flags=re.I)
    for word in re.findall(r"[a-z]+", text.lower().replace("_", " ")):
        cls = STATUS_CLASSES.get(word)
        if cls and cls not in out:
            out.append(cls)
    return out
