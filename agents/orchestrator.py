"""The ops assistant: an orchestrator that plans, delegates to workers, composes, reflects.

``ops_assistant(case_input, ctx)`` is an agent in passline's sense (see docs/agents.md):

1. **plan** -- one model call returns a JSON plan: steps, each given to a worker;
2. **delegate** -- each step runs a worker (finance, policy, support) with its own tools;
3. **compose** -- the final answer is written from the workers' reports only;
4. **reflect** -- a critic checks each claim against the tool results and the rules; the
   answer is revised once, or the run ends as a refusal.

Guardrails, journaling, tracing and memory come from :class:`agents.runtime.RunEnv`.
"""

from __future__ import annotations

import dataclasses
import json
import time
import traceback
from collections.abc import Mapping
from typing import Any

from agents import prompting
from agents.guardrails import redact
from agents.runtime import RunEnv
from passline._types import AgentContext, AgentRun, RunStatus, SpanKind
from passline.errors import GuardrailTripped, ModelError, ModelTimeout

MAX_PLAN_STEPS = 5
MAX_WORKER_ROUNDS = 4
MEMORY_BUDGET_TOKENS = 200
REFUSAL = ("I can't give you a reliable answer to that: I could not verify it against our "
           "records and policies. A colleague will follow up.")


@dataclasses.dataclass(frozen=True)
class WorkerReport:
    worker: str
    task: str
    text: str
    tool_results: tuple[str, ...]


def plan_schema(version: str) -> dict[str, Any]:
    workers = prompting.worker_descriptions(version)
    return {
        "type": "object", "additionalProperties": False,
        "required": ["steps", "needs_clarification", "clarifying_question"],
        "properties": {
            "steps": {"type": "array", "maxItems": MAX_PLAN_STEPS, "items": {
                "type": "object", "additionalProperties": False,
                "required": ["worker", "task"],
                "properties": {
                    "worker": {"type": "string", "description": "who does this step",
                               "oneOf": [{"const": n, "description": d}
                                         for n, d in workers.items()]},
                    "task": {"type": "string", "description":
                             "the part of the request this worker must do, with its ids"}}}},
            "needs_clarification": {"type": "boolean", "description":
                                    "true when a required id is missing"},
            "clarifying_question": {"type": "string"}}}


CRITIQUE_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["verdict", "unsupported_claims", "violations", "feedback"],
    "properties": {
        "verdict": {"type": "string", "enum": ["approve", "revise", "refuse"]},
        "unsupported_claims": {"type": "array", "items": {"type": "string"}},
        "violations": {"type": "array", "items": {"type": "string"}},
        "feedback": {"type": "string"}}}


def _json_format(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": dict(schema),
                                                   "strict": True}}


async def ops_assistant(case_input: Mapping[str, Any], ctx: AgentContext) -> AgentRun:
    """Run the ops assistant on one request; always returns an AgentRun (never hangs).

    A run that fails on the model layer or crashes is resumed once from its journal
    (``params['resume_attempts']``, default 1) without repeating completed steps.
    """
    attempts = int(ctx.params.get("resume_attempts", 1)) + 1
    run: AgentRun | None = None
    for _ in range(attempts):
        run = await _run_once(case_input, ctx)
        if run.status != RunStatus.ERROR or run.metadata.get("crash") == "injected":
            break
    assert run is not None
    return run


async def _run_once(case_input: Mapping[str, Any], ctx: AgentContext) -> AgentRun:
    start = time.perf_counter()
    env = RunEnv(ctx, case_input)
    message = str(case_input.get("message", ""))
    user_id = str(case_input.get("user_id") or "anonymous")
    status, answer, error, guardrail = RunStatus.OK, "", None, None
    meta: dict[str, Any] = {"prompts": ctx.prompts, "model": ctx.model}
    try:
        with env.tracer.span(SpanKind.AGENT, "ops_assistant", input=message, user_id=user_id):
            answer, status = await _orchestrate(env, message, user_id, meta)
    except GuardrailTripped as exc:
        status, guardrail, error = RunStatus.GUARDRAIL, exc.guardrail, str(exc)
        answer = f"I stopped before finishing: {exc}. Nothing further was done."
        env.tracer.event(SpanKind.GUARDRAIL, exc.guardrail, status="error", reason=str(exc))
    except ModelTimeout as exc:
        status, error = RunStatus.TIMEOUT, str(exc)
    except ModelError as exc:
        status, error = RunStatus.ERROR, str(exc)
    except Exception as exc:  # an agent bug must become a reported error, not a lost case
        status, error = RunStatus.ERROR, f"{type(exc).__name__}: {exc}"
        meta["traceback"] = traceback.format_exc(limit=6)
        if type(exc).__name__ == "InjectedCrash":
            meta["crash"] = "injected"
    finally:
        meta["journal"] = {"steps": env.journal.seq, "replayed": env.journal.replayed}
        state_changes = tuple(env.world.changes())
        env.close()
    spans = env.tracer.spans()
    return AgentRun(
        answer=redact(answer), tool_calls=tuple(env.tool_calls), state_changes=state_changes,
        trace=spans, usage=env.usage, status=status, error=error, guardrail=guardrail,
        latency_s=time.perf_counter() - start, steps=env.guard.steps, metadata=redact(meta))


