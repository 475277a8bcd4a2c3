"""build_report: read two runs, compare and gate them, write index.html, summary.md and
junit.xml into one directory."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import logging
from pathlib import Path
from typing import Any

from passline._atomic import atomic_write_bytes, make_dirs
from passline.compare import Comparison, GatePolicy, Verdict, compare, gate, load_policy
from passline.report import _charts as charts
from passline.report._chunks import case_blocks, chunked
from passline.report._helper import load_sides
from passline.report._html import render_index
from passline.report._junit import render_junit
from passline.report._payload import build_cases, case_detail
from passline.report._prompts import captured_changes, manifest_diff, prompt_diffs
from passline.report._sides import ReportSide, trials_of
from passline.report._summary import render_summary
from passline.report._view import build_context

log = logging.getLogger(__name__)

PAGE_SIZE = 50
HISTORY_POINTS = 20


@dataclasses.dataclass(frozen=True)
class ReportPaths:
    """Where a report was written, and the verdict and comparison it shows."""

    index_html: Path
    summary_md: Path
    junit_xml: Path
    verdict: Verdict | None = dataclasses.field(default=None, repr=False, compare=False)
    comparison: Comparison | None = dataclasses.field(default=None, repr=False, compare=False)


def _write(path: Path, data: str | bytes) -> None:
    """Atomic write: a reader (or a CI upload) never sees half a report."""
    atomic_write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)


def run_history(root: str | Path | None, cand: ReportSide, base: ReportSide
                ) -> list[dict[str, Any]]:
    """Pass rates of the last runs of the same suite (same dataset keys), oldest first."""
    if root is None:
        if cand.kind != "run" or cand.path is None:
            return []
        root = cand.path.parent
    from passline.records import list_runs

    want = set((cand.manifest.get("datasets") or {}).keys())
    points = []
    for m in list_runs(root):  # newest first
        totals = m.get("totals") or {}
        if set((m.get("datasets") or {}).keys()) != want or not totals.get("n"):
            continue
        points.append({"run_id": m.get("run_id"), "created_at": m.get("created_at"),
                       "pass_rate": float(totals.get("pass_rate") or 0.0)})
        if len(points) == HISTORY_POINTS:
            break
    return points[::-1]


def _prompts_used(cand: ReportSide, comparison: Comparison) -> list[dict[str, Any]]:
    """Per regressed case: the captured system prompts and tools its candidate trials were
    sent, and the tools they called (the prompt diff names which changes they touched)."""
    out = []
    for change in comparison.regressions:
        system: set[str] = set()
        tools: set[str] = set()
        called: set[str] = set()
        for trial in trials_of(cand, change.key) or ():
            used = trial.get("pu") or {}
            system.update(used.get("s") or ())
            tools.update(used.get("t") or ())
            called.update(str(tc[0]) for tc in trial.get("tc") or ())
        out.append({"system": system, "tools": tools, "called": called})
    return out


def _charts(comparison: Comparison, base: ReportSide, cand: ReportSide,
            history: list[dict[str, Any]]) -> dict[str, charts.Chart]:
    cost, rate = comparison.metric("cost"), comparison.metric("pass_rate")
    bname = str(base.variant.get("name") or "baseline")
    cname = str(cand.variant.get("name") or "candidate")
    if bname == cname:
        bname, cname = f"{bname} (baseline)", f"{cname} (candidate)"
    points = [("base", bname, cost.baseline, rate.baseline),
              ("cand", cname, cost.candidate, rate.candidate)]
    points = [p for p in points if charts_finite(p[2]) and charts_finite(p[3])]
    return {
        "histogram": charts.score_histogram((s.score for s in base.summaries.values()),
                                            (s.score for s in cand.summaries.values())),
        "cost": charts.cost_quality(points),
        "trend": charts.trend(history, {base.label: "base", cand.label: "cand"}),
    }


def compare_sides(base: ReportSide, cand: ReportSide, policy: GatePolicy, *,
                  first_look_alpha: float | None = None, n_boot: int = 2000, seed: int = 0,
                  correction: str = "holm", cluster_key: str | None = "cluster"
                  ) -> Comparison:
    """compare() of two sides already read (:func:`passline.report._helper.load_sides`),
    with the gate policy's settings: what compare() of the run directories gives, without
    reading them again. The sides hold the rows' ``cluster`` field: ``cluster_key`` is
    that or None (no clusters)."""
    if cluster_key not in ("cluster", None):
        raise ValueError(f"compare_sides: cluster_key {cluster_key!r}: the sides were read "
                         "with the rows' 'cluster' field; use compare() for another key")
    return _honest_sources(
        compare(base.compare_source, cand.compare_source, alpha=policy.alpha,
                must_pass_tag=policy.must_pass_tag, sampling_unit=policy.sampling_unit,
                first_look_alpha=first_look_alpha, n_boot=n_boot, seed=seed,
                correction=correction, cluster_key=cluster_key),
        base, cand)


def _honest_sources(comparison: Comparison, base: ReportSide, cand: ReportSide
                    ) -> Comparison:
    """compare() was handed in-memory summaries; record that each side was a run directory."""
    infos = {}
    for field, side in (("baseline", base), ("candidate", cand)):
        if side.kind == "run":
            infos[field] = dataclasses.replace(getattr(comparison, field), kind="run",
                                               source=str(side.path))
    return dataclasses.replace(comparison, **infos) if infos else comparison


def _write_history(out: Path, root: str | Path | None, cand: ReportSide) -> None:
    """history.html beside index.html: the runs and baselines of the candidate's datasets."""
    from passline.report._history import collect_history, render_history

    if root is None and (cand.kind != "run" or cand.path is None):
        return
    datasets = sorted((cand.manifest.get("datasets") or {}).keys())
    try:
        history = collect_history(datasets[0] if len(datasets) == 1 else None,
                                  run_root=root or cand.path.parent)  # type: ignore[union-attr]
        _write(out / "history.html", render_history(history))
    except OSError as exc:  # the history is a nicety; never fail a report over it
        log.warning("run history unreadable (%s); no history.html", exc)


