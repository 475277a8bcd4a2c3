"""Load: a 5,000-case session at concurrency 64 on the simulator, and what it leaves behind.

    .venv/bin/python bench/bench_load.py [--cases 5000] [--concurrency 64] [--latency-ms 50]

The simulator runs in its own process (as a real endpoint would). Prints:
1. agent-run wall time (first start to last finish) against the model-layer ideal
   cases x calls_per_case x latency / concurrency, and the whole session's wall time;
2. peak RSS of the pytest process;
3. what is left in the process after the session (measured in pytest_unconfigure, after
   passline closed its runner): pending asyncio tasks, open sockets, open journal/cache files,
   live passline threads -- all should be 0;
4. rows written vs cases, and the completion state of the record.

The same check at CI size is tests/test_reliability.py::test_a_session_under_load_leaks_nothing.
Wall-clock figures mean something only on an idle machine: the script prints the load average.
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
        message = {{"role": "user", "content": case_input["message"] + " step " + str(step)}}
        r = await ctx.client.chat([message], model=ctx.model, trial=ctx.trial)
        usage = usage + r.usage
    return AgentRun(answer=case_input["message"], usage=usage)
'''
EVAL = '''
import passline
from passline.scoring import required_facts

@passline.eval("load@v1", scorers=[required_facts()])
def test_case(run):
    pass
'''
# what the session leaves behind, measured after passline closed everything
CONFTEST = '''
import asyncio, json, os, threading

def pytest_unconfigure(config):
    from passline.plugin import SESSION_KEY

    session = config.stash.get(SESSION_KEY, None)
    runner = getattr(session, "_runner", None)
    links = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    report = {
        "leftover_tasks": getattr(runner, "leftover_tasks", None),
        "loop_closed": runner._loop.is_closed() if runner is not None else None,
        "open_sockets": sum(1 for link in links if link.startswith("socket:")),
        "open_record_files": sorted(link for link in links
                                    if link.endswith((".sqlite", ".jsonl", "-wal", "-shm"))),
        "passline_threads": sorted(t.name for t in threading.enumerate()
                                   if t.name.startswith("passline") and t.is_alive()),
    }
    with open(os.environ["LOAD_REPORT"], "w") as fh:
        json.dump(report, fh)
'''


def make_project(root: Path, n: int) -> None:
    data = root / "golden" / "load" / "v1"
    data.mkdir(parents=True)
    with open(data / "data.jsonl", "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"case-{i:05d}", "input": {"message": f"hello {i}"},
                                "expected": {"facts": [f"hello {i}"]}}) + "\n")
    (data / "card.md").write_text("# load\n")
    (root / "pyproject.toml").write_text(
        '[tool.passline]\nagent = "loadagent:agent"\nmodel = "sim-1"\nrun_dir = "runs"\n'
        '[tool.pytest.ini_options]\npythonpath = ["."]\n')
    (root / "loadagent.py").write_text(AGENT)
    (root / "test_load.py").write_text(EVAL)
    (root / "conftest.py").write_text(CONFTEST)


def run_session(root: Path, n: int, concurrency: int, latency_ms: float) -> dict:
    """One pytest session against a simulator process; the figures as a dict."""
    sim = subprocess.Popen([sys.executable, "-m", "passline", "sim", "serve", "--latency-ms",
                            str(latency_ms)], stdout=subprocess.PIPE, text=True)
    try:
        url = sim.stdout.readline().strip() if sim.stdout else ""
        report = root / "leftovers.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PASSLINE_")}
        env.update(LOAD_REPORT=str(report), PASSLINE_BASE_URL=url)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"--passline-concurrency={concurrency}"], cwd=root, env=env,
                              capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    finally:
        sim.terminate()
        sim.wait()
    if proc.returncode != 0:
        raise SystemExit(f"pytest failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                         f"{proc.stderr[-2000:]}")
    (run_dir,) = [p for p in (root / "runs").iterdir() if p.is_dir()]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    rows = len((run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines())
    ideal = n * CALLS_PER_CASE * latency_ms / 1000 / concurrency
    return {"cases": n, "concurrency": concurrency, "latency_ms": latency_ms,
            "runs_wall_s": manifest["timings"]["runs_wall_s"], "session_wall_s": wall,
            "ideal_s": ideal, "peak_rss_mb": rss_mb, "rows": rows,
            "completion": (manifest.get("completion") or {}).get("state"),
            **json.loads(report.read_text())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (figures are meaningful below 1.5)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, args.cases)
        r = run_session(root, args.cases, args.concurrency, args.latency_ms)
    print(f"1. {r['cases']} cases x {CALLS_PER_CASE} calls at {r['latency_ms']:g} ms, "
          f"concurrency {r['concurrency']}: agent runs {r['runs_wall_s']:.1f}s vs the "
          f"model-layer ideal {r['ideal_s']:.1f}s (ratio {r['runs_wall_s'] / r['ideal_s']:.2f}); "
          f"whole session {r['session_wall_s']:.1f}s incl. start-up, collection, scoring")
    print(f"2. peak RSS of the pytest process: {r['peak_rss_mb']:.0f} MB")
    print(f"3. left after the session: {r['leftover_tasks']} pending tasks (loop closed: "
          f"{r['loop_closed']}), {r['open_sockets']} open sockets, "
          f"{len(r['open_record_files'])} open record/cache files, "
          f"{len(r['passline_threads'])} passline threads {r['passline_threads'] or ''}")
    print(f"4. {r['rows']} rows for {r['cases']} cases; record {r['completion']}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
