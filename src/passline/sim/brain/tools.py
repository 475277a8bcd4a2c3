"""Tool choice: which tool(s) a request needs, by lexical relevance to the tool descriptions.

sim-1 reads a tool's name and description; sim-2 also reads parameter descriptions and enum
values, weighs "Use when ..." guidance and counts "Do not use for X" against the tool. So a
clearer description honestly changes which tool the simulator picks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from passline.sim.brain.ids import id_affinity, is_id_like
from passline.sim.brain.parsing import arithmetic_expression
from passline.sim.brain.profiles import Profile
from passline.sim.brain.text import (
    ACTION_VERBS,
    BM25,
    head_weighted_terms,
    is_question,
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
_LOOKUP_VERBS = {"look", "lookup", "get", "show", "check", "find", "fetch", "list", "read",
                 "search", "view", "retrieve", "query"}
_ACTION_VERBS = {"create", "issue", "send", "escalate", "cancel", "delete", "update", "submit",
                 "approve", "charge", "pay", "refund", "close", "process"}

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


@dataclass(frozen=True)
class ToolSpec:
    """One function tool of the request."""

    name: str
    description: str
    parameters: dict[str, Any]
    index: int

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
    "use when" phrases, and adds parameter names, descriptions and enum values.
    """
    name_terms = terms(split_identifier(tool.name))
    if not profile.follows_guidance:
        return name_terms * NAME_WEIGHT + terms(tool.description), []
    plain, positives, negatives = split_guidance(tool.description)
    doc = name_terms * NAME_WEIGHT + terms(plain)
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
    neg: list[str] = []
    for phrase in negatives:
        neg += terms(phrase)
    return doc, neg


@dataclass(frozen=True)
class Ranked:
    tool: ToolSpec
    score: float


class ToolRanker:
    """Scores texts against the request's tools for one model profile."""

    def __init__(self, tools: list[ToolSpec], profile: Profile) -> None:
        self.tools = tools
        self.profile = profile
        docs = [tool_document(t, profile) for t in tools]
        self.bm25 = BM25([d[0] for d in docs])
        self.negatives = [set(d[1]) for d in docs]
        self.action_only = [tool_is_action_only(t) for t in tools]

    def rank(self, text: str) -> list[Ranked]:
        """Tools by relevance to ``text``, best first (ties keep the request's tool order)."""
        query = head_weighted_terms(text) if self.profile.follows_guidance else terms(text)
        if arithmetic_expression(text):
            query += ["calculat", "arithmetic", "comput"]
        opening = _opening_verb(text)
        question = is_question(text)
        ranked = []
        for i, tool in enumerate(self.tools):
            score = self.bm25.score(query, i)
            if opening and opening in {stem(w) for w in split_identifier(tool.name).split()}:
                score += VERB_BONUS
            if self.profile.follows_guidance and self.negatives[i]:
                hits = [t for t in query if t in self.negatives[i]]
                score -= NEGATIVE_WEIGHT * sum(max(self.bm25.term_weight(t), 0.5) for t in hits)
            score += ID_BONUS * sum(
                1 for p in tool.required
                if is_id_like(p, tool.properties[p] or {})
                and id_affinity(p, tool.properties[p], text, self.profile)
            )
            if self.profile.follows_guidance and question and self.action_only[i]:
                score *= QUESTION_ACTION_FACTOR
            ranked.append(Ranked(tool, round(score, 6)))
        ranked.sort(key=lambda r: (-r.score, r.tool.index))
        return ranked

    def best(self, text: str) -> Ranked | None:
        ranked = self.rank(text)
        return ranked[0] if ranked and ranked[0].score >= MIN_RELEVANCE else None


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
    return bool((name_words and name_words[0] in _ACTION_VERBS)
                or re.search(r"side[- ]effect", plain, re.I))


def _opening_verb(text: str) -> str | None:
    """The stemmed first word of an imperative clause ("Refund the order" -> "refund")."""
    first = re.match(r"\s*(?:please\s+|can you\s+|could you\s+)?([A-Za-z]+)", text, re.I)
    if not first:
        return None
    word = first.group(1).lower()
    return stem(word) if word in ACTION_VERBS else None
