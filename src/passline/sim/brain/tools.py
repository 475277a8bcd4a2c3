"""Tool choice: which tool(s) a request needs, by lexical relevance to the tool descriptions.

sim-1 reads a tool's name and description; sim-2 also reads parameter descriptions and enum
values, weighs "Use when ..." guidance and counts "Do not use for X" against the tool. So a
clearer description honestly changes which tool the simulator picks.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from passline.sim.brain.clauses import action_words, is_question, opening_verb
from passline.sim.brain.ids import id_affinity, is_id_like, search_pattern
from passline.sim.brain.knowledge import RULE_TERMS, implied_terms
from passline.sim.brain.parsing import arithmetic_expression, date_range
from passline.sim.brain.profiles import Profile
from passline.sim.brain.text import (
    BM25,
    EFFECT_VERBS,
    STOPWORDS,
    head_weighted_terms,
    split_identifier,
    stem,
    terms,
    words,
)

#: A clause must score at least this much against its best tool to be a tool intent.
MIN_RELEVANCE = 0.5
#: Near-tie: the runner-up scores at least this fraction of the best (may swap at t > 0).
NEAR_TIE = 0.85
#: Bonus per required id parameter for which the clause holds a fitting id (see ids.py).
ID_BONUS = 0.6
#: sim-2: bonus when that id matches the parameter's declared ``pattern`` exactly.
STRONG_ID_BONUS = 2.5
#: Name terms count this many times in a tool's document.
NAME_WEIGHT = 3
#: Bonus when the clause opens with a verb that is a word of the tool's name ("Refund ..."
#: -> issue_refund, "Escalate ..." -> escalate_ticket).
VERB_BONUS = 1.0
#: sim-2: weight of "Do not use for X" terms against the tool.
NEGATIVE_WEIGHT = 1.0
#: sim-2: factor on an action-only tool's score when the clause asks for information (0: a
#: question never triggers a tool that only acts, like one that issues refunds).
QUESTION_ACTION_FACTOR = 0.0
#: sim-2: factor on lookup tools when an imperative names an action a tool performs
#: ("Cancel INV-55501 ..." -> cancel_invoice, not get_invoice).
ACTION_LOOKUP_FACTOR = 0.3
#: sim-2: bonus per required non-id parameter the clause supplies (a period for dates, an
#: enum value named word for word).
FILL_BONUS = 0.6
#: sim-2: factor on a tool whose name's noun has the other number than the request's ("the
#: order" vs list_orders) when both a singular and a plural tool exist.
NUMBER_FACTOR = 0.7
_APPOSITIVE_RE = re.compile(r"(\b[A-Z]{2,5}(?:-[A-Z]{2,5})?-\d{2,}\b)\s*\([^)]*\)")
_CONTRAST_RE = re.compile(r"\b(?:not just|not only|rather than|instead of)\b[^,.;:?!]*", re.I)
EFFECT_STEMS = frozenset(stem(v) for v in EFFECT_VERBS)
_LOOKUP_VERBS = {"look", "lookup", "get", "show", "check", "find", "fetch", "list", "read",
                 "search", "view", "retrieve", "query", "track", "convert", "calculate",
                 "compute", "estimate", "forecast", "summarise", "summarize", "quote", "sum",
                 "evaluate", "count"}
#: Verbs whose tool changes something (a name's first word, or a description's first word).
_ACTION_VERBS = frozenset(EFFECT_VERBS - _LOOKUP_VERBS - {"return", "hand", "handle", "apply",
                                                          "split", "push", "make", "order"}
                          | {"create", "issue", "send", "escalate", "cancel", "delete",
                             "update", "submit", "approve", "charge", "pay", "refund", "close",
                             "process", "order"})

_NEGATIVE_RE = re.compile(
    r"(?:\b(?:do not|don't|never|must not)\s+use\s+(?:this\s+|it\s+)?(?:tool\s+)?"
    r"(?:for|to|when|if|on)\b|\bnot\s+(?:for|to\s+be\s+used\s+for)\b)\s*([^.\n]*)",
    re.I,
)
_POSITIVE_RE = re.compile(
    r"\b(?:use\s+(?:this\s+|it\s+)?(?:tool\s+)?(?:when|for|to|if)|useful\s+for|best\s+for)\b"
    r"\s*([^.;\n]*)",
    re.I,
)


_LOOKUP_STEMS = frozenset(stem(v) for v in _LOOKUP_VERBS)


@dataclass(frozen=True)
class ToolSpec:
    """One function tool of the request."""

    name: str
    description: str
    parameters: dict[str, Any]
    index: int

    @functools.cached_property
    def key(self) -> str:
        """The parameters as canonical JSON (what caches of per-tool analysis key on)."""
        return json.dumps(self.parameters, sort_keys=True, default=str)

    @property
    def properties(self) -> dict[str, Any]:
        props = self.parameters.get("properties") if isinstance(self.parameters, dict) else None
        return props if isinstance(props, dict) else {}

    @property
    def required(self) -> list[str]:
        req = self.parameters.get("required") if isinstance(self.parameters, dict) else None
        return [r for r in req if r in self.properties] if isinstance(req, list) else []


def parse_tools(tools: Any) -> list[ToolSpec]:
    """The function tools of a request's ``tools`` list (other tool types are ignored)."""
    out: list[ToolSpec] = []
    for raw in tools or []:
        if not isinstance(raw, dict):
            continue
        fn = raw.get("function") if raw.get("type", "function") == "function" else None
        if not isinstance(fn, dict) or not fn.get("name"):
            continue
        params = fn.get("parameters")
        params = params if isinstance(params, dict) else {}
        out.append(ToolSpec(str(fn["name"]), str(fn.get("description") or ""), params, len(out)))
    return out


