"""The report stage: index.html (side-by-side regression report), summary.md, junit.xml.

Pipeline position: records -> compare -> **report**. Reads run records (or a baseline
file for the baseline side) and never calls back into the runner.

>>> from passline.report import build_report  # doctest: +SKIP
>>> paths = build_report("reports/runs/base-run", "reports/runs/cand-run", "reports/pr-42")
>>> paths.verdict.status  # doctest: +SKIP
'regressed'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ReportPaths", "build_report"]

if TYPE_CHECKING:
    from passline.report._build import ReportPaths, build_report


def __getattr__(name: str) -> Any:
    """Loaded on first use (PEP 562), as in ``passline``: the helper process that reads a
    run for a large report imports ``passline.report._helper`` without the renderer."""
    if name in __all__:
        from passline.report import _build

        return getattr(_build, name)
    raise AttributeError(f"module 'passline.report' has no attribute {name!r}")
