"""``passline demo``: baseline vs candidate (and a regressed prompt) on the dogfood suites.

Runs ``pytest evals/`` once with three variants -- baseline ``sim-1`` + prompts ``v1``,
candidate ``sim-2`` + ``v2``, and ``sim-2`` + ``v3-regressed`` -- on the built-in simulator
(no API key), then compares them with paired statistics, writes the HTML reports and prints
the two gate verdicts.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from passline.cli._output import examples
from passline.errors import ConfigError, ExitCode, InfrastructureError

VARIANTS = (("baseline", "sim-1", "v1"), ("candidate", "sim-2", "v2"),
            ("regressed", "sim-2", "v3-regressed"))
COMPARISONS = (("baseline", "candidate"), ("candidate", "regressed"))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="baseline vs candidate on the built-in simulator, with "
                       "HTML reports and gate verdicts (no API key needed)",
                       **examples("passline demo", "passline demo --trials 1 -k refund "
                                  "--out reports/quick-demo"))
    p.add_argument("--out", default="reports/demo", help="where runs and reports go "
                   "(default reports/demo)")
    p.add_argument("--trials", type=int, default=3,
                   help="trials per case (default 3: sampled answers differ, so flaky cases and "
                   "per-case pass rates show)")
    p.add_argument("--temperature", type=float, default=0.7,
                   help="sampling temperature of the agents' model calls (default 0.7; seeded, "
                   "so the demo is reproducible)")
    p.add_argument("--concurrency", type=int, default=64, help="agent runs in flight")
    p.add_argument("-k", dest="keyword", default=None,
                   help="only evals/cases matching (pytest -k)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also list every failing eval item (pytest's FAILED lines; the reports "
                   "show the same failures with answers and scores)")
    p.add_argument("--check", action="store_true",
                   help="exit 1 unless the candidate passes the gate and the regressed variant "
                   "is caught (what CI asserts)")
    p.set_defaults(func=run)


def find_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "evals").is_dir() and (folder / "golden").is_dir() and (
                folder / "agents").is_dir():
            return folder
    raise ConfigError(
        "passline demo runs the dogfood suites of the passline repository: run it from the root "
        "of a passline clone (where evals/, golden/ and agents/ are). In your own project, run "
        "`pytest evals/ --passline-variant base=MODEL:PROMPTS --passline-variant ...` instead.")


def run(args: argparse.Namespace) -> int:
    from passline.cli._output import console as make_console
    from passline.cli._signals import run_child

    console = make_console()
    root = find_root(Path.cwd())
    out = (root / args.out) if not Path(args.out).is_absolute() else Path(args.out)
    run_root = out / "runs"
    # failures are expected in evals and are read in the reports: keep the terminal short
    # (progress, per-variant totals; -rN drops pytest's ~1,100 FAILED lines unless -v asks)
    # the demo compares its own pairs below (regressed vs candidate, not vs the first variant)
    cmd = [sys.executable, "-m", "pytest", "evals", "-q", "--tb=no", "-o", "addopts=",
           "-rfE" if args.verbose else "-rN",
           "-p", "no:cacheprovider", "--passline-compare=off",
           "--passline-run-dir", str(run_root), "--passline-concurrency", str(args.concurrency)]
    for name, model, prompts in VARIANTS:
        cmd += ["--passline-variant", f"{name}={model}:{prompts}"]
    if args.trials:
        cmd += ["--passline-trials", str(args.trials)]
    cmd += ["--passline-temperature", str(args.temperature)]
    if args.keyword:
        cmd += ["-k", args.keyword]
    console.rule("passline demo")
    console.print("variants: " + ", ".join(f"[bold]{n}[/] = {m} + prompts {p}"
                                           for n, m, p in VARIANTS))
    console.print(f"$ {' '.join(cmd[2:])}\n")
    start = time.perf_counter()
    _calibrate_judge(console, root)
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("PASSLINE_RUN_DIR", None)
    code, stopped_by = run_child(cmd, cwd=root, env=env)  # SIGTERM: the session stops cleanly
    if stopped_by is not None:  # the session said so above and finalised its records
        print(f"passline: demo stopped by {signal.Signals(stopped_by).name}", file=sys.stderr)
        return 128 + stopped_by
    if code not in (0, 1):  # 1 = some cases failed, which evals expect
        raise InfrastructureError(f"the eval session failed with pytest exit code "
                                  f"{code}; see the output above")
    runs = _session_runs(run_root)
    console.rule("verdicts")
    verdicts = {cand: _compare_and_report(console, out, runs[base], runs[cand], run_root, base,
                                          cand) for base, cand in COMPARISONS}
    console.print(f"\ndone in {time.perf_counter() - start:.0f}s; runs in {run_root}")
    console.print("failing cases: open a report above (each regressed case side by side, with "
                  "answers, tool calls, scores and trace)"
                  + ("" if args.verbose else ", or re-run with -v to list every failing item"))
    if args.check and (verdicts["candidate"] == "regressed" or
                       verdicts["regressed"] != "regressed"):
        console.print(f"[red]demo check failed: expected the candidate to pass and the "
                      f"regressed prompts to be caught, got {verdicts}[/]")
        return int(ExitCode.REGRESSION)
    return int(ExitCode.OK)


def _calibrate_judge(console: Any, root: Path) -> None:
    """Measure the judge against the calibration set's labels first, so the reports can say
    how far its scores can be trusted (stored under .passline/judges/, reused by the eval
    run)."""
    import asyncio

    from passline.judge import calibrate, load_rubric, save_calibration
    from passline.models import ModelClient
    from passline.settings import Settings

    settings = Settings.resolve(root=root)
    rubric = load_rubric("answer-quality@1")
    model = settings.judge_model or settings.model

    async def go() -> Any:
        client = ModelClient(settings)
        try:
            return await calibrate(rubric, client=client, model=model)
        finally:
            await client.aclose()

    result = asyncio.run(go())
    save_calibration(result, root=root)
    kappa = result.kappa if result.kappa is not None else float("nan")
    kinds = (result.label_sources or {}).get("kinds") or {}
    who = " and ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or str(result.n_items)
    ci = (result.agreement.get("ci") or {}).get("kappa")
    interval = f" (95% CI {ci[0]:.2f}..{ci[1]:.2f})" if ci else ""
    if result.trusted:
        role = "trusted"
    elif settings.untrusted_judge == "gate":
        role = "untrusted, but untrusted_judge = \"gate\": its scores still fail cases"
    else:
        role = ("untrusted: its scores are shown but do not fail cases or the gate "
                "(untrusted_judge = \"inform\")")
    console.print(f"judge answer-quality@1 on {model}: calibrated against {who} labels of "
                  f"{result.dataset}: Cohen's kappa {kappa:.2f}{interval} -> {role}\n")


def _session_runs(run_root: Path) -> dict[str, Path]:
    from passline.records import list_runs

    newest: dict[str, Path] = {}
    for manifest in list_runs(run_root):  # newest first
        name = (manifest.get("variant") or {}).get("name")
        if name and name not in newest:
            newest[name] = Path(manifest["_path"])
    missing = [n for n, _, _ in VARIANTS if n not in newest]
    if missing:
        raise InfrastructureError(f"no run record for variant(s) {missing} under {run_root}")
    return newest


def _compare_and_report(console: Any, out: Path, baseline: Path, candidate: Path,
                        run_root: Path, base_name: str, cand_name: str) -> str:
    from passline.cli.gate import decide
    from passline.compare import load_policy
    from passline.report._helper import load_sides

    sides = load_sides(baseline, candidate)  # read once: compared, then shown
    # confirmation runs re-run must-pass failures and borderline drops before deciding
    comparison, verdict = decide(str(baseline), str(candidate), load_policy(), confirm=True,
                                 say=lambda line: console.print(f"  [dim]{line}[/]"),
                                 sides=sides)
    colour = {"regressed": "red", "improved": "green"}.get(verdict.status, "yellow")
    console.print(f"[bold]{cand_name}[/] vs [bold]{base_name}[/]: "
                  f"[bold {colour}]{verdict.status.upper()}[/]")
    for reason in verdict.reasons[:6]:
        console.print(f"  - {reason}")
    from passline.report import build_report

    paths = build_report(*sides, out / f"{cand_name}-vs-{base_name}",
                         comparison=comparison, verdict=verdict, history_root=run_root,
                         title=f"{cand_name} vs {base_name}")
    console.print(f"  report: {paths.index_html}")
    console.print(f"  summary for a PR comment: {paths.summary_md}")
    return str(verdict.status)
