"""Model layer figures: concurrency against the ideal, client CPU per call, replay speed.

    .venv/bin/python bench/bench_models.py [--calls 500] [--latency-ms 200] [--concurrency 32]

The simulator runs in its own process (``passline sim serve``), as a real endpoint would, so
the CPU figure is the client's alone. Prints measured figures; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from passline.models import ModelClient
from passline.settings import Settings

TOOLS = [{"type": "function", "function": {
    "name": "get_order", "description": "Look up one order by id.",
    "parameters": {"type": "object", "required": ["order_id"], "properties": {
        "order_id": {"type": "string", "pattern": "^ORD-\\d{5}$"}}}}}]


@contextmanager
def sim_process(latency_ms: float) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "passline", "sim", "serve", "--latency-ms",
                             str(latency_ms)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()


def settings(url: str, concurrency: int, **extra: object) -> Settings:
    return Settings.resolve({"base_url": url, "model_concurrency": {"*": concurrency}, **extra},
                            env={})


async def burst(client: ModelClient, calls: int, offset: int = 0) -> float:
    start = time.perf_counter()
    await asyncio.gather(*[
        client.chat([{"role": "user", "content": f"status of ORD-{10000 + offset + i}"}],
                    model="sim-2", tools=TOOLS) for i in range(calls)])
    return time.perf_counter() - start


async def warm(client: ModelClient) -> None:
    await burst(client, 4, offset=90_000)  # imports, connection pool


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()

    with sim_process(args.latency_ms) as url:
        client = ModelClient(settings(url, args.concurrency))

        async def timed() -> float:
            await warm(client)
            elapsed = await burst(client, args.calls)
            await client.aclose()
            return elapsed
        wall = asyncio.run(timed())
        ideal = args.calls * args.latency_ms / 1000 / args.concurrency
        print(f"1. {args.calls} calls at {args.latency_ms:g} ms latency, concurrency "
              f"{args.concurrency}: {wall:.2f}s vs ideal {ideal:.2f}s -> ratio "
              f"{wall / ideal:.3f} (target <= 1.10)")

    with sim_process(0) as url, tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(tmp) / "cache.sqlite")
        client = ModelClient(settings(url, 64, cache="rw", cache_path=cache))

        async def cpu() -> tuple[float, float]:
            await warm(client)
            cpu0, t0 = time.process_time(), time.perf_counter()
            await burst(client, args.calls)
            result = time.process_time() - cpu0, time.perf_counter() - t0
            await client.aclose()
            return result
        cpu_s, wall0 = asyncio.run(cpu())
        print(f"2. client CPU per call at 0 latency: {cpu_s / args.calls * 1000:.2f} ms "
              f"({args.calls} calls in {wall0:.2f}s wall, {args.calls / wall0:.0f} calls/s)")

        replay = ModelClient(settings(url, 64, cache="replay", cache_path=cache))
        n = args.calls * 10

        async def replayed() -> float:
            await burst(replay, 4, offset=90_000)
            start = time.perf_counter()
            for _ in range(10):
                await burst(replay, args.calls)
            elapsed = time.perf_counter() - start
            await replay.aclose()
            return elapsed
        elapsed = asyncio.run(replayed())
        print(f"3. replayed from the cache: {n / elapsed:,.0f} calls/s (target >= 2,000/s; "
              f"hits {replay.cache.hits:,})")


if __name__ == "__main__":
    main()
