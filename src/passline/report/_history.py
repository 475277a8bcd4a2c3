"""Run history: pass rate, score, cost and p95 latency of every recorded run and every
baseline version over time, with promotions and rollbacks of baselines marked.

``collect_history`` reads run manifests (``reports/runs/*/manifest.json``; per-eval figures
from the rows when an eval is named) and baseline files with their history
(``reports/baselines/NAME.json``, ``NAME.history/``, ``NAME.history/discarded/``);
``render_history`` draws it as one self-contained page (inline SVG, no script, a CSP that
allows only its own stylesheet).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from passline.report._charts import PAD_B, PAD_L, PAD_R, PAD_T, Chart, _axes, _r

W, H = 720, 220
METRICS = (("pass_rate", "Pass rate", "pct"), ("mean_score", "Mean score", "score"),
           ("cost_per_case", "Cost per case", "usd"), ("latency_p95_s", "p95 latency", "s"))


@dataclasses.dataclass(frozen=True)
class Point:
    """One run, or one baseline version, as the history shows it."""

    kind: str  # "run" | "baseline"
    label: str  # run id, or baseline name
    at: str  # ISO time
    variant: str
    n: int
    pass_rate: float
    mean_score: float
    cost_per_case: float
    latency_p95_s: float
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Event:
    """A baseline change: ``saved`` (first version), ``promoted`` or ``rolled back``."""

    baseline: str
    kind: str
    at: str
    run: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class History:
    target: str | None
    runs: tuple[Point, ...]
    baselines: tuple[Point, ...]
    events: tuple[Event, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "runs": [p.to_dict() for p in self.runs],
                "baselines": [p.to_dict() for p in self.baselines],
                "events": [e.to_dict() for e in self.events]}


def _variant(manifest: Mapping[str, Any]) -> str:
    v = manifest.get("variant") or {}
    return f"{v.get('name', '?')}={v.get('model', '?')}:{v.get('prompts', '?')}" if v else "?"


def _point(kind: str, label: str, at: str, manifest: Mapping[str, Any],
           totals: Mapping[str, Any], source: str) -> Point:
    n = int(totals.get("n") or 0)
    return Point(kind, label, at, _variant(manifest), n, float(totals.get("pass_rate") or 0.0),
                 float(totals.get("mean_score") or 0.0),
                 float(totals.get("cost_usd") or 0.0) / n if n else 0.0,
                 float(totals.get("latency_p95_s") or 0.0), source)


def _matches_dataset(manifest: Mapping[str, Any], target: str) -> bool:
    for key, info in (manifest.get("datasets") or {}).items():
        name = info.get("name") if isinstance(info, Mapping) else None
        if target in (key, name, str(key).split("@")[0]):
            return True
    return False


def collect_history(target: str | None = None, *, run_root: str | Path = "reports/runs",
                    baselines_dir: str | Path = "reports/baselines",
                    limit: int = 200) -> History:
    """The runs and baselines of ``target`` (a dataset ``name`` or ``name@version``, or an
    eval such as ``evals/test_tools.py::test_tool_choice``; None: everything), oldest
    first, at most ``limit`` runs (the newest)."""
    from passline.records import list_runs, read_rows, totals

    runs: list[Point] = []
    by_eval = target is not None and ("::" in target or target.endswith(".py"))
    for manifest in list_runs(run_root):  # newest first
        if len(runs) >= limit:
            break
        at = str(manifest.get("created_at") or "")
        label = str(manifest.get("run_id") or Path(manifest["_path"]).name)
        if target is None or (not by_eval and _matches_dataset(manifest, target)):
            if (manifest.get("totals") or {}).get("n"):
                runs.append(_point("run", label, at, manifest, manifest["totals"],
                                   manifest["_path"]))
        elif by_eval:
            rows = [r for r in read_rows(manifest["_path"])
                    if r.get("eval") == target or str(r.get("eval")).startswith(target + "::")]
            if rows:
                runs.append(_point("run", label, at, manifest, totals(rows), manifest["_path"]))
    baselines, events = _baselines(Path(baselines_dir), None if by_eval else target)
    return History(target, tuple(sorted(runs, key=lambda p: p.at)),
                   tuple(sorted(baselines, key=lambda p: p.at)),
                   tuple(sorted(events, key=lambda e: e.at)))


def _ts(stamp: str) -> str:
    try:
        return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(
            tzinfo=dt.UTC).isoformat(timespec="seconds")
    except ValueError:
        return stamp


def _baselines(folder: Path, target: str | None) -> tuple[list[Point], list[Event]]:
    from passline.compare import load_baseline
    from passline.errors import RecordError

    points: list[Point] = []
    events: list[Event] = []
    if not folder.is_dir():
        return points, events
    for current in sorted(folder.glob("*.json")):
        name = current.stem
        hist = folder / f"{name}.history"
        # every version ever made current: kept ones, rolled-back ones, the current one
        versions = [*sorted(hist.glob("*.json")), *sorted(hist.glob("discarded/*.json")),
                    current] if hist.is_dir() else [current]
        seen: list[tuple[str, str, Any]] = []
        for path in versions:
            try:
                base = load_baseline(path)
            except RecordError:
                continue
            if target is not None and not _matches_dataset(base.manifest, target):
                continue
            key = (base.saved_at, str(base.source_run))
            if key in [(s[0], s[1]) for s in seen]:
                continue  # a version restored by a rollback is the same version
            seen.append((base.saved_at, str(base.source_run), base))
        for i, (saved_at, source_run, base) in enumerate(sorted(seen, key=lambda s: s[0])):
            totals = base.manifest.get("totals") or {}
            run_id = str(base.manifest.get("run_id") or source_run)
            points.append(_point("baseline", name, saved_at, base.manifest, totals,
                                 str(base.path)))
            events.append(Event(name, "saved" if i == 0 else "promoted", saved_at, run_id))
        discarded = hist / "discarded"
        if seen and discarded.is_dir():
            for path in sorted(discarded.glob("*.json")):
                try:
                    gone = load_baseline(path)
                except RecordError:
                    continue
                events.append(Event(name, "rolled back", _ts(path.stem),
                                    str(gone.manifest.get("run_id") or gone.source_run)))
    return points, events


# ---------------------------------------------------------------------------- the page


def _seconds(at: str) -> float | None:
    try:
        parsed = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


def _fmt(value: float, unit: str) -> str:
    if unit == "pct":
        return f"{value:.0%}"
    if unit == "usd":  # short enough for the axis: cents below a cent
        if 0 < value < 0.01:
            return f"{value * 100:.2g}¢"
        return f"${value:.2g}" if value < 1 else f"${value:.2f}"
    if unit == "s":
        return f"{value:.2g}s"
    return f"{value:.2f}"


def metric_chart(history: History, metric: str, title: str, unit: str) -> Chart:
    """One metric over time: runs as a line, baseline versions as larger points, promotions
    and rollbacks as vertical markers."""
    pts = [p for p in (*history.runs, *history.baselines) if _seconds(p.at) is not None]
    if len(pts) < 1:
        return Chart(title, "no runs", (), width=W, height=H,
                     empty="no recorded run or baseline matches")
    times = [_seconds(p.at) or 0.0 for p in pts] + [
        s for s in (_seconds(e.at) for e in history.events) if s is not None]
    t0, t1 = min(times), max(times)
    values = [float(getattr(p, metric)) for p in pts]
    lo, hi = (0.0, 1.0) if unit in ("pct", "score") else (0.0, max(values) * 1.1 or 1.0)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def x(at: float) -> float:
        return PAD_L + 10 + (plot_w - 20) * ((at - t0) / (t1 - t0) if t1 > t0 else 0.5)

    def y(v: float) -> float:
        return H - PAD_B - plot_h * (v - lo) / ((hi - lo) or 1)

    ticks = [(y(v), _fmt(v, unit)) for v in (lo, (lo + hi) / 2, hi)]
    labels = [(x(t0), dt.datetime.fromtimestamp(t0, dt.UTC).strftime("%Y-%m-%d"))]
    if t1 > t0:
        labels.append((x(t1), dt.datetime.fromtimestamp(t1, dt.UTC).strftime("%Y-%m-%d")))
    els = _chart_axes(ticks, labels)
    for e in history.events:
        at = _seconds(e.at)
        if at is None or e.kind == "saved":
            continue
        cls = "ev-promote" if e.kind == "promoted" else "ev-rollback"
        els.append({"tag": "line", "x1": _r(x(at)), "y1": PAD_T, "x2": _r(x(at)),
                    "y2": H - PAD_B, "cls": cls})
        els.append({"tag": "text", "x": _r(x(at)), "y": PAD_T - 2, "anchor": "middle",
                    "cls": f"tick {cls}", "text": "▲" if e.kind == "promoted" else "▼"})
    runs = [p for p in pts if p.kind == "run"]
    if len(runs) > 1:
        els.append({"tag": "polyline", "cls": "trendline", "points": " ".join(
            f"{_r(x(_seconds(p.at) or 0))},{_r(y(getattr(p, metric)))}" for p in runs)})
    for p in pts:
        els.append({"tag": "circle", "cx": _r(x(_seconds(p.at) or 0)),
                    "cy": _r(y(getattr(p, metric))), "r": 5 if p.kind == "baseline" else 3,
                    "cls": "base" if p.kind == "baseline" else "point",
                    "title": f"{p.kind} {p.label} ({p.at}, {p.variant}): "
                             f"{title.lower()} {_fmt(getattr(p, metric), unit)}"})
    desc = f"{title} of {len(runs)} runs and {len(pts) - len(runs)} baseline versions over time"
    return Chart(title, desc, tuple(els), width=W, height=H,
                 legend=(("point", "run"), ("base", "baseline version"),
                         ("promote", "promotion"), ("rollback", "rollback")))


def _chart_axes(ticks: Sequence[tuple[float, str]], labels: Sequence[tuple[float, str]]
                ) -> list[dict[str, Any]]:
    """The report's axes, stretched to this page's wider charts."""
    els = _axes(ticks, labels)
    from passline.report import _charts

    for el in els:
        if el.get("tag") == "line" and el.get("x2") == _charts.W - PAD_R:
            el["x2"] = W - PAD_R
        if el.get("tag") == "line" and el.get("y1") == _charts.H - PAD_B:
            el["y1"] = el["y2"] = H - PAD_B
        if el.get("tag") == "line" and el.get("x1") == PAD_L and el.get("y2") == \
                _charts.H - PAD_B:
            el["y2"] = H - PAD_B
        if el.get("tag") == "text" and el.get("y") == _charts.H - PAD_B + 14:
            el["y"] = H - PAD_B + 14
    return els


def render_history(history: History, *, title: str | None = None) -> str:
    """The history page: self-contained HTML, inline SVG, no script."""
    from markupsafe import Markup

    from passline import __version__
    from passline.report._html import csp_hash, environment, static_text

    css = static_text("report.css") + static_text("history.css")
    csp = (f"default-src 'none'; style-src {csp_hash(css)}; script-src 'none'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    charts = [metric_chart(history, m, label, unit) for m, label, unit in METRICS]
    template = environment().get_template("history.html.j2")
    return template.render(
        title=title or f"Run history{': ' + history.target if history.target else ''}",
        history=history, charts=charts, css=Markup(css), csp=Markup(csp),
        fmt=_fmt, passline_version=__version__,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
