"""What the report says about the LLM judges of the runs: how far each can be trusted, and
whether its scores decided anything (the ``untrusted_judge`` policy, docs/judges.md).

Read from the manifests' ``"judges"`` entries (the calibration summary the session stored)
and from the trials' scores (the judged metric: mean judge score and share below threshold).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passline.report import _format as fmt
from passline.report._sides import ReportSide


def judges_of(base: ReportSide, cand: ReportSide) -> dict[str, dict[str, Any]]:
    """Rubric -> calibration summary, the candidate's entry winning over the baseline's."""
    out: dict[str, dict[str, Any]] = {}
    for side in (base, cand):
        judges = side.manifest.get("judges") or {}
        if isinstance(judges, Mapping):
            for rubric, data in judges.items():
                if isinstance(data, Mapping):
                    out[str(rubric)] = dict(data)
    return out


def judged_metric(side: ReportSide, rubric: str) -> tuple[float, int, int] | None:
    """(mean judge score 0..1, trials below threshold, trials judged) of the judge scorer
    ``judge:<rubric>`` on one side; None when the side kept no trials (a baseline file)."""
    if side.trials is None:
        return None
    return side.judged.get(f"judge:{rubric}")  # summed when the side was read


def trust_text(data: Mapping[str, Any]) -> str:
    """"trusted" / "untrusted (kappa 0.52, 95% CI 0.43..0.61, below 0.6 on set@v2)" ..."""
    if data.get("status") == "uncalibrated":
        return "untrusted (never calibrated)"
    if data.get("status") == "unreadable":
        return "untrusted (its calibration could not be read)"
    kappa = data.get("kappa")
    parts = [f"kappa {kappa:.2f}" if fmt.finite(kappa) else "kappa n/a"]
    ci = data.get("kappa_ci")
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(fmt.finite(x) for x in ci):
        parts.append(f"95% CI {ci[0]:.2f}..{ci[1]:.2f}")
    where = f" on {data['dataset']}" if data.get("dataset") else ""
    if data.get("trusted") is True:
        return f"trusted ({', '.join(parts)}{where})"
    floor = data.get("min_kappa")
    below = f", below {floor:g}" if fmt.finite(floor) else ""
    return f"untrusted ({', '.join(parts)}{below}{where})"


def role_text(data: Mapping[str, Any]) -> str:
    """What the judge's scores did in these runs."""
    if data.get("trusted") is True:
        return "its scores count like any score"
    if data.get("gates") is False:
        return ("its scores are informational (untrusted_judge = \"inform\"): they do not "
                "pass or fail cases, must-pass cases or the gate")
    if data.get("gates") is True:
        return ("the project lets it gate anyway (untrusted_judge = \"gate\"): its scores "
                "pass and fail cases")
    return "recorded before passline tracked whether its scores may gate"


def policy_text(base: ReportSide, cand: ReportSide, rubric: str, data: Mapping[str, Any],
                md: Any) -> str:
    """"; <what its scores did>. Judged metric (informational): baseline mean 0.61, 196 of
    369 trials below threshold; candidate ..." -- appended to a judge's line in summary.md
    (``md`` escapes a value for markdown)."""
    text = f"; {md(role_text(data), 200)}."
    metrics = [(side.role, judged_metric(side, rubric)) for side in (base, cand)]
    shown = [f"{role} mean {m[0]:.2f}, {m[1]} of {m[2]} trials below threshold"
             for role, m in metrics if m is not None]
    if shown:
        label = "Judged metric (informational)" if data.get("gates") is False \
            else "Judged metric"
        text += f" {label}: " + "; ".join(shown) + "."
    return text