def split_guidance(description: str) -> tuple[str, list[str], list[str]]:
    """(plain text, "use when" phrases, "do not use for" phrases) of a description."""
    negatives = [m.group(1) for m in _NEGATIVE_RE.finditer(description)]
    plain = _NEGATIVE_RE.sub(" ", description)
    positives = [m.group(1) for m in _POSITIVE_RE.finditer(plain)]
    return plain, positives, negatives


def tool_document(tool: ToolSpec, profile: Profile) -> tuple[list[str], list[str]]:
    """(positive terms, negative terms) a model of ``profile`` reads for ``tool``.

    The name counts ``NAME_WEIGHT`` times. sim-1 reads name + description verbatim, guidance
    and all (so a "Do not use for refund status" sentence *adds* "refund status" for it --
    naive lexical matching). sim-2 drops negative sentences from the positive side, doubles
    the description's opening sentence and "use when" phrases, and adds parameter names,
    descriptions and enum values.
    """
    name_terms = terms(split_identifier(tool.name))
    if not profile.follows_guidance:
        return name_terms * NAME_WEIGHT + terms(tool.description), []
    plain, positives, negatives = split_guidance(tool.description)
    doc = name_terms * NAME_WEIGHT + terms(plain)
    # the opening of a description says what the tool does: it counts double
    doc += terms(re.split(r"[.:;]\s", plain.strip(), maxsplit=1)[0])
    for phrase in positives:
        doc += terms(phrase)
    if profile.reads_parameters:
        for pname, pschema in tool.properties.items():
            if not isinstance(pschema, dict):
                continue
            doc += terms(split_identifier(pname))
            doc += terms(str(pschema.get("description") or ""))
            for value in pschema.get("enum") or []:
                doc += terms(split_identifier(str(value)))
                # a currency or unit code is read by its names ("JPY": yen, "lb": pounds)
                from passline.sim.brain.lexicon import value_forms

                forms, weak = value_forms(str(value))
                doc += [t for f in sorted(forms | weak) for t in terms(f)]
    neg: list[str] = []
    for phrase in negatives:
        neg += terms(phrase)
    return doc, neg


@dataclass(frozen=True)
class Ranked:
    tool: ToolSpec
    score: float


@dataclass(frozen=True)
class _ToolFacts:
    """What a profile reads from one tool spec (cached: specs repeat across requests)."""

    doc: tuple[str, ...]
    negatives: frozenset[str]
    action_only: bool
    side_effect: bool
    knows_rules: bool
    name_stems: frozenset[str]
    name_verb: str


@functools.lru_cache(maxsize=512)
def _tool_facts(name: str, description: str, key: str, profile: Profile) -> _ToolFacts:
    tool = ToolSpec(name, description, json.loads(key), 0)
    doc, neg = tool_document(tool, profile)
    words_ = split_identifier(name).split()
    return _ToolFacts(
        tuple(doc), frozenset(neg), tool_is_action_only(tool), has_side_effect(tool),
        bool(set(doc) & set(RULE_TERMS)), frozenset(stem(w) for w in words_),
        stem((words_ or [""])[0]))


