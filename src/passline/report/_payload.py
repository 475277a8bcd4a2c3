"""The per-case data of the report: one compact JSON object per (eval, case), both sides.

The HTML renders the summary server-side and ships cases as JSON that the page's script
paginates and expands lazily, so a 10,000-case report stays fast. Keys are short on purpose
(they repeat 10,000 times); docs/report.md lists them.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from passline.compare import CaseSummary, Comparison
from passline.report._sides import NOT_RECORDED, CaseKey, ReportSide, trials_of

MAX_ANSWER_CHARS = 8000
MAX_INPUT_CHARS = 4000
MAX_ARGS_CHARS = 2000
MAX_EXPLANATION_CHARS = 2000
T = TypeVar("T")
MAX_SPANS = 400
MAX_TOOL_CALLS = 100
SCORE_EPS = 1e-9

# category of a case in the per-case view (the filter buttons)
REGRESSION, IMPROVEMENT, CHANGED, SAME = "regression", "improvement", "changed", "same"
ONLY_BASELINE, ONLY_CANDIDATE = "only-baseline", "only-candidate"


def _num(x: Any, digits: int = 4) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return 0.0
    return round(v, digits) if math.isfinite(v) else 0.0


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} more characters not shown]"


def input_text(value: Any) -> str:
    """The case input as a reader sees it: the user message, else pretty JSON."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        msg = value.get("message")
        if isinstance(msg, str) and len(value) == 1:
            return _clip(msg, MAX_INPUT_CHARS)
        msgs = value.get("messages")
        if isinstance(msgs, list) and len(value) == 1:
            lines = [f"{m.get('role', '?')}: {m.get('content', '')}" if isinstance(m, Mapping)
                     else str(m) for m in msgs]
            return _clip("\n".join(lines), MAX_INPUT_CHARS)
    if isinstance(value, str):
        return _clip(value, MAX_INPUT_CHARS)
    return _clip(json.dumps(value, ensure_ascii=False, default=str), MAX_INPUT_CHARS)


def _expected(value: Any) -> Any:
    """The expected block as data (the page pretty-prints it), clipped when huge."""
    if not value:
        return None
    if isinstance(value, str):
        return _clip(value, MAX_INPUT_CHARS)
    if _surely_short(value, MAX_INPUT_CHARS):
        return value
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > MAX_INPUT_CHARS:
        return _clip(text, MAX_INPUT_CHARS)
    return value


def _surely_short(value: Any, limit: int) -> bool:
    """Whether ``json.dumps(value, ensure_ascii=False)`` is at most ``limit`` characters,
    known from orjson's compact UTF-8 (ten times faster): no token of the json module's
    text is more than 2.25 times orjson's (", " for ",", "-Infinity" for "null"), and a
    character is at least a byte. False when unsure (orjson refuses the value)."""
    import orjson

    try:
        return 3 * len(orjson.dumps(value)) <= limit
    except TypeError:
        return False


_SHORT = (str, int, float, bool, type(None))


