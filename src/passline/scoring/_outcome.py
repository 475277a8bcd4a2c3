"""End-to-end scorers over what a run produced: final state, facts, budgets, status."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from passline._types import AgentRun, Case, RunStatus, Score
from passline.scoring._base import (
    Scorer,
    ScorerError,
    ensure_list,
    expected_value,
    named,
    not_applicable,
)
from passline.scoring._match import (
    Tolerance,
    args_mismatch,
    closest,
    max_matching,
    short_repr,
    values_match,
)

_CHANGE_META = ("table", "id", "op")


def _change_fields(change: Mapping[str, Any]) -> Mapping[str, Any]:
    fields = change.get("fields")
    if isinstance(fields, Mapping):
        return fields
    return {k: v for k, v in change.items() if k not in (*_CHANGE_META, "fields")}


def _describe_change(change: Mapping[str, Any]) -> str:
    head = " ".join(str(change[k]) for k in _CHANGE_META if change.get(k) is not None)
    return head or short_repr(dict(change))


def _describe_want(want: Mapping[str, Any]) -> str:
    head = f"a change to {want.get('table')}"
    extra = [f"{k} {want[k]}" for k in ("id", "op") if want.get(k) is not None]
    fields = want.get("fields") or {}
    if extra:
        head += f" ({', '.join(extra)})"
    if fields:
        head += " with " + ", ".join(f"{k}={short_repr(v)}" for k, v in fields.items())
    return head


def final_state_match(expected: Any = None, *, allow_extra: bool = True, tol: float = 1e-6,
                      rel_tol: float = 0.0, name: str | None = None) -> Scorer:
    """Did the run leave the world in the expected state?

    ``case.expected["final_state"]`` (or ``expected``) is a list of
    ``{"table", "id"?, "op"?, "fields": {...}}``, each to be found (one-to-one) in
    ``run.state_changes``; fields are a subset match with number tolerance. The object
    ``{"no_changes": true}`` instead requires that the run changed nothing. With
    ``allow_extra=False`` changes nobody expected also fail the score.

    >>> final_state_match()(run, case).explanation
    '1/1 expected state changes found'
    """
    score_name = name or "final_state_match"
    tolerance = Tolerance(tol, rel_tol, True)

    def row_ok(want: Mapping[str, Any], change: Any) -> bool:
        if not isinstance(change, Mapping) or change.get("table") != want.get("table"):
            return False
        for key in ("id", "op"):
            if want.get(key) is not None and not values_match(want[key], change.get(key),
                                                              tolerance):
                return False
        return values_match(want.get("fields") or {}, _change_fields(change), tolerance,
                            subset=True)

    def score(run: AgentRun, case: Case) -> Score:
        raw = expected_value(case, "final_state", expected)
        if raw is None:
            return not_applicable(score_name, "case has no expected final_state")
        changes = list(run.state_changes)
        described = [_describe_change(c) for c in changes]
        if isinstance(raw, Mapping) and raw.get("no_changes") is True:
            if not changes:
                return Score(score_name, 1.0, True, "no state changes, as expected",
                             {"changes": []})
            return Score(score_name, 0.0, False,
                         f"expected no state changes, got {len(changes)}: "
                         + "; ".join(described[:3]), {"changes": described})
        wants = ensure_list(raw, what="expected final_state", scorer=score_name, case=case)
        for i, w in enumerate(wants):
            if not isinstance(w, Mapping) or not isinstance(w.get("table"), str):
                raise ScorerError(f"case {case.ref}: final_state[{i}] must be an object with "
                                  f'a "table", got {short_repr(w)}', scorer=score_name,
                                  case_ref=case.ref)
        matching = max_matching(len(wants), len(changes), lambda i, j: row_ok(wants[i],
                                                                              changes[j]))
        used = set(matching.values())
        missing = [i for i in range(len(wants)) if i not in matching]
        extra = [described[j] for j in range(len(changes)) if j not in used]
        details = {"matched": len(matching), "missing": [_describe_want(wants[i])
                                                         for i in missing],
                   "extra": extra}
        value = len(matching) / len(wants) if wants else 1.0
        if missing:
            why = _explain_state_miss(wants[missing[0]], changes, used, tolerance)
            return Score(score_name, value, False, f"{len(matching)}/{len(wants)} expected "
                         f"state changes found; {why}", details)
        if extra and not allow_extra:
            return Score(score_name, value * len(wants) / (len(wants) + len(extra)), False,
                         f"all {len(wants)} expected state changes found, but "
                         f"{len(extra)} unexpected: {'; '.join(extra[:3])}", details)
        return Score(score_name, 1.0, True,
                     f"{len(wants)}/{len(wants)} expected state changes found", details)

    return named(score, score_name)


def _explain_state_miss(want: Mapping[str, Any], changes: list[Any], used: set[int],
                        tolerance: Tolerance) -> str:
    table = want.get("table")
    same = [j for j, c in enumerate(changes) if isinstance(c, Mapping) and c.get("table") == table]
    if not same:
        seen = "; ".join(_describe_change(c) for c in changes[:3] if isinstance(c, Mapping))
        return (f"expected {_describe_want(want)}, but no {table} rows changed "
                f"(changes: {seen or 'none'})")
    free = [j for j in same if j not in used] or same

    def diffs(j: int) -> list[str]:
        out = []
        for key in ("id", "op"):
            if want.get(key) is not None and not values_match(want[key], changes[j].get(key),
                                                              tolerance):
                out.append(f"{key}: expected {short_repr(want[key])}, "
                           f"got {short_repr(changes[j].get(key))}")
        return out + args_mismatch(want.get("fields") or {}, _change_fields(changes[j]),
                                   tolerance, subset=True, label="field")

    j = closest(free, lambda j: len(diffs(j)))
    assert j is not None
    return (f"expected {_describe_want(want)}, closest was {_describe_change(changes[j])} "
            f"({'; '.join(diffs(j)[:3])})")


_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+")
_WS = re.compile(r"\s+")


def _canon_number(match: re.Match[str]) -> str:
    text = match.group(0).replace(",", "")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def normalize_fact_text(text: str) -> str:
    """Casefold, drop "$", remove thousands separators and trailing decimal zeros.

    >>> normalize_fact_text("Total: $1,200.50")
    'total: 1200.5'
    """
    text = text.casefold().replace("$", "")
    text = _THOUSANDS.sub(_canon_number, text)
    return _WS.sub(" ", text).strip()


def _fact_pattern(fact: str) -> re.Pattern[str]:
    norm = normalize_fact_text(fact)
    left = r"(?<!\w)(?<!\d[.,])" if norm[:1].isdigit() else (r"(?<!\w)" if norm[:1].isalnum()
                                                            else "")
    right = r"(?!\w)(?![.,]\d)" if norm[-1:].isdigit() else ""
    return re.compile(left + re.escape(norm) + right)


def required_facts(facts: Sequence[str] | None = None, *, name: str | None = None) -> Scorer:
    """Does the answer state every required fact?

    ``case.expected["facts"]`` (or ``facts``) are strings that must appear in
    ``run.answer`` after normalisation: case, whitespace, "$" and number formatting
    ("1,200.50" matches "$1200.5"). A fact starting with a letter or digit must start a
    word, and a number must not be part of a longer number ("12" does not match "120"
    or "12.5"). Value is the fraction found; passed when all are.
    """
    score_name = name or "required_facts"

    def score(run: AgentRun, case: Case) -> Score:
        raw = expected_value(case, "facts", facts)
        if raw is None:
            return not_applicable(score_name, "case has no expected facts")
        wanted = ensure_list(raw, what="expected facts", scorer=score_name, case=case)
        if not all(isinstance(f, str) and f.strip() for f in wanted):
            raise ScorerError(f"case {case.ref}: facts must be non-empty strings",
                              scorer=score_name, case_ref=case.ref)
        answer = normalize_fact_text(run.answer or "")
        missing = [f for f in wanted if not _fact_pattern(f).search(answer)]
        found = len(wanted) - len(missing)
        value = found / len(wanted) if wanted else 1.0
        details = {"found": [f for f in wanted if f not in missing], "missing": missing}
        if not missing:
            return Score(score_name, value, True, f"all {len(wanted)} facts found", details)
        return Score(score_name, value, False,
                     f"missing {len(missing)}/{len(wanted)} facts: "
                     + ", ".join(repr(f) for f in missing[:5]), details)

    return named(score, score_name)


BUDGET_KEYS = ("max_steps", "max_cost_usd", "max_latency_s")


def budget(max_steps: int | None = None, max_cost_usd: float | None = None,
           max_latency_s: float | None = None, *, name: str | None = None) -> Scorer:
    """Did the run stay within its step, cost and latency budget?

    Limits given here override ``case.expected["budget"]`` key by key
    (``{"max_steps", "max_cost_usd", "max_latency_s"}``). Value is the fraction of
    limits met; passed when all are.
    """
    score_name = name or "budget"
    given = {"max_steps": max_steps, "max_cost_usd": max_cost_usd,
             "max_latency_s": max_latency_s}

    def score(run: AgentRun, case: Case) -> Score:
        from_case = case.expected.get("budget") or {}
        if not isinstance(from_case, Mapping) or set(from_case) - set(BUDGET_KEYS):
            raise ScorerError(f"case {case.ref}: budget must be an object with keys among "
                              f"{BUDGET_KEYS}, got {short_repr(from_case)}",
                              scorer=score_name, case_ref=case.ref)
        limits = {k: v for k, v in {**from_case, **{k: v for k, v in given.items()
                                                    if v is not None}}.items()
                  if v is not None}
        if not limits:
            return not_applicable(score_name, "no budget given and case has none")
        actual = {"max_steps": run.steps, "max_cost_usd": run.usage.cost_usd,
                  "max_latency_s": run.latency_s}
        fmt = {"max_steps": lambda v: f"{v} steps", "max_cost_usd": lambda v: f"${v:.4f}",
               "max_latency_s": lambda v: f"{v:.2f}s"}
        over = [k for k in BUDGET_KEYS if k in limits and actual[k] > limits[k]]
        parts = {k: f"{fmt[k](actual[k])} {'>' if k in over else '<='} max {fmt[k](limits[k])}"
                 for k in BUDGET_KEYS if k in limits}
        details = {"limits": limits, "actual": {k: actual[k] for k in limits}, "over": over}
        value = (len(limits) - len(over)) / len(limits)
        if over:
            return Score(score_name, value, False,
                         "over budget: " + "; ".join(parts[k] for k in over), details)
        return Score(score_name, 1.0, True, "within budget: " + "; ".join(parts.values()),
                     details)

    return named(score, score_name)


_STATUSES = tuple(s.value for s in RunStatus)


def _check_statuses(values: Sequence[Any], where: str) -> tuple[str, ...]:
    bad = [v for v in values if str(v) not in _STATUSES]
    if bad:
        raise ScorerError(f"{where}: unknown run status {', '.join(map(repr, bad))}; "
                          f"choose from {', '.join(_STATUSES)}")
    return tuple(str(v) for v in values)


def status_is(*allowed: str, name: str | None = None) -> Scorer:
    """Did the run end with one of the allowed statuses?

    Allowed: the arguments, else ``case.expected["status"]`` (a status or a list), else
    "ok". Guardrail cases typically expect ``status_is("guardrail", "refused")``.
    """
    fixed = _check_statuses(allowed, "status_is(...)") if allowed else None
    score_name = name or "status_is"

    def score(run: AgentRun, case: Case) -> Score:
        if fixed is not None:
            ok = fixed
        else:
            raw = case.expected.get("status", "ok")
            raw = [raw] if isinstance(raw, str) else raw
            try:
                ok = _check_statuses(ensure_list(raw, what="expected status", scorer=score_name,
                                                 case=case), f"case {case.ref}")
            except ScorerError as exc:
                exc.scorer, exc.case_ref = score_name, case.ref
                raise
        status = str(run.status)
        note = run.guardrail or run.error
        suffix = f" ({'guardrail' if run.guardrail else 'error'}: {note})" if note else ""
        details = {"status": status, "allowed": list(ok)}
        if status in ok:
            return Score(score_name, 1.0, True, f"status {status!r} as expected{suffix}", details)
        return Score(score_name, 0.0, False,
                     f"status {status!r}{suffix}, expected {' or '.join(map(repr, ok))}", details)

    return named(score, score_name)
