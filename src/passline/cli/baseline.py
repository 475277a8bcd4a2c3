"""``passline baseline save|list|promote|rollback``: named baselines in reports/baselines/."""

from __future__ import annotations

import argparse
import json

from passline.cli._output import add_output_flags, examples

DIR_HELP = "baseline directory (default reports/baselines)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("baseline", help="save, list, promote or roll back named baselines",
                       **examples("passline baseline save main reports/runs/RUN_ID",
                                  "passline baseline list --baselines-dir reports/baselines"))
    # --baselines-dir is the name `passline gate` and `passline report` use too; --dir is
    # the older spelling, still accepted
    p.add_argument("--baselines-dir", "--dir", default="reports/baselines", dest="directory",
                   metavar="DIR", help=DIR_HELP)
    cmds = p.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--baselines-dir", "--dir", default=argparse.SUPPRESS, dest="directory",
                       metavar="DIR", help=DIR_HELP)

    save = cmds.add_parser("save", help="save RUN_DIR as a new baseline NAME",
                           **examples("passline baseline save main reports/runs/RUN_ID"))
    save.add_argument("name", metavar="NAME")
    save.add_argument("run_dir", metavar="RUN_DIR")
    common(save)
    save.set_defaults(func=_save)

    listing = cmds.add_parser("list", help="list saved baselines",
                              **examples("passline baseline list", "passline baseline list --json"))
    add_output_flags(listing)
    common(listing)
    listing.set_defaults(func=_list)

    promote = cmds.add_parser("promote", help="replace baseline NAME with RUN_DIR, keeping "
                              "the old one in NAME.history/",
                              **examples("passline baseline promote main reports/runs/RUN_ID"))
    promote.add_argument("name", metavar="NAME")
    promote.add_argument("run_dir", metavar="RUN_DIR")
    common(promote)
    promote.set_defaults(func=_promote)

    rollback = cmds.add_parser("rollback", help="restore the previous version of NAME",
                               **examples("passline baseline rollback main"))
    rollback.add_argument("name", metavar="NAME")
    common(rollback)
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
    from rich.markup import escape

    from passline.cli._output import Table, console

    table = Table("name", "run", "variant", "cases", "saved", "history", title="baselines")
    for i in infos:
        table.add_row(escape(i.name), escape(str(i.run_id)), escape(str(i.variant)),
                      str(i.n_cases), str(i.saved_at), str(i.n_history))
    console().print(table)
    return 0
