"""The tool router: the unit under test of the ``tools-unit`` evals.

One model call with every tool of the prompt version; the tool calls the model asks for are
returned (not executed) as the run's trajectory. This isolates tool choice and argument
extraction -- the step where most agent failures start -- from the rest of the orchestrator.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from agents import prompting
from passline._types import AgentContext, AgentRun, RunStatus, Span, SpanKind, ToolCall
from passline.errors import ModelError, ModelTimeout


async def first_tool_calls(case_input: Mapping[str, Any], ctx: AgentContext) -> AgentRun:
    from agents.tools import tool_specs

    start = time.perf_counter()
    messages = [{"role": "system", "content": prompting.render("router", ctx.prompts)},
                {"role": "user", "content": str(case_input.get("message", ""))}]
    try:
        result = await ctx.client.chat(messages, model=ctx.model, tools=tool_specs(ctx.prompts),
                                       trial=ctx.trial)
    except ModelTimeout as exc:
        return AgentRun("", status=RunStatus.TIMEOUT, error=str(exc),
                        latency_s=time.perf_counter() - start)
    except ModelError as exc:
        return AgentRun("", status=RunStatus.ERROR, error=str(exc),
                        latency_s=time.perf_counter() - start)
    calls = []
    for call in result.tool_calls:
        try:
            arguments = call.arguments()
            error = None
        except ModelError as exc:
            arguments, error = {}, str(exc)
        calls.append(ToolCall(call.name, arguments, call.id, None, error, "router"))
    elapsed = time.perf_counter() - start
    span = Span("s1", None, SpanKind.LLM, "router", 0.0, elapsed, "ok", result.usage,
                {"model": ctx.model, "input": messages[-1]["content"],
                 "output": result.content or json.dumps([c.to_dict() for c in calls])})
    return AgentRun(answer=result.content or "", tool_calls=tuple(calls), trace=(span,),
                    usage=result.usage, latency_s=elapsed, steps=1,
                    metadata={"prompts": ctx.prompts, "model": ctx.model})
