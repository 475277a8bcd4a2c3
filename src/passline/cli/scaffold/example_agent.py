"""An example agent for passline: one model call with one tool. Replace it with your own.

The protocol: an async callable taking the case input and an AgentContext, returning an
AgentRun. Make model calls through ``ctx.client`` (retries, limits, cost, cache included).
"""

from __future__ import annotations

import time
from typing import Any

from passline import AgentContext, AgentRun, ToolCall

ORDERS = {"ORD-10001": {"status": "shipped", "total_usd": 120.5},
          "ORD-10002": {"status": "delivered", "total_usd": 42.0}}
TOOLS = [{"type": "function", "function": {
    "name": "get_order",
    "description": "Look up one order by its id: status and total. Use for any question "
                   "about an order's status, delivery or amount.",
    "parameters": {"type": "object", "required": ["order_id"], "properties": {
        "order_id": {"type": "string", "pattern": "^ORD-\\d{5}$",
                     "description": "Order id, like ORD-10001"}}}}}]


async def run(case_input: dict[str, Any], ctx: AgentContext) -> AgentRun:
    start = time.perf_counter()
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You answer questions about orders using the tools."},
        {"role": "user", "content": case_input["message"]}]
    first = await ctx.client.chat(messages, model=ctx.model, tools=TOOLS, trial=ctx.trial)
    usage, calls = first.usage, []
    if first.tool_calls:
        messages.append(first.message())
        for call in first.tool_calls:
            result = ORDERS.get(call.arguments().get("order_id", ""), {"error": "no such order"})
            calls.append(ToolCall(call.name, call.arguments(), call.id, result))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": str(result)})
        final = await ctx.client.chat(messages, model=ctx.model, tools=TOOLS, trial=ctx.trial)
        usage = usage + final.usage
        answer = final.content or ""
    else:
        answer = first.content or ""
    return AgentRun(answer=answer, tool_calls=tuple(calls), usage=usage,
                    latency_s=time.perf_counter() - start)
