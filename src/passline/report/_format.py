"""Number and text formatting shared by the HTML report, summary.md and junit.xml."""

from __future__ import annotations

import math
import re
from typing import Any

METRIC_LABELS = {
    "pass_rate": "pass rate",
    "score": "mean score",
    "cost": "cost per case",
    "latency_p95": "p95 latency",
}
TEST_LABELS = {
    "mcnemar-exact": "McNemar exact",
    "sign-flip": "sign-flip permutation",
    "cluster-sign-flip": "cluster sign-flip",
    "bootstrap": "bootstrap",
}


def finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def metric_value(name: str, x: Any) -> str:
    """A metric's level on its natural scale: 71.2%, 0.734, $0.00123, 1.42s."""
    if not finite(x):
        return "n/a"
    if name == "pass_rate":
        return f"{x:.1%}"
    if name == "cost":
        return money(x)
    if name.startswith("latency"):
        return seconds(x)
    return f"{x:.3f}"


def metric_delta(name: str, kind: str, x: Any, *, unit: bool = True) -> str:
    """A change on the metric's delta scale: +3.1 pts, -0.042, +12.0%."""
    if not finite(x):
        return "n/a"
    if kind == "relative":
        return f"{x:+.1%}"
    if name == "pass_rate":
        return f"{x * 100:+.1f}" + (" pts" if unit else "")
    return f"{x:+.3f}"


def p_value(p: Any) -> str:
    if not finite(p):
        return "—"
    if p < 0.0001:
        return "<0.0001"
    return f"{p:.2g}" if p < 0.01 else f"{p:.3f}".rstrip("0").rstrip(".")


def money(x: Any) -> str:
    if not finite(x):
        return "n/a"
    if x == 0:
        return "$0"
    if abs(x) >= 100:
        return f"${x:,.0f}"
    if abs(x) >= 1:
        return f"${x:,.2f}"
    return f"${x:.5f}".rstrip("0")


def seconds(x: Any) -> str:
    if not finite(x):
        return "n/a"
    if x < 1:
        return f"{x * 1000:.0f} ms"
    return f"{x:.2f} s"


def pct(x: Any) -> str:
    return f"{x:.1%}" if finite(x) else "n/a"


def integer(x: Any) -> str:
    return f"{round(x):,}" if finite(x) else "n/a"


def outcomes(values: Any) -> str:
    """Per-trial outcomes as compact marks: ✓ pass, ✗ fail, ! error."""
    marks = {"pass": "✓", "fail": "✗", "error": "!"}
    return "".join(marks.get(str(v), "?") for v in values or ())


def clip(text: Any, limit: int) -> str:
    """One line of at most ``limit`` characters (newlines become spaces)."""
    s = visible_controls(" ".join(str(text if text is not None else "").split()))
    return s if len(s) <= limit else s[: max(limit - 1, 0)] + "…"


# Bidirectional-text controls can make displayed text read differently from what it is
# ("Trojan Source"); reports show them as visible code points instead.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_controls(text: str) -> str:
    """Replace bidi control characters by a visible ``[U+202E]`` marker."""
    if not _BIDI_CONTROLS.search(text):
        return text
    return _BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)
