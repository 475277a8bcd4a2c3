"""A little general knowledge: what a request implies beyond its literal words (sim-2 only).

A real model knows that "may staff carry unused leave into next year?" asks about a rule,
that a taxi is a travel expense and that an id starting with INV- names an invoice. sim-2
reads requests with this small, deliberately generic lexicon; sim-1 reads only the literal
words. Attempts to get around rules are read by guard.py.
"""

from __future__ import annotations

import re

from passline.sim.brain.text import ID_RE, stem, terms, words

#: word -> words it implies (both sides plain words; stemmed on load).
_IMPLIED_WORDS: dict[str, str] = {
    "owe": "money balance invoice", "owes": "money balance invoice",
    "spend": "money expense", "spent": "money expense", "cost": "money expense",
    "pay": "money payment", "bill": "invoice", "unpaid": "invoice balance",
    "overdue": "invoice", "threshold": "limit rule policy", "allowed": "rule policy",
    "permitted": "rule policy", "window": "rule policy deadline", "deadline": "rule policy",
    "where": "order delivery", "arrive": "order delivery", "hotel": "travel expense",
    "flight": "travel expense", "meal": "expense", "purchase": "procurement",
    "terms": "rule policy", "fee": "fee rule policy", "free": "threshold policy",
    "restocking": "return fee", "approve": "approval", "retention": "data policy",
    "expense": "expense policy", "reimburse": "expense policy", "hotels": "travel expense",
    "meals": "expense", "spending": "money expense", "bills": "invoice",
    "manager": "escalate human", "supervisor": "escalate human", "human": "escalate person",
    "inv": "invoice", "invs": "invoice", "ord": "order", "tkt": "ticket", "cust": "customer",
    "amt": "amount", "qty": "quantity", "prio": "priority", "acct": "account",
    "whole": "full text", "entire": "full text", "complete": "full", "verbatim": "full text",
    "person": "human", "someone": "human", "lawyer": "legal", "sue": "legal dispute",
}
#: keyed by the plain word (not its stem: stems fold "purchase" into "order")
IMPLIED_TERMS: dict[str, tuple[str, ...]] = {k: tuple(terms(v)) for k, v in _IMPLIED_WORDS.items()}

#: What a question about rules implies: the words of a tool or worker that knows the rules.
RULE_TERMS: tuple[str, ...] = tuple(terms("rule policy limit allowed procedure"))
#: What a question about durations implies ("how soon does the customer see it").
TIMING_TERMS: tuple[str, ...] = tuple(terms("time timing days deadline window"))
_TIMING_RE = re.compile(r"\bhow (?:long|soon|quickly|fast|many days)\b|\bwhen will\b", re.I)
_RULE_QUESTION_RE = re.compile(
    r"\b(?:can|may|must|should)\s+(?:a|an|the|our|we|i|they|customers?|employees?|staff)\b"
    r"|\b(?:has|have|need|needs)\s+to\s+(?:approve|be|sign|report|pay|return)\b"
    r"|\b(?:allowed|permitted|entitled|eligible|required|deadline|limit|threshold|"
    r"terms|window|restrictions?|fee|fees)\b"
    r"|\bup to (?:what|which|how)\b|\bhow (?:long|soon|quickly|fast|many days)\b"
    r"|\bhow much (?:can|may|are we allowed)\b"
    r"|\bfrom what (?:amount|value|order)\b|\bis there (?:a|any)\b"
    r"|\bwho (?:has|needs|must|should|can) (?:to )?approve\b",
    re.I,
)
#: Record prefixes a reader recognises ("INV-55501" is an invoice).
_ENTITY_NOUNS = ("order", "invoice", "ticket", "customer", "refund", "policy", "account",
                 "product", "shipment", "payment", "escalation")


ENTITY_STEMS = frozenset(stem(n) for n in _ENTITY_NOUNS)


def implied_terms(text: str) -> list[str]:
    """Stemmed terms ``text`` implies: word knowledge, plus the rule terms when it asks what
    is allowed, required or limited."""
    out: list[str] = []
    for word in words(text):
        low = word.lower()
        implied = IMPLIED_TERMS.get(low) or IMPLIED_TERMS.get(low[:-1] if low.endswith("s")
                                                               else low, ())
        out.extend(implied)
    if asks_about_rules(text):
        out += list(RULE_TERMS)
    if _TIMING_RE.search(text):
        out += list(TIMING_TERMS)
    return out


def asks_about_rules(text: str) -> bool:
    """Whether ``text`` asks what is allowed, required, limited or how long something takes
    ("May staff expense a taxi?", "Up to what amount can we credit?") rather than about one
    record."""
    return bool(_RULE_QUESTION_RE.search(text))


_DEFERS_RE = re.compile(
    r"\b(?:as|what)\s+(?:the|our)\s+polic(?:y|ies)\s+(?:says?|requires?|states?|demands?)"
    r"|\b(?:the|our)\s+polic(?:y|ies)\s+(?:requires?|demands?)\b"
    r"|\baccording to (?:the |our )?polic|\bper (?:the |our )?policy\b|\bby the book\b",
    re.I)


def defers_to_policy(text: str) -> bool:
    """Whether ``text`` leaves a decision to the rules ("file it at whatever level our policy
    demands", "per policy"): the rules must be looked up first."""
    return bool(_DEFERS_RE.search(text))


def without_deferral(text: str) -> str:
    """``text`` minus its deferral to the rules ("file it per policy" -> "file it"): what
    the clause itself asks for."""
    return _DEFERS_RE.sub(" ", text)


def entity_terms(text: str) -> list[str]:
    """The record kinds named by the ids in ``text`` ("INV-55501" -> "invoice")."""
    from passline.sim.brain.ids import abbreviates

    out = []
    for ident in ID_RE.findall(text):
        prefix = ident.split("-")[0].lower()
        out += [stem(n) for n in _ENTITY_NOUNS if abbreviates(prefix, n)][:1]
    return out
