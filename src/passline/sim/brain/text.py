"""Text primitives of the simulator's brain: tokens, stems, BM25, claims, dates, token counts.

Everything here is small, deterministic and dependency-free, so the simulator decides the
same way on every machine. The other brain modules build on these helpers.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

STOPWORDS = frozenset(
    """
    a an the and or but if then else of to in on at by for with from into onto about as is are
    was were be been being am do does did doing have has had having it its it's this that these
    those there here i me my mine we us our ours you your yours he him his she her they them their
    what which who whom whose when where why how all any both each few more most other some such
    no nor not only own same so than too very can could will would shall should may might must
    just also please thanks thank hi hello hey dear ok okay up down out over under again further
    once s t don doesn didn isn aren wasn weren won wouldn couldn shouldn let lets
    get got show find look looking check tell give need needs want wants know see help like
    much many list use used using user users ask asks asked one what's whats where's wheres
    how's who's it's that's there's
    """.split()
)

_WORD_RE = re.compile(r"[A-Za-z][A-Za-z']*|\d+(?:[.,]\d+)*")
ID_RE = re.compile(r"\b[A-Z]{2,5}(?:-[A-Z]{2,5})?-\d{2,}\b")
DOC_ID_RE = re.compile(r"\b[A-Z]{2,5}-[A-Z]{2,5}-\d{2,}\b")
ISO_DATE_RE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
NUMBER_RE = re.compile(
    r"(?<![\w.])[-+]?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?(?![\w-])"
)
_TAG_RE_CACHE: dict[str, re.Pattern[str]] = {}

# Synonyms folded onto one stem for relevance. Deliberately tiny: tool descriptions, not a
# thesaurus, should carry the vocabulary (that is what makes better descriptions matter).
_STEM_SYNONYMS = {"bil": "invoic", "reimburs": "refund", "purchas": "order"}


@functools.lru_cache(maxsize=16384)
def stem(word: str) -> str:
    """Crude suffix stripping: plural s/ies, -ing, -ed, final e, doubled consonant.

    >>> [stem(w) for w in ["Refunds", "refunded", "shipping", "policies", "escalate"]]
    ['refund', 'refund', 'ship', 'policy', 'escalat']
    """
    w = word.lower().strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) <= 3:
        return w
    if (w.endswith("ies") and len(w) > 4) or (w.endswith("ied") and len(w) > 4):
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ing") and len(w) >= 6:
        w = w[:-3]
    elif w.endswith("ed") and len(w) >= 5:
        w = w[:-2]
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeious":
        w = w[:-1]
    return _STEM_SYNONYMS.get(w, w)


def words(text: str) -> list[str]:
    """Words and numbers of ``text`` in order, original case (ids are split; see ``ID_RE``)."""
    return _WORD_RE.findall(text)


def terms(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Stemmed lowercase content terms of ``text``: no stopwords, no numbers, no id tokens."""
    cleaned = ID_RE.sub(" ", text)
    cleaned = re.sub(r"[_/]", " ", cleaned)
    out = []
    for w in words(cleaned):
        if w[0].isdigit():
            continue
        lw = w.lower()
        if not keep_stopwords and (lw in STOPWORDS or len(lw) < 2):
            continue
        out.append(stem(lw))
    return out


