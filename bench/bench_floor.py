"""passline against the floor: a bare asyncio loop over ``openai.AsyncOpenAI``.

    .venv/bin/python bench/bench_floor.py [--n 200,1000] [--c 16,32] [--rounds 3]
        [--latency-ms 200] [--style client|own] [--profile] [--cases-per-item K]

A mock OpenAI-compatible endpoint (starlette on uvicorn, in its own process) answers every
chat completion after a fixed latency and counts requests and the most in flight. For each
(N, C), in interleaved rounds, two whole processes are timed from launch to exit:

- **floor**: ``python floor.py`` -- imports ``openai``, makes N one-call requests with an
  ``asyncio.Semaphore(C)``, exits;
- **passline**: ``python -m pytest evals`` in a generated third-party project -- N golden
  cases, one eval, an agent making one model call per case the documented way
  (``--style client``: ``ctx.client.chat``; ``--style own``: its own ``AsyncOpenAI``
  client, captured by passline), ``concurrency = C``, cache off.

``--cases-per-item K`` runs K cases per pytest item (``--passline-cases-per-item``; the
default, 1, is one item per case as most projects run).

It prints the ratio passline / floor per round and the median, plus start-up (N=1) for both.
``--profile`` runs one passline session of the largest N under py-spy (every thread; samples
taken while a thread holds the GIL) and prints its top frames by inclusive and own samples;
without py-spy installed it falls back to cProfile of the main thread.

Both sides run in a clean virtual environment holding only
passline and what it needs (``.passline/bench-venv``, made on first use with
``pip install -e .``; ``--venv DIR`` picks another), as a user's project would: the test
plugins of the dev environment (hypothesis, xdist, langsmith via LangChain) are not charged
to passline. Byte-code caching is on (users have it) and every configuration runs once
before timing. Wall-clock figures only mean something on an idle
machine: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MOCK = '''
import asyncio, json, sys, time
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
import uvicorn

LATENCY = float(sys.argv[1]) / 1000
state = {"requests": 0, "in_flight": 0, "max_in_flight": 0}
BODY = json.dumps({
    "id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": "mock-1",
    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                 "message": {"role": "assistant", "content": "The order shipped.",
                             "refusal": None}}],
    "usage": {"prompt_tokens": 42, "completion_tokens": 5, "total_tokens": 47}}).encode()

async def chat(request):
    state["requests"] += 1
    state["in_flight"] += 1
    state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
    try:
        await request.body()
        await asyncio.sleep(LATENCY)
        return Response(BODY, media_type="application/json")
    finally:
        state["in_flight"] -= 1

async def stats(request):
    return JSONResponse(state)

async def reset(request):
    state.update(requests=0, max_in_flight=0)
    return JSONResponse(state)

app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                        Route("/stats", stats), Route("/reset", reset, methods=["POST"])])
config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False,
                        lifespan="off", backlog=4096)
server = uvicorn.Server(config)

async def main():
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}/v1", flush=True)
    await task

asyncio.run(main())
'''

FLOOR = '''
import asyncio, sys
import openai

async def main(url, n, c):
    client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0)
    sem = asyncio.Semaphore(c)

    async def one(i):
        async with sem:
            r = await client.chat.completions.create(
                model="mock-1", messages=[{"role": "user", "content": f"status of order {i}"}])
            return r.choices[0].message.content

    out = await asyncio.gather(*(one(i) for i in range(n)))
    assert len(out) == n

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
'''

AGENTS = {
    "client": '''
async def run(case_input, ctx):
    reply = await ctx.client.chat([{"role": "user", "content": case_input["message"]}],
                                  model=ctx.model, trial=ctx.trial)
    return reply.content or ""
''',
    "own": '''
from openai import AsyncOpenAI

client = None


async def run(case_input, ctx):
    global client
    client = client or AsyncOpenAI(max_retries=0)
    reply = await client.chat.completions.create(
        model=ctx.model, messages=[{"role": "user", "content": case_input["message"]}])
    return reply.choices[0].message.content or ""
''',
}

EVAL = '''
import passline


@passline.eval("orders@v1")
def test_answers(run, case):
    assert run.answer
'''


REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable  # replaced by the clean venv's interpreter in main()


def clean_venv(path: Path) -> str:
    """A venv with only passline (and its dependencies) installed; made once."""
    python = path / "bin" / "python"
    if not python.exists():
        print(f"making a clean venv for the bench at {path} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(REPO)],
                       check=True, env=_env())
    return str(python)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PASSLINE_", "OPENAI_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users cache byte code
    return env


@contextmanager
def mock_endpoint(latency_ms: float) -> Iterator[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(MOCK)
    proc = subprocess.Popen([PYTHON, fh.name, str(latency_ms)], stdout=subprocess.PIPE,
                            text=True, env=_env())
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()
        os.unlink(fh.name)


def make_project(root: Path, n: int, c: int, url: str, style: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(f'''
        [project]
        name = "orders-bot"

        [tool.passline]
        agent = "bot:run"
        model = "mock-1"
        prompts = "v1"
        base_url = "{url}"
        concurrency = {c}

        [tool.pytest.ini_options]
        pythonpath = ["."]
    '''))
    (root / "bot.py").write_text(AGENTS[style])
    (root / "evals").mkdir(exist_ok=True)
    (root / "evals" / "test_orders.py").write_text(EVAL)
    data = root / "golden" / "orders" / "v1"
    data.mkdir(parents=True, exist_ok=True)
    (data / "data.jsonl").write_text("".join(
        json.dumps({"id": f"q-{i:06d}", "input": {"message": f"Where is order ORD-{i}?"}})
        + "\n" for i in range(n)))
    (data / "card.md").write_text("# orders\n\nGenerated by bench/bench_floor.py.\n")
    subprocess.run([PYTHON, "-m", "passline", "golden", "lock"], cwd=root, check=True,
                   capture_output=True, env=_env())


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}"
                         f"\n{proc.stderr[-2000:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", default="200,1000")
    ap.add_argument("--c", default="16,32")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--style", choices=sorted(AGENTS), default="client")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--cases-per-item", type=int, default=1)
    ap.add_argument("--venv", default=str(REPO / ".passline" / "bench-venv"))
    args = ap.parse_args()
    global PYTHON
    PYTHON = clean_venv(Path(args.venv))
    ns = [int(x) for x in args.n.split(",")]
    cs = [int(x) for x in args.c.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    floor_py = work / "floor.py"
    floor_py.write_text(FLOOR)
    env = _env()
    with mock_endpoint(args.latency_ms) as url:
        env_p = env | {"PASSLINE_RUN_DIR": str(work / "runs")}
        pytest_cmd = [PYTHON, "-m", "pytest", "evals", "-q", "-p", "no:cacheprovider",
                      f"--passline-cases-per-item={args.cases_per_item}"]
        # start-up: one case, no latency worth counting against the two
        startup = make_project_at(work, 1, 1, url, args.style)
        timed(pytest_cmd, startup, env_p)
        timed([PYTHON, str(floor_py), url, "1", "1"], work, env)
        starts: dict[str, list[float]] = {"floor": [], "passline": []}
        for _ in range(args.rounds):
            starts["floor"].append(timed([PYTHON, str(floor_py), url, "1", "1"], work,
                                         env))
            starts["passline"].append(timed(pytest_cmd, startup, env_p))
        print(f"latency {args.latency_ms:g} ms, agent style {args.style!r}, "
              f"{args.cases_per_item} case(s) per pytest item, "
              f"{args.rounds} interleaved rounds; load average {os.getloadavg()[0]:.2f}")
        print(f"start-up (N=1): floor {statistics.median(starts['floor']):.2f} s, passline "
              f"{statistics.median(starts['passline']):.2f} s ("
              f"{statistics.median(starts['passline']) - statistics.median(starts['floor']):+.2f}"
              " s)")
        print(f"{'N':>6} {'C':>4} {'floor s':>8} {'passline s':>10}  ratio per round -> median")
        for n in ns:
            for c in cs:
                project = make_project_at(work, n, c, url, args.style)
                timed(pytest_cmd, project, env_p)  # warm: byte code, page cache
                floors, passes, ratios = [], [], []
                for _ in range(args.rounds):
                    f = timed([PYTHON, str(floor_py), url, str(n), str(c)], work, env)
                    p = timed(pytest_cmd, project, env_p)
                    floors.append(f)
                    passes.append(p)
                    ratios.append(p / f)
                print(f"{n:>6} {c:>4} {statistics.median(floors):>8.2f} "
                      f"{statistics.median(passes):>10.2f}  "
                      f"{' '.join(f'{r:.3f}' for r in ratios)} -> "
                      f"{statistics.median(ratios):.3f}")
        if args.profile:
            n, c = max(ns), max(cs)
            profile(make_project_at(work, n, c, url, args.style), pytest_cmd, env_p, work,
                    f"N={n} C={c}")


def profile(project: Path, pytest_cmd: list[str], env: dict[str, str], work: Path,
            what: str) -> None:
    """One passline session under py-spy (every thread, samples taken while a thread holds
    the GIL: where the CPU that serialises the session goes), or cProfile (main thread
    only) when py-spy is not installed."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        prof = work / "passline.prof"
        timed([PYTHON, "-m", "cProfile", "-o", str(prof), *pytest_cmd[1:]], project, env)
        import pstats

        print(f"\nprofile of one passline session, {what} (cProfile, main thread only; "
              "pip install py-spy for every thread):")
        stats = pstats.Stats(str(prof))
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(25)
        return
    raw = work / "passline.spy"
    timed([spy, "record", "-r", "250", "--gil", "--threads", "-f", "raw", "-o", str(raw),
           "--", *pytest_cmd], project, env)
    threads: Counter[str] = Counter()
    inclusive: Counter[tuple[str, str]] = Counter()
    own: Counter[tuple[str, str]] = Counter()
    for line in raw.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        frames = stack.split(";")
        thread = "runner" if "passline-runner" in frames[0] else \
            "main" if "MainThread" in frames[0] or "passline-runner" not in stack else "other"
        threads[thread] += int(count)
        names = [_frame(f) for f in frames[1:]]
        for name in set(names):
            inclusive[(thread, name)] += int(count)
        if names:
            own[(thread, names[-1])] += int(count)
    total = sum(threads.values())
    print(f"\nprofile of one passline session, {what} (py-spy, 250 Hz, samples holding the "
          f"GIL; {total} samples = {total / 250:.1f} s): "
          + ", ".join(f"{t} thread {k / total:.0%}" for t, k in threads.most_common()))
    print("top frames of passline and pytest by inclusive samples:")
    keep = [(k, v) for k, v in inclusive.most_common()
            if any(m in k[1] for m in ("passline/", "_pytest/runner", "_pytest/fixtures",
                                       "openai/", "httpx2/_client"))]
    for (thread, name), count in keep[:25]:
        print(f"  {count / total:6.1%}  {thread:<6} {name}")
    print("top frames by own samples:")
    for (thread, name), count in own.most_common(15):
        print(f"  {count / total:6.1%}  {thread:<6} {name}")


def _frame(frame: str) -> str:
    """``fn (path/to/site-packages/pkg/mod.py:12)`` -> ``fn (pkg/mod.py)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/lib/python3."):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})"


def make_project_at(work: Path, n: int, c: int, url: str, style: str) -> Path:
    root = work / f"project-{style}-{n}-{c}"
    if not (root / "golden" / "golden.lock").exists():
        make_project(root, n, c, url, style)
    return root


if __name__ == "__main__":
    main()
