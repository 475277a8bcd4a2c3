"""Terminal output of the CLI that survives CI logs.

On a terminal, tables are rich tables whose cells wrap (``overflow="fold"``) instead of being
cut with an ellipsis. When stdout is not a terminal (a CI log, a pipe), or with ``--plain``
or ``NO_COLOR``, output is plain text: no colour, no line wrapping, and tables as aligned
columns as wide as their widest cell, so ids, paths and numbers always print whole --
they are what the next command takes as its argument.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table as RichTable
from rich.text import Text

_forced_plain = False


def set_plain(value: bool) -> None:
    """``--plain`` was given (main() calls this once per invocation)."""
    global _forced_plain
    _forced_plain = value


def plain() -> bool:
    """Plain output: ``--plain``, ``NO_COLOR`` set (https://no-color.org), or stdout is not
    a terminal."""
    if _forced_plain or os.environ.get("NO_COLOR"):
        return True
    isatty = getattr(sys.stdout, "isatty", None)
    return not (isatty and isatty())


def console(**kwargs: Any) -> Console:
    """The console every command prints through. Plain mode never wraps or crops a line."""
    if plain():
        return Console(no_color=True, highlight=False, soft_wrap=True, emoji=False, **kwargs)
    return Console(highlight=False, **kwargs)


class Table(RichTable):
    """A rich Table that never truncates: cells fold on a terminal; in plain mode the table
    prints as aligned text columns, each as wide as its widest cell."""

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("overflow", "fold")
        super().add_column(*args, **kwargs)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not plain():
            yield from super().__rich_console__(console, options)
            return
        headers = [_text(console, c.header) for c in self.columns]
        rows = [[_text(console, cell) for cell in col.cells] for col in self.columns]
        body = [list(r) for r in zip(*rows, strict=True)] if rows else []
        widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(headers)]
        right = [c.justify == "right" for c in self.columns]

        def line(cells: list[str]) -> str:
            return "  ".join((c.rjust(w) if r else c.ljust(w))
                             for c, w, r in zip(cells, widths, right, strict=True)).rstrip()

        out = []
        if self.title:
            out.append(_text(console, self.title))
        out.append(line(headers))
        out.append("  ".join("-" * w for w in widths))
        out += [line(r) for r in body]
        yield Text("\n".join(out), no_wrap=True, overflow="ignore")


def _text(console: Console, value: Any) -> str:
    """A cell as plain one-line text (markup removed)."""
    if isinstance(value, Text):
        text = value.plain
    elif isinstance(value, str):
        text = console.render_str(value).plain
    else:
        text = str(value)
    return " ".join(text.split())


def add_output_flags(parser: argparse.ArgumentParser, *, json: bool = True) -> None:
    """``--json`` (machine-readable output) and ``--plain`` (no colour, no wrapping, tables as
    aligned text), the same on every command that prints data."""
    if json:
        parser.add_argument("--json", action="store_true",
                            help="print the data as JSON (for scripts and CI steps)")
    parser.add_argument("--plain", action="store_true", default=argparse.SUPPRESS,
                        help="plain text: no colour, no wrapping, tables as aligned columns "
                        "that never cut ids, paths or numbers (automatic when stdout is not "
                        "a terminal, or NO_COLOR is set)")


def examples(*lines: str) -> dict[str, Any]:
    """``add_parser`` keywords that end a command's ``--help`` with examples."""
    text = "examples:\n" + "\n".join(f"  {line}" for line in lines)
    return {"epilog": text, "formatter_class": argparse.RawDescriptionHelpFormatter}
