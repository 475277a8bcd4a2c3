"""Capture overhead per model call, with passline's capture on against off.

    .venv/bin/python bench/bench_capture.py [--calls 3000] [--cases 400] [--rounds 5]

1. Isolated: an ``openai.AsyncOpenAI`` client whose transport answers in memory
   (``httpx2.MockTransport``, a canned completion with a tool call and usage) makes
   ``--calls`` sequential calls, once inside a case with capture on (span, ledger, record;
   cache off, the default) and once with no capture session. Single-threaded; the
   difference of the two CPU times per call is the capture's cost. Rounds alternate the
   order; the median and range are printed. This is the figure held to the budget: 0.3 ms.
2. End to end: a user's agent (its own client, one call per case) run by passline's runner
   against the simulator in another process, CPU time of the runner process with capture on
   and off. Noisier (GC, threads, the machine's load), printed for context.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

_CLIENTS: dict[int, Any] = {}


def _client() -> Any:
    import openai

    loop = id(asyncio.get_running_loop())
    if loop not in _CLIENTS:
        _CLIENTS[loop] = openai.AsyncOpenAI(base_url=os.environ["BENCH_SIM_URL"], api_key="x",
                                            max_retries=0)
    return _CLIENTS[loop]


async def agent(case_input: dict[str, Any], ctx: Any) -> str:
    reply = await _client().chat.completions.create(
        model=ctx.model, messages=[{"role": "system", "content": "Answer briefly."},
                                   {"role": "user", "content": case_input["message"]}])
    return reply.choices[0].message.content or ""


@contextmanager
def sim_process() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "passline", "sim", "serve"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()


def one_round(capture: str, cases: int, concurrency: int, offset: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of the runner process for ``cases`` one-call runs."""
    from passline._types import Case, Variant
    from passline.runner import Job, Runner
    from passline.settings import Settings

    settings = Settings.resolve({"capture": capture, "concurrency": concurrency}, env={})
    with tempfile.TemporaryDirectory() as work:
        runner = Runner(settings, workdir=Path(work))
        variant = Variant("bench", "sim-2", "v1")
        jobs = [Job("bench_capture:agent", Case(f"c{i}", {"message": f"order ORD-{offset + i}"},
                                                dataset="bench", version="v1"), 0, variant)
                for i in range(cases)]
        runner.result(Job("bench_capture:agent", Case("warm", {"message": "hi"}, dataset="b",
                                                       version="v1"), 0, variant), timeout_s=60)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        futures = [runner.submit(j) for j in jobs]
        runs = [f.result(timeout=300) for f in futures]
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        runner.close()
    bad = [r for r in runs if r.status != "ok"]
    if bad:
        raise SystemExit(f"{len(bad)} runs failed, e.g. {bad[0].error}")
    if capture == "on":
        assert all(r.capture is not None and r.capture.calls == 1 for r in runs)
    return cpu, wall


COMPLETION = (b'{"id":"c1","object":"chat.completion","created":1,"model":"sim-2","choices":'
              b'[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":'
              b'"call_1","type":"function","function":{"name":"get_order","arguments":'
              b'"{\\"order_id\\":\\"ORD-10001\\"}"}}]},"finish_reason":"tool_calls"}],'
              b'"usage":{"prompt_tokens":120,"completion_tokens":20,"total_tokens":140}}')
TOOLS = [{"type": "function", "function": {
    "name": "get_order", "description": "Look up one order by its id.",
    "parameters": {"type": "object", "required": ["order_id"],
                   "properties": {"order_id": {"type": "string"}}}}}]


async def _calls(client: Any, n: int, offset: int) -> float:
    """CPU seconds of ``n`` sequential calls (CPU, not wall: robust to a busy machine)."""
    start = time.process_time()
    for i in range(n):
        await client.chat.completions.create(
            model="sim-2", tools=TOOLS,
            messages=[{"role": "system", "content": "You look orders up."},
                      {"role": "user", "content": f"Where is order ORD-{offset + i}?"}])
    return time.process_time() - start


def isolated(calls: int, rounds: int) -> list[float]:
    """Per-call seconds that capture adds, one value per round."""
    import httpx2
    import openai

    from passline.capture import CaptureSession
    from passline.settings import Settings
    from passline.trace import Tracer

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=COMPLETION,
                               headers={"content-type": "application/json"})

    async def measure(mode: str, offset: int) -> float:
        client = openai.AsyncOpenAI(base_url="http://mock.local/v1", api_key="x", max_retries=0,
                                    http_client=httpx2.AsyncClient(
                                        transport=httpx2.MockTransport(handler)))
        if mode == "off":
            return await _calls(client, calls, offset)
        session = CaptureSession(Settings.resolve({}, env={}), client=lambda: None,
                                 route_env=False)
        session._client_factory = lambda: _NoCache()  # no cache: the default, cache off
        session.activate()
        case = session.case(run_key="k", trial=0, variant="v", case_ref="d@v1:c",
                            tracer=Tracer())
        token = case.bind()
        try:
            return await _calls(client, calls, offset)
        finally:
            case.unbind(token)
            session.deactivate()

    asyncio.run(measure("on", 0))  # warm up imports and the hooks
    asyncio.run(measure("off", 0))
    out = []
    for r in range(rounds):
        order = ("on", "off") if r % 2 == 0 else ("off", "on")
        took = {mode: asyncio.run(measure(mode, r * calls)) for mode in order}
        out.append((took["on"] - took["off"]) / calls)
        print(f"isolated round {r + 1}: {calls} calls, CPU on {took['on']:.3f} s, off "
              f"{took['off']:.3f} s -> {out[-1] * 1000:+.3f} ms per call")
    return out


class _NoCache:
    class cache:
        mode = "off"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()
    iso = isolated(args.calls, args.rounds)
    print(f"\ncapture overhead (isolated): {statistics.median(iso) * 1000:.3f} ms per model "
          f"call (median of {args.rounds} rounds; range {min(iso) * 1000:.3f}.."
          f"{max(iso) * 1000:.3f} ms); budget 0.300 ms\n")
    with sim_process() as url:
        os.environ["BENCH_SIM_URL"] = url
        one_round("on", 20, args.concurrency, 0)  # imports, first connections
        per_call: list[float] = []
        walls: dict[str, list[float]] = {"on": [], "off": []}
        for r in range(args.rounds):
            order = ("on", "off") if r % 2 == 0 else ("off", "on")
            cpu: dict[str, float] = {}
            for mode in order:
                cpu[mode], wall = one_round(mode, args.cases, args.concurrency, r * 10_000)
                walls[mode].append(wall)
            per_call.append((cpu["on"] - cpu["off"]) / args.cases)
            print(f"round {r + 1}: CPU on {cpu['on']:.3f} s, off {cpu['off']:.3f} s -> "
                  f"{per_call[-1] * 1000:+.3f} ms per call")
    median = statistics.median(per_call)
    print(f"\nend to end: {median * 1000:.3f} ms CPU per model call (median of "
          f"{args.rounds} rounds; range {min(per_call) * 1000:.3f}..{max(per_call) * 1000:.3f} "
          f"ms); budget 0.300 ms")
    print(f"wall for {args.cases} calls at concurrency {args.concurrency}: capture on "
          f"{statistics.median(walls['on']):.3f} s, off {statistics.median(walls['off']):.3f} s "
          f"(medians); load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
