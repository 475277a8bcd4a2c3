"""Unit scorers over the tool-call trajectory: which tools, with which arguments, in what order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from passline._types import AgentRun, Case, Score, ToolCall
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
    format_call,
    max_matching,
    short_repr,
    values_match,
)

ARG_MODES = ("exact", "subset", "ignore")
TRAJECTORY_MODES = ("strict", "unordered", "subset", "superset")


def _expected_calls(raw: Any, *, scorer: str, case: Case) -> list[tuple[str, Mapping[str, Any]]]:
    out = []
    for i, item in enumerate(ensure_list(raw, what="expected tool_calls", scorer=scorer,
                                         case=case)):
        if isinstance(item, ToolCall):
            out.append((item.name, item.arguments))
        elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
            args = item.get("arguments") or {}
            if not isinstance(args, Mapping):
                raise ScorerError(f"case {case.ref}: expected tool_calls[{i}].arguments must be "
                                  "an object", scorer=scorer, case_ref=case.ref)
            out.append((item["name"], args))
        elif isinstance(item, str):
            out.append((item, {}))
        else:
            raise ScorerError(
                f"case {case.ref}: expected tool_calls[{i}] must be "
                f'{{"name": ..., "arguments": {{...}}}}, got {short_repr(item)}',
                scorer=scorer, case_ref=case.ref)
    return out


def tool_call_match(expected: Sequence[Any] | None = None, *, args: str = "exact",
                    tol: float = 1e-6, rel_tol: float = 0.0, normalize_strings: bool = True,
                    name: str | None = None) -> Scorer:
    """Did the agent make the expected tool calls, with the expected arguments?

    Compares ``run.tool_calls`` with ``case.expected["tool_calls"]`` (or ``expected``), a
    list of ``{"name", "arguments"}``. Calls are matched one-to-one, in any order; value
    is the fraction of expected calls matched, passed when all are. Extra calls do not
    fail this scorer (use ``trajectory_match`` or ``forbidden_actions`` for that); an
    empty expected list means "no tool calls".

    ``args``: "exact" (same argument names and values), "subset" (the expected
    arguments must be present and equal, others are ignored) or "ignore" (names only).

    >>> tool_call_match(args="subset")(run, case).explanation
    "1/1 expected tool calls matched"
    """
    if args not in ARG_MODES:
        raise ScorerError(f"tool_call_match(args={args!r}): args must be one of {ARG_MODES}")
    score_name = name or "tool_call_match"
    tolerance = Tolerance(tol, rel_tol, normalize_strings)
    subset = args == "subset"

    def args_ok(want: Mapping[str, Any], got: Any) -> bool:
        return args == "ignore" or values_match(want, got, tolerance, subset=subset)

    def score(run: AgentRun, case: Case) -> Score:
        raw = expected_value(case, "tool_calls", expected)
        if raw is None:
            return not_applicable(score_name, "case has no expected tool_calls")
        want = _expected_calls(raw, scorer=score_name, case=case)
        got = list(run.tool_calls)
        got_text = [format_call(c.name, c.arguments) for c in got]
        if not want:
            passed = not got
            return Score(score_name, 1.0 if passed else 0.0, passed,
                         "no tool calls expected and none made" if passed
                         else f"no tool calls expected, got {', '.join(got_text)}",
                         {"expected": [], "extra": got_text})
        matching = max_matching(
            len(want), len(got),
            lambda i, j: want[i][0] == got[j].name and args_ok(want[i][1], got[j].arguments))
        used = set(matching.values())
        missing = [i for i in range(len(want)) if i not in matching]
        details = {
            "matched": len(matching),
            "expected": [format_call(n, a) for n, a in want],
            "missing": [format_call(*want[i]) for i in missing],
            "extra": [got_text[j] for j in range(len(got)) if j not in used],
        }
        value = len(matching) / len(want)
        if not missing:
            return Score(score_name, value, True,
                         f"{len(want)}/{len(want)} expected tool calls matched", details)
        return Score(score_name, value, False,
                     f"{len(matching)}/{len(want)} expected tool calls matched; "
                     + _explain_miss(want[missing[0]], got, used, tolerance, subset, args),
                     details)

    return named(score, score_name)


def _explain_miss(want: tuple[str, Mapping[str, Any]], got: list[ToolCall], used: set[int],
                  tolerance: Tolerance, subset: bool, args_mode: str) -> str:
    name, want_args = want
    want_text = format_call(name, want_args)
    same_name = [j for j, c in enumerate(got) if c.name == name]
    free = [j for j in same_name if j not in used]
    if not same_name:
        called = ", ".join(dict.fromkeys(c.name for c in got)) or "no tool calls"
        return f"expected {want_text}, but {name} was never called (got: {called})"
    if not free:
        return (f"expected {want_text}, but {name} was called {len(same_name)} time(s) and "
                "every call matched another expected call")
    j = closest(free, lambda j: len(args_mismatch(want_args, got[j].arguments, tolerance,
                                                  subset=subset)))
    assert j is not None  # free is non-empty
    diffs = args_mismatch(want_args, got[j].arguments, tolerance, subset=subset)
    why = f" ({'; '.join(diffs[:3])})" if diffs else ""
    return f"expected {want_text}, got {format_call(got[j].name, got[j].arguments)}{why}"


def _expected_names(case: Case, expected: Sequence[str] | None, scorer: str) -> list[str] | None:
    if expected is not None:
        return list(expected)
    if "trajectory" in case.expected:
        names = ensure_list(case.expected["trajectory"], what="expected trajectory",
                            scorer=scorer, case=case)
        if not all(isinstance(n, str) for n in names):
            raise ScorerError(f"case {case.ref}: expected trajectory must be a list of tool "
                              "names", scorer=scorer, case_ref=case.ref)
        return list(names)
    if "tool_calls" in case.expected:
        return [n for n, _ in _expected_calls(case.expected["tool_calls"], scorer=scorer,
                                              case=case)]
    return None


def trajectory_match(mode: str = "strict", expected: Sequence[str] | None = None, *,
                     name: str | None = None) -> Scorer:
    """Compare the sequence of tool names the agent called with the expected trajectory.

    Expected: ``expected``, else ``case.expected["trajectory"]``, else the names of
    ``case.expected["tool_calls"]``. Modes (tool names counted with multiplicity):

    - "strict": the same names in the same order;
    - "unordered": the same names, any order;
    - "subset": the agent called only expected tools (no extras; some may be skipped);
    - "superset": the agent called every expected tool (extras allowed).

    >>> trajectory_match("superset")(run, case).passed
    True
    """
    if mode not in TRAJECTORY_MODES:
        raise ScorerError(f"trajectory_match(mode={mode!r}): mode must be one of "
                          f"{TRAJECTORY_MODES}")
    score_name = name or ("trajectory_match" if mode == "strict" else f"trajectory_{mode}")

    def score(run: AgentRun, case: Case) -> Score:
        want = _expected_names(case, expected, score_name)
        if want is None:
            return not_applicable(score_name, "case has no expected trajectory or tool_calls")
        got = run.tool_names
        details = {"mode": mode, "expected": want, "got": got}
        if mode == "strict":
            value, problem = _strict(want, got)
        else:
            value, problem = _multiset(mode, want, got)
        if problem is None:
            return Score(score_name, 1.0, True, f"trajectory matches ({mode}): "
                         f"{' -> '.join(got) or 'no tool calls'}", details)
        return Score(score_name, value, False, f"trajectory mismatch ({mode}): {problem}",
                     details)

    return named(score, score_name)


def _strict(want: list[str], got: list[str]) -> tuple[float, str | None]:
    longest = max(len(want), len(got))
    if longest == 0:
        return 1.0, None
    same = sum(1 for w, g in zip(want, got, strict=False) if w == g)
    for pos in range(longest):
        w = want[pos] if pos < len(want) else None
        g = got[pos] if pos < len(got) else None
        if w != g:
            if g is None:
                return same / longest, (f"position {pos + 1}: expected {w}, got nothing "
                                        f"(the run stopped after {len(got)} call(s))")
            if w is None:
                return same / longest, (f"position {pos + 1}: expected the end of the "
                                        f"trajectory, got {g}")
            return same / longest, f"position {pos + 1}: expected {w}, got {g}"
    return 1.0, None


def _multiset(mode: str, want: list[str], got: list[str]) -> tuple[float, str | None]:
    cw, cg = Counter(want), Counter(got)
    common = sum((cw & cg).values())
    missing = [(n, cw[n], cg[n]) for n in dict.fromkeys(want) if cg[n] < cw[n]]
    extra = [(n, cw[n], cg[n]) for n in dict.fromkeys(got) if cg[n] > cw[n]]
    if mode == "superset":
        extra = []
        value = common / len(want) if want else 1.0
    elif mode == "subset":
        missing = []
        value = common / len(got) if got else 1.0
    else:
        longest = max(len(want), len(got))
        value = common / longest if longest else 1.0
    if missing:
        n, w, g = missing[0]
        return value, f"{n} expected {w} time(s), called {g} time(s)"
    if extra:
        n, w, g = extra[0]
        pos = [i + 1 for i, x in enumerate(got) if x == n]
        return value, (f"unexpected call to {n} (called {g} time(s), expected {w}; "
                       f"position {pos[w]})")
    return 1.0, None


def forbidden_actions(actions: Sequence[Any] | None = None, *, include_failed: bool = True,
                      tol: float = 1e-6, name: str | None = None) -> Scorer:
    """Fail if the agent called a forbidden tool (optionally: with forbidden arguments).

    ``actions`` (or ``case.expected["forbidden"]``) lists tool names or
    ``{"name": ..., "arguments": {...}}`` where the arguments are a subset to match
    (e.g. ``{"name": "issue_refund", "arguments": {"order_id": "ORD-10042"}}``).
    With ``include_failed=False`` calls that returned an error (e.g. blocked by a
    guardrail) do not count.
    """
    score_name = name or "forbidden_actions"
    tolerance = Tolerance(tol=tol)

    def score(run: AgentRun, case: Case) -> Score:
        raw = expected_value(case, "forbidden", actions)
        if raw is None:
            return not_applicable(score_name, "case lists no forbidden actions")
        rules = _expected_calls(ensure_list(raw, what="expected forbidden", scorer=score_name,
                                            case=case), scorer=score_name, case=case)
        hits = []
        for pos, call in enumerate(run.tool_calls, start=1):
            if call.error and not include_failed:
                continue
            for rule_name, rule_args in rules:
                if call.name == rule_name and (
                        not rule_args
                        or values_match(rule_args, call.arguments, tolerance, subset=True)):
                    hits.append((pos, call, _rule_text(rule_name, rule_args)))
                    break
        details = {"forbidden": [_rule_text(n, a) for n, a in rules],
                   "violations": [format_call(c.name, c.arguments) for _, c, _ in hits]}
        if not hits:
            return Score(score_name, 1.0, True,
                         f"none of {len(rules)} forbidden action(s) taken", details)
        pos, call, rule = hits[0]
        more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
        return Score(score_name, 0.0, False,
                     f"forbidden call {format_call(call.name, call.arguments)} at position "
                     f"{pos} (rule: {rule}){more}", details)

    return named(score, score_name)


def _rule_text(name: str, arguments: Mapping[str, Any]) -> str:
    return format_call(name, arguments) if arguments else name
