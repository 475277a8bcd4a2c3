"""Critique and judge rules: grounding, coverage and rule checks over tagged prompts.

Prompts carry <question>, <answer> (or <answer_a>/<answer_b>), <reference>, <context> and
<rules> blocks. The critique checks that the ids, dates and numbers of a draft appear in its
sources. The judge reads more closely (``assess``): it binds every claim to what the context
says about the same thing -- and the reference, when given (``binding``) -- so a figure that
exists in the context but about something else, or in another unit, counts against it.
sim-1 as a judge has two documented biases -- verbosity and position -- that passline's judge
calibration is there to measure.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from passline.sim.brain.assess import Assessment, assess
from passline.sim.brain.conversation import Conversation
from passline.sim.brain.profiles import Profile
from passline.sim.brain.rules import follows_injection, rule_violations
from passline.sim.brain.text import (
    extract_claims,
    sentences,
    tag_content,
    terms,
    words,
)
from passline.sim.brain.validate import resolve_ref

#: A judge answer of more words than this counts as verbose (sim-1's verbosity bias).
VERBOSE_WORDS = 60
#: One level of a 1-5 scale on the 0..1 quality scale (sim-1's verbosity bias adds one).
LEVEL_STEP = 0.25


def _level_step(props: dict[str, Any]) -> float:
    """One level of the verdict's scale on 0..1: 1/(max-min) for a score, 1/(labels-1) for a
    label (a shade over, so rounding lands on the next level)."""
    for sub in props.values():
        if not isinstance(sub, dict):
            continue
        if sub.get("enum") and len(sub["enum"]) > 1:
            return 1.0 / (len(sub["enum"]) - 1) + 0.01
        lo, hi = sub.get("minimum"), sub.get("maximum")
        if isinstance(lo, int | float) and isinstance(hi, int | float) and hi > lo:
            return 1.0 / (hi - lo)
    return LEVEL_STEP
#: Quality at or above which boolean "passed"-like judge fields are true.
PASS_QUALITY = 0.6


_POSITIVE = {"pass", "passed", "correct", "good", "yes", "grounded", "faithful", "acceptable",
             "supported", "excellent", "true", "approve", "approved", "accept", "great", "high",
             "relevant", "complete", "safe"}
_NEGATIVE = {"fail", "failed", "incorrect", "bad", "no", "ungrounded", "unfaithful", "poor",
             "unacceptable", "unsupported", "false", "wrong", "reject", "hallucinated", "low",
             "irrelevant", "incomplete", "unsafe", "refuse"}
_PARTIAL = {"partial", "partially", "partially_correct", "mixed", "ok", "some", "medium",
            "fair", "borderline", "minor"}


# ------------------------------------------------------------------ detection


def _props(schema: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties")
    if not isinstance(props, dict):
        return {}
    return {k: (resolve_ref(v["$ref"], schema) if isinstance(v, dict) and "$ref" in v else v)
            for k, v in props.items() if isinstance(v, dict) or v is True}


def is_critique(name: str, schema: dict[str, Any]) -> bool:
    """A critique schema: named like "critique"/"reflection", or a verdict among
    approve/revise."""
    if re.search(r"critique|critic|reflect|review", name, re.I):
        return True
    verdict = _props(schema).get("verdict") or {}
    values = {str(v).lower() for v in verdict.get("enum") or []} if isinstance(verdict,
                                                                                 dict) else set()
    return bool(values & {"approve", "approved", "revise"})


def is_judge(name: str, schema: dict[str, Any]) -> bool:
    """A judge verdict schema: a bounded integer "score", an enum "label", or a "winner"."""
    props = _props(schema)
    if re.search(r"judge|grade|verdict|rubric|eval", name, re.I):
        return True
    score = props.get("score") or {}
    if isinstance(score, dict) and score.get("type") in ("integer", "number") and (
        "minimum" in score or "maximum" in score
    ):
        return True
    for key in ("label", "winner"):
        sub = props.get(key)
        if isinstance(sub, dict) and sub.get("enum"):
            return True
    return False


# ------------------------------------------------------------------ evidence


@dataclass(frozen=True)
class Evidence:
    """What one answer is judged on."""

    claims: list[str]
    unsupported: list[str]
    reference_facts: list[str]
    missing: list[str]
    violations: list[tuple[str, str]]  # (rule, "forbidden" | "required")
    grounding: float
    coverage: float
    words: int

    @property
    def quality(self) -> float:
        if self.words == 0:
            return 0.0
        penalty = 0.25 * len(self.violations)
        q = 0.5 * self.grounding + 0.5 * self.coverage - penalty
        return max(0.0, min(1.0, q))


def supported_keys(texts: Iterable[str]) -> set[tuple[str, str]]:
    """Claim keys stated by ``texts``, plus the lengths of JSON lists in them."""
    keys: set[tuple[str, str]] = set()
    for text in texts:
        if not text:
            continue
        keys |= {(c.kind, c.norm) for c in extract_claims(text)}
        for length in _json_list_lengths(text):
            keys.add(("number", str(length)))
    return keys


def _json_list_lengths(text: str) -> set[int]:
    out: set[int] = set()
    for chunk in re.findall(r"[\[{].*[\]}]", text, re.S)[:5]:
        try:
            data = json.loads(chunk)
        except ValueError:
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                out.add(len(node))
                stack.extend(node)
            elif isinstance(node, dict):
                stack.extend(node.values())
    return out


def evaluate(answer: str, *, sources: list[str], reference: str | None, question: str,
             rules: str | None, check_ids: bool = True) -> Evidence:
    """Grounding, coverage and rule violations of ``answer``."""
    claims = [c for c in extract_claims(answer) if check_ids or c.kind == "number"]
    support = supported_keys([*sources, reference or "", question, rules or ""])
    unsupported = [c.text for c in claims if (c.kind, c.norm) not in support]
    grounding = 1.0 - len(unsupported) / len(claims) if claims else 1.0
    answer_keys = {(c.kind, c.norm) for c in extract_claims(answer)}
    answer_terms = set(terms(answer))
    ref_facts: list[str] = []
    missing: list[str] = []
    if reference:
        ref_claims = extract_claims(reference)
        ref_terms = [t for t in dict.fromkeys(terms(reference)) if len(t) >= 4]
        claim_missing = [c.text for c in ref_claims if (c.kind, c.norm) not in answer_keys]
        term_missing = [t for t in ref_terms if t not in answer_terms]
        claim_cov = 1 - len(claim_missing) / len(ref_claims) if ref_claims else None
        term_cov = 1 - len(term_missing) / len(ref_terms) if ref_terms else 1.0
        coverage = term_cov if claim_cov is None else 0.7 * claim_cov + 0.3 * term_cov
        ref_facts = [c.text for c in ref_claims] + ref_terms
        missing = claim_missing + term_missing
    else:
        q_terms = [t for t in dict.fromkeys(terms(question)) if len(t) >= 3]
        hits = [t for t in q_terms if t in answer_terms]
        coverage = len(hits) / len(q_terms) if q_terms else 1.0
        missing = [t for t in q_terms if t not in answer_terms]
    return Evidence(
        claims=[c.text for c in claims], unsupported=unsupported, reference_facts=ref_facts,
        missing=missing, violations=rule_violations(answer, rules or ""),
        grounding=grounding, coverage=coverage, words=len(words(answer)),
    )


# ------------------------------------------------------------------ prompt parts


def _prompt(conv: Conversation) -> str:
    # the user message first: its blocks win over tags a system prompt only mentions
    return conv.user_message + "\n" + conv.system


def _tag(prompt: str, *names: str) -> str | None:
    for name in names:
        found = tag_content(prompt, name)
        if found is not None:
            return found
    return None


def _sources(prompt: str, conv: Conversation) -> list[str]:
    context = _tag(prompt, "context", "evidence", "tool_results", "results", "documents")
    out = [context] if context else []
    out += [r.content for r in conv.results]
    return out


# ------------------------------------------------------------------ critique


def critique_hints(conv: Conversation, schema: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """Values for a critique schema's top-level properties, by property name."""
    prompt = _prompt(conv)
    answer = _tag(prompt, "answer", "draft", "response", "draft_answer") or conv.request
    question = _tag(prompt, "question", "request", "task", "user_request") or ""
    rules = _tag(prompt, "rules", "policy", "guidelines", "constraints")
    sources = _sources(prompt, conv)
    ev = evaluate(answer, sources=sources, reference=None, question=question,
                  rules=rules, check_ids=profile.checks_ids)
    if profile.checks_ids:
        obeyed = follows_injection(answer, sources)
        if obeyed:
            violations = [*ev.violations,
                          (f"Follows an instruction found in the data: {obeyed}", "forbidden")]
            ev = dataclasses.replace(ev, violations=violations)
    forbidden = [r for r, kind in ev.violations if kind == "forbidden"]
    verdict = "refuse" if forbidden else ("revise" if ev.unsupported or ev.violations
                                          else "approve")
    feedback = _critique_feedback(ev)
    revised = " ".join(s for s in sentences(answer)
                       if not any(u in s for u in ev.unsupported)) or answer
    hints: dict[str, Any] = {"_reasoning": feedback}
    for key, sub in _props(schema).items():
        low = key.lower()
        if not isinstance(sub, dict):
            continue
        if sub.get("enum") and re.search(r"verdict|decision|action|status|outcome", low):
            hints[key] = _map_verdict(verdict, sub["enum"])
        elif re.search(r"unsupported|hallucinat|ungrounded|claims|invented", low):
            hints[key] = list(ev.unsupported)
        elif re.search(r"violation|rules?_broken|broken", low):
            hints[key] = [r for r, _ in ev.violations]
        elif re.search(r"revis|correct|suggest|fixed|rewrite", low) and sub.get("type") == "string":
            hints[key] = revised
        elif sub.get("type") == "boolean" and re.search(r"approv|ground|ok|pass|accept", low):
            hints[key] = verdict == "approve"
        elif sub.get("type") == "boolean" and re.search(r"revis|refus|block|reject", low):
            hints[key] = verdict != "approve" if "revis" in low else verdict == "refuse"
        elif re.search(r"feedback|reason|explan|comment|critique|rationale|notes", low):
            hints[key] = feedback
        elif sub.get("type") in ("number", "integer") and re.search(r"score|ground|confid", low):
            hints[key] = _scale(ev.grounding if not ev.violations else 0.0, sub)
    return hints


