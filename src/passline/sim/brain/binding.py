"""Claim binding for the simulator's judge: what each claim in an answer is *about*, and
whether the context says the same thing about it.

A claim is a number, a date, an id or a status word in the answer, together with what it is
about: the words around it (its *descriptor*), its unit ("USD", "percent", "days", "ft"), the
record it belongs to (an id named in the same sentence) and whether it is negated. Evidence
comes from the context in the same shape: every value of every JSON object in a tool result,
described by its key ("unit_usd" -> unit price), the name or title of the object it sits in and
the id of its record; every number inside a JSON string or prose passage ("Desk 2x3 m",
"a fee of 12 percent for tools"), described by the words around it. A claim is

- **supported** when the context states the same value about the same thing (or the value is
  simple arithmetic on context numbers: a sum, a difference, a product, a share);
- **contradicted** when the context states a *different* value about the same thing -- also
  when the same value exists but only about something else (an order total given as one
  item's price, "15 days" turned into "15 percent"), or the unit differs ("per kilometre"
  where the context says "per mile");
- **unsupported** when the context says nothing about it.

Nothing here knows any dataset: the descriptors come from the request's own text and JSON
keys, plus a small table of general synonyms ("each" ~ "unit", "together" ~ "total").
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
    "g": "g", "lb": "lb", "l": "l", "litre": "l", "liter": "l", "ml": "ml",
}
_UNIT_STEMS = {stem(w) for key in _UNIT_WORDS for w in key.split() if w.isalpha()} | {"usd"}
_KEY_UNITS = {"usd": "usd", "eur": "eur", "gbp": "gbp", "pct": "pct", "percent": "pct",
              "days": "day", "hours": "hour"}
#: units that are loose forms of another (a claim in the loose unit is imprecise, not wrong)
_LOOSE_UNITS = {("hour", "bhour"), ("day", "bday")}
_APPROX_RE = re.compile(r"\b(?:about|around|roughly|approximately|approx\.?|nearly|almost|"
                        r"some|just over|just under|a little (?:over|under)|close to|~)\s*$",
                        re.I)
_NUMBER_RE = re.compile(r"(?<![\w.])\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(\s*k\b)?"
                        r"(?![\w])(?!-\d)", re.I)
_CONTACT_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|(?<![\w-])(?:\+\d{1,3}[\s.-]?)?\(?\d{3}\)?"
                         r"[\s.-]\d{3}[\s.-]\d{4}(?![\w-])")
_DIMENSION_RE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:x|×|by)\s*(\d+(?:\.\d+)?)"
                           r"(?:\s*(?:x|×|by)\s*(\d+(?:\.\d+)?))?", re.I)
_NEGATION_RE = re.compile(
    r"\b(?:not|no|never|n't|hasn't|hasnt|isn't|wasn't|haven't|cannot|can't|won't|nothing|"
    r"yet to|neither|nor|without)\b", re.I)
#: general status vocabulary: each word names one class; a record's status value is read the
#: same way, so "pending approval" and "pending_approval" fall in one class
_STATUS_CLASSES = {
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
#: pairs of classes that contradict each other when said of one record
#: (an order that was delivered was also shipped, so "shipped" alone does not contradict
#: "delivered"; "in transit" does)
_EXCLUSIVE = {frozenset(p) for p in (
    ("pending", "done"), ("paid", "open"), ("paid", "overdue"), ("open", "overdue"),
    ("transit", "delivered"), ("transit", "returned"), ("transit", "placed"),
    ("transit", "cancelled"), ("placed", "shipped"), ("placed", "delivered"),
    ("cancelled", "shipped"), ("cancelled", "delivered"), ("cancelled", "placed"),
)}
#: descriptor overlap (idf-weighted terms) above which a context value is "about the same
#: thing" as a claim: about two distinctive shared terms
STRONG_BINDING = 3.0
_STATUS_KEY_RE = re.compile(r"status|state", re.I)
_EXAMPLE_RE = re.compile(r"\b(?:like|e\.g\.?|for example|for instance|such as|format)\W*$",
                         re.I)
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


def _descriptor(text: str) -> set[str]:
    """What a value is about: content terms, synonyms folded, unit words left out (a unit is
    compared as a unit, not as a word)."""
    return {t for t in _canon_terms(terms(text)) if t not in _UNIT_STEMS}


def _unit_after(text: str) -> str | None:
    """The unit written right after a number ("USD", "percent", "business days", "ft"), with
    its rate part when it has one ("EUR per mile" -> "eur/mile")."""
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
    for m in _NUMBER_RE.finditer(text):
        if any(a <= m.start() < b for a, b in blocked + taken):
            continue
        value = _decimal(m.group(1) + (m.group(2) or ""))
        if value is None:
            continue
        if m.group(3):
            value *= 1000
        before = text[max(0, m.start() - 24):m.start()]
        unit = _unit_after(text[m.end():]) or _unit_before(before)
        if unit and unit.partition("/")[0] == "cent":  # "67 cents a mile" is 0.67 USD a mile
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
        ev.text_terms |= _descriptor(source)
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
            name_terms |= _descriptor(value)
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
            number = _norm(abs(Decimal(str(value))))
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
        ev.add(Fact("date", m.group(), base | frozenset(_window(text, m.start(), m.end())),
                    None, record))
    for m in ID_RE.finditer(text):
        ev.add(Fact("id", m.group().upper(), base, None, record))
    for sent in sentences(text) or [text]:
        found = numbers(sent)
        for i, num in enumerate(found):
            lo = found[i - 1].end if i > 0 else 0
            hi = found[i + 1].start if i + 1 < len(found) else len(sent)
            window = _window(sent, num.start, num.end, lo=lo, hi=hi)
            ev.add(Fact("number", _norm(num.value), base | frozenset(window), num.unit, record))


def _window(text: str, start: int, end: int, *, lo: int = 0, hi: int | None = None,
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
    return _descriptor(" ".join(left + right))


def _norm(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def status_classes(text: str) -> list[str]:
    """Status classes named in ``text`` ("pending_approval" -> ["pending"])."""
    out = []
    # "gone through" / "went through" / "go through" say a payment or refund was completed
    text = re.sub(r"\b(?:gone|went|go|gone)\s+through\b", "processed", text, flags=re.I)
    for word in re.findall(r"[a-z]+", text.lower().replace("_", " ")):
        cls = _STATUS_CLASSES.get(word)
        if cls and cls not in out:
            out.append(cls)
    return out


# ------------------------------------------------------------------ claims


@dataclass(frozen=True)
class Claim:
    """One claim of the answer and what the evidence says about it."""

    kind: str  # "number" | "date" | "id" | "status"
    text: str
    sentence: int
    verdict: str  # "supported" | "contradicted" | "unsupported" | "loose"
    why: str = ""
    approx: bool = False
    terms: frozenset[str] = frozenset()
    #: status claims: (the claimed class, *the classes the record has)
    detail: tuple[str, ...] = ()


def bind_claims(answer: str, ev: Evidence, *, extra: Sequence[str] = ()) -> list[Claim]:
    """Every claim of ``answer`` with its verdict against the evidence ``ev``; ``extra`` texts
    (the question, the rules) also count as support for ids, dates and numbers they state."""
    extra_numbers = {_norm(n.value) for text in extra for n in numbers(text)}
    extra_ids = {m.group().upper() for text in extra for m in ID_RE.finditer(text)}
    extra_dates = {m.group() for text in extra for m in ISO_DATE_RE.finditer(text)}
    out: list[Claim] = []
    sents = sentences(answer) or [answer]
    for si, sent in enumerate(sents):
        sent_ids = [m.group().upper() for m in ID_RE.finditer(sent)]
        for m in _CONTACT_RE.finditer(sent):
            # an e-mail address or phone number is a claim about a person: it must come
            # from the inputs, character for character
            ok = m.group() in ev.raw or any(m.group() in text for text in extra)
            out.append(Claim("contact", m.group(), si, "supported" if ok else "unsupported",
                             "" if ok else f"{m.group()} is not in the context"))
        for m in ID_RE.finditer(sent):
            ident = m.group().upper()
            if _EXAMPLE_RE.search(sent[:m.start()][-24:]):
                continue  # "an id like X-123" shows a format; it claims nothing
            ok = ident in ev.ids or ident in extra_ids
            out.append(Claim("id", m.group(), si, "supported" if ok else "unsupported",
                             "" if ok else f"{m.group()} is not in the context"))
        found = numbers(sent)
        dates = list(ISO_DATE_RE.finditer(sent))
        marks = sorted([(n.start, n.end) for n in found] + [d.span() for d in dates])
        for m in dates:
            lo = max((b for a, b in marks if b <= m.start()), default=0)
            hi = min((a for a, b in marks if a >= m.end()), default=len(sent))
            desc = _window(sent, m.start(), m.end(), lo=lo, hi=hi, before=6, after=4)
            out.append(_bind_date(m.group(), desc, si, ev, sent_ids, extra_dates))
        # a short sentence that names nothing itself ("Price: 40 USD.") is about what the
        # sentence before it named
        own = _descriptor(_NUMBER_RE.sub(" ", sent))
        carried = (_descriptor(sents[si - 1]) if si and len(sent.split()) < 6 and len(own) <= 1
                   else set())
        for i, num in enumerate(found):
            lo = found[i - 1].end if i > 0 else 0
            hi = found[i + 1].start if i + 1 < len(found) else len(sent)
            desc = _window(sent, num.start, num.end, lo=lo, hi=hi, before=5, after=8) | carried
            out.append(_bind_number(num, sent, si, desc, ev, sent_ids, extra_numbers,
                                    [n.value for n in found]))
        out.extend(_bind_status(sent, si, ev, sent_ids))
    return out


def _candidates(ev: Evidence, kind: str, record_ids: Sequence[str]) -> list[Fact]:
    facts = [f for f in ev.facts if f.kind == kind]
    scoped = [f for f in facts if f.record in record_ids]
    return scoped or facts


def _bind_date(value: str, desc: set[str], si: int, ev: Evidence,
               sent_ids: Sequence[str], extra: set[str]) -> Claim:
    facts = _candidates(ev, "date", sent_ids)
    same = [f for f in facts if f.value == value]
    if not same:
        facts = [f for f in ev.facts if f.kind == "date"]
        same = [f for f in facts if f.value == value]
    other = [f for f in facts if f.value != value]
    best_same = max((ev.overlap(desc, f.terms) for f in same), default=-1.0)
    best_other = max(((ev.overlap(desc, f.terms), f) for f in other), default=(0.0, None),
                     key=lambda x: x[0])
    if same and (best_same >= 1.0 or best_same >= best_other[0]):
        return Claim("date", value, si, "supported", terms=frozenset(desc))
    if best_other[1] is not None and best_other[0] >= STRONG_BINDING / 2 and (
            best_other[0] > max(best_same, 0.0)):
        return Claim("date", value, si, "contradicted",
                     f"{value} where the context gives {best_other[1].value}",
                     terms=frozenset(desc))
    if same or value in extra:
        return Claim("date", value, si, "supported", terms=frozenset(desc))
    return Claim("date", value, si, "unsupported", f"{value} is not in the context",
                 terms=frozenset(desc))


def _compatible(claim_unit: str | None, fact_unit: str | None) -> str:
    """"same", "loose" (a looser form of the fact's unit) or "different". A rate compares
    both parts ("eur/mile" is not "eur/km"); a rate and its bare unit ("eur") are the same."""
    if claim_unit is None or fact_unit is None or claim_unit == fact_unit:
        return "same"
    c_base, _, c_per = claim_unit.partition("/")
    f_base, _, f_per = fact_unit.partition("/")
    if c_per and f_per and c_per != f_per:
        return "loose" if (c_per, f_per) in _LOOSE_UNITS else "different"
    if c_base == f_base:
        return "same"
    if (c_base, f_base) in _LOOSE_UNITS:
        return "loose"
    return "different"


def _bind_number(num: Number, sent: str, si: int, desc: set[str], ev: Evidence,
                 sent_ids: Sequence[str], extra: set[str],
                 siblings: Sequence[Decimal]) -> Claim:
    text = _norm(num.value)
    facts = _candidates(ev, "number", sent_ids)
    tol = (abs(num.value) * Decimal("0.1")) if num.approx else Decimal("0")

    def equal(f: Fact) -> bool:
        value = Decimal(f.value)
        return abs(value - num.value) <= tol

    def speaks_to(f: Fact) -> bool:
        """Whether fact ``f`` can support the claim: a compatible unit, or -- for a bare
        context figure (a count, a list length) and a claim with a unit -- about the same
        thing. "3 years" is not supported by a list of 3 results."""
        if _compatible(num.unit, f.unit) == "different":
            return False
        return not (num.unit is not None and f.unit is None) or ev.overlap(desc, f.terms) >= 1.0

    same_all = [f for f in facts if equal(f)]
    if not same_all:  # the sentence names records, but the figure may belong to another one
        facts = [f for f in ev.facts if f.kind == "number"]
        same_all = [f for f in facts if equal(f)]
    same = [f for f in same_all if speaks_to(f)]
    other_unit = [f for f in same_all if _compatible(num.unit, f.unit) == "different"]
    if not same and other_unit:
        # the same figure exists, but in another unit ("per km" where it is per mile)
        fact = other_unit[0]
        return Claim("number", num_text(num, sent), si, "contradicted",
                     f"{fact.value} is in {fact.unit}, not {num.unit}", num.approx,
                     frozenset(desc))
    scored_same = sorted(((ev.overlap(desc, f.terms), f) for f in same),
                         key=lambda x: -x[0])
    other = [f for f in facts if not equal(f) and (f.unit is None) == (num.unit is None)
             and _compatible(num.unit, f.unit) != "different"]
    scored_other = sorted(((ev.overlap(desc, f.terms), f) for f in other), key=lambda x: -x[0])
    best_other, other_fact = scored_other[0] if scored_other else (0.0, None)
    # a bare count ("3 boxes") needs a closer match to be called wrong than an amount with a
    # unit ("3.00 USD"): small integers describe many things
    strong = STRONG_BINDING if num.unit else 1.5 * STRONG_BINDING
    terms_ = frozenset(desc)
    if scored_same:
        in_record = [f for f in same if f.record and f.record in sent_ids]
        fact = in_record[0] if in_record else scored_same[0][1]
        unit_fit = _compatible(num.unit, fact.unit)
        if unit_fit == "different":
            # the same figure exists, but in another unit ("per km" where it is per mile)
            return Claim("number", num_text(num, sent), si, "contradicted",
                         f"{fact.value} is in {fact.unit}, not {num.unit}", num.approx, terms_)
        # what tells the two apart: the claim's terms that only one of them shares
        d_same = ev.overlap(desc - (other_fact.terms if other_fact else frozenset()),
                            fact.terms)
        d_other = (ev.overlap(desc - fact.terms, other_fact.terms) if other_fact else 0.0)
        if not in_record and d_same < 1.0 and d_other >= strong:
            # the figure exists, but about something else; what the answer talks about has
            # another value in the context
            return Claim("number", num_text(num, sent), si, "contradicted",
                         f"{num_text(num, sent)} where the context gives "
                         f"{other_fact.value if other_fact else '?'}", num.approx, terms_)
        verdict = "loose" if unit_fit == "loose" else "supported"
        exact = Decimal(fact.value)
        # a hedged figure is vague only when it differs from the exact one ("about 50%" for
        # 50.02% is the figure; "about 5.4k" for 5,363 is a rounding)
        vague = num.approx and abs(exact - num.value) > abs(exact) * Decimal("0.005")
        return Claim("number", num_text(num, sent), si, verdict,
                     "looser unit" if verdict == "loose" else "", vague, terms_)
    if text in extra:
        return Claim("number", num_text(num, sent), si, "supported", "", num.approx, terms_)
    if _derived(num, ev, siblings, sent_ids):
        return Claim("number", num_text(num, sent), si, "supported", "arithmetic",
                     num.approx, terms_)
    if other_fact is not None and best_other >= strong:
        return Claim("number", num_text(num, sent), si, "contradicted",
                     f"{num_text(num, sent)} where the context gives {other_fact.value}",
                     num.approx, terms_)
    return Claim("number", num_text(num, sent), si, "unsupported",
                 f"{num_text(num, sent)} is not in the context", num.approx, terms_)


def num_text(num: Number, sent: str) -> str:
    return sent[num.start:num.end].strip()


_MONEY = ("usd", "eur", "gbp")


def _derived(num: Number, ev: Evidence, siblings: Sequence[Decimal],
             sent_ids: Sequence[str]) -> bool:
    """The claim is arithmetic on context figures (or figures the answer states next to it):
    an amount that is a sum, difference or quantity-times-price of two of them, or a sum of
    a few; a percentage that is the ratio of two. Other units (days, hours, miles) are not
    derived: "60 days" next to a context "30 days" is not arithmetic, it is a new claim."""
    value = num.value
    facts = _candidates(ev, "number", sent_ids)
    if num.unit == "pct":
        pool = [v for v in sorted({Decimal(f.value) for f in facts} | set(siblings)) if v][:60]
        half = Decimal("0.5")
        shares = {Decimal(f.value) for f in facts if f.unit == "pct"}
        if any(abs(100 - p - value) < half for p in shares):
            return True  # "you keep 85 percent" next to a 15 percent fee
        for a in pool:
            for b in pool:
                if a != b and (abs(a / b * 100 - value) < half
                               or abs(abs(a - b) / b * 100 - value) < half):
                    return True
        return False
    if num.unit is not None and num.unit not in _MONEY:
        return False
    if num.unit is None and (value == value.to_integral_value() and value < 20):
        return False  # a small bare count is too easy to hit by chance
    money = sorted({Decimal(f.value) for f in facts if f.unit in _MONEY} | set(siblings))
    counts = sorted({Decimal(f.value) for f in facts
                     if f.unit is None and Decimal(f.value) == Decimal(f.value).to_integral_value()
                     and 0 < Decimal(f.value) < 1000})
    money = [v for v in money if v != value and v != 0][:60]
    cents = Decimal("0.01")
    for i, a in enumerate(money):
        for b in money[i + 1:]:
            if abs(a + b - value) < cents or abs(abs(a - b) - value) < cents:
                return True
        for q in counts:
            if abs(a * q - value) < cents:
                return True
    if len(money) <= 25:
        from itertools import combinations

        for r in (3, 4):
            for combo in combinations(money, r):
                if abs(sum(combo) - value) < cents:
                    return True
    return False


_EVENT_DATE_RE = re.compile(r"\s*(?:at|on|since|:)?\s*\d{4}-\d{2}-\d{2}")
#: words after which a status is not asserted about now ("will be delivered", "once it is
#: approved", "before it shipped", "if it is paid")
_NOT_ASSERTED_RE = re.compile(r"\b(?:will|would|should|could|may|might|once|after|before|"
                              r"until|if|when|whether|unless|soon|expected)\b", re.I)


def _bind_status(sent: str, si: int, ev: Evidence, sent_ids: Sequence[str]) -> list[Claim]:
    """Status words in a sentence ("issued", "pending", "paid", "shipped"), checked against
    the status of the record they are about: the id named closest to the word, else the
    records whose kind the sentence names ("the refund ..."), else the only record with a
    status. Negation in the same clause flips the claim; future or conditional wording
    ("will be delivered", "once approved") asserts nothing."""
    out: list[Claim] = []
    status_facts = [f for f in ev.facts if f.kind == "status" and f.record]
    if not status_facts:
        return out
    by_record: dict[str, set[str]] = {}
    for f in status_facts:
        by_record.setdefault(str(f.record), set()).add(f.value)
    if re.search(r"\[[A-Z]{2,5}-[A-Z]{2,5}-\d{2,}\]", sent):
        return out  # a sentence quoting a cited document reports its text, not a record
    sent_terms = set(terms(sent))
    id_spots = [(m.start(), m.group().upper()) for m in ID_RE.finditer(sent)
                if m.group().upper() in by_record]
    for m in re.finditer(r"[A-Za-z']+", sent):
        word = m.group().lower()
        cls = _STATUS_CLASSES.get(word)
        if cls is None or word in ("approval", "review", "progress", "hold", "late", "open"):
            continue
        if _EVENT_DATE_RE.match(sent[m.end():]):
            continue  # "shipped on 2026-01-02" names an event and its date (checked as a date)
        clause = re.split(r"[,;:()]|\band\b|\bbut\b|\bso\b", sent[:m.start()])[-1]
        if _NOT_ASSERTED_RE.search(clause):
            continue
        negated = bool(_NEGATION_RE.search(" ".join(clause.split()[-4:])))
        # the kind of record the sentence talks about ("the refund ...") decides first, then
        # the id named closest to the word, then the only record there is
        typed = [r for r in by_record if ev.record_types.get(r, set()) & sent_terms]
        named_typed = [r for _, r in id_spots if r in typed]
        near = sorted(id_spots, key=lambda x: abs(x[0] - m.start()))
        definite = True  # the claim is about one known record, so it can be contradicted
        if named_typed:
            scope = named_typed[:1]
        elif typed:
            # "the invoice is overdue" with several invoices in view: the one meant may not
            # be among them, so such a claim can be supported but not contradicted
            scope, definite = typed, len(typed) == 1
        elif near and abs(near[0][0] - m.start()) <= 60:
            scope = [near[0][1]]
        elif not id_spots and len(by_record) == 1:
            scope = list(by_record)
        else:
            continue
        recorded: set[str] = set().union(*(by_record[r] for r in scope))
        if negated:
            wrong = cls in recorded
        else:
            wrong = cls not in recorded and any(frozenset((cls, r)) in _EXCLUSIVE
                                                for r in recorded)
        detail = tuple(sorted(recorded))
        if wrong and definite:
            out.append(Claim("status", m.group(), si, "contradicted",
                             f"{'not ' if negated else ''}{m.group()} where the record says "
                             f"{', '.join(detail)}", detail=(cls, *detail)))
        elif cls in recorded and not negated:
            out.append(Claim("status", m.group(), si, "supported", detail=(cls, *detail)))
    return out
