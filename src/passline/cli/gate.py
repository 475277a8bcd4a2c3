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
    add_evidence_options(p)
    p.set_defaults(func=run)


def add_evidence_options(p: argparse.ArgumentParser) -> None:
    """--allow-partial and --confirm, shared by `passline gate` and `passline report`."""
    p.add_argument("--allow-partial", action="store_true",
                   help="compare even when a run is incomplete (interrupted, crashed, a shard or "
                   "a -k selection); the verdict names the cases that did not run and is never "
                   "PASS with a must-pass case missing (by default: exit 3)")
    p.add_argument("--confirm", action="store_true",
                   help="run new trials before a must-pass failure or a borderline drop decides "
                   "(needs this checkout to be the candidate's commit; the baseline is re-run "
                   "too when it is the baseline's; budget: [tool.passline.gate] confirm_budget)")


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


def side_errors(side: Any) -> tuple[int, str, str]:
    """(errored trials, the first errored case's id, its error) of a run already read for
    a report (:func:`passline.report._helper.load_sides`): what :func:`errored_rows` says,
    without reading the run again. A baseline file records no errors."""
    if side.kind != "run":
        return 0, "", ""
    from passline.report._sides import trials_of

    n, first = 0, None
    for key, summary in side.summaries.items():
        errors = summary.outcomes.count("error")
        if errors:
            n += errors
            first = first or key
    if first is None:
        return 0, "", ""
    error = next((t.get("e") for t in trials_of(side, first) or () if t.get("st") == "error"),
                 None)
    return n, first[1], str(error)


def refusal(sources: list[tuple[str, str]], *, allow_errors: bool, allow_partial: bool,
            sides: tuple[Any, Any] | None = None) -> str:
    """Why no verdict may be given on these (role, source) records ("" when one may).
    ``sides``: the records already read (:func:`passline.report._helper.load_sides`), in
    the order of ``sources``: their errors are counted there instead of reading the runs
    again."""
    from passline.compare import incomplete_reason

    for role, source in sources if not allow_partial else ():
        why = incomplete_reason(source, role)
        if why:
            return f"{why}; re-run it, or pass --allow-partial to compare the cases that finished"
    for i, (role, source) in enumerate(sources if not allow_errors else ()):
        if sides is not None:
            n, case_id, error = side_errors(sides[i])
        else:
            rows = errored_rows(source)
            n, case_id, error = (len(rows), str(rows[0].get("case_id")),
                                 str(rows[0].get("error"))) if rows else (0, "", "")
        if n:
            return (f"{n} agent run(s) in the {role} {source} ended in error (first: "
                    f"{case_id}: {error[:200]}); an outage must not pass or fail a gate. Fix "
                    "the cause and re-run, or pass --allow-errors to count errors as failures.")
    return ""


def cli_rerun(baseline: str, candidate: str, policy: Any, root: Path | None = None
              ) -> tuple[Any, str]:
    """A re-runner for `--confirm`, or (None, why not): this checkout must be the code the
    candidate was recorded with; the baseline is re-run only if it is its code too."""
    from passline.compare import load_baseline, read_manifest
    from passline.runner._rerun import SessionRerun, same_code, side_from_manifest
    from passline.settings import find_pyproject

    if not policy.confirms:
        return None, "confirmation is off ([tool.passline.gate] confirm_trials = 0)"
    if root is None:
        pyproject = find_pyproject(Path.cwd())
        root = pyproject.parent if pyproject is not None else Path.cwd()

    def manifest_of(source: str) -> dict[str, Any]:
        path = Path(source)
        return read_manifest(path) if path.is_dir() else load_baseline(path).manifest

    cand_manifest = manifest_of(candidate)
    ok, why = same_code(cand_manifest, root)
    cand_side = side_from_manifest(cand_manifest) if ok else None
    if cand_side is None:
        return None, f"no confirmation runs: {why or 'the candidate records no variant'}"
    base_manifest = manifest_of(baseline)
    ok, why = same_code(base_manifest, root)
    base_side = side_from_manifest(base_manifest) if ok else None
    note = "" if base_side else f"the baseline was not re-run ({why or 'no variant recorded'})"
    return SessionRerun(root, baseline=base_side, candidate=cand_side), note


