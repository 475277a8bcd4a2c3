"""``passline traces``: import recorded production traffic (redacted), list and show it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from passline.cli._output import Table, add_output_flags, console, examples


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("traces", help="import recorded production traffic; list and show it",
                       description="Recorded conversations (OpenAI chat-completions logs, "
                       "OTLP JSON spans with the GenAI conventions, passline run records) are "
                       "redacted and kept in the traffic store (traffic_dir). See "
                       "docs/production.md.",
                       **examples("passline traces import gateway.jsonl spans.json",
                                  "passline traces list --since 2026-11-01 --tag team:support"))
    tsub = p.add_subparsers(dest="traces_command", metavar="ACTION", required=True)

    imp = tsub.add_parser("import", help="read, redact and store recorded conversations",
                          **examples("passline traces import logs/2026-11-30.jsonl",
                                     "passline traces import spans.json --format otlp "
                                     "--tag env:prod",
                                     "passline traces import reports/runs/RUN_ID"))
    imp.add_argument("files", nargs="+", metavar="FILE",
                     help="a chat-completions JSONL log, an OTLP JSON export, or a passline "
                          "run directory")
    imp.add_argument("--format", choices=("openai", "otlp", "passline"), default=None,
                     help="the files' format (default: detected from each file)")
    imp.add_argument("--tag", action="append", default=[], metavar="TAG",
                     help="add this tag to every imported record (repeatable)")
    imp.add_argument("--no-group", action="store_true",
                     help="chat-completions logs: keep one record per model call even when "
                          "lines share a trace_id (default: one per trace)")
    imp.add_argument("--traffic-dir", default=None, metavar="DIR",
                     help="the traffic store (default: traffic_dir of [tool.passline])")
    add_output_flags(imp)
    imp.set_defaults(func=run_import)

    ls = tsub.add_parser("list", help="list recorded conversations",
                         **examples("passline traces list", "passline traces list --since "
                                    "2026-11-30 --until 2026-12-01 --json"))
    selection_flags(ls)
    ls.add_argument("--limit", type=int, default=50, help="print at most N (default 50)")
    add_output_flags(ls)
    ls.set_defaults(func=run_list)

    sh = tsub.add_parser("show", help="one recorded conversation, as stored (redacted), as "
                         "JSON (--json is accepted and changes nothing)",
                         **examples("passline traces show 0ae858df1b3abd58"))
    sh.add_argument("id", metavar="ID")
    sh.add_argument("--traffic-dir", default=None, metavar="DIR",
                    help="the traffic store (default: traffic_dir of [tool.passline])")
    add_output_flags(sh)
    sh.set_defaults(func=run_show)


def selection_flags(p: argparse.ArgumentParser) -> None:
    """--since/--until/--tag/--id/--source/--sample/--seed, shared with shadow and golden."""
    p.add_argument("--since", default=None, metavar="WHEN",
                   help="recorded at or after (ISO date or time, UTC)")
    p.add_argument("--until", default=None, metavar="WHEN", help="recorded before")
    p.add_argument("--tag", dest="select_tags", action="append", default=[], metavar="TAG",
                   help="only records with this tag (repeatable: all must match)")
    p.add_argument("--id", dest="ids", action="append", default=[], metavar="ID",
                   help="only this record (repeatable)")
    p.add_argument("--source", choices=("openai", "otlp", "passline"), default=None)
    p.add_argument("--sample", type=int, default=None, metavar="N",
                   help="a random sample of N of the selected records")
    p.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    p.add_argument("--traffic-dir", default=None, metavar="DIR",
                   help="the traffic store (default: traffic_dir of [tool.passline])")


def selection_of(args: argparse.Namespace) -> Any:
    from passline.errors import ConfigError
    from passline.traffic import Selection
    from passline.traffic._openai import iso

    def when(value: str | None, flag: str) -> str | None:
        if value is None:
            return None
        parsed = iso(value if "T" in value or " " in value or len(value) != 10
                     else value + "T00:00:00+00:00")
        if parsed is None:
            raise ConfigError(f"{flag} {value!r} is not an ISO date or time "
                              "(e.g. 2026-11-30 or 2026-11-30T09:00:00Z)")
        return parsed

    if args.sample is not None and args.sample < 1:
        raise ConfigError(f"--sample must be >= 1, got {args.sample}")
    return Selection(since=when(args.since, "--since"), until=when(args.until, "--until"),
                     tags=tuple(args.select_tags), ids=tuple(args.ids), source=args.source,
                     sample=args.sample, seed=args.seed)


def store_of(args: argparse.Namespace) -> Any:
    from passline.settings import Settings, find_pyproject
    from passline.traffic import TrafficStore, store_for

    if getattr(args, "traffic_dir", None):
        return TrafficStore(args.traffic_dir)
    settings = Settings.resolve()
    pyproject = find_pyproject(Path.cwd())
    return store_for(settings, pyproject.parent if pyproject else Path.cwd())


def run_import(args: argparse.Namespace) -> int:
    from passline.settings import Settings
    from passline.traffic import import_files

    store = store_of(args)
    result = import_files(args.files, store, fmt=args.format, tags=args.tag,
                          group=not args.no_group,
                          pricing=Settings.resolve().pricing)
    if args.json:
        print(json.dumps({**result.to_dict(), "store": str(store.path),
                          "total": store.count()}, indent=2))
        return 0
    sources = ", ".join(f"{n} {s}" for s, n in sorted(result.by_source.items()))
    print(f"imported {result.added} conversation(s) ({sources}); {result.skipped} already "
          f"stored; redaction changed {result.redactions}")
    print(f"store: {store.path} ({store.count()} in all)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    records = store_of(args).select(selection_of(args))
    if args.json:
        print(json.dumps([_summary(r) for r in records[:args.limit]], indent=2))
        return 0
    table = Table("id", "recorded", "source", "model", "message", "answer", "tools",
                  title=f"{len(records)} recorded conversation(s)")
    for r in records[:args.limit]:
        table.add_row(r.id, r.recorded_at or "-", r.source, r.model or "-", r.message[:60],
                      r.answer[:60], ", ".join(str(t.get("name")) for t in r.tool_calls))
    console().print(table)
    if len(records) > args.limit:
        print(f"... and {len(records) - args.limit} more (--limit)")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from passline.traffic import Selection

    (record,) = store_of(args).select(Selection(ids=(args.id,)))
    print(json.dumps(record.to_dict(), indent=2, ensure_ascii=False))
    return 0


def _summary(r: Any) -> dict[str, Any]:
    return {"id": r.id, "recorded_at": r.recorded_at, "source": r.source, "model": r.model,
            "message": r.message, "answer": r.answer, "tags": list(r.tags),
            "tool_calls": [t.get("name") for t in r.tool_calls], "cost_usd": r.cost_usd,
            "latency_s": r.latency_s}
