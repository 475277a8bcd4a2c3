"""``passline config``: print the resolved settings and where each value came from."""

from __future__ import annotations

import argparse
import json

from passline.cli._output import add_output_flags, examples
from passline.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="show resolved settings and their sources",
                       **examples("passline config",
                                  "PASSLINE_MODEL=gpt-4o-mini passline config --json"))
    add_output_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.resolve()
    values = settings.public_dict()
    if args.json:
        print(json.dumps({"settings": values, "sources": dict(settings.sources)}, indent=2))
        return 0
    from rich.markup import escape

    from passline.cli._output import Table, console

    table = Table("setting", "value", "source", title="passline settings")
    for name, value in values.items():
        table.add_row(name, escape(json.dumps(value)),
                      escape(settings.sources.get(name, "default")))
    console().print(table)
    return 0
