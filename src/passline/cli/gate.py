"""``passline gate BASELINE CANDIDATE``: compare two runs and exit with the gate's verdict."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from passline.cli._output import add_output_flags, examples
from passline.errors import ExitCode


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gate",
        help="compare a candidate run with a baseline and exit 0 (pass) or 1 (regression)",
        description="Compare CANDIDATE against BASELINE with paired statistics and apply the "
        "gate policy of [tool.passline.gate]. BASELINE is a run directory, a baseline file "
        "or the NAME of a saved baseline (reports/baselines/NAME.json).",
        **examples("passline gate main reports/runs/RUN_ID",
                   "passline gate reports/baselines/main.json reports/runs/RUN_ID --json"),
    )
    p.add_argument("baseline", metavar="BASELINE")
    p.add_argument("candidate", metavar="CANDIDATE", help="run directory or baseline file")
    add_output_flags(p, json=False)
    p.add_argument("--json", action="store_true", help="print verdict and comparison as JSON")
    p.add_argument("--alpha", type=float, default=None, help="significance level (default "
                   "from [tool.passline.gate], else 0.05)")
    p.add_argument("--max-drop", type=float, default=None,
                   help="tolerated significant pass-rate drop, absolute (default 0.02)")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap/permutation resamples")
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling")
    p.add_argument("--correction", choices=("holm", "bh", "none"), default="holm",
                   help="multiple-comparison control across slices")
    p.add_argument("--no-clusters", action="store_true",
                   help="treat cases as independent even when rows carry clusters")
    p.add_argument("--baselines-dir", default="reports/baselines",
                   help="where named baselines live (default reports/baselines)")
    p.add_argument("--allow-errors", action="store_true",
                   help="judge runs even when some agent runs ended in error (by default an "
                   "errored run means an outage or a crash, and the gate exits 3)")
    p.set_defaults(func=run)


def errored_rows(source: str) -> list[dict[str, Any]]:
    """Rows of a run directory whose agent run ended in error (none for baseline files)."""
    from passline.records import read_rows

    if not (Path(source) / "results.jsonl").exists():
        return []
    return [r for r in read_rows(source) if r.get("status") == "error"]


def resolve_source(value: str, baselines_dir: str) -> str:
    """A path as given, or the file of a named baseline when no such path exists."""
    if Path(value).exists():
        return value
    named = Path(baselines_dir) / f"{value}.json"
    return str(named) if named.is_file() else value


def run(args: argparse.Namespace) -> int:
    from passline.compare import compare, gate, load_policy

    policy = load_policy(alpha=args.alpha, max_drop=args.max_drop)
    for side in (args.baseline, args.candidate):
        errors = [] if args.allow_errors else errored_rows(resolve_source(side,
                                                                          args.baselines_dir))
        if errors:
            first = errors[0]
            print(f"passline gate: NOT RUN -- {len(errors)} agent run(s) in {side} ended in "
                  f"error (first: {first.get('case_id')}: {str(first.get('error'))[:200]}); "
                  "an outage must not pass or fail a gate. Fix the cause and re-run, or pass "
                  "--allow-errors to count errors as failures.")
            return int(ExitCode.INFRASTRUCTURE_ERROR)
    comparison = compare(
        resolve_source(args.baseline, args.baselines_dir),
        resolve_source(args.candidate, args.baselines_dir),
        alpha=policy.alpha,
        n_boot=args.n_boot,
        seed=args.seed,
        cluster_key=None if args.no_clusters else "cluster",
        correction=args.correction,
        must_pass_tag=policy.must_pass_tag,
    )
    verdict = gate(comparison, policy)
    if args.json:
        print(json.dumps({"verdict": verdict.to_dict(), "comparison": comparison.to_dict()},
                         indent=2))
    else:
        print_verdict(verdict, comparison)
    return int(verdict.exit_code)


def print_verdict(verdict: Any, comparison: Any) -> None:
    """Render a verdict and the main figures of its comparison with rich."""
    from rich.markup import escape

    from passline.cli._output import Table
    from passline.cli._output import console as make_console

    console = make_console()
    colour = {"regressed": "bold red", "improved": "bold green", "pass": "bold green"}
    console.print(
        f"[{colour[verdict.status]}]{verdict.status.upper()}[/]  candidate "
        f"[bold]{escape(verdict.candidate)}[/] vs baseline [bold]{escape(verdict.baseline)}[/] "
        f"({comparison.n_pairs} paired cases, {comparison.n_clusters} sampling units)"
    )
    marks = {"fail": "[red]✗[/]", "pass": "[green]✓[/]", "skip": "[dim]-[/]"}
    status_of = {c.message: c.status for c in verdict.checks}
    for reason in verdict.reasons:
        console.print(f" {marks[status_of.get(reason, 'pass')]} {escape(reason)}")

    table = Table("metric", "baseline", "candidate", "delta", f"{1 - comparison.alpha:.0%} CI",
                  "p", "test", "mde", "deff", title="metrics")
    for m in comparison.metrics:
        table.add_row(m.name, _fmt(m, m.baseline), _fmt(m, m.candidate), _fmt_delta(m, m.delta),
                      f"{_fmt_delta(m, m.ci_low, unit=False)}..{_fmt_delta(m, m.ci_high)}",
                      "" if m.p_value is None else f"{m.p_value:.3g}", m.test,
                      _fmt_delta(m, m.mde).lstrip("+"),
                      "" if m.design_effect is None else f"{m.design_effect:.2f}",
                      style={"regressed": "red", "improved": "green"}.get(m.direction))
    console.print(table)

    if comparison.regressions:
        console.print(f"[bold]{len(comparison.regressions)} case(s) regressed[/] "
                      f"({len(comparison.improvements)} improved); most severe:")
        for c in comparison.regressions[:10]:
            flag = " [red]must-pass[/]" if c.must_pass else ""
            console.print(f"  {escape(c.case_id)} ({escape(c.eval)}){flag}: "
                          f"{'/'.join(c.baseline_outcomes)} -> {'/'.join(c.candidate_outcomes)}, "
                          f"score {c.baseline_score:.2f} -> {c.candidate_score:.2f}")
    moved = [s for s in comparison.slices if s.significant]
    for s in moved:
        console.print(f"  slice {escape(s.slice)} {s.direction}: {s.baseline:.1%} -> "
                      f"{s.candidate:.1%} (n={s.n_pairs}, adjusted p={s.p_adjusted:.3g})")
    n_flaky = len(comparison.flaky)
    if n_flaky:
        console.print(f"[yellow]{n_flaky} flaky case-run(s)[/] (trials disagree)")
    for w in comparison.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    if verdict.exit_code != ExitCode.OK:
        console.print(f"exit code {int(verdict.exit_code)} ({verdict.exit_code.name.lower()})")


def _fmt(m: Any, x: float) -> str:
    if x != x:
        return "n/a"
    if m.name == "pass_rate":
        return f"{x:.1%}"
    if m.name == "cost":
        return f"${x:.5f}"
    if m.name == "latency_p95":
        return f"{x:.2f}s"
    return f"{x:.3f}"


def _fmt_delta(m: Any, x: float, *, unit: bool = True) -> str:
    if x != x:
        return "n/a"
    if m.delta_kind == "relative":
        return f"{x:+.1%}"
    if m.name == "pass_rate":
        return f"{x * 100:+.1f}" + (" pts" if unit else "")
    return f"{x:+.3f}"
