"""``passline judge``: list rubrics, show one, and calibrate a judge against labelled answers."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from passline.cli._output import add_output_flags, examples
from passline.errors import ExitCode

#: the calibration set `passline judge calibrate` and the demo use (kept in step with
#: passline.judge._calibrate.DEFAULT_DATASET; a test checks they agree)
DEFAULT_DATASET = "judge-calibration@v2"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("judge", help="LLM judges: rubrics and their calibration",
                       description="Rubrics live in passline/judge/rubrics/<id>/<version>.*; "
                                   "calibrations in .passline/judges/. See docs/judges.md.",
                       **examples("passline judge list",
                                  "passline judge calibrate answer-quality@1 --model sim-2"))
    jsub = p.add_subparsers(dest="judge_command", metavar="ACTION", required=True)
    from passline.cli.judge_labels import register_labels

    register_labels(jsub)  # `passline judge labels add` (report review marks)

    c = jsub.add_parser("calibrate", help="judge every calibration item; print agreement with "
                        "its labels (with bootstrap intervals), position and verbosity bias; "
                        "store the result",
                        **examples("passline judge calibrate answer-quality@1",
                                   "passline judge calibrate answer-quality@1 --model gpt-4o "
                                   "--fail-untrusted --json"))
    c.add_argument("rubric", metavar="RUBRIC", help="e.g. answer-quality@1")
    c.add_argument("--model", default=None,
                   help="judge model (default: settings judge_model, else model)")
    c.add_argument("--dataset", default=DEFAULT_DATASET,
                   help=f"calibration dataset ref (default {DEFAULT_DATASET})")
    c.add_argument("--limit", type=int, default=None, help="only the first N items")
    c.add_argument("--rules", default=None, metavar="FILE",
                   help="a rules file shown to the judge with every item")
    c.add_argument("--min-kappa", type=float, default=None,
                   help="trust threshold (default: settings judge_min_kappa)")
    c.add_argument("--by-tag", action="append", default=[], metavar="PREFIX",
                   help="also report agreement per value of this tag prefix (e.g. origin, "
                        "domain, design); repeatable")
    c.add_argument("--no-pairs", action="store_true", help="skip the position-bias check")
    c.add_argument("--no-verbosity", action="store_true", help="skip the verbosity check")
    c.add_argument("--no-store", action="store_true",
                   help="do not write .passline/judges/<rubric>__<model>.json")
    c.add_argument("--fail-untrusted", action="store_true",
                   help=f"exit {int(ExitCode.REGRESSION)} when the judge is untrusted")
    add_output_flags(c, json=False)
    c.add_argument("--json", action="store_true", help="print the stored record as JSON")
    c.add_argument("--root", default=None, help="project root (default: nearest pyproject.toml)")
    c.set_defaults(func=calibrate_cmd)

    ls = jsub.add_parser("list", help="rubrics and their stored calibrations",
                         **examples("passline judge list", "passline judge list --json"))
    ls.add_argument("--root", default=None, help="project root (default: nearest pyproject.toml)")
    add_output_flags(ls)
    ls.set_defaults(func=list_cmd)

    sh = jsub.add_parser("show", help="a rubric's description, levels and verdict schema",
                         **examples("passline judge show answer-quality@1",
                                    "passline judge show groundedness@1 --json"))
    sh.add_argument("rubric", metavar="RUBRIC")
    add_output_flags(sh)
    sh.set_defaults(func=show_cmd)


def calibrate_cmd(args: argparse.Namespace) -> int:
    from passline.judge import calibrate, judge_model, load_items, load_rubric, save_calibration
    from passline.judge._calibrate import project_root
    from passline.models import ModelClient
    from passline.settings import Settings

    root = project_root(args.root)
    settings = Settings.resolve(root=root)
    rubric = load_rubric(args.rubric)
    model = args.model or judge_model(settings)
    items = load_items(rubric, args.dataset, root=root)
    if args.limit:
        items = items[:args.limit]
    rules = Path(args.rules).read_text(encoding="utf-8") if args.rules else None
    client = ModelClient(settings)

    async def go() -> Any:
        try:
            return await calibrate(rubric, client=client, model=model, dataset=args.dataset,
                                   items=items, rules=rules, min_kappa=args.min_kappa,
                                   pairs=not args.no_pairs, verbosity=not args.no_verbosity,
                                   by_tag=args.by_tag)
        finally:
            await client.aclose()

    report = asyncio.run(go())
    data = report.to_dict()
    path = None if args.no_store else save_calibration(report, root)
    if args.json:
        print(json.dumps(data, indent=1, default=str))
    else:
        print_report(data, path)
    if args.fail_untrusted and not report.trusted:
        return int(ExitCode.REGRESSION)
    return int(ExitCode.OK)


def print_report(data: dict[str, Any], path: Path | None) -> None:
    """The calibration as rich tables: agreement, confusion matrix, biases, verdict."""
    from passline.cli._output import Table
    from passline.cli._output import console as make_console

    console = make_console()
    agree = data["agreement"]
    console.rule(f"judge calibration: {data['rubric']} judged by {data['model']} on "
                 f"{data['dataset']}")
    ci = agree.get("ci") or {}
    level = f"{ci.get('confidence', 0.95):.0%} CI"
    summary = Table("metric", "value", title="agreement with the calibration labels")
    summary.add_row("items", f"{data['n_items']} ({data['n_errors']} judge errors)")
    summary.add_row("labels", label_text(data.get("label_sources")))
    summary.add_row("accuracy (exact)", _pct(agree.get("accuracy"))
                    + _interval(ci.get("accuracy"), level, pct=True))
    summary.add_row("accuracy (within one level)", _pct(agree.get("within_one")))
    summary.add_row("Cohen's kappa", _num(agree.get("kappa"))
                    + _interval(ci.get("kappa"), level))
    summary.add_row("quadratic-weighted kappa", _num(agree.get("weighted_kappa"))
                    + _interval(ci.get("weighted_kappa"), level))
    summary.add_row("mean bias (judge - label, levels)",
                    _num(agree.get("mean_bias"), signed=True))
    pw = data.get("pairwise") or {}
    if pw.get("n"):
        summary.add_row("position-bias rate (pairwise, swapped)",
                        f"{_pct(pw.get('position_bias_rate'))} of {pw['n'] - pw.get('errors', 0)}"
                        " pairs flipped")
        summary.add_row("pairwise agreement with the labels",
                        _pct(pw.get("agreement_with_human")))
    vb = data.get("verbosity") or {}
    if vb.get("n"):
        summary.add_row("verbosity: mean change when padded",
                        f"{_num(vb.get('mean_increase'), signed=True)} {vb.get('unit', '')} "
                        f"({_pct(vb.get('share_increased'))} of answers scored higher)")
    usage = data.get("judge_usage") or {}
    summary.add_row("judge cost", f"${usage.get('cost_usd', 0):.4f} "
                                  f"({usage.get('calls', 0)} calls, "
                                  f"{usage.get('cached_calls', 0)} cached)")
    console.print(summary)
    if ci.get("method"):
        console.print(f"[dim]intervals ({level}): {ci['method']}[/]")

    conf = agree.get("confusion") or {}
    labels = [str(x) for x in conf.get("labels", [])]
    matrix = conf.get("matrix") or []
    table = Table(title="confusion matrix (rows: label, columns: judge)")
    table.add_column("label \\ judge", style="bold")
    for label in labels:
        table.add_column(label, justify="right")
    for label, row in zip(labels, matrix, strict=False):
        cells = [f"[bold green]{n}[/]" if i == labels.index(label) and n else
                 (str(n) if n else "[dim]0[/]") for i, n in enumerate(row)]
        table.add_row(label, *cells)
    console.print(table)

    by_tag = data.get("agreement_by_tag") or {}
    if by_tag:
        sliced = Table("tag", "items", "accuracy", "Cohen's kappa", "weighted kappa",
                       title=f"agreement by tag ({level} in brackets)")
        for tag, a in by_tag.items():
            tci = a.get("ci") or {}
            sliced.add_row(tag, str(a.get("n")), _pct(a.get("accuracy")),
                           _num(a.get("kappa")) + _interval(tci.get("kappa"), ""),
                           _num(a.get("weighted_kappa"))
                           + _interval(tci.get("weighted_kappa"), ""))
        console.print(sliced)

    errors = [it for it in data.get("items", []) if it.get("error")]
    for item in errors[:5]:
        console.print(f"[red]error[/] {item['id']}: {item['error'][:300]}")
    verdict = ("[bold green]trusted[/]" if data["trusted"] else "[bold red]untrusted[/]")
    console.print(f"{verdict}: kappa {_num(agree.get('kappa'))} vs judge_min_kappa "
                  f"{data['min_kappa']:g}" + (f"; {data['n_errors']} items without a verdict"
                                              if data["n_errors"] else ""))
    if path is not None:
        console.print(f"stored: {path}")


def list_cmd(args: argparse.Namespace) -> int:
    from passline.judge import list_rubrics, load_rubric
    from passline.judge._calibrate import JUDGES_DIR, project_root

    root = project_root(args.root)
    stored: dict[str, list[dict[str, Any]]] = {}
    folder = root / JUDGES_DIR
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        stored.setdefault(str(data.get("rubric")), []).append(data)
    rows = []
    for ref in list_rubrics():
        rubric = load_rubric(ref)
        calibrations = [{"model": d.get("model"), "kappa": (d.get("agreement") or {}).get(
            "kappa"), "trusted": d.get("trusted"), "created": d.get("created")}
            for d in stored.get(ref, [])]
        rows.append({"rubric": ref, "kind": rubric.kind, "levels": list(rubric.levels),
                     "reference": rubric.reference, "calibrations": calibrations})
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
        return 0
    from passline.cli._output import Table, console

    table = Table("rubric", "kind", "levels", "reference", "calibrated (model: kappa)")
    for row in rows:
        cal = ", ".join(f"{c['model']}: {_num(c['kappa'])}"
                        + ("" if c["trusted"] else " (untrusted)")
                        for c in row["calibrations"]) or "-"
        table.add_row(str(row["rubric"]), str(row["kind"]),
                      " < ".join(map(str, row["levels"])), str(row["reference"]), cal)
    console().print(table)
    return 0


def show_cmd(args: argparse.Namespace) -> int:
    from passline.judge import load_rubric

    rubric = load_rubric(args.rubric)
    if args.json:
        print(json.dumps({"rubric": rubric.key, "kind": rubric.kind,
                          "reference": rubric.reference, "pass_level": rubric.pass_level,
                          "levels": list(rubric.levels), "template": str(rubric.path),
                          "criteria": rubric.criteria(), "schema": rubric.schema}, indent=1,
                         default=str))
        return 0
    print(f"{rubric.key}  ({rubric.kind}; reference {rubric.reference}; pass level "
          f"{rubric.pass_level}; template {rubric.path})")
    print(rubric.criteria())
    print("\nverdict schema:")
    print(json.dumps(rubric.schema, indent=1))
    return 0


def label_text(sources: dict[str, Any] | None) -> str:
    """Who made the labels, e.g. "170 reference (AI coding agent ...)"; "unrecorded" counts
    rows that do not say."""
    if not sources or not sources.get("kinds"):
        return "provenance not recorded"
    kinds = ", ".join(f"{n} of unrecorded provenance" if kind == "unrecorded" else f"{n} {kind}"
                      for kind, n in sorted(sources["kinds"].items()))
    who = "; ".join(str(w) for w in sources.get("labellers") or [])
    return kinds + (f" ({who})" if who else "")


def _interval(bounds: Any, level: str, *, pct: bool = False) -> str:
    """" (95% CI 0.14..0.33)", or "" when there is no interval."""
    if not bounds or bounds[0] is None:
        return ""
    lo, hi = bounds
    shown = f"{lo:.1%}..{hi:.1%}" if pct else f"{lo:.2f}..{hi:.2f}"
    return f" ({level} {shown})" if level else f" ({shown})"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _num(x: float | None, *, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.3f}" if signed else f"{x:.3f}"
