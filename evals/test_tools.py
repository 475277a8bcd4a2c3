"""Unit evals: does the agent pick the right tool with the right arguments?"""

from __future__ import annotations

import passline
from passline import AgentRun, Case
from passline.scoring import tool_call_match


@passline.eval("tools-unit@v2", agent="agents.router:first_tool_calls",
               scorers=[tool_call_match(args="subset")])
def test_tool_choice(run: AgentRun, case: Case) -> None:
    assert run.status == "ok", run.error
