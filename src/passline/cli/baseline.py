"""``passline baseline save|list|promote|rollback``: named baselines in reports/baselines/."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("baseline", help="save, list, promote or roll back named baselines")
    p.add_argument("--dir", default="reports/baselines", dest="directory",
                   help="baseline directory (default reports/baselines)")
    cmds = p.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)

    save = cmds.add_parser("save", help="save RUN_DIR as a new baseline NAME")
    save.add_argument("name", metavar="NAME")
    save.add_argument("run_dir", metavar="RUN_DIR")
    save.set_defaults(func=_save)

    listing = cmds.add_parser("list", help="list saved baselines")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=_list)

    promote = cmds.add_parser("promote", help="replace baseline NAME with RUN_DIR, keeping "
                              "the old one in NAME.history/")
    promote.add_argument("name", metavar="NAME")
    promote.add_argument("run_dir", metavar="RUN_DIR")
    promote.set_defaults(func=_promote)

    rollback = cmds.add_parser("rollback", help="restore the previous version of NAME")
    rollback.add_argument("name", metavar="NAME")
    rollback.set_defaults(func=_rollback)


def _save(args: argparse.Namespace) -> int:
    from passline.compare import save_baseline

    path = save_baseline(args.name, args.run_dir, directory=args.directory)
    print(f"saved baseline {args.name} -> {path}")
    return 0


def _promote(args: argparse.Namespace) -> int:
    from passline.compare import history, promote_baseline

    path = promote_baseline(args.name, args.run_dir, directory=args.directory)
    kept = len(history(args.name, args.directory))
    print(f"promoted {args.run_dir} to baseline {args.name} -> {path} "
          f"({kept} earlier version(s) in history)")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from passline.compare import load_baseline, rollback_baseline

    path = rollback_baseline(args.name, directory=args.directory)
    restored = load_baseline(path)
    print(f"rolled back baseline {args.name} to run "
          f"{restored.manifest.get('run_id') or '?'} (saved {restored.saved_at})")
    return 0


def _list(args: argparse.Namespace) -> int:
    from passline.compare import list_baselines

    infos = list_baselines(args.directory)
    if args.json:
        print(json.dumps([{"name": i.name, "path": str(i.path), "run_id": i.run_id,
                           "saved_at": i.saved_at, "variant": i.variant,
                           "n_cases": i.n_cases, "n_history": i.n_history} for i in infos],
                         indent=2))
        return 0
    if not infos:
        print(f"no baselines in {args.directory}; save one with "
              "`passline baseline save NAME RUN_DIR`")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "run", "variant", "cases", "saved", "history", title="baselines")
    for i in infos:
        table.add_row(i.name, i.run_id, i.variant, str(i.n_cases), i.saved_at, str(i.n_history))
    Console().print(table)
    return 0
