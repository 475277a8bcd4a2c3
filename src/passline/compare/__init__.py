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
from passline.compare._confirm import (
    CONFIRM_TRIAL_BASE,
    Rerun,
    RerunRequest,
    confirm,
    first_look_alpha,
)
from passline.compare._gate import CheckResult, GatePolicy, Verdict, gate, load_policy
from passline.compare._io import iter_results, read_manifest, read_results
from passline.compare._results import (
    CaseChange,
    Comparison,
    Confirmation,
    FlakyCase,
    MetricResult,
    MustPassCase,
    RunInfo,
    SliceResult,
    StageTwo,
)
from passline.compare._sources import incomplete_reason, source_completion

__all__ = [
    "CONFIRM_TRIAL_BASE",
    "Baseline",
    "BaselineInfo",
    "CaseChange",
    "CaseSummary",
    "CheckResult",
    "Comparison",
    "Confirmation",
    "FlakyCase",
    "GatePolicy",
    "MetricResult",
    "MustPassCase",
    "Rerun",
    "RerunRequest",
    "RunInfo",
    "SliceResult",
    "StageTwo",
    "Verdict",
    "compare",
    "confirm",
    "first_look_alpha",
    "gate",
    "history",
    "incomplete_reason",
    "iter_results",
    "list_baselines",
    "load_baseline",
    "load_policy",
    "promote_baseline",
    "read_manifest",
    "read_results",
    "rollback_baseline",
    "save_baseline",
    "source_completion",
    "summarize_rows",
]
