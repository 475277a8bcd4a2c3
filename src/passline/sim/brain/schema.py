"""Structured output: JSON for ``response_format`` json_object / json_schema.

The output always conforms to the given schema (for the subset in validate.py). Values come
from the conversation: enum choices by relevance of the request to each choice's value and
description; plans (arrays of objects with a choice field) one item per intent clause;
answer-like strings from the composed answer; critique and judge schemas from judge.py.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from passline.sim.brain.aggregate import combine_op
from passline.sim.brain.clauses import is_question, opening_verb, split_clauses
from passline.sim.brain.compose import INJECTION_RE
from passline.sim.brain.conversation import Conversation
from passline.sim.brain.knowledge import (
    RULE_TERMS,
    defers_to_policy,
    entity_terms,
    implied_terms,
    without_deferral,
)
from passline.sim.brain.parsing import EPOCH_DATE, date_range, regex_example
from passline.sim.brain.profiles import Profile
from passline.sim.brain.schema_util import (
    MAX_DEPTH,
    choice_field,
    choices_of,
    clamp,
    deref,
    enum_descriptions,
    fit_string,
    kind_of,
    merge_all_of,
    minimal,
)
from passline.sim.brain.text import (
    BM25,
    DOC_ID_RE,
    ID_RE,
    head_weighted_terms,
    numbers_in,
    split_identifier,
    stem,
    terms,
)
from passline.sim.brain.validate import as_dict, resolve_ref, validate

_ANSWER_NAMES = ("answer", "response", "reply", "final_answer", "summary", "message", "text",
                 "content", "output", "result")
_REASON_NAMES = ("reasoning", "rationale", "explanation", "justification", "thoughts",
                 "analysis", "feedback")
_TASK_NAMES = ("task", "instruction", "instructions", "query", "request", "subtask", "goal",
               "description", "question", "input", "step")
_CLARIFY_RE = re.compile(r"clarif|ambigu|unclear|missing|needs_more|need_more|incomplete", re.I)
_ENTITY_RE = re.compile(
    r"\b(my|the|an?|that|this|our|their)\s+(order|invoice|ticket|refund|account|customer)\b"
    r"(?!s)", re.I)
_ARITHMETIC = frozenset(terms("arithmetic calculator calculate calculation compute"))
#: A task that refers to a record without naming it ("refund it", "the order", "their").
_REFERS_RE = re.compile(
    r"\b(?:it|its|they|them|their|this|that|these|those|the same)\b|\b(?:the|my|our|your)\s+"
    r"(?:order|invoice|ticket|customer|refund|account)s?\b", re.I)
#: General knowledge for terse choices: a label word -> words it implies (stemmed on load).
_RELATED_WORDS: dict[str, str] = {
    "finance": "invoice payment balance ledger money spend revenue expense cost paid owe "
               "budget calculate total",
    "policy": "rule allowed limit window procedure guideline deadline policies",
    "policies": "rule allowed limit window procedure guideline deadline policy",
    "support": "order ticket delivery delivered shipping refund escalate complaint",
    "customer": "order ticket account",
    "sales": "order quote price discount",
    "legal": "contract compliance lawsuit gdpr",
    "hr": "employee payroll leave hiring",
}
RELATED_TERMS: dict[str, tuple[str, ...]] = {
    stem(k): tuple(terms(v)) for k, v in _RELATED_WORDS.items()
}
def structured_output(
    conv: Conversation, response_format: dict[str, Any], profile: Profile, *,
    rng: random.Random | None, temperature: float, injection_draw: float,
) -> str:
    """The JSON text of the assistant's structured reply."""
    from passline.sim.brain.compose import compose_answer

    answer = compose_answer(conv, profile, rng=rng, temperature=temperature,
                            injection_draw=injection_draw)
    if response_format.get("type") == "json_object":
        return json.dumps(_json_object(conv, answer), ensure_ascii=False)
    spec = response_format.get("json_schema") or {}
    schema = as_dict(spec.get("schema"))
    name = str(spec.get("name") or "")
    hints: dict[str, Any] = {}
    from passline.sim.brain.judge import critique_hints, is_critique, is_judge, judge_hints

    if is_critique(name, schema):
        hints = critique_hints(conv, schema, profile)
    elif is_judge(name, schema):
        hints = judge_hints(conv, schema, profile)
    filler = Filler(schema, conv, profile, answer=answer, hints=hints)
    value = filler.fill(schema, "", conv.request, depth=0)
    return json.dumps(value, ensure_ascii=False)


