"""How fast is the HTML report at scale? Generation time, file sizes, Chromium load time.

Writes two synthetic 10,000-case runs (traces of 7 spans, 2 tool calls, 2-3 scores per
case), then prints
  * seconds for build_report() in full (reading both runs, compare + gate, rendering),
  * seconds for compare() alone (from the run directories), for build_report() given a
    precomputed comparison and verdict, and for both in a row (reading each run twice:
    what `passline report --confirm` and `passline ci gate` did before they read each run
    once, as the pytest plugin's session end does),
  * the sizes of index.html, summary.md and junit.xml,
  * in the system Chromium: ms to DOMContentLoaded, ms until the first page of cases is
    rendered (performance.now() recorded by the page's script), and ms to expand a case,
  * beside each time, the CPU time (user + system) of this process and of the helper
    process that reads the baseline of a large report; this process's peak RSS and the
    machine's load average before and after (wall-clock figures from a busy machine are not
    comparable: see docs/report.md, "Scale").

    .venv/bin/python bench/bench_report.py [--n-cases 10000] [--trials 1] [--repeat 3]
        [--runs DIR (write the runs there once, reuse them next time)] [--no-browser]

Measured on main before and after the 100k work (issue 14): docs/report.md, "Scale".
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from passline.compare import compare, gate, load_policy
from passline.report import build_report
from passline.report._synthetic import write_synthetic_runs

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Median wall seconds, median CPU seconds (this process and its helpers), result."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        c = os.times()
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
        d = os.times()
        cpu.append(sum(getattr(d, f) - getattr(c, f) for f in
                       ("user", "system", "children_user", "children_system")))
    return statistics.median(times), statistics.median(cpu), result


def browser_times(index: Path, repeat: int) -> dict[str, float] | None:
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"dcl": [], "rendered": [], "expand": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(index.resolve().as_uri(), wait_until="domcontentloaded")
            page.wait_for_selector("html[data-rendered-ms]")
            nav = page.evaluate("performance.getEntriesByType('navigation')[0]"
                                ".domContentLoadedEventEnd")
            out["dcl"].append(float(nav))
            out["rendered"].append(float(page.get_attribute("html", "data-rendered-ms")))
            t = time.perf_counter()
            page.click("#case-list .case-row >> nth=0")
            page.wait_for_selector(".detail")
            out["expand"].append((time.perf_counter() - t) * 1000)
            page.close()
        browser.close()
    return {k: statistics.median(v) for k, v in out.items()}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-cases", type=int, default=10_000)
    ap.add_argument("--trials", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--runs", type=Path, default=None,
                    help="write the two runs here (or reuse them if already there)")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium timings")
    args = ap.parse_args()
    print(f"load average before: {load()} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.runs or Path(tmp)
        base_dir, cand_dir = root / "baseline", root / "candidate"
        if not (cand_dir / "manifest.json").exists():
            t = time.perf_counter()
            write_synthetic_runs(root, n_cases=args.n_cases, trials=args.trials,
                                 n_regressed=args.n_cases // 30,
                                 n_improved=args.n_cases // 60, n_errored=20)
            print(f"wrote 2 runs x {args.n_cases} cases x {args.trials} trial(s) in "
                  f"{time.perf_counter() - t:.1f} s")
        print(f"runs: {(cand_dir / 'results.jsonl').stat().st_size / 1e6:.1f} MB per run")
        out = Path(tmp) / "report"
        full, full_cpu, paths = timed(lambda: build_report(base_dir, cand_dir, out),
                                      args.repeat)
        print(f"build_report, full (read + compare + gate + render): {full:.2f} s "
              f"(CPU {full_cpu:.1f} s); load {load()}")
        cmp_s, cmp_cpu, comparison = timed(lambda: compare(base_dir, cand_dir), args.repeat)
        print(f"compare() alone, from the run directories:           {cmp_s:.2f} s "
              f"(CPU {cmp_cpu:.1f} s); load {load()}")
        verdict = gate(comparison, load_policy())
        given, given_cpu, _ = timed(lambda: build_report(base_dir, cand_dir, out,
                                                         comparison=comparison,
                                                         verdict=verdict), args.repeat)
        print(f"build_report, comparison given:                      {given:.2f} s "
              f"(CPU {given_cpu:.1f} s); load {load()}")
        print(f"compare() then build_report(comparison=...) (each run read twice): "
              f"{cmp_s + given:.2f} s")
        for name in ("index_html", "summary_md", "junit_xml"):
            size = getattr(paths, name).stat().st_size
            print(f"{getattr(paths, name).name:<11} {size / 1e6:8.2f} MB")
        # (a helper process's own peak is not known here: RUSAGE_CHILDREN counts this
        # process's size at the fork; `/usr/bin/time -v python -m passline.report._helper
        # RUN_DIR > /dev/null` measures it)
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
              f"load average after: {load()}")
        times = None if args.no_browser else browser_times(paths.index_html, args.repeat)
        if args.no_browser:
            pass
        elif times is None:
            print(f"{CHROMIUM} missing: no browser timings")
        else:
            print(f"Chromium: DOMContentLoaded {times['dcl']:.0f} ms, first page rendered "
                  f"{times['rendered']:.0f} ms, expand a case {times['expand']:.0f} ms")


if __name__ == "__main__":
    main()
