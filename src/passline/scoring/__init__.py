"""Scoring stage: turn an AgentRun (plus its Case) into Score records.

A scorer is any callable ``(run: AgentRun, case: Case) -> Score``. The factories here
return such callables for the common unit checks (tool calls, trajectories) and
end-to-end checks (final state, facts, budgets, status); ``@scorer`` declares your own.

>>> from passline.scoring import evaluate, tool_call_match, status_is
>>> scores = evaluate(run, case, [tool_call_match(args="subset"), status_is("ok")])
"""

from __future__ import annotations

from passline.scoring._base import (
    Scorer,
    ScorerError,
    evaluate,
    is_applicable,
    not_applicable,
    score_may_fail,
    scorer,
)
from passline.scoring._combine import all_of, mean_of
from passline.scoring._match import Tolerance, as_number, norm_text, values_match
from passline.scoring._outcome import (
    budget,
    final_state_match,
    normalize_fact_text,
    required_facts,
    status_is,
)
from passline.scoring._tools import forbidden_actions, tool_call_match, trajectory_match

__all__ = [
    "Scorer",
    "ScorerError",
    "Tolerance",
    "all_of",
    "as_number",
    "budget",
    "evaluate",
    "final_state_match",
    "forbidden_actions",
    "is_applicable",
    "mean_of",
    "norm_text",
    "normalize_fact_text",
    "not_applicable",
    "required_facts",
    "score_may_fail",
    "scorer",
    "status_is",
    "tool_call_match",
    "trajectory_match",
    "values_match",
]