def split_identifier(name: str) -> str:
    """``get_order_status`` / ``getOrderStatus`` -> ``get order status``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return re.sub(r"[_\-.]+", " ", spaced).lower().strip()


class BM25:
    """Okapi BM25 over a handful of small documents (tool docs, enum choices, sentences).

    The idf is floored so a term shared by every document still counts a little: with three
    tools that all mention "order", "order" must not be worth nothing.
    """

    def __init__(self, docs: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.docs = [Counter(d) for d in docs]
        self.lengths = [max(len(d), 1) for d in docs]
        self.avg_len = (sum(self.lengths) / len(self.lengths)) if self.lengths else 1.0
        self.k1 = k1
        self.b = b
        n_docs = len(docs)
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        self.idf = {
            t: max(math.log(1.0 + (n_docs - n + 0.5) / (n + 0.5)), 0.5) for t, n in df.items()
        }

    def score(self, query: Iterable[str], index: int) -> float:
        """BM25 score of ``query`` terms against document ``index``."""
        doc = self.docs[index]
        norm = self.k1 * (1 - self.b + self.b * self.lengths[index] / self.avg_len)
        total = 0.0
        for term in query:
            tf = doc.get(term, 0)
            if tf:
                total += self.idf[term] * tf * (self.k1 + 1) / (tf + norm)
        return total

    def term_weight(self, term: str) -> float:
        """The idf of ``term`` (0 when no document contains it)."""
        return self.idf.get(term, 0.0)

    def scores(self, query: Sequence[str]) -> list[float]:
        return [self.score(query, i) for i in range(len(self.docs))]


def count_tokens(text: str) -> int:
    """Approximate tokenizer: ~4 characters a token, every punctuation mark its own token.

    Words up to 7 letters are one token, longer ones one more per 4 letters; numbers one
    token per 3 digits (as BPE tokenizers split them).

    >>> count_tokens("Hello, world!")
    4
    """
    if not text:
        return 0
    total = 0
    for piece in re.findall(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]", text):
        if piece[0].isalpha():
            total += 1 + max(0, len(piece) - 4) // 4
        elif piece[0].isdigit():
            total += (len(piece) + 2) // 3
        else:
            total += 1
    return total


# ---------------------------------------------------------------------------- numbers & claims


def normalize_number(raw: str) -> str | None:
    """Canonical text of a number: ``"$1,200.50"`` and ``"1200.5"`` both give ``"1200.5"``."""
    cleaned = raw.strip().replace(",", "").replace("$", "").rstrip("%").lstrip("+")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Claim:
    """A checkable fact in a text: an id, an ISO date or a number (normalised)."""

    kind: str  # "id" | "date" | "number"
    text: str
    norm: str


def extract_claims(text: str) -> list[Claim]:
    """Ids, ISO dates and numbers in ``text``, in order of appearance, deduplicated.

    Numbers inside ids and dates are not separate claims.
    """
    found: list[tuple[int, Claim]] = []
    spans: list[tuple[int, int]] = []
    for m in ID_RE.finditer(text):
        found.append((m.start(), Claim("id", m.group(), m.group().upper())))
        spans.append(m.span())
    for m in ISO_DATE_RE.finditer(text):
        found.append((m.start(), Claim("date", m.group(), m.group())))
        spans.append(m.span())
    for m in NUMBER_RE.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        norm = normalize_number(m.group())
        if norm is not None:
            found.append((m.start(), Claim("number", m.group(), norm)))
    seen: set[tuple[str, str]] = set()
    out = []
    for _, c in sorted(found, key=lambda x: x[0]):
        if (c.kind, c.norm) not in seen:
            seen.add((c.kind, c.norm))
            out.append(c)
    return out


def claim_keys(text: str) -> set[tuple[str, str]]:
    """The (kind, norm) set of every claim in ``text`` -- what a claim is checked against."""
    keys = {(c.kind, c.norm) for c in extract_claims(text)}
    # dates are also supported by their own digits' appearance as a date elsewhere
    return keys


def numbers_in(text: str) -> list[tuple[int, str, float]]:
    """(char offset, raw text, value) of every free number in ``text`` (not in ids or dates)."""
    spans = [m.span() for m in ID_RE.finditer(text)] + [
        m.span() for m in ISO_DATE_RE.finditer(text)
    ]
    out = []
    for m in NUMBER_RE.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        norm = normalize_number(m.group())
        if norm is not None:
            out.append((m.start(), m.group(), float(norm)))
    return out


def tag_content(text: str, tag: str) -> str | None:
    """Content of the first ``<tag>...</tag>`` block (case-insensitive), or None."""
    pattern = _TAG_RE_CACHE.get(tag)
    if pattern is None:
        # the last opening tag before the first closing one: a prompt that merely mentions
        # "<rules>" earlier does not swallow the text in between
        pattern = re.compile(
            rf"<{tag}(?:\s[^>]*)?>((?:(?!<{tag}[\s>]).)*?)</{tag}>", re.S | re.I
        )
        _TAG_RE_CACHE[tag] = pattern
    m = pattern.search(text)
    return m.group(1).strip() if m else None


def sentences(text: str) -> list[str]:
    """Split prose into sentences without breaking decimals, ids or abbreviations like e.g."""
    protected = re.sub(r"\b(e\.g|i\.e|etc|vs|approx)\.", lambda m: m.group(1) + "\x00", text)
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\[\"'(])|\n\s*\n|\n(?=\s*[-*#\d])", protected)
    return [p.replace("\x00", ".").strip() for p in parts if p and p.strip()]


# ---------------------------------------------------------------------------- clauses

#: Verbs that start a new request inside a sentence ("... and refund it").
ACTION_VERBS = frozenset(
    """
    check look find get show list tell give issue refund escalate cancel search calculate compute
    sum summarise summarize read open create send update fetch pull explain confirm verify compare
    return close reopen approve deny file raise lookup figure work add subtract total count email
    notify report draft write book order pay charge credit investigate review remind quote
    cite let mark hand apply handle push split print wipe dump export delete summarise
    summarize process escalate forward pull schedule book reserve put set switch turn make
    dim warm cool heat log record transfer wire move convert change track quote plan arrange
    invite submit request lock unlock start stop cancel remove register share publish copy
    mail message post place release execute reply remind
    """.split()
)
QUESTION_STARTS = frozenset(
    "what what's whats which who when where why how is are was were do does did can could "
    "will would should has have may must".split()
)

#: Verbs whose request changes something (as opposed to asking for information).
EFFECT_VERBS = frozenset(
    """
    refund issue escalate cancel create send update close reopen approve deny file raise book
    order pay charge credit email notify add subtract draft write return delete submit process
    hand mark push split wipe apply handle forward transfer assign schedule book reserve put
    set switch turn make dim warm cool heat log record wire move remove register invite share
    publish upload archive modify edit lock unlock enable disable reset grant revoke post
    place release execute mail submit request
    """.split()
)


def choice_descriptions(description: str, values: list[Any]) -> dict[str, str]:
    """Per choice value, its meaning from a description that lists them ("finance: invoices,
    ledger; policy: rules ..."): the text after the value up to the next value."""
    spots = []
    for value in map(str, values):
        m = re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", description, re.I)
        if m:
            spots.append((m.start(), m.end(), value))
    spots.sort()
    out = {}
    for i, (_start, end, value) in enumerate(spots):
        stop = spots[i + 1][0] if i + 1 < len(spots) else len(description)
        out[value] = description[end:stop]
    return out


_MODIFIER_START_RE = re.compile(
    r"\b(?:of|for|from|with|about|in|on|by|to|at|since|during|between|under|over)\b", re.I
)


_TOPIC_RE = re.compile(
    r"\b(?:ask(?:s|ed|ing)?|wants? to know|enquir\w*|inquir\w*|call(?:s|ed|ing)?|"
    r"writ(?:es|ing)|complain\w*|chasing \w+|emailing)\s+(?:\w+\s+)?"
    r"(?:about|regarding|concerning)\s+", re.I)


def head_weighted_terms(text: str) -> list[str]:
    """``terms(text)`` with the head phrase's terms counted twice: the words before the first
    preposition carry what is asked about ("the unpaid bills" in "List the unpaid bills of
    account ACC-5501"); what follows only qualifies it."""
    base = terms(text)
    topic = _TOPIC_RE.search(text)
    if topic:
        # "The client on ACC-5501 is asking about a credit note": what follows is the head
        text = text[topic.end():]
    m = _MODIFIER_START_RE.search(text)
    if not m or m.start() == 0:
        return base
    return base + terms(text[: m.start()])
