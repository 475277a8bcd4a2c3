"""Run the reference ops assistant on one request and show what it did.

    python -m agents "What is the open balance of CUS-0042 and the status of ORD-10003?" \\
        [--model sim-2] [--prompts v2] [--trace]

Prints the plan, each tool call with its worker, the critique(s), the final answer, and the
tokens and cost. With no API key the model is the built-in simulator.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from passline._types import Case, Variant
from passline.runner import Job, Runner
from passline.settings import Settings
from passline.trace import span_tree


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m agents", description=__doc__.split("\n")[0])
    ap.add_argument("message", help="the request, as a user would write it")
    ap.add_argument("--model", default=None, help="model (default: [tool.passline] model)")
    ap.add_argument("--prompts", default=None, help="prompt version (v1, v2, v3-regressed)")
    ap.add_argument("--user", default="demo-user", help="user id (memory is per user)")
    ap.add_argument("--trace", action="store_true", help="print the span tree")
    args = ap.parse_args()
    settings = Settings.resolve({"model": args.model, "prompts": args.prompts})
    console = Console(highlight=False)

    # run it the way an eval does (passline's runner: capture, spans, usage, cache)
    runner = Runner(settings, workdir=Path(tempfile.mkdtemp(prefix="ops-")), concurrency=1)
    case = Case(id="cli", input={"message": args.message, "user_id": args.user},
                dataset="cli", version="0")
    job = Job("agents.orchestrator:ops_assistant", case, 0,
              Variant("cli", settings.model, settings.prompts))
    try:
        run = runner.result(job, timeout_s=settings.run_timeout_s + 60)
    finally:
        runner.close()
    meta = run.metadata
    console.rule(f"{settings.model} + prompts {settings.prompts}")
    console.print("[bold]plan[/]")
    for i, step in enumerate((meta.get("plan") or {}).get("steps", []), 1):
        console.print(f"  {i}. [cyan]{step.get('worker')}[/]: {step.get('task')}")
    table = Table("worker", "tool call", "result", title="tool calls", title_justify="left")
    for call in run.tool_calls:
        args_text = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items()
                              if k != "idempotency_key")
        outcome = call.error or json.dumps(call.result, default=str)
        table.add_row(call.worker or "-", f"{call.name}({args_text})", outcome[:90])
    console.print(table)
    for i, critique in enumerate(meta.get("critiques") or [], 1):
        console.print(f"[bold]critique {i}[/]: {critique.get('verdict')} "
                      f"{critique.get('unsupported_claims') or ''} "
                      f"{critique.get('violations') or ''}".rstrip())
    console.print(f"[bold]answer[/] ({run.status}):")
    console.print(f"  {run.answer}")
    usage = run.capture.usage if run.capture else run.usage  # what went over the wire
    console.print(f"[bold]usage[/]: {usage.calls} model calls, {usage.prompt_tokens:,} prompt + "
                  f"{usage.completion_tokens:,} completion tokens, ${usage.cost_usd:.5f}, "
                  f"{run.steps} steps, {run.latency_s:.2f}s")
    if args.trace:
        for depth, span in span_tree(run.trace):
            console.print(f"{'  ' * depth}{span.kind:9} {span.name:22} "
                          f"{span.duration_s * 1000:7.1f} ms  {span.usage.total_tokens:6} tok  "
                          f"${span.usage.cost_usd:.5f}  {span.status}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
