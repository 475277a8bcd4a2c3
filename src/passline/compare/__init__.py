"""The compare stage: read run records, compare two runs with paired statistics, gate CI.

Pipeline position: records -> **compare** -> report. Nothing here calls back into the
runner; it reads run directories (reports/runs/<run-id>/) and baseline files.

>>> from passline.compare import compare, gate, load_policy  # doctest: +SKIP
>>> verdict = gate(compare("reports/baselines/main.json", "reports/runs/latest"), load_policy())
"""

from __future__ import annotations

from passline.compare._baseline import (
    Baseline,
    BaselineInfo,
    history,
    list_baselines,
    load_baseline,
    promote_baseline,
    rollback_baseline,
    save_baseline,
)
from passline.compare._cases import CaseSummary, summarize_rows
from passline.compare._compare import compare
from passline.compare._gate import CheckResult, GatePolicy, Verdict, gate, load_policy
from passline.compare._io import iter_results, read_manifest, read_results
from passline.compare._results import (
    CaseChange,
    Comparison,
    FlakyCase,
    MetricResult,
    RunInfo,
    SliceResult,
)

__all__ = [
    "Baseline",
    "BaselineInfo",
    "CaseChange",
    "CaseSummary",
    "CheckResult",
    "Comparison",
    "FlakyCase",
    "GatePolicy",
    "MetricResult",
    "RunInfo",
    "SliceResult",
    "Verdict",
    "compare",
    "gate",
    "history",
    "iter_results",
    "list_baselines",
    "load_baseline",
    "load_policy",
    "promote_baseline",
    "read_manifest",
    "read_results",
    "rollback_baseline",
    "save_baseline",
    "summarize_rows",
]