class ToolRanker:
    """Scores texts against the request's tools for one model profile."""

    def __init__(self, tools: list[ToolSpec], profile: Profile) -> None:
        self.tools = tools
        self.profile = profile
        facts = [_tool_facts(t.name, t.description, t.key, profile) for t in tools]
        self.bm25 = BM25([f.doc for f in facts])
        self.negatives = [f.negatives for f in facts]
        self.action_only = [f.action_only for f in facts]
        self.side_effect = [f.side_effect for f in facts]
        #: the tool's description speaks of rules, policies or limits
        self.knows_rules = [f.knows_rules for f in facts]
        self.name_stems = [f.name_stems for f in facts]
        self.name_verbs = [f.name_verb for f in facts]
        self.number_of = _name_numbers(tools)

    def rank(self, text: str) -> list[Ranked]:
        """Tools by relevance to ``text``, best first (ties keep the request's tool order)."""
        capable = self.profile.follows_guidance
        if capable:
            # "the whole of MAN-AB-101, not merely a summary": what is ruled out is not asked
            text_q = _CONTRAST_RE.sub(" ", text)
            # "MAN-AB-101 (Printer setup guide)": an aside naming the record
            text_q = _APPOSITIVE_RE.sub(r"\1", text_q)
            query = head_weighted_terms(text_q) + implied_terms(text_q)
        else:
            query = terms(text)
        if arithmetic_expression(text):
            query += ["calculat", "arithmetic", "comput"]
        opening = _opening_verb(text)
        question = is_question(text)
        named = [opening in self.name_stems[i] for i in range(len(self.tools))] if opening \
            else [False] * len(self.tools)
        if capable and question:
            # "Has the refund been issued?": the question's verb is the tool's verb
            said = set(terms(text))
            named = [n or (self.name_verbs[i] in said) for i, n in enumerate(named)]
        # an imperative whose verb changes something ("Schedule ...", "Put ... in my
        # calendar", "Refund ..."): tools that only look things up are not what is asked
        acting = capable and not question and opening in EFFECT_STEMS and (
            any(named) or opening not in _LOOKUP_STEMS)
        asked = ({stem(w) for w in action_words(text)} | (set(query) & EFFECT_STEMS)
                 if capable and not question else set())
        period = date_range(text) is not None if self.profile.reads_parameters else False
        mentioned = _noun_numbers(text) if capable else {}
        ranked = []
        for i, tool in enumerate(self.tools):
            score = self.bm25.score(query, i)
            if named[i]:
                score += VERB_BONUS
            if capable and self.negatives[i]:
                hits = [t for t in query if t in self.negatives[i]]
                score -= NEGATIVE_WEIGHT * sum(max(self.bm25.term_weight(t), 0.5) for t in hits)
            for p in tool.required:
                schema = tool.properties[p] or {}
                if (self.profile.reads_parameters and not is_id_like(p, schema)
                        and isinstance(schema.get("pattern"), str)
                        and search_pattern(schema["pattern"], text)):
                    # a value of exactly the declared shape (an IBAN, an airport code)
                    score += STRONG_ID_BONUS / 2
                    continue
                if is_id_like(p, schema) and id_affinity(p, schema, text, self.profile):
                    # an id of exactly the declared shape names the record the tool takes
                    exact = self.profile.reads_parameters and isinstance(
                        schema.get("pattern"), str)
                    score += STRONG_ID_BONUS if exact else ID_BONUS
            if self.profile.reads_parameters and not tool.required:
                # a lookup with only optional filters ("by invoice id, by customer id"):
                # an id of the declared shape still says it fits
                score += STRONG_ID_BONUS / 2 * any(
                    is_id_like(p, s) and isinstance(s.get("pattern"), str)
                    and id_affinity(p, s, text, self.profile)
                    for p, s in tool.properties.items() if isinstance(s, dict))
            if self.profile.reads_parameters and score > 0:
                # values the clause supplies add to a tool it is about, never make one
                score += FILL_BONUS * _fillable(tool, text, period)
            if capable and question and self.action_only[i]:
                score *= QUESTION_ACTION_FACTOR
            if capable and not question and self.side_effect[i] and not asked:
                # "The client wrote about INV-55501" asks nothing to be done: no action
                score *= QUESTION_ACTION_FACTOR
            noun = self.number_of[i]
            if capable and noun is not None and noun[1] not in mentioned.get(noun[0],
                                                                            {noun[1]}):
                # "the invoice it concerns" is one invoice: get_invoice, not list_invoices
                score *= NUMBER_FACTOR
            if acting and not named[i] and not self.action_only[i]:
                # "Cancel the whole of INV-55501": an imperative names the action; tools
                # that only look things up are not what is asked for
                score *= ACTION_LOOKUP_FACTOR
            ranked.append(Ranked(tool, round(score, 6)))
        ranked.sort(key=lambda r: (-r.score, r.tool.index))
        return ranked

    def best(self, text: str) -> Ranked | None:
        ranked = self.rank(text)
        return ranked[0] if ranked and ranked[0].score >= MIN_RELEVANCE else None


