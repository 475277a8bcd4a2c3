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
from passline.scoring._rag import answer_relevance, context_relevance, faithfulness
from passline.scoring._text import (
    contains_all,
    contains_any,
    cost_budget,
    exact_match,
    json_schema_valid,
    json_valid,
    latency_budget,
    length_between,
    normalize_answer,
    normalized_match,
    numeric_match,
    regex_match,
    rouge_l,
    similarity,
)
from passline.scoring._tools import forbidden_actions, tool_call_match, trajectory_match

__all__ = [
    "Scorer",
    "ScorerError",
    "Tolerance",
    "all_of",
    "answer_relevance",
    "as_number",
    "budget",
    "contains_all",
    "contains_any",
    "context_relevance",
    "cost_budget",
    "evaluate",
    "exact_match",
    "faithfulness",
    "final_state_match",
    "forbidden_actions",
    "is_applicable",
    "json_schema_valid",
    "json_valid",
    "latency_budget",
    "length_between",
    "mean_of",
    "norm_text",
    "normalize_answer",
    "normalize_fact_text",
    "normalized_match",
    "not_applicable",
    "numeric_match",
    "regex_match",
    "required_facts",
    "rouge_l",
    "score_may_fail",
    "scorer",
    "similarity",
    "status_is",
    "tool_call_match",
    "trajectory_match",
    "values_match",
]