async def _orchestrate(env: RunEnv, message: str, user_id: str,
                       meta: dict[str, Any]) -> tuple[str, RunStatus]:
    version = env.version
    memory = env.memory.relevant_memory(user_id, message, MEMORY_BUDGET_TOKENS)
    playbooks = [f"{p['name']}: {'; '.join(p['steps'])}" if isinstance(p, Mapping) else str(p)
                 for p in env.memory.playbooks_for(message, 2)]

    # 1. plan
    with env.tracer.span(SpanKind.STEP, "plan") as span:
        system = prompting.render("planner", version, workers=prompting.worker_descriptions(
            version), playbooks=playbooks, memory=memory)
        reply = await env.llm("planner", [{"role": "system", "content": system},
                                          {"role": "user", "content": message}],
                              response_format=_json_format("plan", plan_schema(version)))
        plan = reply.json()
        span.set(plan=plan)
    meta["plan"] = plan
    steps = [s for s in plan.get("steps", []) if isinstance(s, Mapping)][:MAX_PLAN_STEPS]
    if plan.get("needs_clarification") and plan.get("clarifying_question"):
        # a required id is missing: ask rather than act on a guess
        return str(plan["clarifying_question"]), RunStatus.OK

    # 2. delegate
    reports: list[WorkerReport] = []
    for i, step in enumerate(steps):
        worker, task = str(step.get("worker")), str(step.get("task") or message)
        with env.tracer.span(SpanKind.WORKER, worker, task=task, step=i + 1):
            reports.append(await run_worker(env, worker, task, reports, memory=memory))

    # 3. compose, 4. reflect (one revision, then refuse)
    context = _context_block(reports)
    draft = await _compose(env, message, context, memory, feedback="")
    critique = await _critique(env, message, draft, context)
    meta["critiques"] = [critique]
    meta["revisions"] = 0
    if critique.get("verdict") == "refuse":
        return REFUSAL, RunStatus.REFUSED
    if critique.get("verdict") == "revise":
        feedback = "; ".join([*map(str, critique.get("unsupported_claims", [])),
                              *map(str, critique.get("violations", [])),
                              str(critique.get("feedback", ""))])
        draft = await _compose(env, message, context, memory, feedback=feedback)
        meta["revisions"] = 1
        second = await _critique(env, message, draft, context)
        meta["critiques"].append(second)
        if second.get("verdict") != "approve":
            return REFUSAL, RunStatus.REFUSED
    _remember(env, user_id, message, draft)
    return draft, RunStatus.OK


async def run_worker(env: RunEnv, worker: str, task: str, earlier: list[WorkerReport], *,
                     memory: str = "") -> WorkerReport:
    """A worker: a small tool-using loop over its own tools only.

    Relevant memory (e.g. the user's customer id from an earlier session) travels with the
    task, so "what is my balance?" works without the user repeating their id.
    """
    from agents.tools import tool_specs

    facts = "\n".join(f"- {r.worker}: {r.text}" for r in earlier)
    system = prompting.render("worker", env.version, worker=worker, facts=facts)
    tools = tool_specs(env.version, worker)
    request = f"{task}\n(Known about this user: {memory})" if memory else task
    messages: list[dict[str, Any]] = [{"role": "system", "content": system},
                                      {"role": "user", "content": request}]
    results: list[str] = []
    for _ in range(MAX_WORKER_ROUNDS):
        reply = await env.llm(f"{worker}.act", messages, tools=tools, worker=worker)
        if not reply.tool_calls:
            return WorkerReport(worker, task, reply.content or "", tuple(results))
        messages.append(reply.message())
        for call in reply.tool_calls:
            output = await env.tool(worker, call)
            results.append(output)
            messages.append({"role": "tool", "tool_call_id": call.get("id", ""),
                             "content": output})
    return WorkerReport(worker, task, f"(stopped after {MAX_WORKER_ROUNDS} rounds)",
                        tuple(results))


def _context_block(reports: list[WorkerReport]) -> str:
    parts = []
    for r in reports:
        results = "\n".join(r.tool_results)
        parts.append(f"[{r.worker}] task: {r.task}\nreport: {r.text}\ntool results:\n{results}")
    return "\n\n".join(parts)


async def _compose(env: RunEnv, message: str, context: str, memory: str, *,
                   feedback: str) -> str:
    name = "composer.revise" if feedback else "composer"
    with env.tracer.span(SpanKind.STEP, "revise" if feedback else "compose"):
        system = prompting.render("composer", env.version, memory=memory)
        user = f"<question>{message}</question>\n<context>\n{context}\n</context>"
        if feedback:
            user += f"\n<feedback>{feedback}</feedback>\nRewrite the answer to fix the feedback."
        reply = await env.llm(name, [{"role": "system", "content": system},
                                     {"role": "user", "content": user}])
    return (reply.content or "").strip()


async def _critique(env: RunEnv, message: str, answer: str, context: str) -> dict[str, Any]:
    with env.tracer.span(SpanKind.STEP, "critique") as span:
        system = prompting.render("critic", env.version)
        user = (f"<question>{message}</question>\n<answer>{answer}</answer>\n"
                f"<context>\n{context}\n</context>\n<rules>\n{prompting.rules()}\n</rules>")
        reply = await env.llm("critic", [{"role": "system", "content": system},
                                         {"role": "user", "content": user}],
                              response_format=_json_format("critique", CRITIQUE_SCHEMA))
        critique = dict(reply.json())
        span.set(critique=critique)
    return critique


def _remember(env: RunEnv, user_id: str, message: str, answer: str) -> None:
    """Episodic memory of this conversation, and the ids the user mentioned as facts."""
    import re

    env.memory.add_episode(user_id, env.ctx.run_key or "session",
                           redact(f"asked: {message[:200]}"),
                           time.time())
    for label, pattern in (("customer_id", r"\bCUS-\d{4}\b"), ("last_order_id", r"\bORD-\d{5}\b")):
        found = re.findall(pattern, message)
        if found:
            env.memory.remember(user_id, label, found[-1])


def summary(run: AgentRun) -> str:
    """One line for logs: status, tools, cost."""
    return json.dumps({"status": str(run.status), "tools": run.tool_names,
                       "cost": round(run.usage.cost_usd, 6)})