def _json_object(conv: Conversation, answer: str) -> dict[str, Any]:
    prompt = conv.system + "\n" + conv.user_message
    keys: list[str] = []
    if re.search(r"\b(json|keys?|fields?)\b", prompt, re.I):
        keys = list(dict.fromkeys(re.findall(r"[`\"']([a-z_][a-z0-9_]{1,40})[`\"']", prompt)))
    if not keys:
        return {"answer": answer}
    filler = Filler({}, conv, None, answer=answer, hints={})
    out: dict[str, Any] = {}
    for key in keys[:12]:
        out[key] = filler.fill(_guess_schema(key), key, conv.request, depth=1)
    return out


def _guess_schema(key: str) -> dict[str, Any]:
    low = key.lower()
    if low.endswith("ids") or low in ("citations", "sources", "references", "documents"):
        return {"type": "array", "items": {"type": "string"}}
    if low.startswith(("is_", "has_", "needs_", "should_", "can_")):
        return {"type": "boolean"}
    if low in ("confidence", "probability"):
        return {"type": "number", "minimum": 0, "maximum": 1}
    return {"type": "string"}


class Filler:
    """Fills a JSON schema from the conversation (see module docstring for the rules)."""

    def __init__(self, root: dict[str, Any], conv: Conversation, profile: Profile | None, *,
                 answer: str, hints: dict[str, Any]) -> None:
        self.root = root
        self.conv = conv
        self.profile = profile
        self.answer = answer
        self.hints = hints
        self.multi = profile is None or profile.multi_intent

    # -------------------------------------------------------------- dispatch

    def fill(self, schema: Any, name: str, text: str, *, depth: int) -> Any:
        """A value for ``schema`` (property ``name``) using ``text`` as the relevant request."""
        if not isinstance(schema, dict):
            return None
        if "$ref" in schema and depth < MAX_DEPTH:
            return self.fill(resolve_ref(str(schema["$ref"]), self.root), name, text,
                             depth=depth + 1)
        if depth == 1 and name in self.hints and not validate(self.hints[name], schema,
                                                               self.root):
            return self.hints[name]
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.choose(schema["enum"], enum_descriptions(schema), text)
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self._fill_union(schema, key, name, text, depth)
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            merged = merge_all_of(schema, self.root)
            return self.fill(merged, name, text, depth=depth + 1)
        kind = kind_of(schema)
        if depth >= MAX_DEPTH:
            return minimal(schema, kind)
        if kind == "object":
            return self._fill_object(schema, text, depth)
        if kind == "array":
            return self._fill_array(schema, name, text, depth)
        if kind == "string":
            return self._fill_string(schema, name, text)
        if kind in ("integer", "number"):
            return self._fill_number(schema, name, text, integer=kind == "integer")
        if kind == "boolean":
            return self._fill_boolean(name, text)
        return None

    def _fill_union(self, schema: dict[str, Any], key: str, name: str, text: str,
                    depth: int) -> Any:
        branches = [resolve_ref(b["$ref"], self.root) if isinstance(b, dict) and "$ref" in b
                    else b for b in schema[key]]
        if all(isinstance(b, dict) and "const" in b for b in branches):
            values = [b["const"] for b in branches]
            descs = {str(b["const"]): " ".join(str(b.get(k) or "") for k in ("title",
                                                                               "description"))
                     for b in branches}
            return self.choose(values, descs, text)
        for branch in branches:
            candidate = self.fill(branch, name, text, depth=depth + 1)
            if not validate(candidate, schema, self.root):
                return candidate
        return self.fill(branches[0], name, text, depth=depth + 1)

    # -------------------------------------------------------------- choices

    def choice_scores(self, values: list[Any], descs: dict[str, str], text: str) -> list[float]:
        """Relevance of ``text`` to each choice (value words + its description). sim-2 reads
        a terse choice (fewer than 4 terms) with some general knowledge (``RELATED_TERMS``):
        "customer support" also means orders and tickets."""
        docs = []
        for v in values:
            doc = terms(split_identifier(str(v))) * 2 + terms(descs.get(str(v), ""))
            if self.multi and len(set(doc)) < 4:
                doc += [r for t in set(doc) for r in RELATED_TERMS.get(t, ())]
            docs.append(doc)
        # weak length normalisation: choice descriptions differ wildly in length
        bm25 = BM25(docs, b=0.3)
        query = terms(text)
        if self.multi:
            query = head_weighted_terms(text)
            query += implied_terms(text) + entity_terms(text)
        return bm25.scores(query)

    def choose(self, values: list[Any], descs: dict[str, str], text: str) -> Any:
        """The most relevant choice; the first one when nothing is relevant."""
        scores = self.choice_scores(values, descs, text)
        best = max(range(len(values)), key=lambda i: (scores[i], -i))
        return values[best]

    # -------------------------------------------------------------- objects & arrays

    def _fill_object(self, schema: dict[str, Any], text: str, depth: int) -> dict[str, Any]:
        props = as_dict(schema.get("properties"))
        out: dict[str, Any] = {}
        order = sorted(props, key=lambda k: (0 if k in _REASON_NAMES and depth == 0 else 1))
        required = set(schema.get("required") or [])
        if depth >= 4:  # deep (possibly recursive) schemas: only what is required
            order = [k for k in order if k in required]
        for key in order:
            out[key] = self.fill(props[key], key, text, depth=depth + 1)
        for key in schema.get("required") or []:
            if key not in out:
                out[key] = self.answer if isinstance(key, str) else None
        if not props and schema.get("additionalProperties", True) is not False and depth == 0:
            out["answer"] = self.answer
        return out

    def _fill_array(self, schema: dict[str, Any], name: str, text: str,
                    depth: int) -> list[Any]:
        items = as_dict(schema.get("items"))
        if "$ref" in items:
            items = resolve_ref(str(items["$ref"]), self.root)
        lo: int = schema["minItems"] if isinstance(schema.get("minItems"), int) else 0
        hi: int | None = schema["maxItems"] if isinstance(schema.get("maxItems"), int) else None
        values: list[Any]
        chooser = choice_field(items, self.root)
        if chooser is not None:
            values = self._plan_items(items, chooser, text, depth)
        elif kind_of(items) == "string" and not items.get("enum"):
            values = self._string_items(items, name, text)
        elif items.get("enum"):
            mentioned = [v for v in items["enum"] if terms(split_identifier(str(v)))
                         and set(terms(split_identifier(str(v)))) <= set(terms(text))]
            values = mentioned
        else:
            values = [self.fill(items, name, text, depth=depth + 1)] if lo else []
        if hi is not None:
            values = values[:hi]
        while len(values) < lo:
            values.append(self._pad_item(items, name, text, values, depth))
        return values

    def _pad_item(self, items: dict[str, Any], name: str, text: str, values: list[Any],
                  depth: int) -> Any:
        if items.get("enum"):
            unused = [v for v in items["enum"] if v not in values]
            return (unused or items["enum"])[0]
        return self.fill(items, name, text, depth=depth + 1)

    def _string_items(self, items: dict[str, Any], name: str, text: str) -> list[str]:
        low = name.lower()
        if low.endswith("ids") or "citation" in low or "source" in low or "reference" in low:
            pool = DOC_ID_RE.findall(self.answer) or ID_RE.findall(self.answer)
            found = list(dict.fromkeys(pool))
        elif any(w in low for w in ("unsupported", "violation", "error", "issue", "missing",
                                      "problem", "warning")):
            found = []
        elif any(w in low for w in ("step", "task", "clause", "intent", "question")):
            found = split_clauses(text) if self.multi else [text]
        else:
            found = [self.answer] if self.answer else []
        return [s for s in found if not validate(s, items, self.root)]

    def _plan_items(self, items: dict[str, Any], field: str, text: str,
                    depth: int) -> list[dict[str, Any]]:
        """One item per intent clause (sim-2; merged per choice, in text order) or one item
        for the whole request (sim-1)."""
        from passline.sim.brain.guard import overrides

        if self.profile is not None and self.profile.follows_guidance and (
                INJECTION_RE.search(text) or overrides(text)):
            return []  # sim-2 plans nothing for a request that tries to override instructions
        field_schema = deref(items["properties"][field], self.root)
        values, descs = choices_of(field_schema, self.root)
        clauses = [c for c in (split_clauses(text) if self.multi else [text])
                   if terms(c) or ID_RE.search(c)]
        groups: dict[Any, list[str]] = {}
        orphans: list[str] = []
        last: Any = None
        for clause in clauses:
            scores = self.choice_scores(values, descs, without_deferral(clause))
            best = max(range(len(values)), key=lambda i: (scores[i], -i))
            if scores[best] > 0:
                last = values[best]
                groups.setdefault(last, []).extend([*orphans, clause])
                orphans = []
            elif not (is_question(clause) or opening_verb(clause)):
                continue  # a remark without a topic ("My address is ...") is no step
            elif last is not None:
                # "And where is it now?": no topic of its own, it continues the clause before
                groups[last].append(clause)
            else:
                orphans.append(clause)
        if orphans and groups:
            groups[next(iter(groups))].extend(orphans)
        if not groups and text.strip():
            groups[self.choose(values, descs, text)] = [text.strip()]
        self._add_arithmetic_step(groups, values, descs)
        groups = self._with_policy_step(groups, values, descs)
        request_ids = list(dict.fromkeys(ID_RE.findall(text)))
        out = []
        for index, (choice, parts) in enumerate(groups.items(), start=1):
            task = "; ".join(parts)
            if self.multi and request_ids and not ID_RE.search(task) and _REFERS_RE.search(task):
                # "refund it" alone would leave the worker guessing: copy the user's ids
                task += f" ({', '.join(request_ids)})"
            item: dict[str, Any] = {}
            props = items.get("properties") or {}
            for key, sub in props.items():
                sub_schema = deref(sub, self.root)
                candidate: Any = None
                if key == field:
                    candidate = choice
                elif kind_of(sub_schema) == "string" and (
                    key.lower() in _TASK_NAMES or key.lower().endswith(("task", "query"))
                ):
                    candidate = fit_string(task, sub_schema)
                elif kind_of(sub_schema) == "integer" and key.lower() in (
                    "step", "index", "order", "position", "id", "priority", "rank"
                ):
                    candidate = clamp(index, sub_schema, integer=True)
                if candidate is None or validate(candidate, sub_schema, self.root):
                    candidate = self.fill(sub_schema, key, task, depth=depth + 2)
                item[key] = candidate
            out.append(item)
        unique = []
        for item in out:
            if item not in unique:
                unique.append(item)
        return unique

    def _add_arithmetic_step(self, groups: dict[Any, list[str]], values: list[Any],
                             descs: dict[str, str]) -> None:
        """sim-2: a clause that combines amounts another worker looks up ("What do ORD-1 and
        ORD-2 come to together?") gets a later step for the worker with the calculator."""
        if self.profile is None or not self.profile.reads_parameters:
            return
        calc = [v for v in values if set(terms(f"{v} {descs.get(str(v), '')}")) & _ARITHMETIC]
        if not calc or calc[0] in groups:
            return
        # the whole group travels along: "one wireless keyboard" says which amount to take
        asks = [parts for parts in groups.values() if any(combine_op(c) for c in parts)]
        if asks:
            groups[calc[0]] = [c for parts in asks for c in parts]

    def _with_policy_step(self, groups: dict[Any, list[str]], values: list[Any],
                          descs: dict[str, str]) -> dict[Any, list[str]]:
        """sim-2: a step that leaves a decision to the rules ("file it at whatever level our
        policy demands") is preceded by a step for the worker that knows the rules."""
        if self.profile is None or not self.profile.reads_parameters:
            return groups
        rules = [v for v in values
                 if set(terms(f"{v} {descs.get(str(v), '')}")) & set(RULE_TERMS)]
        if not rules or rules[0] in groups:
            return groups
        out: dict[Any, list[str]] = {}
        for choice, parts in groups.items():
            if any(defers_to_policy(p) for p in parts) and rules[0] not in out:
                out[rules[0]] = list(parts)
            out.setdefault(choice, []).extend(parts)
        return out

    # -------------------------------------------------------------- scalars

    def _fill_string(self, schema: dict[str, Any], name: str, text: str) -> str:
        low = name.lower()
        fmt = str(schema.get("format") or "")
        pattern = schema.get("pattern")
        candidate: str | None = None
        if fmt in ("date", "date-time"):
            found = date_range(text)
            day = (found[0] if found else EPOCH_DATE).isoformat()
            candidate = day if fmt == "date" else day + "T00:00:00Z"
        elif isinstance(pattern, str):
            from passline.sim.brain.ids import search_pattern

            candidate = search_pattern(pattern, text) or regex_example(pattern)
        elif _CLARIFY_RE.search(low):
            candidate = self._clarifying_question(text) or ""
        elif any(w in low for w in _REASON_NAMES):
            candidate = self.hints.get("_reasoning") or self.answer
        elif any(low == w or low.endswith("_" + w) for w in _ANSWER_NAMES):
            candidate = self.answer
        elif low.endswith("_id") or low == "id":
            ids = ID_RE.findall(text)
            candidate = ids[0] if ids else ""
        else:
            candidate = text.strip() or self.answer
        return fit_string(candidate or "", schema)

    def _fill_number(self, schema: dict[str, Any], name: str, text: str, *,
                     integer: bool) -> float | int:
        keys = set(terms(split_identifier(name)))
        chosen: float | None = None
        if keys:
            for offset, _raw, value in numbers_in(text):
                window = text[max(0, offset - 40): offset + 40]
                if keys & set(terms(window)):
                    chosen = value
                    break
        if chosen is None:
            chosen = schema.get("minimum", 0) if isinstance(schema.get("minimum"),
                                                            int | float) else 0
        return clamp(chosen, schema, integer=integer)

    def _fill_boolean(self, name: str, text: str) -> bool:
        if _CLARIFY_RE.search(name):
            return self._clarifying_question(text) is not None
        concept = [t for t in terms(split_identifier(name))
                   if t not in ("is", "has", "need", "should", "can", "includ")]
        return bool(concept) and all(c in terms(text) for c in concept)

    def _clarifying_question(self, text: str) -> str | None:
        """A question when the request refers to one record but names no id ("cancel my
        invoice" -> asks; "cancel INV-55501" -> does not; an amount never tells which
        record). sim-1 never asks."""
        if self.profile is not None and not self.profile.asks_clarification:
            return None
        m = _ENTITY_RE.search(text)
        if not m or ID_RE.search(text):
            return None
        if numbers_in(text) and self.profile is not None and not self.profile.reads_parameters:
            return None
        thing = m.group(2).lower()
        request = " ".join(text.split()).rstrip(" ?.!")
        return (f"Which {thing} do you mean? To help with \"{request}\" I need the {thing} "
                f"id. Could you give it to me?")
