"""``passline history [DATASET|EVAL]``: runs and baselines over time, with promotions and
rollbacks; ``--out DIR`` writes the history page."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from passline.cli._output import Table, add_output_flags, console, examples


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history", help="pass rate, score, cost and p95 of recorded runs and baselines over "
        "time", description="Every recorded run (and every baseline version) of a dataset or "
        "an eval, oldest first, with baseline promotions and rollbacks: is a regression new, "
        "or a trend? --out writes the same as a self-contained page.",
        **examples("passline history", "passline history tools-unit@v2 --out reports/history",
                   "passline history evals/test_tools.py::test_tool_choice --json"))
    p.add_argument("target", nargs="?", default=None, metavar="DATASET|EVAL",
                   help="a dataset (name or name@version) or an eval node id (default: all)")
    p.add_argument("--run-dir", default=None, metavar="DIR",
                   help="where runs are recorded (default: run_dir of the settings)")
    p.add_argument("--baselines-dir", default="reports/baselines", metavar="DIR")
    p.add_argument("--limit", type=int, default=200, help="the newest N runs (default 200)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="also write the history page, DIR/history.html")
    add_output_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from passline._atomic import atomic_write_text
    from passline.report._history import collect_history, render_history
    from passline.settings import Settings

    run_dir = args.run_dir or Settings.resolve().run_dir
    history = collect_history(args.target, run_root=run_dir,
                              baselines_dir=args.baselines_dir, limit=args.limit)
    page = None
    if args.out:
        page = Path(args.out) / "history.html"
        atomic_write_text(page, render_history(history))
    if args.json:
        print(json.dumps({**history.to_dict(), "html": str(page) if page else None}, indent=2))
        return 0
    table = Table("recorded", "run", "variant", "rows", "pass rate", "score", "cost/case",
                  "p95", title=f"{len(history.runs)} run(s)"
                  + (f" of {history.target}" if history.target else ""))
    for p in history.runs:
        table.add_row(p.at, p.label, p.variant, str(p.n), f"{p.pass_rate:.1%}",
                      f"{p.mean_score:.3f}", f"${p.cost_per_case:.5f}", f"{p.latency_p95_s:.2f}s")
    out = console()
    out.print(table)
    if history.events:
        events = Table("when", "baseline", "event", "run", title="baseline events")
        for e in history.events:
            events.add_row(e.at, e.baseline, e.kind, e.run)
        out.print(events)
    if page:
        print(f"history page: {page}")
    return 0
