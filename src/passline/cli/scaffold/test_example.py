"""Example evals: a unit eval of the tool call and an end-to-end check of the answer."""

from __future__ import annotations

import passline
from passline import AgentRun, Case
from passline.scoring import required_facts, tool_call_match


@passline.eval("example@v1", scorers=[tool_call_match(args="subset"), required_facts()])
def test_order_questions(run: AgentRun, case: Case) -> None:
    assert run.status == "ok", run.error
