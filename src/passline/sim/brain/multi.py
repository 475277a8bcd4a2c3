"""sim-2's tool-calling turn: one call per intent, with what a careful reader adds.

From the intents of a request (see decide.py) to the calls of one assistant message:

- a prohibition ("change nothing", "never mind cancelling it") or a hypothesis
  ("supposing we cancelled ...") rules out tools with side effects;
- several ids of one kind ("where are INV-55501 and INV-55502") or several values of one
  enum ("fuel and parking costs") make one call each;
- clauses that land on the same tool for the same record, or on the same tool with values
  that agree ("Snow forecast for Oslo? In inches, please."), make ONE call;
- prerequisite guidance in a description ("at most the balance shown by get_invoice") puts
  that lookup first when its information is not in the conversation yet;
- a question sent to a tool whose description offers both a lookup and an action ("Look up
  or process refunds") calls it as a lookup, with only the record's id -- the trap the
  reference agents' v3-regressed descriptions set.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from passline.sim.brain.args import Arguments, is_id_like
from passline.sim.brain.clauses import forbids_actions, is_question, prohibited_verbs
from passline.sim.brain.conversation import Conversation
from passline.sim.brain.ids import find_id
from passline.sim.brain.prereqs import references
from passline.sim.brain.profiles import Profile
from passline.sim.brain.text import split_identifier, stem
from passline.sim.brain.tools import (
    ToolRanker,
    ToolSpec,
    has_side_effect,
    tool_is_action_only,
)

ArgumentsFor = Callable[[ToolSpec, str], Arguments]


@dataclass
class Call:
    """A call this turn will make, and the clause it came from."""

    tool: ToolSpec
    args: Arguments
    clause: str
    #: called as a lookup (only the record ids): its action's prerequisites do not apply
    lookup: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.tool.name, json.dumps(self.args.values, sort_keys=True)


@dataclass(frozen=True)
class Restrictions:
    """What the request rules out: all side effects, or actions named by a verb."""

    no_action: bool
    verbs: frozenset[str]

    @classmethod
    def of(cls, request: str) -> Restrictions:
        return cls(forbids_actions(request), frozenset(stem(v) for v in prohibited_verbs(request)))

    def allows(self, tool: ToolSpec) -> bool:
        if not has_side_effect(tool):
            return True
        if self.no_action:
            return False
        return not ({stem(w) for w in split_identifier(tool.name).split()} & self.verbs)


def lookup_call(tool: ToolSpec, args: Arguments, clause: str) -> Arguments | None:
    """A question to a tool that says it can look things up as well as act ("Look up or
    process refunds"): called as a lookup, with the record ids it has and nothing else."""
    if not is_question(clause) or tool_is_action_only(tool) or not has_side_effect(tool):
        return None
    if any(is_id_like(p, tool.properties.get(p) or {}) for p in args.missing):
        return None
    ids = {k: v for k, v in args.values.items() if is_id_like(k, tool.properties.get(k) or {})}
    return Arguments(ids, ()) if ids else None


def expand(call: Call, profile: Profile) -> list[Call]:
    """One call per id of the same kind, or per enum value, that the clause names ("where
    are INV-55501 and INV-55502" -> two get_invoice calls); an enum two parameters share
    ("from"/"to" currency) is never expanded."""
    from passline.sim.brain.slots import enum_mentions, negated

    tool, values = call.tool, call.args.values
    for name, schema in tool.properties.items():
        if not isinstance(schema, dict) or name not in values:
            continue
        options: list[object] = []
        if schema.get("enum"):
            if any(isinstance(s, dict) and s.get("enum") == schema["enum"]
                   for k, s in tool.properties.items() if k != name):
                continue  # a shared enum ("from" and "to" currency) holds one value each
            found = [m for m in enum_mentions(list(schema["enum"]), call.clause,
                                              str(schema.get("description") or ""))
                     if not negated(call.clause, m)]
            options = list(dict.fromkeys(m.value for m in found))
        elif is_id_like(name, schema) and isinstance(schema.get("pattern"), str):
            options = _all_ids(name, schema, call.clause, profile)
        if len(options) > 1 and values[name] in options:
            return [Call(tool, Arguments({**values, name: option}, call.args.missing), call.clause)
                    for option in options]
    return [call]


def _all_ids(name: str, schema: dict[str, Any], text: str, profile: Profile) -> list[object]:
    found: list[object] = []
    rest = text
    while True:
        ident = find_id(name, schema, rest, profile)
        if ident is None or ident in found:
            return found
        found.append(ident)
        rest = rest.replace(ident, " ")


def _negated(value: str, text: str) -> bool:
    words = " ".join(split_identifier(value).split())
    return bool(re.search(rf"\b(?:not|no|never|without|except|excluding)\s+(?:yet\s+)?"
                          rf"(?:been\s+)?{re.escape(words)}", text, re.I))


def merge_same_record(calls: list[Call]) -> list[Call]:
    """Calls of one tool for the same record(s) become one: values found by one clause fill
    what the other lacks."""
    out: list[Call] = []
    for call in calls:
        ids = _id_values(call)
        # the same record, or (no record ids at all) the same request said in two clauses
        # ("Snow forecast for Oslo? In inches, please.")
        twin = next((c for c in out if c.tool.name == call.tool.name
                     and _id_values(c) == ids and not _conflicts(c, call)), None)
        if twin is None:
            out.append(call)
            continue
        merged = {**call.args.values, **twin.args.values}
        missing = tuple(m for m in twin.args.missing if m not in merged)
        twin.args = Arguments({k: merged[k] for k in call.tool.properties if k in merged},
                              missing)
    return out


def _conflicts(a: Call, b: Call) -> bool:
    """Both calls set a choice or a number differently ("paid" vs "overdue" invoices): two
    requests, not one said twice. Free text (a reason, a query) may differ."""
    for key, value in a.args.values.items():
        other = b.args.values.get(key, value)
        schema = a.tool.properties.get(key) or {}
        free = isinstance(value, str) and not schema.get("enum") and not is_id_like(key, schema)
        if other != value and not free:
            return True
    return False


def _id_values(call: Call) -> tuple[tuple[str, object], ...]:
    return tuple((k, v) for k, v in call.args.values.items()
                 if is_id_like(k, call.tool.properties.get(k) or {}))


def with_prerequisites(
    calls: list[Call], ranker: ToolRanker, conv: Conversation, arguments: ArgumentsFor,
    deferred: list[Call],
) -> list[Call]:
    """Put the lookup a tool's guidance names before it ("at most the balance shown by
    get_invoice" -> get_invoice first), unless its information is already here. A call
    that lacks a value only that lookup provides waits for the next round (``deferred``)."""
    by_name = {t.name: t for t in ranker.tools}
    names = set(by_name)
    done = {name for name, _ in conv.calls} | {r.name for r in conv.earlier_results}
    out: list[Call] = []
    for call in calls:
        before: list[Call] = []
        wait = False
        for ref in references(call.tool, names) if not call.lookup else []:
            other = by_name[ref.tool]
            if ref.tool in done or any(c.tool.name == ref.tool for c in out + before):
                continue
            if ref.param is None:
                # "after search_policies found it": not needed when the user gave the ids
                if all(p in call.args.values for p in call.tool.required
                       if is_id_like(p, call.tool.properties.get(p) or {})):
                    continue
            elif ref.param in call.args.values and not ref.bound:
                continue
            lookup = arguments(other, call.clause)
            if lookup.missing:
                continue
            before.append(Call(other, lookup, call.clause))
            if ref.param is not None and ref.param in call.args.missing:
                wait = True
        out.extend(before)
        if wait:
            deferred.append(call)
        else:
            out.append(call)
    return out


def guided_lookup(
    tool: ToolSpec, clause: str, ranker: ToolRanker, conv: Conversation, planned: list[Call],
    arguments: ArgumentsFor,
) -> Call | None:
    """For a tool that cannot be called yet: the lookup its guidance names as the source of
    what is missing ("after search_policies found it"), when that lookup can be called."""
    by_name = {t.name: t for t in ranker.tools}
    done = {name for name, _ in conv.calls} | {c.tool.name for c in planned}
    for ref in references(tool, set(by_name)):
        if ref.tool in done:
            continue
        lookup = arguments(by_name[ref.tool], clause)
        if not lookup.missing:
            return Call(by_name[ref.tool], lookup, clause)
    return None
