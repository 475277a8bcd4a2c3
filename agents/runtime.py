"""Everything one agent run shares: model client, world, journal, memory, tracer, guardrails.

Each model call and tool call goes through :class:`RunEnv`, which journals it (durable
execution), traces it (a span with tokens, cost, latency, inputs and outputs), and passes it
through the guardrails first.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agents.context import fit_messages, trim_tool_output
from agents.guardrails import Guardrails, Limits, redact
from agents.journal import Journal
from passline._types import AgentContext, SpanKind, ToolCall, Usage
from passline.errors import GuardrailTripped, MalformedOutput
from passline.trace import Tracer

CALL_BUDGET_TOKENS = 3000  # context budget per model call
TOOL_OUTPUT_TOKENS = 500  # each tool result is trimmed to this before the model sees it


@dataclasses.dataclass(frozen=True)
class LLMReply:
    """A journaled model reply (what is replayed on resume)."""

    content: str | None
    tool_calls: tuple[dict[str, Any], ...]
    usage: Usage

    def message(self) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            msg["tool_calls"] = [dict(c) for c in self.tool_calls]
        return msg

    def json(self) -> Any:
        try:
            return json.loads(self.content or "")
        except json.JSONDecodeError as exc:
            raise MalformedOutput(f"expected JSON, got {(self.content or '')[:200]!r}") from exc


class InjectedCrash(RuntimeError):
    """Raised on purpose by tests (``params['crash_after_step']``) to exercise resume."""


class RunEnv:
    def __init__(self, ctx: AgentContext, case_input: Mapping[str, Any]) -> None:
        from agents.memory import MemoryStore
        from agents.world import World

        self.ctx = ctx
        self.version = ctx.prompts
        self.params = dict(ctx.params)
        workdir = Path(ctx.workdir) if ctx.workdir else Path(tempfile.mkdtemp(prefix="ops-"))
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.world = World.fresh(workdir, resume=True)
        self.journal = Journal(workdir / "journal.sqlite", ctx.run_key or "run")
        memory_path = case_input.get("memory_path") or self.params.get("memory_path")
        self.memory = MemoryStore(Path(memory_path) if memory_path else workdir / "memory.sqlite")
        # Under passline's runner every model call is captured and becomes an "llm" span in
        # ctx.tracer (with its tokens and cost) wherever the agent opened a span; run
        # directly, the agent records its own llm spans.
        self.captured = ctx.tracer is not None
        self.tracer = ctx.tracer if self.captured else Tracer(redact=redact)
        if self.captured:
            self.tracer.set_redactor(redact)
        self.guard = Guardrails(Limits.from_params(self.params))
        self.tool_calls: list[ToolCall] = []
        self.usage = Usage()
        self.started = time.perf_counter()
        self._crash_after = self.params.get("crash_after_step")

    def close(self) -> None:
        self.journal.close()
        self.world.close()

    def _maybe_crash(self) -> None:
        kill_after = self.params.get("kill_after_step")
        if kill_after is not None and self.journal.seq >= int(kill_after) \
                and self.journal.replayed < self.journal.seq:
            os._exit(17)  # a killed process: no cleanup, no exception handling
        if self._crash_after is not None and self.journal.seq >= int(self._crash_after) \
                and self.journal.replayed < self.journal.seq:
            raise InjectedCrash(f"injected crash after step {self.journal.seq}")

    async def llm(self, name: str, messages: Sequence[Mapping[str, Any]], *,
                  tools: Sequence[Mapping[str, Any]] | None = None,
                  response_format: Mapping[str, Any] | None = None,
                  worker: str | None = None) -> LLMReply:
        """One model call: guardrails, journal, span, usage."""
        self.guard.step(f"model call {name}")
        fitted = fit_messages(messages, CALL_BUDGET_TOKENS)
        kind = SpanKind.STEP if self.captured else SpanKind.LLM
        with self.tracer.span(kind, name, model=self.ctx.model, worker=worker,
                              input=fitted[-1].get("content")) as span:
            async def call() -> dict[str, Any]:
                result = await self.ctx.client.chat(
                    fitted, model=self.ctx.model, tools=tools, response_format=response_format,
                    trial=self.ctx.trial, purpose="agent")
                return {"content": result.content,
                        "tool_calls": result.message().get("tool_calls", []),
                        "usage": result.usage.to_dict(), "cached": result.cached,
                        "attempts": result.attempts}

            data = await self.journal.step(f"llm:{name}", call)
            reply = LLMReply(data["content"], tuple(data["tool_calls"]),
                             Usage.from_dict(data["usage"]))
            if not self.captured:  # else the captured call's span carries the usage
                span.add_usage(reply.usage)
            span.set(output=reply.content or json.dumps(reply.tool_calls)[:2000],
                     cached=data.get("cached", False), attempts=data.get("attempts", 1))
        self.usage = self.usage + reply.usage
        self.guard.spend(reply.usage)
        self._maybe_crash()
        return reply

    async def tool(self, worker: str, call: Mapping[str, Any]) -> str:
        """Run one tool call the model asked for; returns the (trimmed) text the model sees."""
        from agents.tools import REGISTRY, call_tool

        fn = call.get("function") or {}
        name = str(fn.get("name", ""))
        raw = str(fn.get("arguments") or "{}")
        self.guard.step(f"tool {name}")
        try:
            arguments = json.loads(raw)
            if not isinstance(arguments, dict):
                raise ValueError("arguments must be a JSON object")
        except ValueError as exc:
            result: Any = {"error": f"arguments are not a valid JSON object ({exc}); "
                                    "call the tool again with a JSON object"}
            self.tool_calls.append(ToolCall(name, {}, call.get("id"), None, result["error"],
                                            worker))
            return json.dumps(result)
        if not self.journal.is_recorded(f"tool:{name}"):  # a replayed step was checked before
            try:
                self.guard.check_tool(name, arguments,
                                      order_total=self._refundable(name, arguments))
            except GuardrailTripped as exc:  # the attempt is part of the trajectory
                self.tool_calls.append(ToolCall(name, arguments, call.get("id"), None,
                                                f"blocked: {exc}", worker))
                raise
        impl = REGISTRY.get(name)
        with self.tracer.span(SpanKind.TOOL, name, worker=worker, arguments=arguments) as span:
            async def run() -> Any:
                args = dict(arguments)
                if impl is not None and impl.side_effect and "idempotency_key" in (
                        impl.parameters.get("properties") or {}):
                    # stable across resumes: a replayed refund finds the first one
                    args["idempotency_key"] = self.journal.next_key()
                return call_tool(self.world, name, args)

            result = await self.journal.step(f"tool:{name}", run)
            error = result.get("error") if isinstance(result, dict) else None
            span.set(result=trim_tool_output(result, 200))
            if error:
                span.status = "error"
        self.tool_calls.append(ToolCall(name, arguments, call.get("id"), result, error, worker))
        self._maybe_crash()
        return trim_tool_output(result, TOOL_OUTPUT_TOKENS)

    def _refundable(self, name: str, arguments: Mapping[str, Any]) -> float | None:
        """For refunds: the most that may still be refunded on the order (the bound)."""
        if name != "issue_refund":
            return None
        row = self.world.conn.execute(
            "SELECT o.total_usd - COALESCE((SELECT SUM(amount_usd) FROM refunds r "
            "WHERE r.order_id = o.id), 0) FROM orders o WHERE o.id = ?",
            (str(arguments.get("order_id", "")),)).fetchone()
        return float(row[0]) if row else None
