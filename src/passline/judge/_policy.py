"""What a judge's scores may decide: the untrusted-judge policy.

A judge is *trusted* when its stored calibration for the judge model says so (Cohen's kappa
at least ``judge_min_kappa`` on its calibration set, few errors). Any other judge -- one
calibrated below the threshold, one never calibrated, one whose calibration cannot be read --
is untrusted, and the setting ``untrusted_judge`` decides what its scores do:

- ``"inform"`` (default): its scores are recorded and shown, marked as coming from an
  untrusted judge, but they are *advisory* (``passline.scoring.score_may_fail`` is False):
  they never fail a case by themselves, so they never fail a must-pass case or the gate,
  and they are left out of the case's gated score.
- ``"gate"``: the project opts in; its scores pass and fail cases like any other score (the
  report still says the judge is untrusted).

Never-calibrated judges count as untrusted on purpose: otherwise not measuring a judge would
give it more power than measuring it and finding it weak.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passline.settings import UNTRUSTED_JUDGE_MODES

__all__ = ["UNTRUSTED_JUDGE_MODES", "judge_gates", "trust_note"]


def judge_gates(calibration: Mapping[str, Any] | None, mode: str) -> bool:
    """Whether the scores of a judge with this calibration summary may fail cases and the
    gate under ``untrusted_judge = mode``.

    >>> judge_gates({"status": "calibrated", "trusted": False}, "inform")
    False
    >>> judge_gates({"status": "calibrated", "trusted": True}, "inform")
    True
    >>> judge_gates(None, "gate")
    True
    """
    if mode not in UNTRUSTED_JUDGE_MODES:
        raise ValueError(f"untrusted_judge must be one of {UNTRUSTED_JUDGE_MODES}, got {mode!r}")
    trusted = bool(calibration and calibration.get("trusted") is True)
    return trusted or mode == "gate"


def trust_note(calibration: Mapping[str, Any] | None) -> str:
    """Why a judge is untrusted, in a few words ("" when it is trusted)."""
    if calibration and calibration.get("trusted") is True:
        return ""
    status = (calibration or {}).get("status")
    if status == "calibrated":
        kappa = calibration.get("kappa") if calibration else None
        floor = calibration.get("min_kappa") if calibration else None
        shown = f"{kappa:.2f}" if isinstance(kappa, int | float) else "n/a"
        return f"kappa {shown} below {floor if floor is not None else 'judge_min_kappa'}"
    if status == "unreadable":
        return "its calibration could not be read"
    return "never calibrated"
