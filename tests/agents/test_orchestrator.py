"""The ops assistant end to end on the simulator: workers, journeys, reflection, versions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agents.orchestrator import WorkerReport, ops_assistant, run_worker
from agents.router import first_tool_calls
from agents.runtime import RunEnv
from agents.world import World, template_path
from passline._types import AgentContext, RunStatus, SpanKind


def order(where: str) -> tuple[str, str, float]:
    world = World.open(template_path())
    row = world.conn.execute(f"SELECT id, customer_id, total_usd FROM orders WHERE {where} "
                             "ORDER BY id LIMIT 1").fetchone()
    world.close()
    return row[0], row[1], float(row[2])


SMALL = order("status = 'delivered' AND total_usd BETWEEN 50 AND 300 AND id NOT IN "
              "(SELECT order_id FROM refunds)")
LARGE = order("status = 'delivered' AND total_usd > 900 AND id NOT IN "
              "(SELECT order_id FROM refunds)")


def worker(make_ctx: Callable[..., AgentContext], name: str, task: str
           ) -> tuple[WorkerReport, list[str]]:
    async def go() -> tuple[WorkerReport, list[str]]:
        env = RunEnv(make_ctx(), {"message": task})
        try:
            report = await run_worker(env, name, task, [])
            return report, [c.name for c in env.tool_calls]
        finally:
            env.close()
    return asyncio.run(go())


def test_finance_worker_alone(make_ctx: Callable[..., AgentContext]) -> None:
    report, tools = worker(make_ctx, "finance",
                           f"What is the open balance of customer {SMALL[1]}?")
    assert tools == ["get_account_balance"]
    assert "USD" in report.text and SMALL[1] in report.text


def test_policy_worker_cites_documents(make_ctx: Callable[..., AgentContext]) -> None:
    report, tools = worker(make_ctx, "policy", "How many days do I have to return an item?")
    assert tools == ["search_policies"]
    assert "POL-RTN-001" in report.text and "30 days" in report.text


def test_support_worker_looks_up_orders(make_ctx: Callable[..., AgentContext]) -> None:
    report, tools = worker(make_ctx, "support", f"What is the status of order {SMALL[0]}?")
    assert tools == ["get_order"]
    assert SMALL[0] in report.text and "delivered" in report.text


def test_journey_across_workers_plans_delegates_and_reflects(
        make_ctx: Callable[..., AgentContext]) -> None:
    run = asyncio.run(ops_assistant(
        {"message": f"What is the open balance of customer {SMALL[1]} and what is the status "
                    f"of order {SMALL[0]}?"}, make_ctx()))
    assert run.status == RunStatus.OK
    assert run.tool_names == ["get_account_balance", "get_order"]
    assert [s["worker"] for s in run.metadata["plan"]["steps"]] == ["finance", "support"]
    assert run.metadata["critiques"][0]["verdict"] == "approve"
    assert SMALL[0] in run.answer and "delivered" in run.answer
    kinds = {s.kind for s in run.trace}
    assert {"agent", "step", "worker", "llm", "tool"} <= kinds
    llm_spans = [s for s in run.trace if s.kind == SpanKind.LLM]
    assert sum(s.usage.cost_usd for s in llm_spans) == pytest.approx(run.usage.cost_usd)
    root = next(s for s in run.trace if s.kind == SpanKind.AGENT)  # parents roll up children
    assert root.usage.total_tokens == run.usage.total_tokens
    assert run.state_changes == () and run.usage.calls == len(llm_spans)
    names = [s.name for s in run.trace]
    assert "plan" in names and "critique" in names


def test_refund_under_threshold_is_issued_and_above_needs_approval(
        make_ctx: Callable[..., AgentContext], tmp_path: Path) -> None:
    small = asyncio.run(ops_assistant(
        {"message": f"Please refund 20 USD on order {SMALL[0]}, it arrived damaged"},
        make_ctx(workdir=tmp_path / "a")))
    assert [c["fields"]["status"] for c in small.state_changes if c["table"] == "refunds"] == \
        ["issued"]
    large = asyncio.run(ops_assistant(
        {"message": f"Refund 700 USD on order {LARGE[0]}, it was damaged"},
        make_ctx(workdir=tmp_path / "b")))
    assert [c["fields"]["status"] for c in large.state_changes if c["table"] == "refunds"] == \
        ["pending_approval"]
    assert "pending_approval" in large.answer or "approval" in large.answer


@pytest.mark.parametrize("params,guardrail", [
    ({"max_steps": 2}, "max_steps"),
    ({"max_cost_usd": 1e-7}, "max_cost"),
    ({"max_repeats": 0}, "loop"),
    ({"disallowed_tools": ["get_order"]}, "disallowed_action"),
])
def test_each_guardrail_trips_with_a_clear_status(make_ctx: Callable[..., AgentContext],
                                                  params: dict, guardrail: str) -> None:
    run = asyncio.run(ops_assistant({"message": f"What is the status of order {SMALL[0]}?"},
                                    make_ctx(**params)))
    assert run.status == RunStatus.GUARDRAIL and run.guardrail == guardrail
    assert "stopped" in run.answer
    assert any(s.kind == SpanKind.GUARDRAIL and s.name == guardrail for s in run.trace)


def test_refund_larger_than_the_order_trips_out_of_bounds(
        make_ctx: Callable[..., AgentContext]) -> None:
    amount = SMALL[2] + 100
    run = asyncio.run(ops_assistant(
        {"message": f"Refund {amount:.2f} USD on order {SMALL[0]} please, it was damaged"},
        make_ctx()))
    assert run.status == RunStatus.GUARDRAIL and run.guardrail == "out_of_bounds"
    assert run.state_changes == ()


def test_pii_is_redacted_from_answers_and_traces(make_ctx: Callable[..., AgentContext]) -> None:
    world = World.open(template_path())
    cus, email = world.conn.execute("SELECT id, email FROM customers LIMIT 1").fetchone()
    world.close()
    run = asyncio.run(ops_assistant(
        {"message": f"What is the e-mail address and balance of customer {cus}? My address is "
                    "someone@example.com"}, make_ctx()))
    dump = json.dumps(run.to_dict())
    assert email not in dump and "someone@example.com" not in dump


def test_resume_after_a_crash_does_not_repeat_the_refund(
        make_ctx: Callable[..., AgentContext], tmp_path: Path) -> None:
    message = {"message": f"Please refund 20 USD on order {SMALL[0]}, it arrived damaged"}
    workdir = tmp_path / "durable"
    crashed = asyncio.run(ops_assistant(message, make_ctx(workdir=workdir, crash_after_step=4)))
    assert crashed.status == RunStatus.ERROR and "injected crash" in (crashed.error or "")
    assert len(crashed.state_changes) >= 1  # the refund happened before the crash
    resumed = asyncio.run(ops_assistant(message, make_ctx(workdir=workdir)))
    assert resumed.status == RunStatus.OK
    assert resumed.metadata["journal"]["replayed"] >= 4
    world = World.open(workdir / "world.sqlite")
    refunds = world.conn.execute("SELECT COUNT(*) FROM refunds WHERE order_id = ?",
                                 (SMALL[0],)).fetchone()[0]
    world.close()
    assert refunds == 1


def test_resume_after_the_process_is_killed(passline_sim_url: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    script = tmp_path / "run_agent.py"
    script.write_text(f'''
import asyncio, json, sys
from agents.orchestrator import ops_assistant
from passline._types import AgentContext
from passline.models import ModelClient
from passline.settings import Settings
client = ModelClient(Settings.resolve({{"base_url": {passline_sim_url!r}}}, env={{}}))
params = json.loads(sys.argv[1])
ctx = AgentContext(model="sim-2", prompts="v2", client=client, params=params,
                   workdir={str(tmp_path / "killed")!r}, run_key="killed-case")
message = {{"message": "Please refund 20 USD on order {SMALL[0]}, damaged"}}
run = asyncio.run(ops_assistant(message, ctx))
print(json.dumps({{"status": str(run.status), "replayed": run.metadata["journal"]["replayed"]}}))
''')
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, str(script), json.dumps({"kill_after_step": 4})],
                           capture_output=True, text=True, env=env, cwd=root, timeout=120)
    assert first.returncode == 17, first.stderr
    second = subprocess.run([sys.executable, str(script), "{}"], capture_output=True, text=True,
                            env=env, cwd=root, timeout=120)
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout.strip().splitlines()[-1])
    assert out["status"] == "ok" and out["replayed"] >= 4
    world = World.open(tmp_path / "killed" / "world.sqlite")
    assert world.conn.execute("SELECT COUNT(*) FROM refunds WHERE order_id = ?",
                              (SMALL[0],)).fetchone()[0] == 1
    world.close()


def test_memory_persists_across_sessions(make_ctx: Callable[..., AgentContext],
                                         tmp_path: Path) -> None:
    from agents.memory import MemoryStore

    memory = tmp_path / "memory.sqlite"
    first = {"message": f"I am customer {SMALL[1]}. What is my open balance?",
             "user_id": "u1", "memory_path": str(memory)}
    asyncio.run(ops_assistant(first, make_ctx(workdir=tmp_path / "s1", run_key="s1")))
    store = MemoryStore(memory)
    assert store.facts("u1").get("customer_id") == SMALL[1]
    assert len(store.recent_episodes("u1", 5)) == 1
    second = {"message": "And what about my balance again?", "user_id": "u1",
              "memory_path": str(memory)}
    run = asyncio.run(ops_assistant(second, make_ctx(workdir=tmp_path / "s2", run_key="s2")))
    # the id comes from the first session's memory: the user did not repeat it
    assert ("get_account_balance", {"customer_id": SMALL[1]}) in [
        (t.name, dict(t.arguments)) for t in run.tool_calls]
    assert len(MemoryStore(memory).recent_episodes("u1", 5)) == 2


def test_prompt_versions_behave_differently_for_documented_reasons(
        make_ctx: Callable[..., AgentContext], tmp_path: Path) -> None:
    status_question = {"message": f"Has my refund for order {SMALL[0]} been processed yet?"}
    v2 = asyncio.run(ops_assistant(status_question, make_ctx(workdir=tmp_path / "v2")))
    v3 = asyncio.run(ops_assistant(status_question, make_ctx(prompts="v3-regressed",
                                                              workdir=tmp_path / "v3")))
    # v3-regressed's ambiguous refund description makes a status question issue a refund
    assert "issue_refund" not in v2.tool_names and v2.state_changes == ()
    assert "issue_refund" in v3.tool_names and v3.state_changes
    multi = {"message": f"What is the open balance of customer {SMALL[1]} and what is the "
                        f"status of order {SMALL[0]}?"}
    r1 = asyncio.run(first_tool_calls(multi, make_ctx(model="sim-1", prompts="v1")))
    r2 = asyncio.run(first_tool_calls(multi, make_ctx(model="sim-2", prompts="v2")))
    assert len(r1.tool_calls) == 1 and len(r2.tool_calls) == 2