def charts_finite(x: Any) -> bool:
    return isinstance(x, int | float) and x == x and abs(x) != float("inf")


def default_title(base: ReportSide, cand: ReportSide) -> str:
    def name(side: ReportSide) -> str:
        v = side.variant
        parts = [str(v.get("name") or side.label)]
        if v.get("model") or v.get("prompts"):
            parts.append(f"({v.get('model') or '?'} / {v.get('prompts') or '?'})")
        return " ".join(parts)

    return f"{name(cand)} vs {name(base)}"


def build_report(
    baseline: Any,
    candidate: Any,
    out_dir: str | Path,
    *,
    title: str | None = None,
    comparison: Comparison | None = None,
    verdict: Verdict | None = None,
    history_root: str | Path | None = None,
    report_url: str | None = None,
) -> ReportPaths:
    """Write ``index.html``, ``summary.md`` and ``junit.xml`` comparing two runs.

    ``baseline`` and ``candidate`` are run directories; the baseline may also be a
    baseline file (then per-case answers and traces are shown as not recorded). Either
    may be a side already read (:func:`passline.report._helper.load_sides`), as the
    pytest plugin does to compare and report reading each run once. Without
    ``comparison``/``verdict`` they are computed with the gate policy of the current
    project (``[tool.passline.gate]``). ``history_root`` is where the runs for the trend
    chart live (default: the folder holding the candidate run). ``report_url`` is the link
    summary.md gives to the full report (a CI artifact or Pages URL; default: the local path).

    >>> paths = build_report("reports/runs/a", "reports/runs/b", "reports/b-vs-a")  # doctest: +SKIP
    >>> paths.index_html  # doctest: +SKIP
    PosixPath('reports/b-vs-a/index.html')
    """
    # Run records are large acyclic trees of dicts: the cyclic garbage collector finds
    # nothing in them but re-walks them on every collection (3x slower at 10,000 cases).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(baseline, candidate, Path(out_dir), title, comparison, verdict,
                      history_root, report_url)
    finally:
        if gc_was_enabled:
            gc.enable()


def _build(baseline: Any, candidate: Any, out: Path, title: str | None,
           comparison: Comparison | None, verdict: Verdict | None,
           history_root: str | Path | None, report_url: str | None = None) -> ReportPaths:
    from passline import __version__

    base, cand = load_sides(baseline, candidate)
    policy = None
    if comparison is None or verdict is None:
        policy = load_policy()
    if comparison is None:
        assert policy is not None
        # one after the other: run beside this thread's Python work (reading, serialising),
        # compare's resampling threads queued for the GIL and both ran slower on 2 cores
        comparison = compare_sides(base, cand, policy)
    if verdict is None:
        verdict = gate(comparison, policy)
    chunks = chunked(len(base.summaries.keys() | cand.summaries.keys()))
    cases = build_cases(base, cand, comparison, comparison.must_pass_tag,
                        with_detail=not chunks)
    title = title or default_title(base, cand)
    try:
        history = run_history(history_root, cand, base)
    except OSError as exc:  # the trend is a nicety; never fail a report over it
        log.warning("run history under %s unreadable (%s); no trend chart", history_root, exc)
        history = []
    make_dirs(out)  # private unless [tool.passline] shared_permissions
    paths = ReportPaths(out / "index.html", out / "summary.md", out / "junit.xml", verdict,
                        comparison)
    context = build_context(
        title=title, comparison=comparison, verdict=verdict, base=base, cand=cand, cases=cases,
        charts=_charts(comparison, base, cand, history),
        prompt_diffs=prompt_diffs(base.manifest.get("prompts"), cand.manifest.get("prompts")),
        captured_changes=captured_changes(base.manifest.get("captured_prompts"),
                                          cand.manifest.get("captured_prompts"),
                                          _prompts_used(cand, comparison)),
        manifest_diff=manifest_diff(base.manifest, cand.manifest),
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        passline_version=__version__)
    meta = {"page_size": PAGE_SIZE, "n": len(cases),
            "baseline_recorded": base.trials is not None,
            "candidate_recorded": cand.trials is not None,
            "runs": {"b": base.label, "c": cand.label}, "title": title}  # for review marks
    data_json, blocks = case_blocks(
        cases, meta, detail=(lambda key: case_detail(base, cand, key)) if chunks else None,
        fast=not (base.lenient or cand.lenient))
    _write(paths.index_html, render_index(context, data_json, blocks))
    del data_json, blocks
    _write_history(out, history_root, cand)
    _write(paths.summary_md, render_summary(comparison=comparison, verdict=verdict, base=base,
                                            cand=cand, html_path=str(paths.index_html),
                                            title=title, report_url=report_url))
    _write(paths.junit_xml, render_junit(comparison=comparison, verdict=verdict, cand=cand,
                                         title=title))
    return paths