def _critique_feedback(ev: Evidence) -> str:
    parts = []
    if ev.unsupported:
        parts.append("Unsupported claims (absent from the context): " + ", ".join(ev.unsupported)
                     + ".")
    for rule, kind in ev.violations:
        parts.append(("Breaks the rule: " if kind == "forbidden" else "Misses the rule: ")
                     + rule.rstrip(".") + ".")
    if not parts:
        parts.append(f"Every claim ({', '.join(ev.claims)}) has support in the context; no "
                     "rule is broken." if ev.claims else "No factual claims to check; no rule is "
                     "broken.")
    return " ".join(parts)


def _map_verdict(verdict: str, values: list[Any]) -> Any:
    synonyms = {
        "approve": ("approve", "approved", "accept", "accepted", "pass", "ok", "yes", "grounded"),
        "revise": ("revise", "revision", "needs_revision", "fix", "edit", "fail", "retry"),
        "refuse": ("refuse", "refused", "reject", "rejected", "block", "deny", "escalate"),
    }
    order = [verdict] + (["revise"] if verdict == "refuse" else [])
    for want in order:
        for value in values:
            if str(value).lower() in synonyms[want]:
                return value
    return values[0] if verdict == "approve" else values[-1]


# ------------------------------------------------------------------ judge


def judge_hints(conv: Conversation, schema: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """Values for a judge schema (single-answer scores/labels or a pairwise winner)."""
    prompt = _prompt(conv)
    question = _tag(prompt, "question", "request", "task", "input") or ""
    reference = _tag(prompt, "reference", "expected", "gold", "reference_answer")
    rules = _tag(prompt, "rules", "rubric_rules", "policy", "constraints")
    sources = _sources(prompt, conv)
    answer_a = _tag(prompt, "answer_a", "response_a")
    answer_b = _tag(prompt, "answer_b", "response_b")
    props = _props(schema)
    support_only = _support_only(props, conv.system)
    hints: dict[str, Any] = {}

    def read(answer: str) -> tuple[Assessment, float]:
        a = assess(answer, question=question, sources=sources, reference=reference,
                   rules=rules, support_only=support_only)
        return a, (a.support if support_only else a.quality)

    if answer_a is not None and answer_b is not None:
        ev_a, qa = read(answer_a)
        ev_b, qb = read(answer_b)
        if profile.verbosity_bias:
            qa += profile.bias_margin if ev_a.words > 1.3 * max(ev_b.words, 1) else 0.0
            qb += profile.bias_margin if ev_b.words > 1.3 * max(ev_a.words, 1) else 0.0
        winner = "A" if qa > qb else "B"
        if abs(qa - qb) <= profile.bias_margin:
            winner = "A" if profile.position_bias else "tie"
        reasoning = (f"Answer A: {ev_a.summary()} Answer B: {ev_b.summary()} "
                     + ("They are about equally good." if winner == "tie"
                        else f"Answer {winner} is better."))
        hints["_reasoning"] = reasoning
        for key, sub in props.items():
            if isinstance(sub, dict) and sub.get("enum") and re.search(
                r"winner|prefer|better|choice|verdict", key, re.I
            ):
                hints[key] = _pick_winner(winner, sub["enum"], qa, qb)
            elif re.search(r"reason|rational|explan|justif|analysis", key, re.I):
                hints[key] = reasoning
        return hints
    answer = _tag(prompt, "answer", "response", "output", "candidate") or ""
    ev, q = read(answer)
    if profile.verbosity_bias and (
        ev.words > VERBOSE_WORDS
        or (reference and ev.words > 2 * max(len(words(reference)), 1))
    ):
        # the verdict is a level, so the bias is a level: a long answer reads one level better
        q = min(1.0, q + max(profile.bias_margin, _level_step(props)))
    reasoning = ev.summary()
    hints["_reasoning"] = reasoning
    for key, sub in props.items():
        if not isinstance(sub, dict):
            continue
        low = key.lower()
        if sub.get("enum") and re.search(r"label|verdict|grade|rating|class|decision", low):
            hints[key] = _ordinal(sub["enum"], q)
        elif sub.get("type") in ("integer", "number") and re.search(
            r"score|rating|grade|points|quality", low
        ):
            hints[key] = _scale(q, sub)
        elif sub.get("type") == "boolean" and re.search(
            r"pass|correct|accept|ground|faithful|good|ok", low
        ):
            hints[key] = q >= PASS_QUALITY
        elif re.search(r"unsupported|hallucinat|ungrounded", low):
            hints[key] = list(ev.unsupported)
        elif re.search(r"missing|omitted", low):
            hints[key] = list(ev.missing)
        elif re.search(r"reason|rational|explan|justif|analysis|feedback", low):
            hints[key] = reasoning
    return hints


#: label values that say a rubric grades support (grounding), not overall quality
_SUPPORT_LABELS = {"grounded", "ungrounded", "supported", "unsupported", "faithful",
                   "unfaithful", "hallucinated", "hallucination"}


def _support_only(props: dict[str, Any], system: str) -> bool:
    """Whether the rubric asks only about support: its labels name grounding, or its
    instructions say it does not judge completeness or style."""
    for sub in props.values():
        if isinstance(sub, dict) and sub.get("enum") and (
                {str(v).lower() for v in sub["enum"]} & _SUPPORT_LABELS):
            return True
    return bool(re.search(r"\b(?:do not|don't|never) (?:judge|grade|assess)\b[^.]{0,40}"
                          r"\b(?:completeness|style|helpfulness)", system, re.I))


def _summary(ev: Evidence) -> str:
    parts = []
    if ev.claims:
        supported = len(ev.claims) - len(ev.unsupported)
        parts.append(f"{supported} of {len(ev.claims)} claims supported"
                     + (f" (unsupported: {', '.join(ev.unsupported)})" if ev.unsupported else "")
                     + ".")
    else:
        parts.append("No checkable claims.")
    if ev.reference_facts:
        covered = len(ev.reference_facts) - len(ev.missing)
        parts.append(f"Covers {covered} of {len(ev.reference_facts)} reference facts"
                     + (f" (missing: {', '.join(ev.missing[:6])})" if ev.missing else "") + ".")
    elif ev.missing:
        parts.append(f"Does not address: {', '.join(ev.missing[:6])}.")
    if ev.violations:
        parts.append("Rule violations: " + "; ".join(r for r, _ in ev.violations) + ".")
    return " ".join(parts)


def _scale(q: float, schema: dict[str, Any]) -> float | int:
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    integer = schema.get("type") == "integer"
    if not isinstance(lo, int | float) or not isinstance(hi, int | float):
        if integer:
            lo, hi = (lo if isinstance(lo, int | float) else 1), (
                hi if isinstance(hi, int | float) else 5)
        else:
            return round(q, 2)
    value = lo + q * (hi - lo)
    return round(value) if integer else round(value, 2)


def _ordinal(values: list[Any], q: float) -> Any:
    """The label nearest to quality ``q``, reading labels as negative/partial/positive."""
    def level(v: Any) -> float:
        low = str(v).lower()
        if low in _POSITIVE:
            return 1.0
        if low in _NEGATIVE:
            return 0.0
        if low in _PARTIAL or "partial" in low:
            return 0.5
        return -1.0

    levels = [level(v) for v in values]
    if any(lv < 0 for lv in levels):  # unknown labels: assume listed worst -> best
        n = len(values)
        levels = [i / (n - 1) if n > 1 else 1.0 for i in range(n)]
    best = min(range(len(values)), key=lambda i: (abs(levels[i] - q), levels[i]))
    return values[best]


def _pick_winner(winner: str, values: list[Any], qa: float, qb: float) -> Any:
    lowered = {str(v).lower(): v for v in values}
    for want in ([winner.lower()] + (["equal", "both", "none", "draw"] if winner == "tie"
                                      else [f"answer_{winner.lower()}", f"response_{winner}"])):
        if want in lowered:
            return lowered[want]
    # no "tie" allowed: the higher quality, A on exact ties
    fallback = "a" if qa >= qb else "b"
    for key in (fallback, f"answer_{fallback}"):
        if key in lowered:
            return lowered[key]
    return values[0]
