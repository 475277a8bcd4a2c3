"""Ready scorers over the answer text: match, regex, numbers, JSON, similarity, ROUGE-L,
contains, length; and cost/latency budgets.

Each reads ``run.answer`` and an expectation given to the factory or found in the case
(``expected.answer`` for the text comparisons, ``expected.x_*`` for the others); a case
without the expectation gets a *not applicable* score. A factory given a bad configuration
(an invalid pattern, a schema that is not a schema, a threshold outside [0, 1]) raises
:class:`ScorerError` when it is made, not at the first case.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from passline._types import AgentRun, Case, Score
from passline.scoring._base import Scorer, ScorerError, expected_value, named, not_applicable
from passline.scoring._match import norm_text, short_repr
from passline.scoring._outcome import budget, normalize_fact_text

_PUNCT_EDGES = re.compile(r"^[\s\"'`.,;:!?()\[\]]+|[\s\"'`.,;:!?()\[\]]+$")
_NUMBER = re.compile(r"[+-]?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\$?\.\d+")


def _threshold(value: float, factory: str) -> float:
    if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise ScorerError(f"{factory}(threshold={value!r}): threshold must be a number in "
                          "[0, 1]")
    return float(value)


def _text(value: Any, *, scorer: str, case: Case, key: str) -> str:
    if isinstance(value, str):
        return value
    raise ScorerError(f"case {case.ref}: {key} must be a string for {scorer}, got "
                      f"{type(value).__name__}", scorer=scorer, case_ref=case.ref)


def normalize_answer(text: str) -> str:
    """Casefold, collapse whitespace, canonical numbers ("$1,200.50" -> "1200.5"), and no
    punctuation or quotes at either end.

    >>> normalize_answer('  "Refund of $1,200.50 issued." ')
    'refund of 1200.5 issued'
    """
    return _PUNCT_EDGES.sub("", normalize_fact_text(text))


def _first_difference(a: str, b: str) -> str:
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a),
                                                                                    len(b)))
    return (f"differs at character {i + 1}: expected {short_repr(a[i:i + 30])}, got "
            f"{short_repr(b[i:i + 30])}")


def exact_match(expected: str | None = None, *, normalize: bool = False,
                name: str | None = None) -> Scorer:
    """Is the answer exactly the expected text (``expected``, else ``expected.answer``)?

    ``normalize=True`` compares after :func:`normalize_answer` (case, whitespace, number
    formatting, surrounding punctuation).

    >>> exact_match()(run, case).explanation
    "differs at character 12: expected 'shipped.', got 'delivered.'"
    """
    score_name = name or ("normalized_match" if normalize else "exact_match")

    def score(run: AgentRun, case: Case) -> Score:
        raw = expected_value(case, "answer", expected)
        if raw is None:
            return not_applicable(score_name, "case has no expected answer")
        want = _text(raw, scorer=score_name, case=case, key="expected.answer")
        got = run.answer or ""
        a, b = (normalize_answer(want), normalize_answer(got)) if normalize else (want, got)
        if a == b:
            return Score(score_name, 1.0, True, "answer matches the expected text")
        return Score(score_name, 0.0, False, _first_difference(a, b),
                     {"expected": want, "normalized": normalize})

    return named(score, score_name)


def normalized_match(expected: str | None = None, *, name: str | None = None) -> Scorer:
    """:func:`exact_match` after normalisation (case, whitespace, numbers, end punctuation)."""
    return exact_match(expected, normalize=True, name=name)


REGEX_MODES = ("search", "fullmatch")


def regex_match(pattern: str | None = None, *, mode: str = "search", ignore_case: bool = False,
                name: str | None = None) -> Scorer:
    """Does the answer match a regular expression (``pattern``, else ``expected.x_regex``)?

    ``mode``: "search" (anywhere in the answer) or "fullmatch" (the whole answer).

    >>> regex_match(r"RFD-\\d{5}")(run, case).explanation
    "no match for /RFD-\\\\d{5}/ in the answer: 'I could not issue the refund.'"
    """
    if mode not in REGEX_MODES:
        raise ScorerError(f"regex_match(mode={mode!r}): mode must be one of {REGEX_MODES}")
    flags = re.IGNORECASE if ignore_case else 0
    fixed = _compile(pattern, flags, "regex_match(pattern=...)") if pattern is not None \
        else None
    score_name = name or "regex_match"

    def score(run: AgentRun, case: Case) -> Score:
        if fixed is not None:
            compiled = fixed
        else:
            raw = case.expected.get("x_regex")
            if raw is None:
                return not_applicable(score_name, "no pattern given and case has no x_regex")
            try:
                compiled = _compile(raw, flags, f"case {case.ref}: expected.x_regex")
            except ScorerError as exc:
                exc.scorer, exc.case_ref = score_name, case.ref
                raise
        answer = run.answer or ""
        found = compiled.search(answer) if mode == "search" else compiled.fullmatch(answer)
        if found:
            return Score(score_name, 1.0, True, f"matched {short_repr(found.group(0))}",
                         {"pattern": compiled.pattern})
        where = "in" if mode == "search" else "for the whole of"
        return Score(score_name, 0.0, False, f"no match for /{compiled.pattern}/ {where} the "
                     f"answer: {short_repr(answer)}", {"pattern": compiled.pattern})

    return named(score, score_name)


def _compile(pattern: Any, flags: int, where: str) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise ScorerError(f"{where}: a pattern must be a non-empty string, got "
                          f"{short_repr(pattern)}")
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ScorerError(f"{where}: invalid regular expression {pattern!r}: {exc}") from exc


NUMBER_PICKS = ("last", "first", "only")


def _numbers(text: str) -> list[float]:
    return [float(m.group(0).replace("$", "").replace(",", "")) for m in _NUMBER.finditer(text)]


def numeric_match(expected: float | None = None, *, tol: float = 0.0, rel_tol: float = 0.0,
                  pick: str = "last", name: str | None = None) -> Scorer:
    """Is the number in the answer the expected one, within tolerance?

    The expectation is ``expected``, else ``expected.x_number``, else a numeric
    ``expected.answer``. The answer's number is its ``last`` (default), ``first`` or ``only``
    number ("$1,200.50" reads as 1200.5). Equal when
    ``math.isclose(got, want, abs_tol=tol, rel_tol=rel_tol)``.

    >>> numeric_match(tol=0.01)(run, case).explanation
    'expected 310.0 (tolerance 0.01), got 301.0 (the last number of the answer)'
    """
    if pick not in NUMBER_PICKS:
        raise ScorerError(f"numeric_match(pick={pick!r}): pick must be one of {NUMBER_PICKS}")
    for label, value in (("tol", tol), ("rel_tol", rel_tol)):
        if not isinstance(value, int | float) or value < 0 or math.isnan(value):
            raise ScorerError(f"numeric_match({label}={value!r}): a tolerance is a number "
                              ">= 0")
    score_name = name or "numeric_match"

    def score(run: AgentRun, case: Case) -> Score:
        want: Any = expected if expected is not None else case.expected.get("x_number")
        if want is None and case.expected.get("answer") is not None:
            found = _numbers(str(case.expected["answer"]))
            want = found[0] if len(found) == 1 else None
        if want is None:
            return not_applicable(score_name, "case has no expected number")
        if isinstance(want, str):
            parsed = _numbers(want)
            want = parsed[0] if len(parsed) == 1 else want
        if not isinstance(want, int | float) or isinstance(want, bool):
            raise ScorerError(f"case {case.ref}: expected number must be a number, got "
                              f"{short_repr(want)}", scorer=score_name, case_ref=case.ref)
        got_all = _numbers(run.answer or "")
        details = {"expected": want, "numbers": got_all[:20], "tol": tol, "rel_tol": rel_tol}
        if not got_all:
            return Score(score_name, 0.0, False, f"expected {want:g}, the answer has no number",
                         details)
        if pick == "only" and len(got_all) > 1:
            return Score(score_name, 0.0, False, f"expected one number ({want:g}), the answer "
                         f"has {len(got_all)}: {', '.join(f'{x:g}' for x in got_all[:5])}",
                         details)
        got = got_all[0] if pick == "first" else got_all[-1]
        relative = f", relative {rel_tol:g}" if rel_tol else ""
        shown = f"expected {want:g} (tolerance {tol:g}{relative})"
        if math.isclose(got, float(want), abs_tol=tol, rel_tol=rel_tol):
            return Score(score_name, 1.0, True, f"{shown}, got {got:g}", details)
        return Score(score_name, 0.0, False, f"{shown}, got {got:g} (the {pick} number of the "
                     "answer)", details)

    return named(score, score_name)


def json_valid(*, name: str | None = None) -> Scorer:
    """Is the whole answer valid JSON?

    >>> json_valid()(run, case).explanation
    "answer is not valid JSON: Expecting ',' delimiter at line 1, column 14"
    """
    score_name = name or "json_valid"

    def score(run: AgentRun, case: Case) -> Score:
        try:
            json.loads(run.answer or "")
        except json.JSONDecodeError as exc:
            return Score(score_name, 0.0, False, f"answer is not valid JSON: {exc.msg} at line "
                         f"{exc.lineno}, column {exc.colno}")
        return Score(score_name, 1.0, True, "answer is valid JSON")

    return named(score, score_name)


def json_schema_valid(schema: Mapping[str, Any] | None = None, *,
                      name: str | None = None) -> Scorer:
    """Is the answer JSON that validates against a JSON Schema (``schema``, else
    ``expected.x_schema``)? Uses the ``jsonschema`` library with the schema's own draft
    (2020-12 when it names none); the schema itself is checked when the scorer is made.

    >>> json_schema_valid({"type": "object", "required": ["order_id"]})(run, case).explanation
    "answer does not match the schema at $: 'order_id' is a required property"
    """
    score_name = name or "json_schema_valid"
    fixed = _validator(schema, "json_schema_valid(schema=...)") if schema is not None else None

    def score(run: AgentRun, case: Case) -> Score:
        validator = fixed
        if validator is None:
            raw = case.expected.get("x_schema")
            if raw is None:
                return not_applicable(score_name, "no schema given and case has no x_schema")
            try:
                validator = _validator(raw, f"case {case.ref}: expected.x_schema")
            except ScorerError as exc:
                exc.scorer, exc.case_ref = score_name, case.ref
                raise
        try:
            data = json.loads(run.answer or "")
        except json.JSONDecodeError as exc:
            return Score(score_name, 0.0, False, f"answer is not valid JSON: {exc.msg} at line "
                         f"{exc.lineno}, column {exc.colno}")
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if not errors:
            return Score(score_name, 1.0, True, "answer matches the schema")
        first = errors[0]
        where = "$" + "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]"
                              for p in first.absolute_path)
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return Score(score_name, 0.0, False, f"answer does not match the schema at {where}: "
                     f"{first.message}{more}", {"errors": [e.message for e in errors[:10]]})

    return named(score, score_name)


def _validator(schema: Any, where: str) -> Any:
    import jsonschema

    if not isinstance(schema, Mapping | bool):
        raise ScorerError(f"{where}: a JSON Schema is an object, got {short_repr(schema)}")
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ScorerError(f"{where}: not a valid JSON Schema: {exc.message}") from exc
    return cls(schema)


SIMILARITY_METHODS = ("ratio", "token_sort_ratio", "token_set_ratio", "partial_ratio")


def similarity(expected: str | None = None, *, threshold: float = 0.8, method: str = "ratio",
               normalize: bool = True, name: str | None = None) -> Scorer:
    """How similar is the answer to the expected text? ``rapidfuzz.fuzz.<method>`` / 100.

    ``method``: "ratio" (normalised edit distance), "token_sort_ratio" (word order ignored),
    "token_set_ratio" (repeated and extra words ignored) or "partial_ratio" (best matching
    substring). Passed when the value reaches ``threshold``.

    >>> similarity(threshold=0.9)(run, case).explanation
    'similarity 0.62 < 0.90 (ratio) to the expected answer'
    """
    threshold = _threshold(threshold, "similarity")
    if method not in SIMILARITY_METHODS:
        raise ScorerError(f"similarity(method={method!r}): method must be one of "
                          f"{SIMILARITY_METHODS}")
    score_name = name or "similarity"

    def score(run: AgentRun, case: Case) -> Score:
        from rapidfuzz import fuzz

        raw = expected_value(case, "answer", expected)
        if raw is None:
            return not_applicable(score_name, "case has no expected answer")
        want = _text(raw, scorer=score_name, case=case, key="expected.answer")
        a, b = (norm_text(want), norm_text(run.answer or "")) if normalize else \
            (want, run.answer or "")
        value = min(1.0, max(0.0, getattr(fuzz, method)(a, b) / 100.0))
        passed = value >= threshold - 1e-12
        return Score(score_name, value, passed, f"similarity {value:.2f} "
                     f"{'>=' if passed else '<'} {threshold:.2f} ({method}) to the expected "
                     "answer", {"method": method, "threshold": threshold})

    return named(score, score_name)


_ROUGE: dict[bool, Any] = {}


def rouge_l(expected: str | None = None, *, threshold: float = 0.5, use_stemmer: bool = True,
            name: str | None = None) -> Scorer:
    """ROUGE-L F-measure of the answer against the expected text (the ``rouge-score``
    package: longest common subsequence of tokens, Porter stemming by default).

    >>> rouge_l(threshold=0.6)(run, case).explanation
    'ROUGE-L F 0.41 < 0.60 (precision 0.35, recall 0.50)'
    """
    threshold = _threshold(threshold, "rouge_l")
    score_name = name or "rouge_l"

    def score(run: AgentRun, case: Case) -> Score:
        raw = expected_value(case, "answer", expected)
        if raw is None:
            return not_applicable(score_name, "case has no expected answer")
        want = _text(raw, scorer=score_name, case=case, key="expected.answer")
        scorer_ = _ROUGE.get(use_stemmer)
        if scorer_ is None:  # rouge-score imports nltk: pay for it only when used
            from rouge_score import rouge_scorer

            scorer_ = _ROUGE[use_stemmer] = rouge_scorer.RougeScorer(
                ["rougeL"], use_stemmer=use_stemmer)
        result = scorer_.score(want, run.answer or "")["rougeL"]
        value = float(result.fmeasure)
        passed = value >= threshold - 1e-12
        return Score(score_name, value, passed, f"ROUGE-L F {value:.2f} "
                     f"{'>=' if passed else '<'} {threshold:.2f} (precision "
                     f"{result.precision:.2f}, recall {result.recall:.2f})",
                     {"precision": result.precision, "recall": result.recall,
                      "threshold": threshold})

    return named(score, score_name)


def _contains(items: Sequence[str] | None, key: str, mode: str, case_sensitive: bool,
              name: str | None) -> Scorer:
    if items is not None and (isinstance(items, str) or not items or
                              not all(isinstance(i, str) and i for i in items)):
        raise ScorerError(f"contains_{mode}(items=...): give a non-empty list of non-empty "
                          f"strings, got {short_repr(items)}")
    score_name = name or f"contains_{mode}"
    fold: Callable[[str], str] = (lambda s: s) if case_sensitive else norm_text

    def score(run: AgentRun, case: Case) -> Score:
        raw = items if items is not None else case.expected.get(key)
        if raw is None:
            return not_applicable(score_name, f"case has no {key}")
        if isinstance(raw, str) or not isinstance(raw, list) or not raw or \
                not all(isinstance(i, str) and i for i in raw):
            raise ScorerError(f"case {case.ref}: expected.{key} must be a non-empty list of "
                              "strings", scorer=score_name, case_ref=case.ref)
        answer = fold(run.answer or "")
        found = [i for i in raw if fold(i) in answer]
        missing = [i for i in raw if i not in found]
        details = {"found": found, "missing": missing}
        if mode == "all":
            value = len(found) / len(raw)
            if not missing:
                return Score(score_name, 1.0, True, f"all {len(raw)} found", details)
            return Score(score_name, value, False, f"missing {len(missing)}/{len(raw)}: "
                         + ", ".join(map(repr, missing[:5])), details)
        if found:
            return Score(score_name, 1.0, True, f"found {found[0]!r}", details)
        return Score(score_name, 0.0, False, "none of " + ", ".join(map(repr, raw[:5]))
                     + " in the answer", details)

    return named(score, score_name)


def contains_all(items: Sequence[str] | None = None, *, case_sensitive: bool = False,
                 name: str | None = None) -> Scorer:
    """Does the answer contain every string (``items``, else ``expected.x_contains``)?
    Case and whitespace are ignored unless ``case_sensitive``. Value: the share found.
    (``required_facts`` is the stricter cousin: word boundaries and number formats.)"""
    return _contains(items, "x_contains", "all", case_sensitive, name)


def contains_any(items: Sequence[str] | None = None, *, case_sensitive: bool = False,
                 name: str | None = None) -> Scorer:
    """Does the answer contain at least one string (``items``, else
    ``expected.x_contains_any``)?"""
    return _contains(items, "x_contains_any", "any", case_sensitive, name)


LENGTH_UNITS = ("chars", "words")


def length_between(min_len: int | None = None, max_len: int | None = None, *,
                   unit: str = "chars", name: str | None = None) -> Scorer:
    """Is the answer between ``min_len`` and ``max_len`` characters (or words) long?

    >>> length_between(max_len=60, unit="words")(run, case).explanation
    'answer is 84 words, more than the maximum of 60'
    """
    if unit not in LENGTH_UNITS:
        raise ScorerError(f"length_between(unit={unit!r}): unit must be one of {LENGTH_UNITS}")
    for label, value in (("min_len", min_len), ("max_len", max_len)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 0):
            raise ScorerError(f"length_between({label}={value!r}): a length is an integer "
                              ">= 0")
    if min_len is None and max_len is None:
        raise ScorerError("length_between(): give min_len, max_len or both")
    if min_len is not None and max_len is not None and min_len > max_len:
        raise ScorerError(f"length_between(min_len={min_len}, max_len={max_len}): min_len "
                          "is larger than max_len")
    score_name = name or "length_between"

    def score(run: AgentRun, case: Case) -> Score:
        text = run.answer or ""
        n = len(text) if unit == "chars" else len(text.split())
        details = {"length": n, "unit": unit, "min": min_len, "max": max_len}
        if min_len is not None and n < min_len:
            return Score(score_name, 0.0, False, f"answer is {n} {unit}, fewer than the "
                         f"minimum of {min_len}", details)
        if max_len is not None and n > max_len:
            return Score(score_name, 0.0, False, f"answer is {n} {unit}, more than the "
                         f"maximum of {max_len}", details)
        return Score(score_name, 1.0, True, f"answer is {n} {unit}, within bounds", details)

    return named(score, score_name)


def _positive(value: Any, what: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0 or \
            math.isnan(value):
        raise ScorerError(f"{what}: a budget is a number > 0, got {value!r}")
    return float(value)


def cost_budget(max_usd: float, *, name: str | None = None) -> Scorer:
    """Did the run cost at most ``max_usd`` (the agent's tokens, priced)? A named shortcut
    for ``budget(max_cost_usd=...)``.

    >>> cost_budget(0.01)(run, case).explanation
    'over budget: $0.0200 > max $0.0100'
    """
    return budget(max_cost_usd=_positive(max_usd, "cost_budget(max_usd=...)"),
                  name=name or "cost_budget")


def latency_budget(max_s: float, *, name: str | None = None) -> Scorer:
    """Did the run take at most ``max_s`` seconds? ``budget(max_latency_s=...)`` by name."""
    return budget(max_latency_s=_positive(max_s, "latency_budget(max_s=...)"),
                  name=name or "latency_budget")
