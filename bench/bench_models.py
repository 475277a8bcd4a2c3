"""Model layer throughput: calls/s through ModelClient to the simulator, cold and cached.

    .venv/bin/python bench/bench_models.py [--calls 2000] [--latency-ms 50] [--concurrency 64]

Prints measured figures; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from passline.models import ModelClient
from passline.settings import Settings
from passline.sim import SimConfig, SimServer

TOOLS = [{"type": "function", "function": {
    "name": "get_order", "description": "Look up one order by id.",
    "parameters": {"type": "object", "required": ["order_id"], "properties": {
        "order_id": {"type": "string", "pattern": "^ORD-\\d{5}$"}}}}}]


async def burst(client: ModelClient, calls: int) -> float:
    start = time.perf_counter()
    await asyncio.gather(*[client.chat([{"role": "user", "content": f"status of ORD-{10000 + i}"}],
                                       model="sim-2", tools=TOOLS) for i in range(calls)])
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args()
    with SimServer(SimConfig(latency_ms=args.latency_ms)) as sim, \
            tempfile.TemporaryDirectory() as tmp:
        settings = Settings.resolve({"base_url": sim.base_url, "cache": "rw",
                                     "cache_path": str(Path(tmp) / "c.sqlite"),
                                     "model_concurrency": {"*": args.concurrency}}, env={})
        client = ModelClient(settings)
        cold = asyncio.run(burst(client, args.calls))
        stats = sim.stats()
        ideal = args.calls * args.latency_ms / 1000 / args.concurrency
        print(f"cold: {args.calls} calls in {cold:.2f}s = {args.calls / cold:.0f} calls/s "
              f"(ideal {ideal:.2f}s at {args.latency_ms:g} ms latency x {args.concurrency} in "
              f"flight; observed max in flight {stats['max_in_flight']})")
        warm_client = ModelClient(settings)
        warm = asyncio.run(burst(warm_client, args.calls))
        print(f"cached: {args.calls} calls in {warm:.2f}s = {args.calls / warm:.0f} calls/s "
              f"(hits {warm_client.cache.hits}, cache file "
              f"{(Path(tmp) / 'c.sqlite').stat().st_size / 1e6:.1f} MB)")
        print(f"cost of the cold burst: ${client.total_usage.cost_usd:.4f}, "
              f"{client.total_usage.total_tokens:,} tokens")


if __name__ == "__main__":
    main()