def decide(baseline: str, candidate: str, policy: Any, *, confirm: bool, n_boot: int = 2000,
           seed: int = 0, correction: str = "holm", cluster_key: str | None = "cluster",
           allow_errors: bool = False, say: Any = None, root: Path | None = None,
           sides: tuple[Any, Any] | None = None) -> tuple[Any, Any]:
    """compare (+ confirmation runs) + gate: the (comparison, verdict) both CLIs show.
    ``sides``: the two runs already read for a report
    (:func:`passline.report._helper.load_sides`), compared without reading them again."""
    import dataclasses

    from passline.compare import compare, first_look_alpha, gate
    from passline.compare import confirm as run_confirmation

    rerun, note = cli_rerun(baseline, candidate, policy, root) if confirm else (None, "")
    if confirm and rerun is None and say is not None:
        say(note)
    staged = rerun is not None and rerun.baseline_available and policy.confirm_metrics
    first_look = first_look_alpha(policy.alpha) if staged else None
    if sides is not None:
        from passline.report._build import compare_sides

        comparison = compare_sides(*sides, policy, first_look_alpha=first_look, n_boot=n_boot,
                                   seed=seed, correction=correction, cluster_key=cluster_key)
    else:
        comparison = compare(baseline, candidate, alpha=policy.alpha, n_boot=n_boot,
                             seed=seed, cluster_key=cluster_key,
                             sampling_unit=policy.sampling_unit, correction=correction,
                             must_pass_tag=policy.must_pass_tag, first_look_alpha=first_look)
    if rerun is not None:
        comparison = run_confirmation(comparison, policy, rerun, allow_errors=allow_errors,
                                      progress=say)
        if note and comparison.confirmation is not None:
            joined = "; ".join(x for x in (comparison.confirmation.note, note) if x)
            comparison = dataclasses.replace(comparison, confirmation=dataclasses.replace(
                comparison.confirmation, note=joined))
    return comparison, gate(comparison, policy)


def run(args: argparse.Namespace) -> int:
    from passline.compare import load_policy

    policy = load_policy(alpha=args.alpha, max_drop=args.max_drop)
    baseline = resolve_source(args.baseline, args.baselines_dir)
    candidate = resolve_source(args.candidate, args.baselines_dir)
    why = refusal([("baseline", baseline), ("candidate", candidate)],
                  allow_errors=args.allow_errors, allow_partial=args.allow_partial)
    if why:
        print(f"passline gate: NOT RUN -- {why}")
        return int(ExitCode.INFRASTRUCTURE_ERROR)
    comparison, verdict = decide(
        baseline, candidate, policy, confirm=args.confirm, n_boot=args.n_boot, seed=args.seed,
        correction=args.correction, cluster_key=None if args.no_clusters else "cluster",
        allow_errors=args.allow_errors,
        say=None if args.json else (lambda line: print(f"passline gate: {line}")))
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
    colour = {"regressed": "bold red", "incomplete": "bold yellow", "improved": "bold green",
              "pass": "bold green"}
    console.print(
        f"[{colour[verdict.status]}]{verdict.status.upper()}[/]  candidate "
        f"[bold]{escape(verdict.candidate)}[/] vs baseline [bold]{escape(verdict.baseline)}[/] "
        f"({comparison.n_pairs} paired cases, {comparison.n_clusters} sampling units)"
    )
    marks = {"fail": "[red]✗[/]", "warn": "[yellow]⚠[/]", "pass": "[green]✓[/]",
             "skip": "[dim]-[/]"}
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
    from passline.compare._words import slice_reading

    moved = [s for s in comparison.slices if s.significant or s.p_value < comparison.alpha]
    for s in moved:
        console.print(f"  slice {escape(s.slice)}: {s.baseline:.1%} -> {s.candidate:.1%} "
                      f"(n={s.n_pairs}): "
                      f"{escape(slice_reading(s, comparison.correction, comparison.alpha))}")
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
