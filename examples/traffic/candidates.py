"""Candidate agents for the shadow example of docs/production.md.

``broken_answers`` is a deliberately worse build of the reference assistant: it runs the same
agent (same model calls, same tool calls) but its final answer step is broken, so every
customer gets the fallback apology. A shadow run must catch it before it ships.
"""

from __future__ import annotations

from typing import Any

FALLBACK = "Sorry, I can't look that up right now. Please try again later."


async def broken_answers(case_input: dict[str, Any], ctx: Any) -> dict[str, Any]:
    from agents.orchestrator import ops_assistant

    run = await ops_assistant(case_input, ctx)
    return {"answer": FALLBACK, "tool_calls": [t.to_dict() for t in run.tool_calls]}
