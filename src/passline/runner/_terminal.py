"""Terminal output of an eval session: progress lines, the summary table, the gate verdict.

Rich renders the tables; without a TTY (CI) or with ``-q`` the same content is printed as
plain text without colours or box drawing noise.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from passline.records._write import RowTally
    from passline.runner._session import EvalSession

PROGRESS_EVERY_S = 5.0
_last_progress: dict[int, tuple[float, int]] = {}


def progress_line(session: EvalSession) -> str | None:
    """A line like ``passline: 120/600 runs, $0.0123, ETA 14s`` at most every few seconds."""
    runner = session._runner
    if runner is None:
        return None
    p = runner.progress
    now = time.perf_counter()
    last_time, last_done = _last_progress.get(id(session), (p.started, 0))
    if p.done >= p.total or now - last_time < PROGRESS_EVERY_S or p.done == last_done:
        return None
    _last_progress[id(session)] = (now, p.done)
    eta = p.eta_s
    eta_text = f" · ETA {eta:.0f}s" if eta is not None else ""
    errors = f" · {p.errors} errors" if p.errors else ""
    width = 24
    filled = round(width * p.done / max(p.total, 1))
    bar = "#" * filled + "-" * (width - filled)
    return (f"passline [{bar}] {p.done}/{p.total} agent runs · ${p.cost_usd:.4f} so far"
            f"{errors}{eta_text}")


def summary_rows(groups: Mapping[str, RowTally]
                 ) -> list[tuple[str, int, float, float, float, float, float]]:
    """(group, n, pass rate, mean score, cost, p50 latency, p95 latency) per dataset and
    per slice (see :func:`passline.records._write.summary_groups`)."""
    out = []
    for name in sorted(groups, key=lambda g: (g.strip().split(" ")[0], g.startswith(" "), g)):
        t = groups[name].totals()
        out.append((name, t["n"], t["pass_rate"], t["mean_score"], t["cost_usd"],
                    t["latency_p50_s"], t["latency_p95_s"]))
    return out


def summary(session: EvalSession, reporter: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from passline.compare._words import wilson_text

    verbose = reporter.config.get_verbosity() >= 0
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=reporter.isatty, width=max(reporter._tw.fullwidth,
                                                                          100),
                      color_system="auto" if reporter.isatty else None)
    for name, manifest in session.summaries.items():
        t = manifest.get("totals") or {}
        variant = manifest.get("variant") or {}
        tally = session.variant_tally(name)
        n_cases = tally.cases if tally is not None else 0
        title = (f"passline · {name} = {variant.get('model')}:{variant.get('prompts')} · "
                 f"{t.get('n', 0)} results · pass "
                 f"{wilson_text(float(t.get('pass_rate', 0)), n_cases, 0.05)} · "
                 f"${t.get('cost_usd', 0):.4f} · {t.get('tokens', 0):,} tokens · p95 "
                 f"{t.get('latency_p95_s', 0):.2f} s")
        if verbose:
            from rich import box

            console.print(title, highlight=False, soft_wrap=True)
            table = Table(pad_edge=False,
                          box=box.SIMPLE_HEAD if reporter.isatty else box.ASCII2)
            for col in ("dataset / slice", "n", "pass rate", "mean score", "cost $",
                        "p50 s (per case)", "p95 s (per case)"):
                table.add_column(col, justify="left" if col.startswith("dataset") else "right")
            for g, n, pr, sc, cost, p50, p95 in summary_rows(session.variant_groups(name)):
                table.add_row(g, str(n), f"{pr:.1%}", f"{sc:.3f}", f"{cost:.4f}",
                              f"{p50:.2f}", f"{p95:.2f}")
            console.print(table)
        else:
            console.print(title)
        console.print(f"run record: {manifest.get('_path')}")
    for note in session.notes:  # outages, interrupted runs, abandoned calls
        console.print(note, highlight=False, soft_wrap=True, markup=False)  # "[tool...]"
    verdict = session.verdict_text
    if verdict:  # soft wrap: paths and long reasons stay whole for copying
        console.print(verdict, soft_wrap=True, highlight=False, markup=False)
    reporter.write_sep("=", "passline")
    for line in buf.getvalue().rstrip("\n").splitlines():
        reporter.write_line(line)
