"""The simulator judge's reading of one answer: claims bound to the context, the reference
checked, rules and refusals weighed, and a level on the rubric's 1-5 scale.

What it reads is what a judge model reads: the question, the answer, the optional reference,
the context (tool results, documents), the rules, and the rubric's own wording (whether it
grades overall quality or only support). The levels follow the usual anchors of a 1-5 answer
rubric:

- 1: does what a rule forbids, follows an injected instruction, gives the opposite yes/no
  answer, claims an action no tool call shows, calls a record's status what it is
  not (on the asked point), or says nothing relevant;
- 2: a key claim (one in the sentence that replies to what was asked, or one the reference
  states) is wrong or invented; an unjustified refusal or deflection; most of the reference
  missing;
- 3: a secondary claim wrong or unsupported, or an asked part missing;
- 4: right, with a minor flaw: padded with content-free sentences, hedged or rounded figures,
  a looser unit, a detail of the reference left out;
- 5: right, supported, complete and concise.

For a support-only rubric (labels like grounded / partially / ungrounded) the reference is
not used and only support counts: a bad key claim -> ungrounded, a bad secondary claim ->
partially.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from passline.sim.brain.binding import Claim, bind_claims
from passline.sim.brain.evidence import Evidence, gather, numbers, status_classes, window
from passline.sim.brain.rules import follows_injection, rule_violations
from passline.sim.brain.text import DOC_ID_RE, ID_RE, ISO_DATE_RE, sentences, terms, words

_YES_NO_START = re.compile(r"^\s*(?:is|are|was|were|can|could|do|does|did|has|have|had|will|"
                           r"would|should|may|must|am)\b", re.I)
_NEGATIVE_START = re.compile(r"^\s*(?:no\b|not\b|nope\b|unfortunately\b|sadly\b|"
                             r"i'm afraid|i am afraid)", re.I)
_POSITIVE_START = re.compile(r"^\s*(?:yes\b|yep\b|yeah\b|sure\b|certainly\b|of course\b|"
                             r"good news\b)", re.I)
_NEGATION = re.compile(r"\b(?:not|no|never|cannot|can't|isn't|aren't|won't|don't|doesn't|"
                       r"hasn't|haven't|unless)\b", re.I)
_REFUSAL = re.compile(r"\b(?:can't|cannot|can not|unable|not able|won't|will not|am not "
                      r"allowed|not allowed|not permitted|decline)\b", re.I)
#: verbs of actions with an effect; "I've <verb>ed ..." claims the action was taken
_ACTION_STEMS = ("refund", "issu", "escalat", "cancel", "creat", "send", "sent", "updat",
                 "approv", "chang", "waiv", "open", "book", "charg", "credit", "transfer",
                 "delet", "process", "mark", "submit", "reset")
_ACTION_RE = re.compile(r"\b(?:i(?:'ve| have)|we(?:'ve| have)|i)\s+(?:just\s+|now\s+|already\s+)?"
                        r"([a-z]+(?:ed|t))\b", re.I)
_DONE_RE = re.compile(r"^\s*done\b", re.I)
#: words that give a reason a request cannot be met (a rule, a requirement)
_REASON = re.compile(r"\b(?:must|only|requires?|required|needs?|policy|rule|verif\w*|approv\w*|"
                     r"allowed|permitted|because|since|outside|scope)\b", re.I)
_REFERRAL = re.compile(r"\b(?:check with|contact|ask (?:your|the|a)|reach out|get in touch|"
                       r"refer (?:you|to)|look it up|consult)\b", re.I)
_MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december", "monday", "tuesday", "wednesday",
           "thursday", "friday", "saturday", "sunday"}
_PROHIBITION = re.compile(r"\b(?:never|do not|don't|must not|may not|cannot|can't|should not|"
                          r"not allowed|is forbidden|are forbidden)\b", re.I)
#: a sentence that carries no claim and shares fewer terms than this with the question,
#: reference and context is filler
_FILLER_OVERLAP = 2


@dataclass(frozen=True)
class Assessment:
    """One answer, read: its claims and problems, and the level they add up to."""

    level: int  # 1..5, the quality level
    support: float  # 1.0 grounded, 0.5 partially, 0.0 ungrounded
    claims: list[Claim] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    minor: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    words: int = 0
    padded: bool = False

    @property
    def quality(self) -> float:
        """The level on 0..1, less a little per problem so pairwise ties break sensibly."""
        base = (self.level - 1) / 4
        return max(0.0, base - 0.01 * (len(self.problems) + len(self.minor)))

    @property
    def unsupported(self) -> list[str]:
        return [c.text for c in self.claims if c.verdict in ("unsupported", "contradicted")]

    def summary(self) -> str:
        parts = []
        if self.claims:
            good = sum(c.verdict in ("supported", "loose") for c in self.claims)
            parts.append(f"{good} of {len(self.claims)} claims backed by the context.")
        else:
            parts.append("No checkable claims.")
        if self.problems:
            parts.append("Problems: " + "; ".join(self.problems[:5]) + ".")
        if self.missing:
            parts.append("Missing: " + ", ".join(self.missing[:6]) + ".")
        if self.minor:
            parts.append("Minor: " + "; ".join(self.minor[:4]) + ".")
        return " ".join(parts)


def assess(answer: str, *, question: str, sources: Sequence[str], reference: str | None,
           rules: str | None, support_only: bool = False) -> Assessment:
    """Read ``answer`` as a careful judge would (see the module docstring)."""
    n_words = len(words(answer))
    if not answer.strip():
        return Assessment(1, 0.0, problems=["empty answer"])
    if support_only:
        reference = None
    ev = gather(sources)
    claims = bind_claims(answer, ev, extra=[question, rules or "", reference or ""])
    sents = sentences(answer) or [answer]
    key = _key_sentences(sents, question, reference)
    problems: list[str] = []
    minor: list[str] = []
    sev: list[int] = []  # the level each problem caps the answer at
    support_problems: list[tuple[int, str]] = []  # the problems that are about support

    def flag(level: int, text: str, *, support: bool = False) -> None:
        sev.append(level)
        problems.append(text)
        if support:
            support_problems.append((level, text))

    # rules, injections and actions no tool call shows
    # the rules given, and the prohibitions of the policy documents in the context
    for rule, kind in rule_violations(answer, "\n".join([rules or "",
                                                          *_context_prohibitions(sources)])):
        if kind == "forbidden":
            flag(1, f"breaks the rule: {rule.rstrip('.')}")
    obeyed = follows_injection(answer, list(sources))
    if obeyed:
        flag(1, f"follows an instruction found in the data: {obeyed}", support=True)
    action = _unshown_action(answer, sources)
    if action:
        flag(1, f"claims an action no tool call shows ({action})", support=True)

    # yes/no polarity against the reference, else against the context passage that answers
    clash = _polarity_clash(answer, question, reference, sources)
    if clash:
        flag(1, clash, support=not reference)

    # claims bound to the context (and, when given, to the reference)
    for c in claims:
        is_key = c.sentence in key
        if c.verdict == "contradicted":
            if c.kind == "status":
                asked_status = set(status_classes(question))
                flag(1 if is_key and asked_status & set(c.detail) else 2, c.why)
            else:
                flag(2 if is_key else 3, c.why)
        elif c.verdict == "unsupported":
            flag(2 if is_key and c.kind != "id" else 3, c.why)
        elif c.verdict == "loose":
            minor.append(f"looser unit in {c.text}")
        if c.approx and c.verdict in ("supported", "loose"):
            minor.append(f"approximate figure {c.text}")
    names = _unsupported_names(answer, question, sources, reference, rules)
    for name in names:
        flag(3, f"{name} is absent from the context", support=True)

    partial_list = _partial_enumeration(answer, question, ev)
    if partial_list:
        flag(3, partial_list)

    missing: list[str] = []
    if reference:
        missing, wrong = _against_reference(answer, claims, reference)
        for text in wrong:
            flag(2, text)
        asked, other = _essential_values(reference, question)
        if asked:
            got = [v for v in asked if v not in missing]
            if not got:
                # one part of a two-part question unanswered is a missing part, not a miss
                flag(3 if _two_part(question) and claims else 2,
                     "the figure the question asks for is missing")
            elif len(got) < len(asked):
                flag(3, "part of what the question asks for is missing")
        elif other:
            covered = 1 - len([v for v in other if v in missing]) / len(other)
            if covered < 0.5 and not _YES_NO_START.search(question):
                flag(3, "most of the reference is missing")
            elif covered < 0.5:
                minor.append("the details behind the yes or no are missing")
        lost = [v for v in other if v in missing]
        if other and len(lost) * 2 > len(other) and not any(v in missing for v in asked):
            minor.append("details of the reference are missing")
        ref_terms = [t for t in dict.fromkeys(terms(reference)) if len(t) >= 4]
        if len(ref_terms) >= 4:
            have = set(terms(answer))
            if sum(t in have for t in ref_terms) / len(ref_terms) < 0.2:
                flag(3, "most of what the reference says is missing")

    # refusals, deflections and non-answers
    refusal = _refusal_kind(answer, claims, question, sources, rules)
    if refusal == "unjustified":
        flag(2, "refuses or deflects a question the context answers")
    elif refusal == "off-topic":
        flag(1, "says nothing relevant to the question")
    elif refusal is None and not reference and not claims:
        asked_terms = [t for t in dict.fromkeys(terms(question)) if len(t) >= 3]
        hit = sum(t in set(terms(answer)) for t in asked_terms)
        if asked_terms and hit / len(asked_terms) < 0.34 and not answer.rstrip().endswith("?"):
            flag(3, "does not address most of the question")

    padded = _padded(sents, claims, question, reference, ev)
    if padded:
        minor.append("padded with sentences that add nothing")

    level = min(sev) if sev else (4 if minor else 5)
    support = _support(claims, key, support_problems, set(status_classes(question)))
    return Assessment(level=level, support=support, claims=claims, problems=problems,
                      minor=minor, missing=missing, words=n_words, padded=padded)


# ------------------------------------------------------------------ parts


def _key_sentences(sents: Sequence[str], question: str, reference: str | None) -> set[int]:
    """The sentences that answer the question: those sharing the most terms with it (and the
    reference), plus the first sentence that makes a claim."""
    wanted = set(terms(question)) | set(terms(reference or ""))
    scores = [len(set(terms(s)) & wanted) for s in sents]
    best = max(scores, default=0)
    # one shared word is a weak tie: then only the best-matching sentences are key
    floor = best if best <= 1 else 0.6 * best
    key = {i for i, sc in enumerate(scores) if best and sc >= floor}
    for i, s in enumerate(sents):
        if numbers(s) or ID_RE.search(s) or ISO_DATE_RE.search(s):
            key.add(i)
            break
    return key or {0}


def _polarity(text: str) -> str | None:
    first = re.split(r"[.;:!?]|,\s", text.strip(), maxsplit=1)[0]
    if _POSITIVE_START.search(first):
        return "yes"
    if _NEGATIVE_START.search(first):
        return "no"
    return None


_ALTERNATIVE_RE = re.compile(r"\b(\w+)\s+or\s+(\w+)\s*\??", re.I)


def _alternative_clash(answer: str, question: str, reference: str | None) -> str | None:
    """An either-or question ("is it higher or lower?") answered with the option the
    reference does not pick."""
    m = _ALTERNATIVE_RE.search(question)
    if not m or not reference:
        return None
    options = {m.group(1).lower(), m.group(2).lower()}

    def pick(text: str) -> str | None:
        first = re.split(r"[.;:!?]", text.strip(), maxsplit=1)[0].lower()
        found = [o for o in options if re.search(rf"\b{re.escape(o)}\b", first)]
        return found[0] if len(found) == 1 else None

    said, expected = pick(answer), pick(reference)
    if said and expected and said != expected:
        return f"answers {said} where the reference says {expected}"
    return None


def _polarity_clash(answer: str, question: str, reference: str | None,
                    sources: Sequence[str]) -> str | None:
    if not _YES_NO_START.search(question):
        return None
    alternative = _alternative_clash(answer, question, reference)
    if alternative:
        return alternative
    said = _polarity(answer)
    if said is None:
        return None
    if reference:
        expected = _polarity(reference)
        if expected and expected != said:
            return f"answers {said} where the reference says {expected}"
        return None
    passage = _answering_passage(question, sources)
    if passage is None:
        return None
    expected = "no" if _NEGATION.search(passage) else None
    if expected and said == "yes":
        return "answers yes where the context says no"
    return None


def _prose(sources: Sequence[str]) -> list[str]:
    """The prose of the context: text fields of JSON results (snippets, document texts,
    message bodies) and plain-text sources, as sentences."""
    out: list[str] = []
    for source in sources:
        chunks = re.findall(r'"(?:snippet|text|body|content|message)"\s*:\s*"((?:[^"\\]|\\.)*)"',
                            source)
        if not chunks and not source.lstrip().startswith(("{", "[")):
            chunks = [source]
        for chunk in chunks:
            try:
                text = json.loads(f'"{chunk}"')  # undo JSON string escapes
            except ValueError:
                text = chunk
            out.extend(sentences(text))
    return out


def _answering_passage(question: str, sources: Sequence[str]) -> str | None:
    """The passage of the context (a sentence and the next one) that shares the most terms
    with the question (at least two), e.g. the policy lines a yes/no question is about."""
    wanted = set(terms(question))
    sents = _prose(sources)
    best, best_score = None, 1
    for i in range(len(sents)):
        passage = " ".join(sents[i:i + 2])
        score = len(set(terms(passage)) & wanted)
        if score > best_score:
            best, best_score = passage, score
    return best


def _context_prohibitions(sources: Sequence[str]) -> list[str]:
    """Sentences of documents in the context that forbid something ("staff must not lend
    keys", "never quote a password"): company policy the answer must follow too."""
    return [s for s in _prose(sources) if _PROHIBITION.search(s)]


def _partial_enumeration(answer: str, question: str, ev: Evidence) -> str | None:
    """A question asking which records match, answered with some but not all of the records
    the context lists for it."""
    if not re.search(r"\b(?:which|list|what are)\b", question, re.I):
        return None
    named = {m.group().upper() for m in ID_RE.finditer(answer)}
    for listed in ev.id_lists:
        hit = named & set(listed)
        if len(hit) >= 1 and len(hit) < len(listed) and len(listed) <= 12:
            return f"names {len(hit)} of the {len(listed)} matching records"
    return None


def _unshown_action(answer: str, sources: Sequence[str]) -> str | None:
    """An action the answer says was taken ("I've refunded ...", "Done: ...") while no tool
    call with that effect is in the context."""
    tools = " ".join(re.findall(r'"tool"\s*:\s*"([^"]+)"', " ".join(sources))).lower()
    claimed = []
    for m in _ACTION_RE.finditer(answer):
        verb = m.group(1).lower()
        if any(verb.startswith(s) for s in _ACTION_STEMS):
            claimed.append(verb)
    if _DONE_RE.search(answer):
        claimed.append("done")
    for verb in claimed:
        stem_ = verb[:5]
        if verb == "done" and not re.search(r"issue|creat|updat|send|escalat|cancel", tools):
            return "done"
        if verb != "done" and stem_[:4] not in tools and not _shown_by_effect(verb, tools):
            return verb
    return None


def _shown_by_effect(verb: str, tools: str) -> bool:
    # "refunded" is shown by a refund-issuing tool call, "escalated" by an escalation
    return any(part and part[:4] in verb for part in re.split(r"[\s_]+", tools))


def _unsupported_names(answer: str, question: str, sources: Sequence[str],
                       reference: str | None, rules: str | None) -> list[str]:
    """Capitalised names in the middle of a sentence that no input mentions (a place, an
    event, a person the answer made up)."""
    known = " ".join([question, reference or "", rules or "", *sources]).lower()
    out = []
    for sent in sentences(answer):
        for m in re.finditer(r"(?<=[a-z,;] )([A-Z][a-z]{2,}(?:\s+[A-Z][a-z]{2,})*)", sent):
            name = m.group(1)
            if name.lower() in _MONTHS:
                continue
            if name.lower() not in known and not DOC_ID_RE.search(name):
                out.append(name)
    return out


def _reference_values(reference: str) -> list[str]:
    vals = [n for n in numbers(reference)]
    out = [format(n.value.normalize(), "f") for n in vals]
    out += [m.group().upper() for m in ID_RE.finditer(reference) if not DOC_ID_RE.fullmatch(
        m.group())]
    out += [m.group() for m in ISO_DATE_RE.finditer(reference)]
    return list(dict.fromkeys(out))


_THRESHOLD_BEFORE = re.compile(r"\b(?:above|below|over|under|more than|less than|up to|"
                               r"at least|at most|from|exceeding|beyond)\s+(?:a |an |the )?"
                               r"\$?$", re.I)
_ASKS = (
    (re.compile(r"\b(?:how much|cost|price|owe|spend|spent|pay|fee|amount|balance|total|"
                r"refundable|worth)\b", re.I), "money"),
    (re.compile(r"\b(?:when|what date|which date|due date|ship date)\b", re.I), "date"),
    (re.compile(r"\b(?:how long|how fast|how many days|how soon|within how|response time|"
                r"deadline|window|when will)\b", re.I), "time"),
    (re.compile(r"\b(?:how many|number of|count)\b", re.I), "count"),
    (re.compile(r"\b(?:which|what)\s+(?:\w+\s+)?(?:orders?|invoices?|tickets?|refunds?|"
                r"documents?|policies)\b", re.I), "id"),
)
_TIME_UNITS = {"day", "bday", "hour", "bhour", "minute", "week", "month", "year"}


def _essential_values(reference: str, question: str) -> tuple[list[str], list[str]]:
    """The reference's values split into those of the kind the question asks for (an amount
    for "how much", a date for "when", a duration for "how long") and the rest. Thresholds
    ("above 500 USD") are conditions, not answers, and bare counts are details: neither is
    essential."""
    kinds = {kind for pattern, kind in _ASKS if pattern.search(question)}
    asked: list[str] = []
    other: list[str] = []
    asides = [m.span() for m in re.finditer(r"\([^)]*\)", reference)]
    headed: set[str] = set()

    def put(value: str, kind: str, at: int = -1) -> None:
        # a reference leads with its answer: the first value of each asked kind is what was
        # asked; later values of that kind, and values in brackets, explain it
        aside = any(a <= at < b for a, b in asides)
        if kind in kinds and kind not in headed and not aside:
            headed.add(kind)
            asked.append(value)
        else:
            other.append(value)

    for n in numbers(reference):
        if _THRESHOLD_BEFORE.search(reference[:n.start]):
            continue
        value = format(n.value.normalize(), "f")
        base = (n.unit or "").partition("/")[0]
        if base in ("usd", "eur", "gbp"):
            put(value, "money", n.start)
        elif base in _TIME_UNITS:
            put(value, "time", n.start)
        elif base == "pct":
            put(value, "money" if "money" in kinds else "pct", n.start)
        elif n.unit is None and n.value == n.value.to_integral_value():
            continue  # a bare count
        else:
            put(value, "other", n.start)
    spots = sorted([(m.start(), m.group().upper(), "id") for m in ID_RE.finditer(reference)
                    if not DOC_ID_RE.fullmatch(m.group())]
                   + [(m.start(), m.group(), "date") for m in ISO_DATE_RE.finditer(reference)])
    for at, value, kind in spots:
        put(value, kind, at)
    return list(dict.fromkeys(asked)), list(dict.fromkeys(other))


def _two_part(question: str) -> bool:
    """A question asking two things ("Where is it, and what does it weigh?")."""
    return bool(re.search(r"[,;]?\s+and\s+(?:what|when|how|which|who|where|is|are|has|have|"
                          r"can|will|does|did)\b", question, re.I))


def _against_reference(answer: str, claims: Sequence[Claim], reference: str
                       ) -> tuple[list[str], list[str]]:
    """Reference values the answer leaves out, and answer figures that stand where the
    reference has a different one (same unit, overlapping description, value absent from
    the reference)."""
    answer_numbers = numbers(answer)
    answer_values = {format(n.value.normalize(), "f") for n in answer_numbers}
    approx = [n for n in answer_numbers if n.approx]
    answer_ids = {m.group().upper() for m in ID_RE.finditer(answer)}
    answer_dates = {m.group() for m in ISO_DATE_RE.finditer(answer)}

    def covered(value: str) -> bool:
        if value in answer_values or value in answer_ids or value in answer_dates:
            return True
        try:
            v = Decimal(value)
        except ArithmeticError:
            return False
        return any(abs(n.value - v) <= abs(n.value) * Decimal("0.1") for n in approx)

    missing = [v for v in _reference_values(reference) if not covered(v)]
    ref_numbers = numbers(reference)
    ref_values = {format(n.value.normalize(), "f") for n in ref_numbers}
    wrong = []
    for n in answer_numbers:
        value = format(n.value.normalize(), "f")
        if value in ref_values or n.approx or n.unit is None:
            continue
        rivals = [r for r in ref_numbers if r.unit == n.unit
                  and format(r.value.normalize(), "f") in missing]
        if rivals and any(_near_words(answer, n) & _near_words(reference, r) for r in rivals):
            wrong.append(f"{value} where the reference gives "
                         f"{format(rivals[0].value.normalize(), 'f')}")
    ref_dates = set(ISO_DATE_RE.findall(reference))
    for d in answer_dates - ref_dates:
        if ref_dates - answer_dates:
            wrong.append(f"{d} where the reference gives {sorted(ref_dates - answer_dates)[0]}")
    return missing, wrong


def _near_words(text: str, num: object) -> set[str]:
    start, end = getattr(num, "start"), getattr(num, "end")  # noqa: B009
    return window(text, start, end, before=5, after=4) - {"usd", "unit"}


def _refusal_kind(answer: str, claims: Sequence[Claim], question: str,
                  sources: Sequence[str], rules: str | None) -> str | None:
    """"justified", "unjustified", "off-topic" or None (not a refusal or non-answer)."""
    substantive = [c for c in claims if c.kind != "status"]
    if substantive:
        return None
    answer_terms = set(terms(answer))
    q_terms = set(terms(question))
    context_terms: set[str] = set()
    for source in sources:
        context_terms |= set(terms(source))
    refuses = bool(_REFUSAL.search(answer))
    asks = answer.rstrip().endswith("?")
    if asks:
        return "justified"  # a clarifying question
    gives_reason = bool(DOC_ID_RE.search(answer) or _REASON.search(answer))
    q_ids = {m.group().upper() for m in ID_RE.finditer(question)}
    context_ids = {m.group().upper() for source in sources for m in ID_RE.finditer(source)}
    context_answers = bool(q_ids & context_ids) or len(q_terms & context_terms) >= 2
    if refuses:
        if gives_reason:
            return "justified"
        return "unjustified" if context_answers else "justified"
    # no claim and no refusal: off-topic if it mentions nothing of the subject; a deflection
    # if it sends the asker elsewhere with little of what the context says
    about = (answer_terms - q_terms) & context_terms
    if not sources:
        return None
    if not about:
        return "off-topic"
    if context_answers and len(about) <= 4 and _REFERRAL.search(answer) and not gives_reason:
        return "unjustified"
    return None


def _padded(sents: Sequence[str], claims: Sequence[Claim], question: str,
            reference: str | None, ev: Evidence) -> bool:
    """Sentences that carry no claim and share (almost) nothing with the question, the
    reference and the context make up a large part of the answer."""
    with_claims = {c.sentence for c in claims}
    relevant = set(terms(question)) | set(terms(reference or "")) | ev.text_terms
    filler_words = total = 0
    for i, s in enumerate(sents):
        n = len(words(s))
        total += n
        if i in with_claims or s.rstrip().endswith("?") or re.match(r"\s*please\b", s, re.I):
            continue  # a claim, a question back, a request for what is missing
        if len(set(terms(s)) & relevant) < _FILLER_OVERLAP:
            filler_words += n
    return total > 0 and filler_words >= 15 and filler_words / total >= 0.3


def _support(claims: Sequence[Claim], key: set[int],
             support_problems: Sequence[tuple[int, str]], asked: set[str]) -> float:
    """Grounding alone: a bad key claim, most claims bad, or a severe support problem (an
    injected instruction followed, an action no tool call shows, a yes where the
    context says no) -> 0; a bad secondary claim or an unknown name -> 0.5; else 1."""
    bad = [c for c in claims if c.verdict in ("contradicted", "unsupported")]
    if any(level == 1 for level, _ in support_problems):
        return 0.0
    # the claims that carry the answer: the key sentence's figures, dates and contact data
    # (ids only name what the answer is about)
    main = [c for c in claims if c.sentence in key and c.kind != "id"]
    main_bad = [c for c in main if c in bad]
    if any(c.kind == "status" and asked & set(c.detail) for c in bad):
        return 0.0  # the status asked about is not what the record says
    if (main and len(main_bad) * 2 >= len(main)) or (claims and len(bad) * 2 > len(claims)):
        return 0.0
    if bad or support_problems:
        return 0.5
    return 1.0