def has_side_effect(tool: ToolSpec) -> bool:
    """A tool that changes something: its name or its description starts with a verb that
    changes things (issue_, create_, "Reserve a room", "Send money ...") or its description
    says it has a side effect."""
    name_words = split_identifier(tool.name).split()
    plain, _, _ = split_guidance(tool.description)
    first = (re.findall(r"[A-Za-z]+", plain)[:1] or [""])[0].lower()
    return bool((name_words and name_words[0] in _ACTION_VERBS) or first in _ACTION_VERBS
                or re.search(r"side[- ]effect", plain, re.I))


def tool_is_action_only(tool: ToolSpec) -> bool:
    """A tool that only acts: its name starts with an effect verb (issue_, escalate_ ...) or
    its description speaks of a side effect, and its description (minus "do not use"
    sentences) offers no lookup ("Create a refund ..." yes; "Look up or process refunds" no)."""
    plain, _, _ = split_guidance(tool.description)
    plain = re.sub(r"\b\w+_\w+\b", " ", plain)  # other tools' names are not its verbs
    name_words = split_identifier(tool.name).split()
    desc_words = {w.lower() for w in words(plain)}
    if desc_words & _LOOKUP_VERBS or set(name_words) & _LOOKUP_VERBS:
        return False
    return has_side_effect(tool)


def _name_numbers(tools: list[ToolSpec]) -> list[tuple[str, str] | None]:
    """Per tool, (noun stem, "one" | "many") when a singular and a plural tool share the noun
    (get_order / list_orders, read_policy / search_policies), else None."""
    found: list[tuple[str, str] | None] = []
    for tool in tools:
        last = (split_identifier(tool.name).split() or [""])[-1]
        found.append((stem(last), "many" if stem(last) != last.rstrip("'") and
                      last.endswith("s") else "one") if last else None)
    kinds: dict[str, set[str]] = {}
    for item in found:
        if item:
            kinds.setdefault(item[0], set()).add(item[1])
    return [item if item and len(kinds[item[0]]) == 2 else None for item in found]


def _noun_numbers(text: str) -> dict[str, set[str]]:
    """Per noun stem in ``text``, whether it is used in the singular, plural or both."""
    out: dict[str, set[str]] = {}
    for word in words(text):
        low = word.lower()
        if low in STOPWORDS or len(low) < 3:
            continue
        out.setdefault(stem(low), set()).add(
            "many" if low.endswith("s") and stem(low) != low and not low.endswith("ss")
            else "one")
    return out


def _fillable(tool: ToolSpec, text: str, period: bool) -> int:
    """How many of the tool's required non-id parameters the text supplies: a date for each
    date parameter when it names a period, an enum value it mentions word for word."""
    count = 0
    for name in tool.required:
        schema = tool.properties.get(name) or {}
        if not isinstance(schema, dict):
            continue
        if schema.get("enum"):
            if any(mentions_value(str(v), text) for v in schema["enum"]):
                count += 1
        elif period and (schema.get("format") in ("date", "date-time") or "date" in name):
            count += 1
    return count


def mentions_value(value: str, text: str) -> bool:
    """Whether ``text`` names an enum ``value`` word for word (a plural counts: "refunds" /
    "refund"; "opened" does not name "open")."""
    want = split_identifier(value).split()
    if not want:
        return False
    have = {w.lower() for w in words(text)}
    return all(w in have or w + "s" in have or (w.endswith("s") and w[:-1] in have)
               for w in want)


def _opening_verb(text: str) -> str | None:
    """The stemmed verb an imperative clause opens with ("Refund the order" -> "refund")."""
    verb = opening_verb(text)
    return stem(verb) if verb else None
