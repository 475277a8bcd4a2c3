"""The ``passline`` command line: subcommands mirror the nouns (sim, config, golden, runs...).

Each subcommand lives in its own module exposing ``register(subparsers)``; the module list
below is the only place that knows them all. Library code never prints; this package does.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
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
    "passline.cli.ci",
    "passline.cli.traces",
    "passline.cli.shadow",
    "passline.cli.history",
]

EPILOG = "exit codes: " + ", ".join(
    f"{int(c)} {c.name.lower().replace('_', ' ')}" for c in ExitCode
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="passline",
        description="Offline evaluation and regression harness for LLM agents.",
        epilog=EPILOG + "\n\nexamples:\n  passline demo\n"
        "  passline gate reports/baselines/main.json reports/runs/RUN_ID",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("--plain", action="store_true", default=False,
                        help="plain text output: no colour, no wrapping, tables as aligned "
                        "columns (automatic when stdout is not a terminal, or NO_COLOR is set)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from passline.cli._output import set_plain

    set_plain(bool(getattr(args, "plain", False)))
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return int(ExitCode.USAGE_ERROR)
    try:
        _set_permissions()
        return int(args.func(args) or 0)
    except PasslineError as exc:
        print(f"passline: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("passline: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `passline runs list | head`: the reader has what it wanted
        # as Unix tools do (killed by SIGPIPE: 128 + 13), quietly; never 0, so a cut
        # `passline gate ... | head` under `set -o pipefail` cannot pass for a verdict
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the exit's own flush must not fail again
        return 141
    except OSError as exc:  # a disk, a path, a permission: infrastructure, not a regression
        if args.verbose:
            traceback.print_exc()
        print(f"passline: error: {_os_error_text(exc)}", file=sys.stderr)
        return int(ExitCode.INFRASTRUCTURE_ERROR)
    except Exception as exc:  # a bug in passline or in user code it ran: never exit 1
        if args.verbose:
            traceback.print_exc()
            hint = ""
        else:
            hint = "; run with -v for the traceback"
        print(f"passline: internal error in `passline {args.command}`: "
              f"{type(exc).__name__}: {_one_line(str(exc))}{hint}", file=sys.stderr)
        return int(ExitCode.INFRASTRUCTURE_ERROR)


def _set_permissions() -> None:
    """What the command writes is private unless [tool.passline] shared_permissions."""
    from passline._atomic import set_shared_permissions
    from passline.settings import Settings

    try:
        set_shared_permissions(Settings.resolve().shared_permissions)
    except PasslineError:  # a broken config is reported by the commands that need it
        set_shared_permissions(False)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _os_error_text(exc: OSError) -> str:
    """``<what> (<path>)``, e.g. ``No such file or directory (/proc/nope/x)``."""
    what = exc.strerror or _one_line(str(exc)) or type(exc).__name__
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{what} ({' -> '.join(paths)})" if paths else what


def _version() -> str:
    from passline import __version__

    return f"passline {__version__}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
