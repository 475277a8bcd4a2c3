"""Clauses of a request: where one intent ends and the next begins, and what kind each is.

A capable reader splits "Couple of questions: where is INV-55501, and when does the
warranty end" into two intents, knows that the second still asks (its sentence ends with
"?"), reads "Please change nothing" as a prohibition rather than a request, and "supposing we
cancelled ..." as a hypothesis. sim-2 uses all of it; sim-1 reads a request as one piece of
text.
"""

from __future__ import annotations

import re

from passline.sim.brain.text import (
    ACTION_VERBS,
    EFFECT_VERBS,
    ID_RE,
    QUESTION_STARTS,
    numbers_in,
    sentences,
    terms,
)

_HARD_SPLIT_RE = re.compile(
    r"\s*(?:;|\band also\b|\band then\b|\bas well as\b|\balso,|\bplus,|\bthen,|\badditionally,"
    # "balance plus the overdue invoices", "INV-1 amount + delivery status": not between
    # numbers, where plus is arithmetic ("12 plus 4")
    r"|(?<![\d\s])\s*\+\s*(?![\d\s])|(?<=[A-Za-z)])\s+(?:\+|plus)\s+(?=[A-Za-z(]))\s*",
    re.I,
)
_LEADING_CONNECTOR_RE = re.compile(
    r"^(?:(?:and|also|then|plus|additionally|finally|but|so)\b[,\s]*)+", re.I)
#: "Two things:", "Quick question:", "Hi," -- openers that announce rather than ask.
_PREAMBLE_RE = re.compile(
    r"^\s*(?:(?:hi|hello|hey|thanks|ok|okay)\b[,!.\s]*)?"
    r"(?:(?:(?:two|three|four|a few|a couple of|some|several|quick|one|a)\s+)?"
    r"(?:things?|questions?|requests?|items?|asks?)\s*:\s*)?",
    re.I,
)
_REQUEST_OPENERS_RE = re.compile(
    r"^\s*(?:please\s+|kindly\s+|pls\s+)?(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?)?"
    r"([A-Za-z']+)", re.I)
#: Negated imperatives and refusals of action: prohibitions, not requests.
_PROHIBITION_RE = re.compile(
    r"^\s*(?:but\s+|and\s+|please\s+)?(?:i\s+)?(?:don't|do not|dont|never|no need to)\b",
    re.I,
)
#: Words after a prohibition that mean "no side effects at all".
_NO_ACTION_RE = re.compile(
    r"\b(?:don't|do not|dont|never|no need to|not)\s+(?:want\s+(?:you\s+)?to\s+)?"
    r"(?:take\s+(?:any\s+)?action|do\s+anything|change\s+anything|act\b|touch\b)"
    r"|\bno action\b|\bread[- ]only\b|\bjust\s+(?:looking|asking|checking)\b",
    re.I,
)
_CONDITION_RE = re.compile(
    r"^\s*(?:hypothetically\b[,\s]*)?(?:if|suppose|supposing|assuming|what if|in case|"
    r"hypothetically)\b", re.I)
_HYPOTHETICAL_RE = re.compile(r"\bhypothetical(?:ly)?\b|\bwhat if\b|\bwould be left\b", re.I)


def split_clauses(text: str) -> list[str]:
    """Split a request into intent clauses.

    Boundaries: sentence ends, ";", "and also", "and then", "as well as", "also,", "then,",
    "plus" and "+" between words (not between numbers), and " and " / ", " when the next word
    is an action verb or a question word ("find INV-55501 and cancel it" -> two clauses;
    "invoices and quotes" -> one). Announcing openers ("Two things:", "Hi,") are dropped.
    A clause of a question keeps the question mark, so it is still known to ask.
    """
    out: list[str] = []
    for sent in sentences(text):
        asks = sent.rstrip().endswith("?")
        sent = _PREAMBLE_RE.sub("", sent, count=1)
        for part in _HARD_SPLIT_RE.split(sent):
            for clause in _split_on_and(part or ""):
                clause = _LEADING_CONNECTOR_RE.sub("", clause.strip(" ,.;:!?"))
                if not clause:
                    continue
                clause = clause[0].upper() + clause[1:] if clause[0].islower() else clause
                out.append(clause + "?" if asks else clause)
    return out


def _split_on_and(part: str) -> list[str]:
    m = _PROHIBITION_RE.match(part)
    if m:
        # "Don't edit anything, only show me where it stands": the prohibition ends there
        cut = re.search(r",\s*(?:but\s+|just\s+|only\s+)?|\s+(?:but|just)\s+", part[m.end():])
        if cut:
            head, rest = part[: m.end() + cut.start()], part[m.end() + cut.end():]
            return [head, *_split_on_and(rest)]
    pieces: list[str] = []
    last = 0
    for m in _AND_RE.finditer(part):
        nxt, after = m.group(1).lower(), (m.group(2) or "").lower()
        comma_and = m.group(0).lstrip().startswith(",") and "and" in m.group(0)
        if (nxt in ACTION_VERBS or nxt in QUESTION_STARTS or nxt in _NEGATORS
                or (nxt in _PREPOSITIONS and after in QUESTION_STARTS)
                or (nxt == "i" and after in _NEGATORS)
                # ", and the hotel limit": a new item after a comma and "and"
                or (comma_and and nxt in _NP_STARTS)):
            pieces.append(part[last : m.start()])
            last = m.end()
    pieces.append(part[last:])
    out: list[str] = []
    for piece in pieces:
        out.extend(_split_at_colon(piece))
    return out


