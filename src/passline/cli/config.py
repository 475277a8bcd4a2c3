"""``passline config``: print the resolved settings and where each value came from."""

from __future__ import annotations

import argparse
import json

from passline.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="show resolved settings and their sources")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.resolve()
    values = settings.public_dict()
    if args.json:
        print(json.dumps({"settings": values, "sources": dict(settings.sources)}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("setting", "value", "source", title="passline settings")
    for name, value in values.items():
        table.add_row(name, json.dumps(value), settings.sources.get(name, "default"))
    Console().print(table)
    return 0
