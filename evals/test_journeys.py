"""End-to-end evals: multi-step journeys through the orchestrator and its workers."""

from __future__ import annotations

import passline
from evals.scorers import asks_for_clarification
from passline import AgentRun, Case
from passline.scoring import (
    budget,
    final_state_match,
    forbidden_actions,
    required_facts,
    status_is,
    trajectory_match,
)

JOURNEY_SCORERS = [status_is(), required_facts(), final_state_match(), forbidden_actions(),
                   trajectory_match("superset"), budget(), asks_for_clarification]


@passline.eval("journeys-e2e@v2", scorers=JOURNEY_SCORERS)
def test_journey(run: AgentRun, case: Case) -> None:
    """Every journey ends within its budget, states the facts and leaves the right state."""
