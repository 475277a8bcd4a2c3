"""Chart geometry for the report: plain shapes that templates/_charts.html.j2 draws as SVG.

No chart library and no script: the figures are computed here, the template emits
``<rect>``/``<circle>``/``<polyline>``/``<text>`` with CSS classes (colours follow the
page theme, dark mode included).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from passline.report import _format as fmt

W, H = 360, 200
PAD_L, PAD_R, PAD_T, PAD_B = 44, 12, 14, 34


@dataclasses.dataclass(frozen=True)
class Chart:
    """An SVG chart: size, accessible description, and shapes (dicts with a ``tag``)."""

    title: str
    description: str
    elements: tuple[dict[str, Any], ...]
    width: int = W
    height: int = H
    legend: tuple[tuple[str, str], ...] = ()  # (css class, label)
    empty: str = ""  # when set, the chart has no data and this says why


def _r(x: float) -> float:
    return round(x, 1)


def _axes(y_ticks: Sequence[tuple[float, str]], x_labels: Sequence[tuple[float, str]]
          ) -> list[dict[str, Any]]:
    els: list[dict[str, Any]] = [
        {"tag": "line", "x1": PAD_L, "y1": H - PAD_B, "x2": W - PAD_R, "y2": H - PAD_B,
         "cls": "axis"},
        {"tag": "line", "x1": PAD_L, "y1": PAD_T, "x2": PAD_L, "y2": H - PAD_B, "cls": "axis"},
    ]
    for y, label in y_ticks:
        els.append({"tag": "line", "x1": PAD_L, "y1": _r(y), "x2": W - PAD_R, "y2": _r(y),
                    "cls": "grid"})
        els.append({"tag": "text", "x": PAD_L - 4, "y": _r(y + 3), "anchor": "end",
                    "cls": "tick", "text": label})
    for i, (x, label) in enumerate(x_labels):
        # the last label ends at its tick so it is not clipped at the chart's right edge
        anchor = "end" if i == len(x_labels) - 1 and len(x_labels) > 1 else "middle"
        els.append({"tag": "text", "x": _r(x), "y": H - PAD_B + 14, "anchor": anchor,
                    "cls": "tick", "text": label})
    return els


def score_histogram(base_scores: Iterable[float], cand_scores: Iterable[float],
                    bins: int = 10) -> Chart:
    """Per-case mean scores of both sides in ``bins`` equal bins over [0, 1]."""
    counts = []
    for scores in (base_scores, cand_scores):
        c = [0] * bins
        for s in scores:
            c[min(max(int(s * bins), 0), bins - 1)] += 1
        counts.append(c)
    top = max(max(counts[0]), max(counts[1]), 1)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    slot = plot_w / bins
    bar = slot * 0.4
    els = _axes([(PAD_T + plot_h * (1 - f), fmt.integer(top * f)) for f in (0, 0.5, 1)],
                [(PAD_L + slot * i, f"{i / bins:.1f}") for i in range(0, bins + 1, 2)])
    for side, (cls, label) in enumerate((("base", "baseline"), ("cand", "candidate"))):
        for i, n in enumerate(counts[side]):
            h = plot_h * n / top
            x = PAD_L + slot * i + slot * 0.1 + side * bar
            els.append({"tag": "rect", "x": _r(x), "y": _r(H - PAD_B - h), "w": _r(bar),
                        "h": _r(h), "cls": cls,
                        "title": f"{label}: {n} case(s) scoring {i / bins:.1f}–"
                                 f"{(i + 1) / bins:.1f}"})
    desc = (f"Histogram of per-case mean scores; baseline {sum(counts[0])} cases, "
            f"candidate {sum(counts[1])} cases")
    empty = "" if sum(counts[0]) + sum(counts[1]) else "no scored cases"
    return Chart("Score distribution (per case)", desc, tuple(els),
                 legend=(("base", "baseline"), ("cand", "candidate")), empty=empty)


def cost_quality(points: Sequence[tuple[str, str, float, float]]) -> Chart:
    """One point per variant: (css class, label, mean cost per case, pass rate)."""
    if not points:
        return Chart("Cost vs quality", "no data", (), empty="no data")
    max_cost = max(p[2] for p in points) or 1e-9
    lo = min(p[3] for p in points)
    y_min = max(0.0, min(lo - 0.1, 0.8))
    y_min = round(y_min * 10) / 10 if y_min > 0 else 0.0
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    x_max = max_cost * 1.3

    def xy(cost: float, rate: float) -> tuple[float, float]:
        return (PAD_L + plot_w * cost / x_max,
                H - PAD_B - plot_h * (rate - y_min) / ((1 - y_min) or 1))

    y_ticks = [(xy(0, v)[1], f"{v:.0%}") for v in (y_min, (y_min + 1) / 2, 1.0)]
    x_labels = [(xy(c, y_min)[0], fmt.money(c)) for c in (0.0, x_max / 2, x_max)]
    els = _axes(y_ticks, x_labels)
    if len(points) == 2:
        (x1, y1), (x2, y2) = xy(points[0][2], points[0][3]), xy(points[1][2], points[1][3])
        els.append({"tag": "line", "x1": _r(x1), "y1": _r(y1), "x2": _r(x2), "y2": _r(y2),
                    "cls": "arrow"})
    for cls, label, cost, rate in points:
        x, y = xy(cost, rate)
        els.append({"tag": "circle", "cx": _r(x), "cy": _r(y), "r": 6, "cls": cls,
                    "title": f"{label}: {fmt.money(cost)} per case, pass rate {rate:.1%}"})
        els.append({"tag": "text", "x": _r(x + 9), "y": _r(y - 8), "anchor": "start",
                    "cls": "label", "text": label})
    desc = "; ".join(f"{label}: {fmt.money(c)} per case at {r:.1%} pass rate"
                     for _, label, c, r in points)
    els.append({"tag": "text", "x": W - PAD_R, "y": H - 4, "anchor": "end", "cls": "tick",
                "text": "mean cost per case →"})
    return Chart("Cost vs quality", desc, tuple(els),
                 legend=tuple((p[0], p[1]) for p in points))


def trend(history: Sequence[Mapping[str, Any]], marks: Mapping[str, str]) -> Chart:
    """Pass rate of the last runs of the same suite, oldest first.

    ``history`` items have run_id, created_at, pass_rate; ``marks`` maps a run id to the css
    class that highlights it (the baseline and candidate runs).
    """
    if len(history) < 2:
        return Chart("Pass rate trend", "too few runs", (),
                     empty="fewer than two runs of this suite were found in the run history")
    rates = [float(h["pass_rate"]) for h in history]
    y_min = max(0.0, (min(rates) - 0.05))
    y_min = int(y_min * 10) / 10
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    n = len(history)

    def xy(i: int, rate: float) -> tuple[float, float]:
        return (PAD_L + 10 + (plot_w - 20) * i / (n - 1),
                H - PAD_B - plot_h * (rate - y_min) / ((1 - y_min) or 1))

    y_ticks = [(xy(0, v)[1], f"{v:.0%}") for v in (y_min, (y_min + 1) / 2, 1.0)]
    x_labels = [(xy(0, 0)[0], str(history[0].get("created_at") or "")[:10]),
                (xy(n - 1, 0)[0], str(history[-1].get("created_at") or "")[:10])]
    els = _axes(y_ticks, x_labels)
    pts = " ".join(f"{_r(x)},{_r(y)}" for x, y in (xy(i, r) for i, r in enumerate(rates)))
    els.append({"tag": "polyline", "points": pts, "cls": "trendline"})
    for i, h in enumerate(history):
        x, y = xy(i, rates[i])
        cls = marks.get(str(h.get("run_id")), "point")
        els.append({"tag": "circle", "cx": _r(x), "cy": _r(y), "r": 5 if cls != "point" else 3,
                    "cls": cls, "title": f"{h.get('run_id')} ({h.get('created_at')}): "
                                         f"pass rate {rates[i]:.1%}"})
    desc = (f"Pass rate of the last {n} runs, from {rates[0]:.1%} to {rates[-1]:.1%}")
    return Chart(f"Pass rate trend (last {n} runs)", desc, tuple(els),
                 legend=(("point", "run"), ("base", "baseline"), ("cand", "candidate")))
