"""The report stage: index.html (side-by-side regression report), summary.md, junit.xml.

Pipeline position: records -> compare -> **report**. Reads run records (or a baseline
file for the baseline side) and never calls back into the runner.

>>> from passline.report import build_report  # doctest: +SKIP
>>> paths = build_report("reports/runs/base-run", "reports/runs/cand-run", "reports/pr-42")
>>> paths.verdict.status  # doctest: +SKIP
'regressed'
"""

from __future__ import annotations

from passline.report._build import ReportPaths, build_report

__all__ = ["ReportPaths", "build_report"]
