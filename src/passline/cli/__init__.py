"""The ``passline`` command line: subcommands mirror the nouns (sim, config, golden, runs...).

Each subcommand lives in its own module exposing ``register(subparsers)``; the module list
below is the only place that knows them all. Library code never prints; this package does.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from passline.errors import ExitCode, PasslineError

SUBCOMMAND_MODULES = [
    "passline.cli.demo",
    "passline.cli.sim",
    "passline.cli.golden",
    "passline.cli.runs",
    "passline.cli.report",
    "passline.cli.judge",
    "passline.cli.gate",
    "passline.cli.baseline",
    "passline.cli.config",
    "passline.cli.init",
]

EPILOG = "exit codes: " + ", ".join(
    f"{int(c)} {c.name.lower().replace('_', ' ')}" for c in ExitCode
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="passline",
        description="Offline evaluation and regression harness for LLM agents.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return int(ExitCode.USAGE_ERROR)
    try:
        return int(args.func(args) or 0)
    except PasslineError as exc:
        print(f"passline: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("passline: interrupted", file=sys.stderr)
        return 130


def _version() -> str:
    from passline import __version__

    return f"passline {__version__}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
