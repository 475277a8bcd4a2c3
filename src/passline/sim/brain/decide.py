"""One assistant turn with tools: call tools (which, with what) or answer in text.

sim-1: one call for the single best tool of the whole request, then it answers.
sim-2: one call per intent clause, in parallel; one follow-up round for intents still open
(e.g. an id that only a tool result supplies); a clarifying question when a required
argument is nowhere to be found.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from typing import Any

from passline.sim.brain.aggregate import (
    combine_op,
    expression_for,
    expression_param,
    is_calculator,
    main_amounts,
    remainder_amounts,
)
from passline.sim.brain.args import Arguments, clarifying_question, extract_arguments, is_id_like
from passline.sim.brain.clauses import (
    asks,
    is_condition,
    is_prohibition,
    is_question,
    split_clauses,
)
from passline.sim.brain.conversation import Conversation
from passline.sim.brain.knowledge import (
    ENTITY_STEMS,
    asks_about_rules,
    defers_to_policy,
    entity_terms,
    implied_terms,
    without_deferral,
)
from passline.sim.brain.multi import (
    Call,
    Restrictions,
    expand,
    guided_lookup,
    lookup_call,
    merge_same_record,
    with_prerequisites,
)
from passline.sim.brain.parsing import arithmetic_expression
from passline.sim.brain.profiles import Profile
from passline.sim.brain.text import BM25, ID_RE, sentences, terms
from passline.sim.brain.tools import (
    MIN_RELEVANCE,
    NEAR_TIE,
    Ranked,
    ToolRanker,
    ToolSpec,
    mentions_value,
)

#: Chance (times temperature) that sim-2 drops a secondary intent.
DROP_INTENT_RATE = 0.15
#: Chance (times temperature) that a near-tied runner-up tool replaces the best one.
SWAP_RATE = 0.3
#: sim-2 uses a runner-up scoring at least this fraction of the best when the best tool
#: cannot be called with what the request gives (and counts it as covering the intent).
ALTERNATIVE_RATIO = 0.6
#: sim-2 splits a coordinated clause only when each part's tool scores at least this fraction
#: of the best score on the whole clause (both parts are really asked for).
PART_RATIO = 0.35


@dataclass(frozen=True)
class Intent:
    """A clause of the request and the tool that fits it best."""

    clause: str
    tool: ToolSpec
    score: float
    #: other tools scoring at least ``ALTERNATIVE_RATIO`` of the best (sim-2 may use them)
    alternatives: tuple[Ranked, ...] = ()


@dataclass
class TurnDecision:
    """``calls`` to make now, or (no calls) answer in text, asking ``questions`` if any."""

    calls: list[tuple[str, Arguments]] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)


def find_intents(
    text: str, ranker: ToolRanker, profile: Profile, rng: random.Random | None,
    temperature: float,
) -> list[Intent]:
    """The tool intents of a request: per clause (sim-2) or for the whole text (sim-1).

    sim-2 skips prohibitions ("Don't cancel it"), premises ("supposing we cancelled ...") and
    remarks beside what is asked, and splits a clause whose coordinated parts ask different
    tools ("ACC-5501: credit limit and unpaid bills") into one intent per part.
    """
    clauses = split_clauses(text) if profile.multi_intent else [text]
    intents: list[Intent] = []
    previous_ids: list[str] = []
    someone_asks = len(clauses) > 1 and any(asks(c) for c in clauses)
    for clause in clauses:
        own_ids = ID_RE.findall(clause)
        if profile.multi_intent and (is_prohibition(clause) or is_condition(clause) or (
                someone_asks and not asks(clause))):
            # not a request: a prohibition, a premise, or a remark beside what is asked
            # ("...; last time I tried that it was slow")
            # not a request, but "Don't close CASE-5501 yet, only summarise it" names "it"
            previous_ids = own_ids or previous_ids
            continue
        if not (terms(clause) or ID_RE.search(clause) or arithmetic_expression(clause)):
            continue
        if profile.multi_intent and not own_ids and previous_ids and _PRONOUN_RE.search(clause):
            # "the credit on INV-55501, did it go out?": "it" is the record just named --
            # unless the clause names another kind of record ("the customer it belongs to")
            named = set(terms(clause))
            kept = [i for i in previous_ids
                    if not (named & ENTITY_STEMS) or set(entity_terms(i)) & named]
            if kept:
                clause = f"{clause} ({', '.join(kept)})"
        previous_ids = own_ids or previous_ids
        ranked = ranker.rank(clause)
        if profile.multi_intent and not own_ids and asks_about_rules(clause) and is_question(
                clause):
            # a question about rules goes to a tool that knows them; a worker without one
            # answers from what it has (or says it cannot) instead of forcing a lookup
            ranked = [r for r in ranked if ranker.knows_rules[r.tool.index]]
        pick = _pick(ranked, rng, temperature)
        if pick is None:
            continue
        parts = _coordinated(clause, pick, ranker) if profile.multi_intent else []
        if parts:
            intents.extend(parts)
            continue
        if profile.multi_intent and defers_to_policy(clause) and ranker.knows_rules[
                pick.tool.index] and not ranker.side_effect[pick.tool.index]:
            # "handle it the way our rules require": look up the rule for the situation
            clause = without_deferral(text)
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


_PRONOUN_RE = re.compile(r"\b(?:it|its|it's|they|them|their|theirs|this|that|these|those)\b",
                         re.I)
_COORDINATION_RE = re.compile(r"\s+(?:and|&)\s+(?!(?:then|also)\b)", re.I)


def _coordinated(clause: str, whole: Ranked, ranker: ToolRanker) -> list[Intent]:
    """Intents of the coordinated parts of ``clause`` when they fit different tools, each
    relevant to the whole clause too; [] when the clause is one intent (one tool, or an
    enumeration of one tool's values like "fuel and parking costs")."""
    pieces = _COORDINATION_RE.split(clause)
    if len(pieces) < 2 or len(pieces) > 4:
        return []
    for schema in whole.tool.properties.values():
        if isinstance(schema, dict) and schema.get("enum") and sum(
                mentions_value(str(v), clause) for v in schema["enum"]) > 1:
            return []  # "the fuel and the parking totals": one tool, several values
    if clause.rstrip().endswith("?"):
        pieces = [p if p.rstrip().endswith("?") else p + "?" for p in pieces]
    whole_scores = {r.tool.name: r.score for r in ranker.rank(clause)}
    out: list[Intent] = []
    for piece in pieces:
        if not (terms(piece) or ID_RE.search(piece)):
            continue
        best = ranker.best(piece)
        if best is None or whole_scores.get(best.tool.name, 0.0) < PART_RATIO * whole.score:
            return []
        out.append(Intent(piece, best.tool, best.score))
    if len(out) < 2 or len({i.tool.name for i in out}) < len(out):
        return []
    return out


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
    combined = _combination(conv, ranker, profile)
    if combined is not None:
        return TurnDecision(calls=[combined])
    failed = {r.name for r in conv.results if r.is_error} - {
        r.name for r in conv.results if not r.is_error}
    called = conv.called_names - failed  # a call that failed may be repaired
    previous = set(conv.calls)
    restrictions = Restrictions.of(conv.request)
    calls: list[Call] = []
    unresolved: list[tuple[Intent, Arguments]] = []
    combined_done = any(is_calculator(t) and t.name in called for t in ranker.tools)
    for intent in intents:
        if combined_done and combine_op(intent.clause):
            continue  # the calculator already answered this clause
        candidates = [Ranked(intent.tool, intent.score), *intent.alternatives]
        allowed = [r for r in candidates if restrictions.allows(r.tool)]
        if not allowed:
            continue  # "change nothing": an action intent is not carried out
        if allowed[0].tool.name != intent.tool.name:
            intent = Intent(intent.clause, allowed[0].tool, allowed[0].score,
                            tuple(allowed[1:]))
        if intent.tool.name in called:
            continue
        if intent.tool.name not in failed and is_question(intent.clause) and any(
            a.tool.name in called and a.score >= NEAR_TIE * intent.score
            for a in intent.alternatives
        ):
            continue  # a question: a lookup about as fitting already answered it
        args = _arguments(intent.tool, intent.clause, conv, profile, fill_missing=False)
        chosen: Call | None = None
        if not args.missing:
            chosen = Call(intent.tool, args, intent.clause)
        elif intent.tool.name not in failed and (
                as_lookup := lookup_call(intent.tool, args, intent.clause)) is not None:
            chosen = Call(intent.tool, as_lookup, intent.clause, lookup=True)
        elif any(alt.tool.name in called for alt in intent.alternatives):
            continue  # an equally fitting tool already ran for this intent
        else:
            # a capable model prefers a nearly-as-relevant tool it can actually call
            for alt in intent.alternatives:
                alt_args = _arguments(alt.tool, intent.clause, conv, profile, fill_missing=False)
                if not alt_args.missing:
                    chosen = Call(alt.tool, alt_args, intent.clause)
                    break
        if chosen is None:
            unresolved.append((intent, args))
            continue
        calls.extend(expand(chosen, profile))
    calls = merge_same_record(calls)
    deferred: list[Call] = []
    if profile.reads_parameters and profile.follows_guidance:
        calls = with_prerequisites(
            calls, ranker, conv,
            lambda tool, clause: _arguments(tool, clause, conv, profile, fill_missing=False),
            deferred)
    if profile.reads_parameters and profile.follows_guidance:
        # "Read ... by its doc_id, after search_policies found it": the missing id comes
        # from the tool the guidance names
        for intent, _args in unresolved:
            guided = guided_lookup(intent.tool, intent.clause, ranker, conv, calls,
                                   lambda tool, clause: _arguments(tool, clause, conv, profile,
                                                                   fill_missing=False))
            if guided is not None and restrictions.allows(guided.tool):
                calls.append(guided)
    unique: list[Call] = []
    for call in calls:
        if call.key not in previous and all(call.key != c.key for c in unique):
            unique.append(call)
    if unresolved and not unique and not deferred and conv.rounds == 0:
        bridge = _bridge_call(unresolved[0][0], ranker, conv, profile)
        if bridge is not None and restrictions.allows(
                next(t for t in ranker.tools if t.name == bridge[0])):
            unique.append(Call(next(t for t in ranker.tools if t.name == bridge[0]),
                               bridge[1], unresolved[0][0].clause))
    if unique:
        out = [(c.tool.name, c.args) for c in unique]
        return TurnDecision(calls=out if parallel else out[:1])
    questions = [clarifying_question(i.tool, a.missing[0]) for i, a in unresolved]
    return TurnDecision(questions=list(dict.fromkeys(questions)))


def _combination(
    conv: Conversation, ranker: ToolRanker, profile: Profile
) -> tuple[str, Arguments] | None:
    """sim-2: once the amounts a request combines are in ("What do INV-55501 and INV-55502
    add up to?"), the calculator call that combines them."""
    if not profile.reads_parameters:
        return None
    op = combine_op(conv.request)
    calculator = next((t for t in ranker.tools if is_calculator(t)), None)
    if op is None or calculator is None or calculator.name in conv.called_names:
        return None
    results = [(r.name, r.data) for r in conv.results]
    amounts = (remainder_amounts(results, conv.system_facts, conv.request) if op == "left"
               else main_amounts(results, conv.system_facts, conv.request))
    expression = expression_for(op, amounts)
    if expression is None:
        return None
    return calculator.name, Arguments({expression_param(calculator): expression}, ())


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
    # an error message is no source of values (its examples are not this record's data)
    result_texts = [r.content for r in reversed(conv.results) if not r.is_error] + [
        r.content for r in conv.earlier_results if not r.is_error
    ] + [conv.system_facts]
    if profile.reads_parameters and defers_to_policy(conv.request):
        # "at the level our rules require": the rule that fits this case decides
        rule = policy_sentence(conv.request, [conv.system_facts, *result_texts[:-1]])
        if rule:
            result_texts.insert(0, rule)
    return extract_arguments(
        tool, clause, user_texts, result_texts, profile, fill_missing=fill_missing
    )


def policy_sentence(request: str, sources: list[str]) -> str | None:
    """The sentence of the sources (earlier steps' facts, tool results) citing or quoting a
    rule that is most relevant to ``request``."""
    candidates = [s for text in sources for s in sentences(text.replace("\\n", " "))
                  if _RULE_SOURCE_RE.search(s)]
    if not candidates:
        return None
    bm25 = BM25([terms(c) for c in candidates])
    query = terms(request) + implied_terms(request)
    best = max(range(len(candidates)), key=lambda i: (bm25.score(query, i), -i))
    return candidates[best] if bm25.score(query, best) > 0 else None


_RULE_SOURCE_RE = re.compile(r"\bPOL-[A-Z]{2,5}-\d+|\bpolicy\b|\bmust\b|\bshall\b", re.I)


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
