"""passline at scale: peak memory and wall time of a large session against the floor.

    .venv/bin/python bench/bench_scale.py [--n 100000] [--c 64] [--latency-ms 50]
        [--rounds 1] [--style client|own] [--only passline|floor] [--tracemalloc]
        [--cases-per-item K]

The same pieces as ``bench/bench_floor.py`` (its mock endpoint, its floor script, its
generated third-party project, its clean venv; imported, not copied): for N one-call cases
at concurrency C against the mock with a fixed latency, each side runs as a whole process
under ``/usr/bin/time -f %M``, and the bench prints its wall time, its peak resident set
size (RSS) and the ratio passline / floor. The run record's size and the mock's request
count and most-in-flight gauge are printed too (so a passline run that did not overlap its
calls shows as such).

``--tracemalloc`` adds one more passline session with ``PYTHONTRACEMALLOC`` on and a
``conftest.py`` hook that, at the end of the session, prints the top allocation sites still
alive and counts of live objects by type (what is retained per case, and by whom: pytest's
items and reports, or passline's rows, runs and captures). It is slow (tracing every
allocation); use a smaller N with it.

``--cases-per-item K`` runs passline with K golden cases per pytest item
(``--passline-cases-per-item``): pytest's own memory per item then no longer grows with N.

Wall-clock figures only mean something on an idle machine: the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_floor

TIME = "/usr/bin/time"

PROBE = '''
import gc, os, sys, tracemalloc
from collections import Counter

def pytest_sessionfinish(session, exitstatus):
    # after passline's own sessionfinish (which finalises records) would be better, but
    # what is alive here is what the session held while it ran
    gc.collect()
    snap = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
    out = []
    if snap is not None:
        stats = snap.statistics("lineno")
        total = sum(s.size for s in stats)
        out.append(f"tracemalloc: {total / 1e6:.1f} MB alive in {len(stats)} sites; top 25:")
        for s in stats[:25]:
            frame = s.traceback[0]
            out.append(f"  {s.size / 1e6:8.2f} MB {s.count:>9} blocks  "
                       f"{frame.filename}:{frame.lineno}")
        by_file = Counter()
        for s in stats:
            f = s.traceback[0].filename
            key = ("passline" if "/passline/" in f else "_pytest" if "/_pytest/" in f
                   else "pluggy" if "/pluggy/" in f else "openai/httpx" if any(
                       p in f for p in ("/openai/", "/httpx/", "/httpcore/", "/h11/"))
                   else "other")
            by_file[key] += s.size
        out.append("alive by allocating package: " + ", ".join(
            f"{k} {v / 1e6:.1f} MB" for k, v in by_file.most_common()))
    counts = Counter(type(o).__name__ for o in gc.get_objects())
    out.append("live objects by type (top 20): " + ", ".join(
        f"{k} {v}" for k, v in counts.most_common(20)))
    with open(os.environ["BENCH_SCALE_PROBE_OUT"], "w") as fh:
        fh.write("\\n".join(out) + "\\n")
'''


def measured(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one whole process. A process that fails still
    has its figures printed (with the end of its output) before the bench stops."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as fh:
        start = time.perf_counter()
        proc = subprocess.run([TIME, "-f", "%M", "-o", fh.name, *cmd], cwd=cwd, env=env,
                              capture_output=True, text=True)
        took = time.perf_counter() - start
        rss_kb = int(fh.read().strip().splitlines()[-1])
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}) after {took:.1f} s, "
                             f"peak RSS {rss_kb / 1024:.0f} MB:\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return took, rss_kb / 1024


def mock_stats(url: str, reset: bool = False) -> dict[str, int]:
    base = url.rsplit("/v1", 1)[0]
    req = urllib.request.Request(f"{base}/{'reset' if reset else 'stats'}",
                                 method="POST" if reset else "GET")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def record_size(runs: Path) -> str:
    sizes = {p.name: p.stat().st_size for p in runs.rglob("*") if p.is_file()}
    return ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(sizes.items())
                     if k.endswith((".jsonl", ".json")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--c", type=int, default=64)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--style", choices=sorted(bench_floor.AGENTS), default="client")
    ap.add_argument("--only", choices=("passline", "floor"), default=None)
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument("--cases-per-item", type=int, default=1)
    ap.add_argument("--venv", default=str(bench_floor.REPO / ".passline" / "bench-venv"))
    args = ap.parse_args()
    bench_floor.PYTHON = bench_floor.clean_venv(Path(args.venv))
    python = bench_floor.PYTHON
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    floor_py = work / "floor.py"
    floor_py.write_text(bench_floor.FLOOR)
    env = bench_floor._env()
    print(f"N={args.n} C={args.c} latency {args.latency_ms:g} ms, style {args.style!r}; "
          f"cases per pytest item {args.cases_per_item}; "
          f"load average at start {os.getloadavg()[0]:.2f}", flush=True)
    with bench_floor.mock_endpoint(args.latency_ms) as url:
        t = time.perf_counter()
        project = bench_floor.make_project_at(work, args.n, args.c, url, args.style)
        print(f"project generated in {time.perf_counter() - t:.1f} s", flush=True)
        pytest_cmd = [python, "-m", "pytest", "evals", "-q", "-p", "no:cacheprovider",
                      f"--passline-cases-per-item={args.cases_per_item}"]
        for r in range(args.rounds):
            runs = work / f"runs-{r}"
            env_p = env | {"PASSLINE_RUN_DIR": str(runs)}
            row = [f"round {r + 1}:"]
            floor_wall = None
            if args.only in (None, "floor"):
                mock_stats(url, reset=True)
                floor_wall, floor_rss = measured(
                    [python, str(floor_py), url, str(args.n), str(args.c)], work, env)
                s = mock_stats(url)
                row.append(f"floor {floor_wall:.1f} s, {floor_rss:.0f} MB "
                           f"(max in flight {s['max_in_flight']});")
            if args.only in (None, "passline"):
                mock_stats(url, reset=True)
                wall, rss = measured(pytest_cmd, project, env_p)
                s = mock_stats(url)
                row.append(f"passline {wall:.1f} s, {rss:.0f} MB (requests {s['requests']}, "
                           f"max in flight {s['max_in_flight']})")
                if floor_wall:
                    row.append(f"-> ratio {wall / floor_wall:.3f}")
                row.append(f"; record: {record_size(runs)}")
            row.append(f"; load average {os.getloadavg()[0]:.2f}")
            print(" ".join(row), flush=True)
        if args.tracemalloc:
            (project / "conftest.py").write_text(PROBE)
            out = work / "probe.txt"
            env_t = env | {"PASSLINE_RUN_DIR": str(work / "runs-probe"),
                           "PYTHONTRACEMALLOC": "1", "BENCH_SCALE_PROBE_OUT": str(out)}
            wall, rss = measured(pytest_cmd, project, env_t)
            (project / "conftest.py").unlink()
            print(f"\ntraced session (tracemalloc on, so slower and larger): {wall:.1f} s, "
                  f"{rss:.0f} MB")
            print(out.read_text())


if __name__ == "__main__":
    main()
