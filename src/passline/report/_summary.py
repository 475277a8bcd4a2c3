"""summary.md: the verdict, metrics, top regressions and significant slices as GitHub
markdown, small enough (< 60 KB, always) for a pull-request comment."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from passline.compare import Comparison, Verdict
from passline.compare import _words as words
from passline.report import _format as fmt
from passline.report._judges import policy_text
from passline.report._sides import ReportSide, trials_of
from passline.report._view import case_reason, confirmation_text, metric_row

MAX_BYTES = 60_000
TOP_REGRESSIONS = 10
MAX_SLICES = 15
MAX_WARNINGS = 10
_ICON = {"regressed": "❌", "incomplete": "⚠️", "improved": "📈", "pass": "✅"}
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


def _own_rate(side: ReportSide, alpha: float) -> str:
    summaries = list(side.summaries.values())
    n = len(summaries)
    rate = sum(c.pass_rate for c in summaries) / n if n else float("nan")
    return words.wilson_text(rate, n, alpha)


def _side_line(side: ReportSide) -> str:
    v = side.variant
    return (f"{md(v.get('name') or side.role, 40)} ({md(v.get('model') or '?', 40)}, prompts "
            f"{md(v.get('prompts') or '?', 40)}; run {md(side.label, 80)})")


def render_summary(*, comparison: Comparison, verdict: Verdict, base: ReportSide,
                   cand: ReportSide, html_path: str, title: str,
                   report_url: str | None = None) -> str:
    """The markdown text (always under 60 KB). ``report_url`` is where readers of the
    comment find the full report (an artifact or Pages URL); without it, ``html_path``."""
    status = verdict.status
    regs, imps = comparison.regressions, comparison.improvements
    lines = [
        f"## {_ICON.get(status, '')} passline: {status.upper()} — {md(title, 150)}",
        "",
        f"Candidate {_side_line(cand)} vs baseline {_side_line(base)}: "
        f"**{len(regs):,} regressed, {len(imps):,} improved** of {comparison.n_pairs:,} paired "
        f"cases ({md(', '.join(comparison.datasets) or '—', 200)}).",
        "",
        f"Each variant's own pass rate (Wilson {1 - comparison.alpha:.0%} CI over its cases): "
        f"baseline {_own_rate(base, comparison.alpha)}, candidate "
        f"{_own_rate(cand, comparison.alpha)}. {md(confirmation_text(comparison), 400)}",
        "",
        "**Gate**",
        "",
    ]
    marks = {"fail": "✗", "warn": "⚠", "pass": "✓", "skip": "–"}
    rank = {"fail": 0, "warn": 1}
    ordered = sorted(verdict.checks, key=lambda c: rank.get(c.status, 2))
    lines += [f"- {marks.get(c.status, '·')} {md(c.message, 600)}" for c in ordered]
    lines.append("")
    level = f"{1 - comparison.alpha:.0%} CI"
    rows = []
    for m in comparison.metrics:
        r = metric_row(m, comparison.alpha, comparison)
        delta = f"**{r['delta']}**" if m.significant else r["delta"]
        rows.append([r["label"], r["baseline"], r["candidate"], delta, r["ci"], r["p"],
                     md(r["note"], 240)])
    lines += _table(["metric", "baseline", "candidate", "delta", level, "p", "reading"], rows)
    lines.append("")
    if regs:
        shown = regs[:TOP_REGRESSIONS]
        lines.append(f"### Top regressions ({len(shown)} of {len(regs):,})")
        lines.append("")
        rows = []
        for c in shown:
            flag = " **must-pass**" if c.must_pass else ""
            rows.append([md(c.case_id, 200) + flag, md(c.eval, 60),
                         f"{fmt.outcomes(c.baseline_outcomes)} → "
                         f"{fmt.outcomes(c.candidate_outcomes)}",
                         f"{c.baseline_score:.2f} → {c.candidate_score:.2f}",
                         why_cell(trials_of(cand, c.key))])
        lines += _table(["case", "eval", "trials", "score", "why"], rows)
        if len(regs) > len(shown):
            lines.append("")
            lines.append(f"... and {len(regs) - len(shown):,} more")
        lines.append("")
    if imps:
        shown_ids = ", ".join(md(c.case_id, 40) for c in imps[:5])
        more = f" ... and {len(imps) - 5:,} more" if len(imps) > 5 else ""
        lines += [f"**Improved:** {shown_ids}{more}", ""]
    # slices that moved: significant after the adjustment, or before it only (said so)
    moved = [s for s in comparison.slices if s.significant or s.p_value < comparison.alpha]
    if moved:
        moved.sort(key=lambda s: (not s.significant, s.p_adjusted, s.slice))
        n_sig = sum(s.significant for s in moved)
        adjusted = words.CORRECTION_NAMES.get(comparison.correction, comparison.correction)
        lines.append(f"### Slices that moved ({n_sig} significant of "
                     f"{len(comparison.slices)}; p-values {adjusted}-adjusted)")
        lines.append("")
        lines += _table(["slice", "cases", "baseline", "candidate", "delta", "reading"], [
            [md(s.slice, 60), f"{s.n_pairs:,}", fmt.pct(s.baseline), fmt.pct(s.candidate),
             fmt.metric_delta("pass_rate", "absolute", s.delta),
             md(words.slice_reading(s, comparison.correction, comparison.alpha), 120)]
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
    lines += judge_lines(base, cand)
    link = report_link(report_url, html_path)
    head = "\n".join(lines).rstrip("\n") + "\n"
    details = regressed_details(regs, cand,
                                budget=MAX_BYTES - len(head.encode("utf-8")) - 1_000)
    return fit("\n".join([head, *details, link, "", SUMMARY_MARKER]) + "\n", link)


def _cost_lines(comparison: Comparison, base: ReportSide, cand: ReportSide) -> list[str]:
    cost = comparison.metric("cost")
    lat = comparison.metric("latency_p95")
    out = [f"- cost per case: {fmt.money(cost.baseline)} → {fmt.money(cost.candidate)} "
           f"({fmt.metric_delta('cost', cost.delta_kind, cost.delta)}: "
           f"{md(words.metric_reading(cost, alpha=comparison.alpha), 200)})"]
    tb, tc = base.manifest.get("totals") or {}, cand.manifest.get("totals") or {}
    if "cost_usd" in tb and "cost_usd" in tc:
        judge = ""
        if tb.get("judge_cost_usd") or tc.get("judge_cost_usd"):
            judge = (f"; judge {fmt.money(tb.get('judge_cost_usd') or 0)} → "
                     f"{fmt.money(tc.get('judge_cost_usd') or 0)}")
        out.append(f"- total cost: {fmt.money(tb['cost_usd'])} → {fmt.money(tc['cost_usd'])}"
                   f"{judge}; tokens {fmt.integer(tb.get('tokens'))} → "
                   f"{fmt.integer(tc.get('tokens'))}")
    out.append(f"- p95 latency (per-case means): {fmt.seconds(lat.baseline)} → "
               f"{fmt.seconds(lat.candidate)} "
               f"({fmt.metric_delta('latency_p95', lat.delta_kind, lat.delta)}: "
               f"{md(words.metric_reading(lat, alpha=comparison.alpha), 200)})")
    return out


# -- the outer format: marker, report link, judge trust, every regression, the size cap -----

SUMMARY_MARKER = "<!-- passline:summary -->"  # hidden; tells tools this is a passline summary
WHY_CELL_CHARS = 160  # a table cell stays one readable line
WHY_DETAIL_CHARS = 600  # the collapsed list has room for the whole reason
_TOKEN = re.compile(r"\S+")


def clip_tokens(text: Any, limit: int) -> str:
    """``text`` on one line, at most about ``limit`` characters, never cut inside a word.

    An explanation's key token is usually at its end (``expected X, got: Y``), so a long
    text keeps its head and its tail and drops whole words from the middle (``…``). A
    single word longer than the limit is kept whole: half an identifier explains nothing.

    >>> clip_tokens("tool_call_match: expected issue_refund(order_id) got: refund_status", 40)
    'tool_call_match: … got: refund_status'
    """
    words = _TOKEN.findall(fmt.visible_controls(str(text if text is not None else "")))
    line = " ".join(words)
    if len(line) <= limit or not words:
        return line
    head: list[str] = []
    tail = [words[-1]]  # always whole, however long
    budget = limit - len(words[-1]) - 2  # and room for " …"
    i, j = 0, len(words) - 2
    from_tail = True  # alternate, tail first
    while i <= j:
        word = words[j] if from_tail else words[i]
        if len(word) + 1 > budget:
            break
        budget -= len(word) + 1
        if from_tail:
            tail.insert(0, word)
            j -= 1
        else:
            head.append(word)
            i += 1
        from_tail = not from_tail
    dropped = ["…"] if i <= j else []  # nothing dropped: a single overlong word stays whole
    return " ".join([*head, *dropped, *tail])


def _reason(trials: Sequence[Mapping[str, Any]] | None) -> str:
    return case_reason(trials, limit=10_000)  # full text; clipped here at word boundaries


def why_cell(trials: Sequence[Mapping[str, Any]] | None) -> str:
    """The "why" cell of a regression row (from the case's candidate trials): escaped, one
    line, no word cut in half."""
    return md(clip_tokens(_reason(trials), WHY_CELL_CHARS), WHY_CELL_CHARS * 2) or "—"


def report_link(report_url: str | None, html_path: str) -> str:
    """The line that leads to the full report: the URL when one is known (an artifact, a
    Pages site), else the local path of ``index.html`` (useful on the machine that wrote it)."""
    if report_url:
        safe = report_url.replace(" ", "%20").replace(")", "%29").replace("<", "%3C")
        return (f"**[Full side-by-side report]({safe})** — every case side by side, traces and "
                "the prompt diff (`index.html`; it works offline).")
    return (f"Full side-by-side report: `{html_path.replace('`', '')}` (open the "
            "`index.html` of the report artifact in a browser; it works offline).")


def judge_lines(base: ReportSide, cand: ReportSide) -> list[str]:
    """How far each LLM judge of the candidate run can be trusted (nothing without judges)."""
    judges = cand.manifest.get("judges") or base.manifest.get("judges") or {}
    if not isinstance(judges, Mapping) or not judges:
        return []
    out = ["**Judges**", ""]
    for rubric in sorted(judges, key=str):
        j = judges[rubric] if isinstance(judges[rubric], Mapping) else {}
        who = f"{md(rubric, 80)} judged by {md(j.get('model') or '?', 60)}"
        kappa, floor = j.get("kappa"), j.get("min_kappa")
        labels = j.get("n_items")
        measured = (f"Cohen's κ {kappa:.2f}" if fmt.finite(kappa) else "κ not measured")
        if fmt.finite(floor):
            measured += f" (trusted from {floor:.2f})"
        if fmt.finite(labels):
            measured += f" on {int(labels or 0):,} labels"
        # what its scores decided (untrusted_judge policy) and the judged metric per side
        policy = policy_text(base, cand, str(rubric), j, md)
        if j.get("trusted") is True:
            out.append(f"- ✓ {who}: trusted — {measured}{policy}")
        elif j.get("trusted") is False:
            out.append(f"- ⚠️ {who}: **untrusted** — {measured}{policy}")
        elif j.get("status") in (None, "uncalibrated"):
            out.append(f"- ⚠️ {who}: **not calibrated**: how far its scores agree with labelled "
                       f"answers is unknown (`passline judge calibrate {md(rubric, 80)}`)"
                       f"{policy}")
        else:
            out.append(f"- ⚠️ {who}: **calibration {md(j.get('status'), 40)}** "
                       f"({md(j.get('error') or 'no details', 200)}){policy}")
    return [*out, ""]


def regressed_details(regs: Sequence[Any], cand: ReportSide, *, budget: int) -> list[str]:
    """Every regressed case with its reason, collapsed, within ``budget`` bytes; what does
    not fit is counted and left to the full report."""
    if not regs:
        return []
    lines = [f"<details><summary>All {len(regs):,} regressed cases, with why</summary>", ""]
    used = sum(len(x.encode("utf-8")) + 1 for x in lines) + 200
    for n, c in enumerate(regs):
        flag = " **must-pass**" if c.must_pass else ""
        why = md(clip_tokens(_reason(trials_of(cand, c.key)), WHY_DETAIL_CHARS),
                 WHY_DETAIL_CHARS * 2) or "—"
        item = (f"- {md(c.case_id, 300)}{flag} ({md(c.eval, 200)}): "
                f"{fmt.outcomes(c.baseline_outcomes)} → {fmt.outcomes(c.candidate_outcomes)}"
                f", score {c.baseline_score:.2f} → {c.candidate_score:.2f} — {why}")
        size = len(item.encode("utf-8")) + 1
        if used + size > budget:
            lines.append(f"- ... and {len(regs) - n:,} more: see the full report")
            break
        lines.append(item)
        used += size
    return [*lines, "", "</details>", ""]


def fit(text: str, link: str, limit: int = MAX_BYTES) -> str:
    """The last line of defence for the pull-request comment limit (65,536 characters; the
    sections above are capped first). Cuts between lines, never inside a table row or a
    word, closes an open ``<details>``, and says where the rest is."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    note = (f"\n\n**Summary cut to fit a pull-request comment.** {link}\n\n{SUMMARY_MARKER}\n")
    room = limit - len(note.encode("utf-8")) - len(b"\n</details>\n")
    cut = data[:max(room, 0)].decode("utf-8", errors="ignore")
    cut = cut[: cut.rfind("\n")] if "\n" in cut else ""
    if cut.count("<details>") > cut.count("</details>"):
        cut += "\n\n</details>"
    return cut + note
