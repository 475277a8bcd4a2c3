"""The timing figures of docs/reliability.md, measured on generated projects.

    .venv/bin/python bench/bench_reliability.py [--only NAME ...]

Prints, with the load average (figures mean something below 1.5):
1. journal: cost of journaling one model call (put) and of the lookup before each call (get),
   and a 600-call session with and without the journal;
2. dead endpoint (connection refused): a 170-case suite, default settings -- session seconds
   and exit code;
3. silent endpoint (accepts, never answers): a 170-case suite with default timeouts;
4. stuck sync agent (sleeps forever), run_timeout_s=2, default grace: seconds from start to
   process exit, and the record's completion state;
5. kill -9 at about half a run + --passline-resume: simulator requests before and after, rows.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AGENT = '''
import os, signal, time
from passline import AgentRun, Usage

async def agent(case_input, ctx):
    usage = Usage()
    for step in range(int(os.environ.get("CALLS", "2"))):
        r = await ctx.client.chat([{"role": "user", "content": case_input["message"] +
                                    f" step {step}"}], model=ctx.model, trial=ctx.trial)
        usage = usage + r.usage
        if case_input["message"] == os.environ.get("KILL_AT"):
            os.kill(os.getpid(), signal.SIGKILL)
    return AgentRun(answer=case_input["message"], usage=usage)

def stuck(case_input, ctx):
    time.sleep(10**6)

def quick(case_input, ctx):
    time.sleep(2)  # as long as the stuck one is allowed to run
    return AgentRun(answer="done")
'''
EVAL = '''
import passline

@passline.eval("rel@v1")
def test_case(run):
    pass
'''


def make_project(root: Path, n: int, agent: str = "relagent:agent", extra: str = "") -> Path:
    data = root / "golden" / "rel" / "v1"
    data.mkdir(parents=True)
    (data / "data.jsonl").write_text("".join(json.dumps(
        {"id": f"c{i}", "input": {"message": f"case {i}"}, "expected": {}}) + "\n"
        for i in range(n)))
    (data / "card.md").write_text("# rel\n")
    (root / "pyproject.toml").write_text(
        f'[tool.passline]\nagent = "{agent}"\nmodel = "sim-1"\nrun_dir = "runs"\n{extra}\n'
        '[tool.pytest.ini_options]\npythonpath = ["."]\n')
    (root / "relagent.py").write_text(AGENT)
    (root / "test_rel.py").write_text(EVAL)
    return root


def pytest(root: Path, *args: str, **env: str) -> tuple[int, float, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PASSLINE_")}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=root, env={**clean, **env}, capture_output=True, text=True,
                          check=False)
    return proc.returncode, time.perf_counter() - start, proc.stdout + proc.stderr


def manifest(root: Path) -> dict:
    (run_dir,) = [p for p in (root / "runs").iterdir() if p.is_dir()]
    return dict(json.loads((run_dir / "manifest.json").read_text()))


class Sim:
    def __init__(self, latency_ms: float = 0.0) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "passline", "sim", "serve",
                                      "--latency-ms", str(latency_ms)], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def requests(self) -> int:
        import urllib.request

        with urllib.request.urlopen(self.url.replace("/v1", "/sim/stats"), timeout=5) as r:
            return int(json.load(r)["requests"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def bench_journal(tmp: Path) -> None:
    import asyncio

    from passline.models import CallJournal, ModelClient
    from passline.settings import Settings

    journal = CallJournal(tmp / "j.sqlite")
    response = {"choices": [{"message": {"content": "x" * 600}}], "usage": {}}
    n = 2000
    start = time.perf_counter()
    for i in range(n):
        journal.put(f"key-{i}", {}, response)
    put_us = (time.perf_counter() - start) / n * 1e6
    reader = CallJournal(tmp / "j.sqlite")
    start = time.perf_counter()
    for i in range(n):
        reader.get(f"miss-{i}", {})
    get_us = (time.perf_counter() - start) / n * 1e6
    sim = Sim()
    try:
        async def session(with_journal: bool) -> float:
            client = ModelClient(Settings.resolve({"base_url": sim.url}, env={}),
                                 journal=CallJournal(tmp / f"s{time.time_ns()}.sqlite")
                                 if with_journal else None)
            start = time.perf_counter()
            sem = asyncio.Semaphore(32)

            async def one(i: int) -> None:
                async with sem:
                    await client.chat([{"role": "user", "content": f"q {i}"}], model="sim-1")
            await asyncio.gather(*(one(i) for i in range(600)))
            await client.aclose()
            return time.perf_counter() - start

        without = min(asyncio.run(session(False)) for _ in range(3))
        with_j = min(asyncio.run(session(True)) for _ in range(3))
    finally:
        sim.stop()
    print(f"1. journal: put {put_us:.0f} us/call, lookup {get_us:.0f} us/call; 600 calls at "
          f"concurrency 32 on a 0-latency simulator: {without:.2f}s without, {with_j:.2f}s with "
          f"the journal ({(with_j - without) / 600 * 1e6:+.0f} us/call)")


def bench_dead(tmp: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = make_project(tmp / "dead", 170)
    code, wall, _ = pytest(root, PASSLINE_BASE_URL=f"http://127.0.0.1:{port}/v1")
    m = manifest(root)
    print(f"2. dead endpoint (connection refused), 170 cases, default settings: exit {code}, "
          f"session {m['timings']['session_wall_s']:.1f}s (process {wall:.1f}s), "
          f"{m['totals']['errors']} error rows, record {m['completion']['state']}")


def bench_silent(tmp: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1024)
    try:
        root = make_project(tmp / "silent", 170)
        code, _, _ = pytest(root, PASSLINE_BASE_URL=f"http://127.0.0.1:"
                               f"{server.getsockname()[1]}/v1")
    finally:
        server.close()
    m = manifest(root)
    print(f"3. silent endpoint (accepts, never answers), 170 cases, default timeouts "
          f"(timeout_s=60): exit {code}, session {m['timings']['session_wall_s']:.1f}s, "
          f"{m['totals']['errors']} error rows")


def bench_stuck(tmp: Path) -> None:
    root = make_project(tmp / "stuck", 4, agent="relagent:stuck", extra="run_timeout_s = 2")
    code, wall, _ = pytest(root)
    m = manifest(root)
    quick = make_project(tmp / "quick", 4, agent="relagent:quick", extra="run_timeout_s = 10")
    _, same, _ = pytest(quick)
    print(f"4. sync agent sleeping forever, run_timeout_s=2, shutdown_grace_s=5: process exited "
          f"after {wall:.1f}s with exit {code} ({same:.1f}s for the same session whose agent "
          f"returns after 2 s); record {m['completion']['state']}, "
          f"{m['totals']['errors']}/{m['totals']['n']} timed out")


def bench_resume(tmp: Path) -> None:
    sim = Sim(latency_ms=20)
    try:
        root = make_project(tmp / "resume", 40, extra="concurrency = 1")
        code, _, _ = pytest(root, PASSLINE_BASE_URL=sim.url, KILL_AT="case 20")
        before = sim.requests()
        run_dir = next(p for p in (root / "runs").iterdir() if p.is_dir())
        kept = len((run_dir / "results.jsonl").read_text().splitlines())
        code2, _, _ = pytest(root, f"--passline-resume={run_dir.name}",
                                PASSLINE_BASE_URL=sim.url)
        after = sim.requests()
        rows = (run_dir / "results.jsonl").read_text().splitlines()
        ids = [json.loads(r)["case_id"] for r in rows]
    finally:
        sim.stop()
    print(f"5. kill -9 at case 20 of 40 (2 calls each): exit {code} (-{signal.SIGKILL}: "
          f"killed), {kept} rows kept, {before} calls made; --passline-resume: exit {code2}, "
          f"{after - before} more calls ({after} in all for {40 * 2} needed), {len(ids)} rows, "
          f"{len(ids) - len(set(ids))} duplicates, record {manifest(root)['completion']['state']}")


BENCHES = {"journal": bench_journal, "dead": bench_dead, "silent": bench_silent,
           "stuck": bench_stuck, "resume": bench_resume}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", choices=sorted(BENCHES), default=None)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in BENCHES.items():
            if args.only is None or name in args.only:
                fn(Path(tmp))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
