"""One assistant turn with tools: call tools (which, with what) or answer in text.

sim-1: one call for the single best tool of the whole request, then it answers.
sim-2: one call per intent clause, in parallel; one follow-up round for intents still open
(e.g. an id that only a tool result supplies); a clarifying question when a required
argument is nowhere to be found.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from passline.sim.brain.args import Arguments, clarifying_question, extract_arguments, is_id_like
from passline.sim.brain.conversation import Conversation
from passline.sim.brain.parsing import arithmetic_expression
from passline.sim.brain.profiles import Profile
from passline.sim.brain.text import (
    ID_RE,
    is_question,
    split_clauses,
    terms,
)
from passline.sim.brain.tools import MIN_RELEVANCE, NEAR_TIE, Ranked, ToolRanker, ToolSpec

#: Chance (times temperature) that sim-2 drops a secondary intent.
DROP_INTENT_RATE = 0.15
#: Chance (times temperature) that a near-tied runner-up tool replaces the best one.
SWAP_RATE = 0.3
#: sim-2 uses a runner-up scoring at least this fraction of the best when the best tool
#: cannot be called with what the request gives (and counts it as covering the intent).
ALTERNATIVE_RATIO = 0.6


@dataclass(frozen=True)
class Intent:
    """A clause of the request and the tool that fits it best."""

    clause: str
    tool: ToolSpec
    score: float
    #: other tools scoring at least ``ALTERNATIVE_RATIO`` of the best (sim-2 may use them)
    alternatives: tuple[Ranked, ...] = ()


def key_values(key: tuple[str, str]) -> Any:
    return json.loads(key[1])


@dataclass
class TurnDecision:
    """``calls`` to make now, or (no calls) answer in text, asking ``questions`` if any."""

    calls: list[tuple[str, Arguments]] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)


def find_intents(
    text: str, ranker: ToolRanker, profile: Profile, rng: random.Random | None,
    temperature: float,
) -> list[Intent]:
    """The tool intents of a request: per clause (sim-2) or for the whole text (sim-1)."""
    clauses = split_clauses(text) if profile.multi_intent else [text]
    intents: list[Intent] = []
    for clause in clauses:
        if not (terms(clause) or ID_RE.search(clause) or arithmetic_expression(clause)):
            continue
        ranked = ranker.rank(clause)
        pick = _pick(ranked, rng, temperature)
        if pick is not None:
            alts = tuple(r for r in ranked if r.tool.name != pick.tool.name
                         and r.score >= max(MIN_RELEVANCE, ALTERNATIVE_RATIO * pick.score))
            intents.append(Intent(clause, pick.tool, pick.score, alts))
    if not intents and len(clauses) > 1:
        pick = _pick(ranker.rank(text), rng, temperature)
        if pick is not None:
            intents.append(Intent(text, pick.tool, pick.score))
    if rng is not None and temperature > 0 and len(intents) > 1:
        intents = intents[:1] + [
            i for i in intents[1:] if rng.random() >= DROP_INTENT_RATE * temperature
        ]
    return intents


def _pick(ranked: list[Ranked], rng: random.Random | None, temperature: float) -> Ranked | None:
    if not ranked or ranked[0].score < MIN_RELEVANCE:
        return None
    best = ranked[0]
    if (
        rng is not None and temperature > 0 and len(ranked) > 1
        and ranked[1].score >= MIN_RELEVANCE and ranked[1].score >= NEAR_TIE * best.score
        and rng.random() < SWAP_RATE * temperature
    ):
        return ranked[1]
    return best


def decide_turn(
    conv: Conversation, tools: list[ToolSpec], tool_choice: Any, profile: Profile,
    rng: random.Random | None, temperature: float, *, parallel: bool = True,
) -> TurnDecision:
    """What this assistant turn does, given tools and ``tool_choice`` (not "none")."""
    ranker = ToolRanker(tools, profile)
    forced = _forced_name(tool_choice)
    if forced is not None:
        tool = next((t for t in tools if t.name == forced), None)
        if tool is None:
            return TurnDecision()
        clause = _best_clause_for(tool, conv.request, ranker, profile)
        args = _arguments(tool, clause, conv, profile, fill_missing=True)
        return TurnDecision(calls=[(tool.name, args)])
    decision = _auto_turn(conv, ranker, profile, rng, temperature, parallel=parallel)
    if tool_choice == "required" and not decision.calls:
        ranked = ranker.rank(conv.request)
        if ranked:
            tool = ranked[0].tool
            args = _arguments(tool, conv.request, conv, profile, fill_missing=True)
            return TurnDecision(calls=[(tool.name, args)])
    return decision


def _auto_turn(
    conv: Conversation, ranker: ToolRanker, profile: Profile, rng: random.Random | None,
    temperature: float, *, parallel: bool,
) -> TurnDecision:
    max_rounds = profile.max_rounds if parallel else profile.max_rounds + 3
    if conv.rounds >= max_rounds:
        return TurnDecision()
    intents = find_intents(conv.request, ranker, profile, rng, temperature)
    if not profile.multi_intent:
        if not intents:
            return TurnDecision()
        intent = intents[0]
        args = _arguments(intent.tool, intent.clause, conv, profile, fill_missing=True)
        return TurnDecision(calls=[(intent.tool.name, args)])
    called = conv.called_names
    previous = set(conv.calls)
    calls: list[tuple[str, Arguments]] = []
    unresolved: list[tuple[Intent, Arguments]] = []
    for intent in intents:
        if intent.tool.name in called:
            continue
        if is_question(intent.clause) and any(
            a.tool.name in called and a.score >= NEAR_TIE * intent.score
            for a in intent.alternatives
        ):
            continue  # a question: a lookup about as fitting already answered it
        args = _arguments(intent.tool, intent.clause, conv, profile, fill_missing=False)
        chosen: tuple[str, Arguments] | None = None
        if not args.missing:
            chosen = (intent.tool.name, args)
        elif any(alt.tool.name in called for alt in intent.alternatives):
            continue  # an equally fitting tool already ran for this intent
        else:
            # a capable model prefers a nearly-as-relevant tool it can actually call
            for alt in intent.alternatives:
                alt_args = _arguments(alt.tool, intent.clause, conv, profile, fill_missing=False)
                if not alt_args.missing:
                    chosen = (alt.tool.name, alt_args)
                    break
        if chosen is None:
            unresolved.append((intent, args))
            continue
        key = (chosen[0], json.dumps(chosen[1].values, sort_keys=True))
        if key in previous or any(c[0] == key[0] and c[1].values == key_values(key)
                                  for c in calls):
            continue
        calls.append(chosen)
    if unresolved and not calls and conv.rounds == 0:
        bridge = _bridge_call(unresolved[0][0], ranker, conv, profile)
        if bridge is not None:
            calls.append(bridge)
    if calls:
        return TurnDecision(calls=calls if parallel else calls[:1])
    questions = [clarifying_question(i.tool, a.missing[0]) for i, a in unresolved]
    return TurnDecision(questions=list(dict.fromkeys(questions)))


def _bridge_call(
    intent: Intent, ranker: ToolRanker, conv: Conversation, profile: Profile
) -> tuple[str, Arguments] | None:
    """A lookup that may supply the id an intent lacks: the most relevant other tool whose
    required arguments include an id the request does give (list_orders(customer_id) before
    issue_refund(order_id))."""
    for ranked in ranker.rank(intent.clause):
        tool = ranked.tool
        if tool.name == intent.tool.name or ranked.score <= 0:
            continue
        id_params = [p for p in tool.required if is_id_like(p, tool.properties.get(p) or {})]
        if not id_params:
            continue
        args = _arguments(tool, intent.clause, conv, profile, fill_missing=False)
        if not args.missing:
            return tool.name, args
    return None


def _arguments(
    tool: ToolSpec, clause: str, conv: Conversation, profile: Profile, *, fill_missing: bool
) -> Arguments:
    user_texts = [conv.request, conv.user_message, *conv.earlier_user]
    result_texts = [r.content for r in reversed(conv.results)] + [
        r.content for r in conv.earlier_results
    ] + [conv.system_facts]
    return extract_arguments(
        tool, clause, user_texts, result_texts, profile, fill_missing=fill_missing
    )


def _best_clause_for(tool: ToolSpec, text: str, ranker: ToolRanker, profile: Profile) -> str:
    if not profile.multi_intent:
        return text
    best, best_score = text, float("-inf")
    for clause in split_clauses(text):
        score = next((r.score for r in ranker.rank(clause) if r.tool.name == tool.name), 0.0)
        if score > best_score:
            best, best_score = clause, score
    return best


def _forced_name(tool_choice: Any) -> str | None:
    if isinstance(tool_choice, dict):
        fn = tool_choice.get("function")
        if isinstance(fn, dict) and fn.get("name"):
            return str(fn["name"])
    return None


def tool_call_message(
    calls: list[tuple[str, Arguments]], rng_seed: int, salt: str
) -> list[dict[str, Any]]:
    """OpenAI ``tool_calls`` entries with deterministic ids (hash of call, seed and turn)."""
    out = []
    for index, (name, args) in enumerate(calls):
        arguments = args.to_json()
        digest = hashlib.sha256(f"{name}|{arguments}|{rng_seed}|{salt}|{index}".encode())
        out.append({
            "id": "call_" + digest.hexdigest()[:24],
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        })
    return out
