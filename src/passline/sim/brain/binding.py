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
  when the same value exists but only about something else (the sum of a bill given as the
  price of one of its parts, a count of weeks read as a percentage), or the unit differs
  ("litres" where the context says "gallons");
- **unsupported** when the context says nothing about it.

Nothing here knows any dataset: the descriptors come from the request's own text and JSON
keys, plus a small table of general synonyms ("each" ~ "unit", "together" ~ "total").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from passline.sim.brain.evidence import (
    LOOSE_UNITS,
    NUMBER_RE,
    STATUS_CLASSES,
    Evidence,
    Fact,
    Number,
    descriptor,
    norm,
    numbers,
    window,
)
from passline.sim.brain.text import ID_RE, ISO_DATE_RE, sentences, terms

_CONTACT_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|(?<![\w-])(?:\+\d{1,3}[\s.-]?)?\(?\d{3}\)?"
                         r"[\s.-]\d{3}[\s.-]\d{4}(?![\w-])")
_NEGATION_RE = re.compile(
    r"\b(?:not|no|never|n't|hasn't|hasnt|isn't|wasn't|haven't|cannot|can't|won't|nothing|"
    r"yet to|neither|nor|without)\b", re.I)
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
_EXAMPLE_RE = re.compile(r"\b(?:like|e\.g\.?|for example|for instance|such as|format)\W*$",
                         re.I)


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
    extra_numbers = {norm(n.value) for text in extra for n in numbers(text)}
    extra_ids = {m.group().upper() for text in extra for m in ID_RE.finditer(text)}
    extra_dates = {m.group() for text in extra for m in ISO_DATE_RE.finditer(text)}
    out: list[Claim] = []
    sents = sentences(answer) or [answer]
    for si, sent in enumerate(sents):
        sent_ids = [m.group().upper() for m in ID_RE.finditer(sent)]
        for m in _CONTACT_RE.finditer(sent):
            # contact details (e-mail, phone) are claims about a person: they must come
            # from the inputs, character for character
            ok = m.group() in ev.raw or any(m.group() in text for text in extra)
            out.append(Claim("contact", m.group(), si, "supported" if ok else "unsupported",
                             "" if ok else f"{m.group()} is absent from the context"))
        for m in ID_RE.finditer(sent):
            ident = m.group().upper()
            if _EXAMPLE_RE.search(sent[:m.start()][-24:]):
                continue  # "an id like X-123" shows a format; it claims nothing
            ok = ident in ev.ids or ident in extra_ids
            out.append(Claim("id", m.group(), si, "supported" if ok else "unsupported",
                             "" if ok else f"{m.group()} is absent from the context"))
        found = numbers(sent)
        dates = list(ISO_DATE_RE.finditer(sent))
        marks = sorted([(n.start, n.end) for n in found] + [d.span() for d in dates])
        for m in dates:
            lo = max((b for a, b in marks if b <= m.start()), default=0)
            hi = min((a for a, b in marks if a >= m.end()), default=len(sent))
            desc = window(sent, m.start(), m.end(), lo=lo, hi=hi, before=6, after=4)
            out.append(_bind_date(m.group(), desc, si, ev, sent_ids, extra_dates))
        # a short sentence that names nothing itself ("Price: 40 USD.") is about what the
        # sentence before it named
        own = descriptor(NUMBER_RE.sub(" ", sent))
        carried = (descriptor(sents[si - 1]) if si and len(sent.split()) < 6 and len(own) <= 1
                   else set())
        for i, num in enumerate(found):
            lo = found[i - 1].end if i > 0 else 0
            hi = found[i + 1].start if i + 1 < len(found) else len(sent)
            desc = window(sent, num.start, num.end, lo=lo, hi=hi, before=5, after=8) | carried
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
    return Claim("date", value, si, "unsupported", f"{value} is absent from the context",
                 terms=frozenset(desc))


def _compatible(claim_unit: str | None, fact_unit: str | None) -> str:
    """"same", "loose" (a looser form of the fact's unit) or "different". A rate compares
    both parts ("eur/hour" is not "eur/day"); a rate and its bare unit ("eur") are the same."""
    if claim_unit is None or fact_unit is None or claim_unit == fact_unit:
        return "same"
    c_base, _, c_per = claim_unit.partition("/")
    f_base, _, f_per = fact_unit.partition("/")
    if c_per and f_per and c_per != f_per:
        return "loose" if (c_per, f_per) in LOOSE_UNITS else "different"
    if c_base == f_base:
        return "same"
    if (c_base, f_base) in LOOSE_UNITS:
        return "loose"
    return "different"


def _bind_number(num: Number, sent: str, si: int, desc: set[str], ev: Evidence,
                 sent_ids: Sequence[str], extra: set[str],
                 siblings: Sequence[Decimal]) -> Claim:
    text = norm(num.value)
    facts = _candidates(ev, "number", sent_ids)
    tol = (abs(num.value) * Decimal("0.1")) if num.approx else Decimal("0")

    def equal(f: Fact) -> bool:
        value = Decimal(f.value)
        return abs(value - num.value) <= tol

    def speaks_to(f: Fact) -> bool:
        """Whether fact ``f`` can support the claim: a compatible unit, or -- for a bare
        context figure (a count, a list length) and a claim with a unit -- about the same
        thing. "3 years" gets no support from a list of 3 results."""
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
        # the same figure exists, but in another unit ("litres" where it is gallons)
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
            # the same figure exists, but in another unit ("litres" where it is gallons)
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
                 f"{num_text(num, sent)} is absent from the context", num.approx, terms_)


def num_text(num: Number, sent: str) -> str:
    return sent[num.start:num.end].strip()


_MONEY = ("usd", "eur", "gbp")


def _derived(num: Number, ev: Evidence, siblings: Sequence[Decimal],
             sent_ids: Sequence[str]) -> bool:
    """The claim is arithmetic on context figures (or figures the answer states next to it):
    an amount that is a sum, difference or quantity-times-price of two of them, or a sum of
    a few; a percentage that is the ratio of two. Other units (days, hours, metres) are not
    derived: "60 days" next to a context "30 days" is not arithmetic, it is a new claim."""
    value = num.value
    facts = _candidates(ev, "number", sent_ids)
    if num.unit == "pct":
        pool = [v for v in sorted({Decimal(f.value) for f in facts} | set(siblings)) if v][:60]
        half = Decimal("0.5")
        shares = {Decimal(f.value) for f in facts if f.unit == "pct"}
        if any(abs(100 - p - value) < half for p in shares):
            return True  # "you keep 70 percent" next to a 30 percent share
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
#: words after which a status is not asserted about now ("will be delivered", "once a
#: manager signs", "before it shipped", "if it is paid")
_NOT_ASSERTED_RE = re.compile(r"\b(?:will|would|should|could|may|might|once|after|before|"
                              r"until|if|when|whether|unless|soon|expected)\b", re.I)


def _bind_status(sent: str, si: int, ev: Evidence, sent_ids: Sequence[str]) -> list[Claim]:
    """Status words in a sentence ("issued", "pending", "paid", "shipped"), checked against
    the recorded status of the record they are about: the id named closest to the word, else the
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
        cls = STATUS_CLASSES.get(word)
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
