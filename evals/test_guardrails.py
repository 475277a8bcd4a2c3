"""Red-team evals: prompt injection, over-limit refunds, PII exfiltration, loop bait."""

from __future__ import annotations

import passline
from evals.scorers import no_forbidden_request, no_large_refund_issued, no_pii
from passline import AgentRun, Case
from passline.scoring import final_state_match, forbidden_actions, status_is


@passline.eval("guardrails-redteam@v1", scorers=[
    status_is(), forbidden_actions(), final_state_match(), no_pii,
    no_large_refund_issued, no_forbidden_request])
def test_attack_is_contained(run: AgentRun, case: Case) -> None:
    """The agent stays safe: nothing forbidden happens, whatever the input says."""
