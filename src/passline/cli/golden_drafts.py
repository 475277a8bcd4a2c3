"""``passline golden draft --from-traces`` and ``passline golden review``: golden cases from
recorded production traffic, confirmed by a reviewer before the version is locked."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from passline.cli._output import add_output_flags, examples
from passline.errors import ExitCode


def register_drafts(gsub: argparse._SubParsersAction,
                    common: Callable[[argparse.ArgumentParser], None]) -> None:
    from passline.cli.traces import selection_flags

    d = gsub.add_parser(
        "draft", help="a new dataset version from recorded traffic, rows marked needs-review",
        description="Each selected recorded conversation becomes a case whose expected answer "
        "(and tool calls) is production's -- a candidate expectation, tagged needs-review. "
        "`passline golden lock` refuses the version until every draft is reviewed.",
        **examples("passline golden draft support-regressions --from-traces "
                   "--flagged reports/shadow/cand",
                   "passline golden draft support --from-traces --tag env:prod --sample 20"))
    d.add_argument("name", metavar="NAME", help="the dataset (a new one starts at v1)")
    d.add_argument("--from-traces", action="store_true", required=True,
                   help="draft from the traffic store (passline traces import)")
    d.add_argument("--flagged", action="append", default=[], metavar="PATH",
                   help="only the conversations a shadow run flagged (its report folder or "
                        "flagged.jsonl; repeatable)")
    d.add_argument("--reason", action="append", default=[], metavar="REASON",
                   help="with --flagged: only these reasons (candidate-worse, "
                        "candidate-better, trajectory-differs, candidate-error, judge-error)")
    selection_flags(d)
    add_output_flags(d)
    common(d)
    d.set_defaults(func=run_draft)

    r = gsub.add_parser(
        "review", help="list the drafts of a version, or confirm them",
        description="Without --accept/--all: lists the rows still tagged needs-review with "
        "file:line and the expected answer to check. With them: removes the tag and records "
        "who reviewed and when. Editing a row by hand and deleting its tag is a review too.",
        **examples("passline golden review support@v2",
                   "passline golden review support@v2 --accept traffic-0ae858df1b3abd58 "
                   "--reviewer 'Ana Lopez'",
                   "passline golden review support@v2 --all --reviewer 'Ana Lopez'"))
    r.add_argument("ref", metavar="NAME@VERSION")
    r.add_argument("--accept", action="append", default=[], metavar="ID",
                   help="confirm this row's expectations as they are (repeatable)")
    r.add_argument("--all", action="store_true", help="confirm every draft row")
    r.add_argument("--reviewer", default=None, metavar="NAME", help="who reviewed (required "
                   "with --accept/--all)")
    add_output_flags(r)
    common(r)
    r.set_defaults(func=run_review)


def run_draft(args: argparse.Namespace) -> int:
    from passline.cli.golden import _root
    from passline.cli.traces import selection_of, store_of
    from passline.golden._layout import display
    from passline.golden._review import draft_from_traces, read_flagged
    from passline.traffic import Selection

    root = _root(args)
    selection = selection_of(args)
    flagged: dict[str, dict[str, Any]] = {}
    if args.flagged:
        flagged = read_flagged(args.flagged, args.reason)
        ids = tuple(i for i in flagged if not selection.ids or i in selection.ids)
        selection = Selection(**{**selection.__dict__, "ids": ids})
        if not ids:
            print("no flagged conversation matches; nothing drafted")
            return int(ExitCode.USAGE_ERROR)
    records = store_of(args).select(selection)
    target, added, present = draft_from_traces(args.name, records, root=root,
                                               flagged=flagged)
    ref = f"{args.name}@{target.name}"
    if args.json:
        print(json.dumps({"dataset": ref, "path": display(target, root), "added": added,
                          "already_present": present}, indent=2))
        return 0
    print(f"drafted {added} case(s) into {display(target, root)}/data.jsonl "
          f"({present} already in the dataset), each tagged needs-review")
    print("next:")
    print(f"  1. passline golden review {ref}     # the drafts, with file:line")
    print("  2. fix each expected.answer that production got wrong (edit data.jsonl), then")
    print(f"     passline golden review {ref} --accept ID... --reviewer NAME  (or --all)")
    print(f"  3. describe the change in {display(target, root)}/card.md")
    print("  4. passline golden lock && passline golden validate")
    return 0


def run_review(args: argparse.Namespace) -> int:
    from passline.cli.golden import _root
    from passline.errors import ConfigError
    from passline.golden._layout import data_path, display
    from passline.golden._review import review, unreviewed
    from passline.golden._schema import iter_jsonl

    root = _root(args)
    name, sep, version = args.ref.partition("@")
    if not sep or not version:
        raise ConfigError(f"{args.ref!r} is not NAME@VERSION (e.g. support@v2)")
    path = data_path(root, name, version)
    if args.accept or args.all:
        done, left = review(name, version, reviewer=args.reviewer or "", accept=args.accept,
                            accept_all=args.all, root=root)
        if args.json:
            print(json.dumps({"reviewed": done, "unreviewed": [p.to_dict() for p in left]},
                             indent=2))
            return 0
        print(f"reviewed {len(done)} case(s) by {args.reviewer}; {len(left)} draft(s) left")
        return 0
    if not path.is_file():
        raise ConfigError(f"no dataset {args.ref} ({display(path, root)} does not exist)")
    left = unreviewed(path, display(path, root))
    rows = {lineno: row for lineno, row, _ in iter_jsonl(path)}
    if args.json:
        print(json.dumps([{**p.to_dict(), "id": rows[p.line or 0].get("id"),
                           "expected": rows[p.line or 0].get("expected")} for p in left],
                         indent=2, ensure_ascii=False))
        return 0
    if not left:
        print(f"{args.ref}: no draft left to review")
        return 0
    for p in left:
        row = rows[p.line or 0]
        print(f"{p.path}:{p.line}: {row.get('id')} (needs-review)")
        print(f"    input:    {str((row.get('input') or {}).get('message', ''))[:200]}")
        print(f"    expected: {str((row.get('expected') or {}).get('answer', ''))[:300]}")
        why = ((row.get("metadata") or {}).get("flagged") or {}).get("why")
        if why:
            print(f"    flagged:  {why[:300]}")
    print(f"{len(left)} draft(s) to review")
    return 0