_AND_RE = re.compile(
    r"(?:,\s*(?:and|but)\s+|\s+and\s+|,\s+)(?=([A-Za-z']+)(?:\s+([A-Za-z']+))?)")
_NEGATORS = frozenset({"don't", "dont", "never"})
_NP_STARTS = frozenset({"the", "a", "an", "our", "their", "its", "his", "her", "your", "my"})
_PREPOSITIONS = frozenset({"from", "for", "in", "at", "to", "by", "of", "on", "up", "after",
                           "before", "within", "until"})


def _split_at_colon(clause: str) -> list[str]:
    """"Re INV-55501: was the credit note sent?" -> the label and the request after the
    colon as separate clauses, when the part after the colon is a request of its own (opens
    with a verb or question word and names something); otherwise one clause ("fuel, Q2 2025:
    how much altogether?")."""
    head, sep, rest = clause.partition(":")
    if not sep or not rest.strip() or not head.strip() or len(head.split()) > 12:
        return [clause]
    m = _REQUEST_OPENERS_RE.match(rest)
    first = m.group(1).lower() if m else ""
    if not (first in ACTION_VERBS or first in QUESTION_STARTS):
        return [clause]
    if not (ID_RE.search(rest) or len(terms(rest)) >= 2 or numbers_in(rest)):
        return [clause]
    return [head, rest]


def opening_verb(text: str) -> str | None:
    """The verb an imperative clause opens with ("Please refund the order" -> "refund"), or
    None. A verb-shaped word used as a noun ("Return for INV-55501?", "Return status ...")
    does not count."""
    m = _REQUEST_OPENERS_RE.match(text)
    if not m:
        return None
    first = m.group(1).lower()
    if first not in ACTION_VERBS:
        return None
    nxt = re.match(r"\s*([A-Za-z']+)", text[m.end():])
    if first in EFFECT_VERBS and nxt and nxt.group(1).lower() in _NOUN_FOLLOWERS:
        return None
    return first


#: Words after "refund"/"return"/"order" that make it a noun ("refund for", "refund status").
_NOUN_FOLLOWERS = frozenset(
    "for of status amount request requests policy policies window is was has have had "
    "history date id number timing".split())


_DETERMINERS = frozenset(
    "the a an my your our their his her its this that any no full partial new same another "
    "each every".split())


_ACQUIRE_RE = re.compile(r"\b(?:get|find|grab|arrange|organi[sz]e|sort out)\s+(?:me|us)\s+"
                         r"(?:a|an|some|two|three|\d+)\b", re.I)


def action_words(text: str) -> set[str]:
    """The effect verbs ``text`` uses as verbs ("cancel it", "please escalate"), not as nouns
    ("still no sign of my return", "the cancel button"); "get me a room" asks to obtain one."""
    tokens = [w.lower() for w in re.findall(r"[A-Za-z']+", text)]
    found = {"obtain"} if _ACQUIRE_RE.search(text) else set()
    for i, word in enumerate(tokens):
        if word not in EFFECT_VERBS:
            continue
        before = tokens[i - 1] if i else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if before in _DETERMINERS or after in _NOUN_FOLLOWERS:
            continue
        found.add(word)
    return found


def is_question(text: str) -> bool:
    """Whether ``text`` asks for information rather than for an action: "Was INV-55501
    cancelled?" and "Show me where it stands" ask; "Cancel INV-55501" and "Can you cancel
    it?" act (a polite imperative is still an action)."""
    verb = opening_verb(text)
    if verb in EFFECT_VERBS or _ACQUIRE_RE.search(text):
        return False
    if verb is not None:
        return True
    m = _REQUEST_OPENERS_RE.match(text)
    first = m.group(1).lower() if m else ""
    return first in QUESTION_STARTS or text.rstrip().endswith("?")


_POLITE_RE = re.compile(r"\bplease\b|\b(?:can|could|would|will) you\b|\bi(?:'d| would)? "
                        r"(?:need|want|like)\b|\blet me know\b|\bi'm looking for\b", re.I)


def asks(clause: str) -> bool:
    """Whether a clause asks for something (a question, an imperative, a polite request, an
    action verb used as a verb) rather than only stating something."""
    return bool(is_question(clause) or opening_verb(clause) or action_words(clause)
                or _POLITE_RE.search(clause))


def is_prohibition(clause: str) -> bool:
    """A negated imperative ("Don't cancel it yet", "never mind booking anything"): it limits
    what may be done and is not itself a request."""
    return bool(_PROHIBITION_RE.search(clause))


def is_condition(clause: str) -> bool:
    """A conditional or hypothetical clause ("supposing we cancelled the booking"): a premise,
    not a request to act."""
    return bool(_CONDITION_RE.match(clause))


def forbids_actions(text: str) -> bool:
    """Whether the request rules out side effects altogether ("just looking, change
    nothing", "hypothetically, supposing we cancelled ...")."""
    return bool(_NO_ACTION_RE.search(text) or _HYPOTHETICAL_RE.search(text))


def prohibited_verbs(text: str) -> set[str]:
    """Effect verbs the request forbids ("don't cancel it yet" -> {"cancel"})."""
    found: set[str] = set()
    for m in _PROHIBITED_VERB_RE.finditer(text):
        found.update(w.lower() for w in m.groups() if w and w.lower() in EFFECT_VERBS)
    return found


_PROHIBITED_VERB_RE = re.compile(
    r"\b(?:don't|do not|dont|never|no need to)\s+(?:want\s+(?:you\s+)?to\s+)?"
    r"([A-Za-z]+)(?:\s+([A-Za-z]+))?", re.I)
