"""Combinators: several scorers reported as one score (sub-scores kept in ``details``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from passline._types import AgentRun, Case, Score
from passline.scoring._base import (
    Scorer,
    ScorerError,
    call_scorer,
    check_signature,
    is_applicable,
    named,
    not_applicable,
    scorer_name,
)


def _components(scorers: tuple[Callable[..., Any], ...], what: str) -> None:
    if not scorers:
        raise ScorerError(f"{what}() needs at least one scorer")
    for fn in scorers:
        check_signature(fn)


def _run_all(scorers: tuple[Callable[..., Any], ...], run: AgentRun,
             case: Case) -> list[Score]:
    return [s for s in (call_scorer(fn, run, case) for fn in scorers) if is_applicable(s)]


def all_of(*scorers: Callable[..., Any], name: str | None = None) -> Scorer:
    """Pass only if every (applicable) scorer passes; value is the lowest sub-score.

    >>> all_of(tool_call_match(), status_is("ok"), name="refund_done")
    """
    _components(scorers, "all_of")
    score_name = name or f"all_of({', '.join(scorer_name(s) for s in scorers)})"

    def score(run: AgentRun, case: Case) -> Score:
        parts = _run_all(scorers, run, case)
        if not parts:
            return not_applicable(score_name, "no component scorer applied")
        failed = [p for p in parts if not p.passed]
        details = {"components": [p.to_dict() for p in parts]}
        value = min(p.value for p in parts)
        if failed:
            return Score(score_name, value, False,
                         "; ".join(f"{p.name}: {p.explanation}" for p in failed), details)
        return Score(score_name, value, True, f"all {len(parts)} checks passed", details)

    return named(score, score_name)


def mean_of(*scorers: Callable[..., Any], name: str | None = None,
            threshold: float = 1.0) -> Scorer:
    """Value is the mean of the (applicable) sub-scores; passed when it reaches ``threshold``.

    Use it for partial credit: ``mean_of(required_facts(), final_state_match(),
    threshold=0.5)``.
    """
    _components(scorers, "mean_of")
    if not 0.0 <= threshold <= 1.0:
        raise ScorerError(f"mean_of(threshold={threshold}): threshold must be in [0, 1]")
    score_name = name or f"mean_of({', '.join(scorer_name(s) for s in scorers)})"

    def score(run: AgentRun, case: Case) -> Score:
        parts = _run_all(scorers, run, case)
        if not parts:
            return not_applicable(score_name, "no component scorer applied")
        value = min(1.0, max(0.0, sum(p.value for p in parts) / len(parts)))
        passed = value >= threshold - 1e-12
        details = {"components": [p.to_dict() for p in parts], "threshold": threshold}
        lines = "; ".join(f"{p.name}={p.value:.2f}" for p in parts)
        failed = [p for p in parts if not p.passed]
        why = "" if not failed else " — " + "; ".join(f"{p.name}: {p.explanation}"
                                                       for p in failed[:3])
        return Score(score_name, value, passed,
                     f"mean {value:.2f} {'>=' if passed else '<'} {threshold:.2f} "
                     f"({lines}){why}", details)

    return named(score, score_name)
