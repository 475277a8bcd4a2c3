"""Plugin throughput and overhead, measured on a generated project.

    .venv/bin/python bench/bench_plugin.py [--cases 300] [--latency-ms 200] [--concurrency 32]

Prints:
1. wall time of N cases at L ms simulated latency and concurrency C vs the ideal
   calls_per_case x N x L / C (target ratio <= 1.15);
2. plugin overhead per item at 0 latency when every call is replayed from the cache
   (session time minus a session of the same size with no passline items, per item);
3. peak memory (max RSS) of a 5,000-case session.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CALLS_PER_CASE = 2
AGENT = f'''
from passline import AgentRun, Usage

async def agent(case_input, ctx):
    usage = Usage()
    for step in range({CALLS_PER_CASE}):
        message = {{"role": "user", "content": case_input["message"] + str(step)}}
        r = await ctx.client.chat([message], model=ctx.model, trial=ctx.trial)
        usage = usage + r.usage
    return AgentRun(answer=case_input["message"], usage=usage)
'''
EVAL = '''
import passline
from passline.scoring import required_facts

@passline.eval("bench@v1", scorers=[required_facts()])
def test_case(run):
    pass
'''
PLAIN = '''
import pytest

@pytest.mark.parametrize("i", range({n}))
def test_case(i):
    pass
'''


def make_project(root: Path, n: int) -> None:
    data = root / "golden" / "bench" / "v1"
    data.mkdir(parents=True)
    with open(data / "data.jsonl", "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"case-{i:05d}", "input": {"message": f"hello {i}"},
                                "expected": {"facts": [f"hello {i}"]}}) + "\n")
    (data / "card.md").write_text("# bench\n")
    (root / "pyproject.toml").write_text(
        '[tool.passline]\nagent = "benchagent:agent"\nmodel = "sim-1"\n'
        '[tool.pytest.ini_options]\npythonpath = ["."]\n')
    (root / "benchagent.py").write_text(AGENT)
    (root / "test_bench.py").write_text(EVAL)


def pytest_session(root: Path, *args: str, env: dict[str, str] | None = None
                   ) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:randomly", *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"pytest {args} in {root} failed ({proc.returncode}):\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return elapsed, proc.returncode


def last_manifest(root: Path) -> dict:
    runs = sorted((root / "reports" / "runs").iterdir())
    return dict(json.loads((runs[-1] / "manifest.json").read_text()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--memory-cases", type=int, default=5000)
    args = ap.parse_args()
    env = {"PASSLINE_RUN_DIR": "reports/runs"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        root.mkdir()
        make_project(root, args.cases)
        startup = min(pytest_session(root, "--collect-only", env=env)[0] for _ in range(3))
        # the endpoint runs in its own process, as a real one would
        sim = subprocess.Popen([sys.executable, "-m", "passline", "sim", "serve", "--latency-ms",
                                str(args.latency_ms)], stdout=subprocess.PIPE, text=True)
        try:
            url = sim.stdout.readline().strip() if sim.stdout else ""
            wall, _ = pytest_session(root, f"--passline-base-url={url}",
                                     "--passline-concurrency", str(args.concurrency), env=env)
        finally:
            sim.terminate()
            sim.wait()
        ideal = CALLS_PER_CASE * args.cases * args.latency_ms / 1000 / args.concurrency
        timings = last_manifest(root)["timings"]
        work = timings["runs_wall_s"]
        print(f"1. {args.cases} cases x {CALLS_PER_CASE} calls at {args.latency_ms:g} ms, "
              f"concurrency {args.concurrency}: agent runs took {work:.2f}s (first start to "
              f"last finish; whole session {wall:.2f}s incl. {startup:.2f}s startup and "
              f"collection); ideal {ideal:.2f}s; ratio {work / ideal:.3f} (target <= 1.15)")

        cache = str(Path(tmp) / "cache.sqlite")
        pytest_session(root, "--passline-cache", "rw", f"--passline-cache-path={cache}", env=env)
        replay = min(pytest_session(root, "--passline-cache", "replay",
                                    f"--passline-cache-path={cache}", env=env)[0]
                     for _ in range(3))
        plain_root = Path(tmp) / "plain"
        plain_root.mkdir()
        (plain_root / "test_plain.py").write_text(PLAIN.format(n=args.cases))
        (plain_root / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
        plain = min(pytest_session(plain_root)[0] for _ in range(3))
        print(f"2. replayed session of {args.cases} items: {replay:.2f}s vs {plain:.2f}s for "
              f"{args.cases} plain pytest items -> passline overhead "
              f"{(replay - plain) / args.cases * 1000:.2f} ms per item (target <= 2 ms; includes "
              "importing datasets/openai once)")

        big = Path(tmp) / "big"
        big.mkdir()
        make_project(big, args.memory_cases)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        big_wall, _ = pytest_session(big, "--passline-concurrency", "64", env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"3. {args.memory_cases} cases at 0 latency: {big_wall:.1f}s, peak RSS "
              f"{max(before, after) / 1024:.0f} MB")


if __name__ == "__main__":
    main()
