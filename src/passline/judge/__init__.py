"""passline.judge: LLM-as-judge scoring that is itself measured.

Rubrics are versioned prompt templates with a verdict schema (``load_rubric``); ``judge``
grades one answer (with self-consistency over ``n`` samples), ``pairwise`` compares two in
both orders, ``calibrate`` measures a judge against a labelled set, and ``judge_scorer`` plugs a
judge into an eval as an ordinary scorer. See docs/judges.md.

>>> from passline.judge import judge_scorer
>>> scorer = judge_scorer("answer-quality@1", threshold=4)
"""

from __future__ import annotations

from passline.judge._agreement import Agreement, agreement, cohen_kappa, confusion_matrix
from passline.judge._calibrate import (
    FILLER,
    CalibrationItem,
    CalibrationReport,
    calibrate,
    calibration_path,
    derive_pairs,
    load_calibration,
    load_items,
    save_calibration,
)
from passline.judge._judge import Judgement, aggregate, judge, judge_model, parse_verdict
from passline.judge._pairwise import PairwiseResult, combine, pairwise, position_bias_rate
from passline.judge._rubric import Rubric, list_rubrics, load_rubric
from passline.judge._scorer import JudgeScorer, format_tool_context, judge_scorer

__all__ = [
    "FILLER",
    "Agreement",
    "CalibrationItem",
    "CalibrationReport",
    "JudgeScorer",
    "Judgement",
    "PairwiseResult",
    "Rubric",
    "aggregate",
    "agreement",
    "calibrate",
    "calibration_path",
    "cohen_kappa",
    "combine",
    "confusion_matrix",
    "derive_pairs",
    "format_tool_context",
    "judge",
    "judge_model",
    "judge_scorer",
    "list_rubrics",
    "load_calibration",
    "load_items",
    "load_rubric",
    "pairwise",
    "parse_verdict",
    "position_bias_rate",
    "save_calibration",
]