def _args(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return {} if value is None else {"(arguments)": str(value)[:MAX_ARGS_CHARS]}
    if len(value) <= 8 and _short_scalars(value):
        return value  # the common case: a few short scalars, nothing to clip
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > MAX_ARGS_CHARS:
        return {"(truncated)": text[:MAX_ARGS_CHARS]}
    return json.loads(text) if _needs_roundtrip(value) else dict(value)


def _short_scalars(value: Mapping[str, Any]) -> bool:
    for v in value.values():  # a loop, not all(<generator>): this runs 200,000 times
        t = type(v)
        if t is str:
            if len(v) >= 200:
                return False
        elif t not in _SHORT:
            return False
    return True


def _needs_roundtrip(value: Mapping[str, Any]) -> bool:
    """True when values are not plain JSON (so json.dumps(default=str) normalises them)."""
    return any(not isinstance(v, str | int | float | bool | type(None)) for v in value.values())


def _start_key(s: Mapping[str, Any]) -> tuple[float, str]:
    start = s.get("start_s")
    return (start if isinstance(start, int | float) else 0.0, str(s.get("span_id")))


def _listed_walk(spans: Sequence[Any], row: Callable[[int, dict[str, Any]], T],
                 limit: int) -> list[T] | None:
    """``row(depth, span)`` for the first ``limit`` spans when the spans as listed already
    are in depth-first start order (as tracers usually write them), else None. One pass
    instead of a sort and a walk: every span's parent must be on the path of open
    ancestors, and siblings must come in (start, span_id) order -- exactly what
    :func:`sorted_span_order` would produce then. The whole list is checked even past
    ``limit``."""
    out: list[T] = []
    path: list[list[Any]] = []  # [span_id, key of its last child seen]
    roots_last: tuple[float, str] | None = None
    root_parents: list[Any] = []
    seen: set[str] = set()
    for s in spans:
        if type(s) is not dict:
            return None
        sid = s.get("span_id")
        if type(sid) is not str or sid in seen:
            return None
        seen.add(sid)
        parent = s.get("parent_id")
        start = s.get("start_s")
        key = (start if isinstance(start, int | float) else 0.0, sid)  # _start_key
        while path and path[-1][0] != parent:
            path.pop()
        if path:
            last = path[-1][1]
            if last is not None and key < last:
                return None
            path[-1][1] = key
        else:
            if parent is not None and parent in seen:  # a parent listed before, not an
                return None  # ancestor on the path: not depth-first order
            if roots_last is not None and key < roots_last:
                return None
            roots_last = key
            root_parents.append(parent)
        if len(out) < limit:
            out.append(row(len(path), s))
        path.append([sid, None])
    # a parent listed after its child (or a span claiming itself as parent) is no root:
    # let sorted_span_order sort it out
    if any(parent in seen for parent in root_parents):
        return None
    return out


def _pair(depth: int, s: Mapping[str, Any]) -> tuple[int, Mapping[str, Any]]:
    return depth, s


def _listed_order(spans: Sequence[Any]) -> list[tuple[int, Mapping[str, Any]]] | None:
    """(depth, span) when the spans as listed are in depth-first start order, else None."""
    return _listed_walk(spans, _pair, len(spans))


def span_order(spans: Sequence[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    """(depth, span) depth-first in start order, as :func:`passline.trace.span_tree` but on
    serialised spans (building Span objects for 200,000 spans is the slow part)."""
    listed = _listed_order(spans)
    return listed if listed is not None else sorted_span_order(spans)


def sorted_span_order(spans: Sequence[Mapping[str, Any]]
                      ) -> list[tuple[int, Mapping[str, Any]]]:
    """:func:`span_order` for spans in any order: sort by start, then walk the tree."""
    ids = {s.get("span_id") for s in spans}
    children: dict[Any, list[Mapping[str, Any]]] = {}
    for s in sorted(spans, key=_start_key):
        parent = s.get("parent_id")
        children.setdefault(parent if parent in ids else None, []).append(s)
    out: list[tuple[int, Mapping[str, Any]]] = []
    stack: list[tuple[int, Mapping[str, Any]]] = [(0, s) for s in
                                                  reversed(children.get(None, []))]
    seen: set[Any] = set()
    while stack:
        depth, span = stack.pop()
        sid = span.get("span_id")
        if sid in seen:  # a cycle in parent ids: draw each span once
            continue
        seen.add(sid)
        out.append((depth, span))
        kids = children.get(sid)
        if kids:
            stack.extend((depth + 1, c) for c in reversed(kids))
    return out


_EMPTY: Mapping[str, Any] = {}


def _fast_span(depth: int, s: Mapping[str, Any]) -> list[Any]:
    """Compact span for a well-formed record; raises TypeError or KeyError on anything odd."""
    u = s.get("usage") or _EMPTY
    attrs = s.get("attributes")
    err = attrs.get("error") if attrs else None
    return [depth, s["kind"], s["name"], round(s["end_s"] - s["start_s"], 4),
            (u.get("prompt_tokens") or 0) + (u.get("completion_tokens") or 0),
            round(u.get("cost_usd") or 0.0, 7), s.get("status", "ok"),
            None if err is None else _clip(str(err), 500)]


def _spans_fast(order: list[tuple[int, Mapping[str, Any]]]) -> list[list[Any]]:
    """Compact spans for well-formed records; raises TypeError on anything odd."""
    return [_fast_span(depth, s) for depth, s in order]


def _compact_listed(spans: Sequence[Any]) -> list[list[Any]] | None:
    """``_spans_fast(span_order(spans)[:MAX_SPANS])`` in one pass, for well-formed spans
    already listed in depth-first start order (the usual trace); None otherwise (then the
    general path decides)."""
    try:
        return _listed_walk(spans, _fast_span, MAX_SPANS)
    except (TypeError, KeyError, AttributeError):
        return None


def _span(depth: int, s: Mapping[str, Any]) -> list[Any]:
    """Compact span, careful about malformed values (the slow path)."""
    usage = s.get("usage") or {}
    usage = usage if isinstance(usage, Mapping) else {}
    tokens = int(_num(usage.get("prompt_tokens"))) + int(_num(usage.get("completion_tokens")))
    attrs = s.get("attributes") or {}
    err = attrs.get("error") if isinstance(attrs, Mapping) else None
    return [depth, str(s.get("kind", "")), str(s.get("name", "")),
            _num(_num(s.get("end_s"), 6) - _num(s.get("start_s"), 6), 4), tokens,
            _num(usage.get("cost_usd"), 7), str(s.get("status", "ok")),
            None if err is None else _clip(str(err), 500)]


def _score(s: Mapping[str, Any]) -> list[Any]:
    details = s.get("details") or {}
    rationale = details.get("rationale") if isinstance(details, Mapping) else None
    return [str(s.get("name", "")), _num(s.get("value")), bool(s.get("passed")),
            _clip(str(s.get("explanation") or ""), MAX_EXPLANATION_CHARS),
            None if rationale is None else _clip(str(rationale), MAX_EXPLANATION_CHARS),
            details.get("rubric") if isinstance(details, Mapping) else None]


def trial_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """One trial of one side, compact: answer, tool calls, scores, trace, figures."""
    run = row.get("run") or {}
    calls = list(run.get("tool_calls") or ())[:MAX_TOOL_CALLS]
    spans = list(run.get("trace") or ())
    compact_spans = _compact_listed(spans)
    if compact_spans is None:
        order = span_order(spans)[:MAX_SPANS]
        try:
            compact_spans = _spans_fast(order)
        except (TypeError, KeyError, AttributeError):
            compact_spans = [_span(d, s) for d, s in order]
    error = row.get("error") or run.get("error")
    return {
        "n": int(row.get("trial") or 0),
        "st": str(row.get("status", "")),
        "rs": str(run.get("status", "")) if run else "",
        "a": _clip(str(run.get("answer") or ""), MAX_ANSWER_CHARS),
        "tc": [[str(t.get("name", "")), _args(t.get("arguments")),
                None if t.get("error") is None else _clip(str(t.get("error")), 500),
                t.get("worker")] for t in calls],
        "sc": [_score(s) for s in row.get("scores") or ()],
        "sp": compact_spans,
        "spn": len(spans),
        "e": None if not error else _clip(str(error), 2000),
        "f": None if not row.get("failure") else _clip(str(row["failure"]), 2000),
        "g": run.get("guardrail"),
        "cost": _num(row.get("cost_usd"), 7),
        "tok": int(row.get("tokens") or 0),
        "lat": _num(row.get("latency_s"), 3),
        **_capture_payload(run.get("capture")),
    }


def _capture_payload(capture: Any) -> dict[str, Any]:
    """Which captured prompts the trial used ("pu", for the prompt diff's attribution) and
    any disagreement between the agent's own usage and the captured calls ("mm")."""
    if not isinstance(capture, Mapping):
        return {}
    out: dict[str, Any] = {"pu": {"s": list(capture.get("system_prompts") or ()),
                                  "t": list(capture.get("tools") or ())},
                           "mc": int(capture.get("calls") or 0)}
    if capture.get("mismatch"):
        out["mm"] = str(capture["mismatch"])
    return out


def judge_scores(payload: Mapping[str, Any]) -> tuple[tuple[str, Any, bool], ...]:
    """(name, value, passed) of the trial's judge scores (``judge:<rubric>``)."""
    return tuple((s[0], s[1], s[2]) for s in payload["sc"] if s[0].startswith("judge:"))


def shown_values(raw_input: Any, expected: Any) -> list[Any]:
    """``[input, expected]`` of a case as the page shows them: the input as text (None when
    the row did not record it), the expected block clipped."""
    return [None if raw_input is NOT_RECORDED else input_text(raw_input), _expected(expected)]


_OUTCOME_LETTERS = {"pass": "p", "fail": "f", "error": "e"}


def _side(summary: CaseSummary | None, trials: Any = NOT_RECORDED) -> Any:
    """One side of a case; ``trials`` (its decoded payloads, or None) only for a case that
    carries its detail (an inline report). 200,000 of them at 100,000 cases: :func:`_num`
    is written out for the summary's floats."""
    if summary is None:
        return None
    outcomes = summary.outcomes
    finite = math.isfinite
    rate = outcomes.count("pass") / len(outcomes)  # CaseSummary.pass_rate
    score, cost, tokens, latency = (summary.score, summary.cost_usd, summary.tokens,
                                    summary.latency_s)
    side = {
        "o": _outcome_letters(outcomes),
        "pr": round(rate, 4),
        "s": round(score, 4) if finite(score) else 0.0,
        "cost": round(cost, 7) if finite(cost) else 0.0,
        "tok": round(tokens, 1) if finite(tokens) else 0.0,
        "lat": round(latency, 3) if finite(latency) else 0.0,
    }
    if trials is not NOT_RECORDED:
        side["tr"] = trials
    return side


@functools.lru_cache(maxsize=256)
def _outcome_letters(outcomes: tuple[str, ...]) -> str:
    return "".join(_OUTCOME_LETTERS.get(o, "?") for o in outcomes)


def case_order(base: ReportSide, cand: ReportSide, comparison: Comparison
               ) -> list[tuple[CaseKey, str]]:
    """Every (eval, case) of either side with its category, most interesting first:
    regressions and improvements in the comparison's severity order, then other changes
    (largest score change first), then cases only in one run, then the rest."""
    ranked = [(c.key, REGRESSION if c.kind == "regression" else IMPROVEMENT)
              for c in comparison.changes]
    ranked.sort(key=lambda kc: 0 if kc[1] == REGRESSION else 1)  # stable: keeps severity
    seen = {k for k, _ in ranked}
    changed: list[tuple[float, CaseKey]] = []
    same: list[CaseKey] = []
    for key in sorted(base.summaries.keys() & cand.summaries.keys()):
        if key in seen:
            continue
        b, c = base.summaries[key], cand.summaries[key]
        delta = abs(c.score - b.score)
        if delta > SCORE_EPS or abs(c.pass_rate - b.pass_rate) > SCORE_EPS:
            changed.append((-delta, key))
        else:
            same.append(key)
    changed.sort()
    only_b = sorted(base.summaries.keys() - cand.summaries.keys())
    only_c = sorted(cand.summaries.keys() - base.summaries.keys())
    return (ranked + [(k, CHANGED) for _, k in changed] + [(k, ONLY_BASELINE) for k in only_b]
            + [(k, ONLY_CANDIDATE) for k in only_c] + [(k, SAME) for k in same])


_NO_SHOWN = b"[null,null]"


def case_detail(base: ReportSide, cand: ReportSide, key: CaseKey) -> bytes:
    """``[in, x, baseline trials, candidate trials]`` of one case as JSON bytes: what a
    compressed chunk holds of it (the values :func:`build_cases` puts in an inline case),
    spliced from the JSON each side kept."""
    shown = cand.shown.get(key) or base.shown.get(key) or _NO_SHOWN
    parts = [shown[1:-1]]
    for side in (base, cand):
        if key not in side.summaries or side.trials is None:
            parts.append(b"null")
        else:
            parts.append(side.trials.get(key, b"[]"))
    return b"[" + b",".join(parts) + b"]"


def build_cases(base: ReportSide, cand: ReportSide, comparison: Comparison,
                must_pass_tag: str = "must-pass", *, with_detail: bool = True
                ) -> list[dict[str, Any]]:
    """The per-case payload, ordered by :func:`case_order`. ``with_detail=False`` leaves
    each case's input, expected and trials out (keys ``in``, ``x`` and each side's ``tr``):
    the index of a chunked report, whose chunks hold them (:func:`case_detail`)."""
    flaky = {(f.eval, f.case_id, f.side) for f in comparison.flaky}
    out: list[dict[str, Any]] = []
    # a few distinct tag sets among 100,000 cases: each sorted once (a fresh list per case)
    tag_sets: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for index, (key, category) in enumerate(case_order(base, cand, comparison)):
        bs, cs = base.summaries.get(key), cand.summaries.get(key)
        any_summary = cs or bs
        assert any_summary is not None
        pair = (bs.tags if bs else (), cs.tags if cs else ())
        tags = tag_sets.get(pair)
        if tags is None:
            tags = tag_sets[pair] = sorted(set(pair[0]) | set(pair[1]))
        tags = list(tags)
        case = {
            "i": index,
            "e": key[0],
            "id": key[1],
            "d": any_summary.dataset_label,
            "t": tags,
            "cat": category,
            "mp": must_pass_tag in tags,
            "fl": [(key[0], key[1], "baseline") in flaky, (key[0], key[1], "candidate") in flaky],
            "err": bool((bs and bs.n_errors) or (cs and cs.n_errors)),
        }
        if with_detail:
            shown = cand.shown.get(key) or base.shown.get(key)
            case["in"], case["x"] = decode(shown) if shown else (None, None)
            case["b"] = _side(bs, trials_of(base, key))
            case["c"] = _side(cs, trials_of(cand, key))
        else:
            case["b"], case["c"] = _side(bs), _side(cs)
        out.append(case)
    return out


def cases_json(cases: list[dict[str, Any]], meta: Mapping[str, Any]) -> str:
    """The JSON text for ``<script type="application/json">``, escaped for HTML the way
    jinja's ``|tojson`` does (``<``, ``>``, ``&`` and ``'`` as \\u escapes), so no data can
    close the script element or start markup."""
    text = json_text({"meta": dict(meta), "cases": cases})
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (json reads them): escape, as ASCII
            text = json_text({"meta": dict(meta), "cases": cases}, ascii=True)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("'", "\\u0027"))


def json_bytes(value: Any, *, fast: bool = True) -> bytes:
    """Compact JSON as UTF-8 bytes for a compressed block: orjson's (ten times faster than
    the json module on 100,000 cases), else -- for values orjson refuses (lone surrogates,
    huge integers, non-string keys) or, with ``fast=False``, for data that may hold NaN,
    which orjson would silently write as null -- :func:`json_text`'s. Either parses back
    to the same values."""
    if fast:
        import orjson

        try:
            return orjson.dumps(value)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            pass
    return json_text(value, ascii=True).encode("ascii")


def encode(value: Any, *, fast: bool = True, exact: bool = False) -> bytes:
    """:func:`json_bytes`; ``exact``: in a bytes object of its own size. orjson's output
    keeps the room it grew into (about 8 KB for a trial's payload): 100,000 of them
    kept would hold 800 MB for 85 MB of JSON."""
    data = json_bytes(value, fast=fast)
    return bytes(memoryview(data)) if exact else data


def decode(data: bytes) -> Any:
    """The value of :func:`json_bytes`' JSON (either writer's)."""
    import orjson

    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # a lone surrogate, as the json module escapes it
        return json.loads(data.decode("utf-8"))


def json_text(value: Any, *, ascii: bool = False) -> str:
    """Compact JSON that ``JSON.parse`` accepts (non-finite floats become strings).
    ``ascii``: non-ASCII as \\u escapes, so even a lone surrogate survives encoding."""
    try:
        return json.dumps(value, ensure_ascii=ascii, separators=(",", ":"), default=str,
                          allow_nan=False)
    except ValueError:  # a NaN/inf inside recorded data (e.g. tool arguments)
        return json.dumps(_finite(value), ensure_ascii=ascii, separators=(",", ":"),
                          default=str, allow_nan=False)


def _finite(value: Any) -> Any:
    """Replace non-finite floats (which JSON.parse rejects) by their names as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
