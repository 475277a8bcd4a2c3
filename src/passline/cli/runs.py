"""``passline runs list | show`` and ``passline merge``: recorded runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from passline.cli._output import add_output_flags, examples


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list and inspect recorded runs",
                       **examples("passline runs list", "passline runs show RUN_ID --json"))
    rsub = p.add_subparsers(dest="runs_command", metavar="SUBCOMMAND", required=True)
    ls = rsub.add_parser("list", help="recorded runs, newest first",
                         **examples("passline runs list",
                                    "passline runs list --run-dir reports/demo/runs --json"))
    ls.add_argument("--run-dir", default=None, metavar="DIR",
                    help="where runs are (default: settings run_dir, reports/runs)")
    add_output_flags(ls)
    ls.set_defaults(func=list_cmd)
    show = rsub.add_parser("show", help="one run's manifest and totals",
                           **examples("passline runs show 20261127-101500-candidate",
                                      "passline runs show reports/runs/RUN_ID --json"))
    show.add_argument("run", help="run directory or run id")
    show.add_argument("--run-dir", default=None, metavar="DIR",
                      help="where to look a run id up (default: settings run_dir)")
    add_output_flags(show)
    show.set_defaults(func=show_cmd)

    resume = rsub.add_parser(
        "resume", **examples("passline runs resume 20261127-101500-candidate",
                             "passline runs resume RUN_ID -- --passline-base-url=URL"),
        help="finish an interrupted or crashed run (reruns its pytest command with "
        "--passline-resume: only items without a result run, into the same record)")
    resume.add_argument("run", help="run directory or run id")
    resume.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST_ARGS",
                        help="extra pytest arguments (e.g. a --passline-base-url left out of "
                        "the record because it may hold credentials)")
    resume.set_defaults(func=resume_cmd)

    m = sub.add_parser("merge", help="join shard / xdist records of one variant into one run",
                       **examples("passline merge reports/runs/*-shard1of2 reports/runs/*-shard2of2"
                                  " --out reports/runs/merged"))
    m.add_argument("runs", nargs="+", help="run directories to merge")
    m.add_argument("--out", required=True, metavar="DIR",
                   help="the merged run directory to write")
    add_output_flags(m)
    m.set_defaults(func=merge_cmd)


def _run_root(arg: str | None) -> Path:
    from passline.settings import Settings

    return Path(arg or Settings.resolve().run_dir)


def _find(run: str, run_dir: str | None = None) -> Path:
    path = Path(run)
    if (path / "manifest.json").exists():
        return path
    candidate = _run_root(run_dir) / run
    return candidate if (candidate / "manifest.json").exists() else path


def list_cmd(args: argparse.Namespace) -> int:
    from passline.records import list_runs

    runs = list_runs(_run_root(args.run_dir))
    if args.json:
        print(json.dumps(runs, indent=2, default=str))
        return 0
    if not runs:
        print(f"no runs under {_run_root(args.run_dir)}; run `pytest evals/` or `passline demo`")
        return 0
    from rich.markup import escape

    from passline.cli._output import Table, console

    table = Table("run id", "variant", "n", "pass rate", "cost $", "p95 s", "finished")
    for m in runs:
        t = m.get("totals") or {}
        v = m.get("variant") or {}
        table.add_row(escape(str(m.get("run_id"))),
                      escape(f"{v.get('name')}={v.get('model')}:{v.get('prompts')}"),
                      str(t.get("n", "-")), f"{t.get('pass_rate', 0):.1%}" if t else "-",
                      f"{t.get('cost_usd', 0):.4f}" if t else "-",
                      f"{t.get('latency_p95_s', 0):.2f}" if t else "-",
                      str(m.get("finished_at") or "unfinished"))
    console().print(table)
    return 0


def show_cmd(args: argparse.Namespace) -> int:
    from passline.records import read_manifest

    run_dir = _find(args.run, args.run_dir)
    manifest = read_manifest(run_dir)
    if not manifest.get("finished_at"):  # crashed or killed: totals from the rows on disk
        from passline.records import read_rows, totals

        manifest["totals"] = totals(read_rows(run_dir))
    if args.json:
        print(json.dumps(manifest, indent=2, default=str))
        return 0
    from rich.markup import escape

    from passline.cli._output import console as make_console

    console = make_console()
    t = manifest.get("totals") or {}
    v = manifest.get("variant") or {}
    console.print(f"[bold]{escape(str(manifest.get('run_id')))}[/]  "
                  f"{escape(str(v.get('name')))} = {escape(str(v.get('model')))}:"
                  f"{escape(str(v.get('prompts')))}  git "
                  f"{str(manifest.get('git_sha') or '-')[:10]}")
    console.print(f"  path: {escape(str(run_dir))}")
    for ref, info in (manifest.get("datasets") or {}).items():
        console.print(f"  dataset {escape(str(ref))}: {info.get('n_cases')} cases, "
                      f"sha256 {str(info.get('fingerprint') or '-')[:12]}")
    formats = {"pass_rate": "{:.1%}", "mean_score": "{:.3f}", "cost_usd": "${:.4f}",
               "judge_cost_usd": "${:.4f}", "tokens": "{:,}", "latency_p50_s": "{:.2f} s",
               "latency_p95_s": "{:.2f} s"}
    for key in ("n", "passed", "failed", "errors", "pass_rate", "mean_score", "cost_usd",
                "judge_cost_usd", "tokens", "latency_p50_s", "latency_p95_s"):
        if key in t:
            console.print(f"  {key:>14}: {formats.get(key, '{}').format(t[key])}")
    if not manifest.get("finished_at"):
        console.print("  [yellow]unfinished: the session did not end cleanly (crash or "
                      "kill); totals cover the rows written so far[/]")
    return 0


def merge_cmd(args: argparse.Namespace) -> int:
    from passline.records import merge_runs

    manifest = merge_runs(args.runs, args.out)
    if args.json:
        print(json.dumps({**manifest, "path": str(args.out)}, indent=2, default=str))
        return 0
    t = manifest["totals"]
    print(f"merged {len(args.runs)} runs into {args.out}: {t['n']} results, "
          f"pass rate {t['pass_rate']:.1%}")
    return 0


def resume_cmd(args: argparse.Namespace) -> int:
    """Run the recorded pytest command again with ``--passline-resume``; its exit code."""
    import os
    import sys

    from passline.cli._signals import run_child
    from passline.records import read_manifest
    from passline.runner._resume import find_run

    run_dir = find_run(args.run, _run_root(None)).resolve()
    session = read_manifest(run_dir).get("session") or {}
    recorded = [str(a) for a in session.get("args") or []]
    extra = [a for a in args.pytest_args if a != "--"]
    where = session.get("invocation_dir")
    cwd = where if where and os.path.isdir(where) else os.getcwd()
    command = [sys.executable, "-m", "pytest", *recorded, *extra,
               f"--passline-resume={run_dir}"]
    print("passline: " + " ".join(command[1:]) + f"   (in {cwd})", file=sys.stderr)
    return run_child(command, cwd=cwd)[0]  # its code; a SIGTERM stops it cleanly
