"""summary.md: the verdict, metrics, top regressions and significant slices as GitHub
markdown, small enough (< 60 KB, always) for a pull-request comment."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from passline.compare import Comparison, Verdict
from passline.report import _format as fmt
from passline.report._sides import ReportSide
from passline.report._view import case_reason, metric_row

MAX_BYTES = 60_000
TOP_REGRESSIONS = 10
MAX_SLICES = 15
MAX_WARNINGS = 10
_ICON = {"regressed": "❌", "improved": "📈", "pass": "✅"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")


def md(text: Any, limit: int = 120) -> str:
    """Plain text safe inside markdown (and a table cell): markup characters escaped, HTML
    tags and @mentions neutralised, one line, at most ``limit`` characters."""
    s = fmt.clip(text, limit)
    s = s.replace("&", "&amp;").replace("<", "&lt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return s.replace("@", "&#64;")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _side_line(side: ReportSide) -> str:
    v = side.variant
    return (f"{md(v.get('name') or side.role, 40)} ({md(v.get('model') or '?', 40)}, prompts "
            f"{md(v.get('prompts') or '?', 40)}; run {md(side.label, 80)})")


def render_summary(*, comparison: Comparison, verdict: Verdict, base: ReportSide,
                   cand: ReportSide, cases_by_key: Mapping[tuple[str, str], Mapping[str, Any]],
                   html_path: str, title: str) -> str:
    """The markdown text (always under 60 KB)."""
    status = verdict.status
    regs, imps = comparison.regressions, comparison.improvements
    lines = [
        f"## {_ICON.get(status, '')} passline: {status.upper()} — {md(title, 150)}",
        "",
        f"Candidate {_side_line(cand)} vs baseline {_side_line(base)}: "
        f"**{len(regs):,} regressed, {len(imps):,} improved** of {comparison.n_pairs:,} paired "
        f"cases ({md(', '.join(comparison.datasets) or '—', 200)}).",
        "",
        "**Gate**",
        "",
    ]
    marks = {"fail": "✗", "pass": "✓", "skip": "–"}
    ordered = ([c for c in verdict.checks if c.status == "fail"]
               + [c for c in verdict.checks if c.status != "fail"])
    lines += [f"- {marks.get(c.status, '·')} {md(c.message, 600)}" for c in ordered]
    lines.append("")
    level = f"{1 - comparison.alpha:.0%} CI"
    rows = []
    for m in comparison.metrics:
        r = metric_row(m, comparison.alpha)
        delta = f"**{r['delta']}**" if m.significant else r["delta"]
        rows.append([r["label"], r["baseline"], r["candidate"], delta, r["ci"], r["p"],
                     md(r["note"], 120)])
    lines += _table(["metric", "baseline", "candidate", "delta", level, "p", "reading"], rows)
    lines.append("")
    if regs:
        shown = regs[:TOP_REGRESSIONS]
        lines.append(f"### Top regressions ({len(shown)} of {len(regs):,})")
        lines.append("")
        rows = []
        for c in shown:
            flag = " **must-pass**" if c.must_pass else ""
            rows.append([md(c.case_id, 60) + flag, md(c.eval, 60),
                         f"{fmt.outcomes(c.baseline_outcomes)} → "
                         f"{fmt.outcomes(c.candidate_outcomes)}",
                         f"{c.baseline_score:.2f} → {c.candidate_score:.2f}",
                         md(case_reason(cases_by_key.get(c.key)), 140) or "—"])
        lines += _table(["case", "eval", "trials", "score", "why"], rows)
        if len(regs) > len(shown):
            lines.append("")
            lines.append(f"... and {len(regs) - len(shown):,} more")
        lines.append("")
    if imps:
        shown_ids = ", ".join(md(c.case_id, 40) for c in imps[:5])
        more = f" ... and {len(imps) - 5:,} more" if len(imps) > 5 else ""
        lines += [f"**Improved:** {shown_ids}{more}", ""]
    moved = [s for s in comparison.slices if s.significant]
    if moved:
        moved.sort(key=lambda s: (s.p_adjusted, s.slice))
        lines.append(f"### Slices with significant changes ({len(moved)} of "
                     f"{len(comparison.slices)})")
        lines.append("")
        lines += _table(["slice", "cases", "baseline", "candidate", "delta", "adjusted p"], [
            [md(s.slice, 60), f"{s.n_pairs:,}", fmt.pct(s.baseline), fmt.pct(s.candidate),
             fmt.metric_delta("pass_rate", "absolute", s.delta), fmt.p_value(s.p_adjusted)]
            for s in moved[:MAX_SLICES]])
        if len(moved) > MAX_SLICES:
            lines += ["", f"... and {len(moved) - MAX_SLICES} more"]
        lines.append("")
    lines += ["### Cost and latency", ""]
    lines += _cost_lines(comparison, base, cand)
    lines.append("")
    extra = []
    if comparison.flaky:
        extra.append(f"- {len(comparison.flaky):,} flaky case-run(s) (trials disagree)")
    if comparison.only_in_baseline or comparison.only_in_candidate:
        extra.append(f"- {len(comparison.only_in_baseline):,} case(s) only in the baseline, "
                     f"{len(comparison.only_in_candidate):,} only in the candidate")
    for w in comparison.warnings[:MAX_WARNINGS]:
        extra.append(f"- ⚠️ {md(w, 300)}")
    if len(comparison.warnings) > MAX_WARNINGS:
        extra.append(f"- ... and {len(comparison.warnings) - MAX_WARNINGS} more warnings")
    if extra:
        lines += [*extra, ""]
    lines.append(f"Full side-by-side report: `{html_path.replace('`', '')}` (open the "
                 "`index.html` of the report artifact in a browser; it works offline).")
    return _fit("\n".join(lines) + "\n")


def _cost_lines(comparison: Comparison, base: ReportSide, cand: ReportSide) -> list[str]:
    cost = comparison.metric("cost")
    lat = comparison.metric("latency_p95")
    out = [f"- cost per case: {fmt.money(cost.baseline)} → {fmt.money(cost.candidate)} "
           f"({fmt.metric_delta('cost', cost.delta_kind, cost.delta)}"
           f"{', significant' if cost.significant else ''})"]
    tb, tc = base.manifest.get("totals") or {}, cand.manifest.get("totals") or {}
    if "cost_usd" in tb and "cost_usd" in tc:
        judge = ""
        if tb.get("judge_cost_usd") or tc.get("judge_cost_usd"):
            judge = (f"; judge {fmt.money(tb.get('judge_cost_usd') or 0)} → "
                     f"{fmt.money(tc.get('judge_cost_usd') or 0)}")
        out.append(f"- total cost: {fmt.money(tb['cost_usd'])} → {fmt.money(tc['cost_usd'])}"
                   f"{judge}; tokens {fmt.integer(tb.get('tokens'))} → "
                   f"{fmt.integer(tc.get('tokens'))}")
    out.append(f"- p95 latency: {fmt.seconds(lat.baseline)} → {fmt.seconds(lat.candidate)} "
               f"({fmt.metric_delta('latency_p95', lat.delta_kind, lat.delta)}"
               f"{', significant' if lat.significant else ''})")
    return out


def _fit(text: str) -> str:
    """Last line of defence for the PR-comment size limit (the lists above are capped)."""
    data = text.encode("utf-8")
    if len(data) <= MAX_BYTES:
        return text
    cut = data[: MAX_BYTES - 200].decode("utf-8", errors="ignore")
    cut = cut[: cut.rfind("\n")]
    return cut + "\n\n... and more: summary truncated to fit a pull-request comment\n"
