"""Agreement between a judge and human labels: accuracy, Cohen's kappa (plain and weighted).

Labels are ordinal positions ``0..k-1`` (a rubric's levels, worst to best). Implemented with
numpy so the library does not depend on scikit-learn (the tests check it against
``sklearn.metrics.cohen_kappa_score``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any


def confusion_matrix(human: Sequence[int], judge: Sequence[int], k: int) -> list[list[int]]:
    """``k x k`` counts: rows are human levels, columns judge levels."""
    if len(human) != len(judge):
        raise ValueError(f"{len(human)} human labels but {len(judge)} judge labels")
    matrix = [[0] * k for _ in range(k)]
    for h, j in zip(human, judge, strict=True):
        if not (0 <= h < k and 0 <= j < k):
            raise ValueError(f"label index out of range 0..{k - 1}: human {h}, judge {j}")
        matrix[h][j] += 1
    return matrix


def cohen_kappa(human: Sequence[int], judge: Sequence[int], k: int | None = None, *,
                weights: str | None = None) -> float:
    """Cohen's kappa of two raters over ordinal labels ``0..k-1``.

    ``weights``: None (plain), ``"linear"`` or ``"quadratic"`` (disagreement weighted by
    the squared distance: a 5 judged 4 costs less than a 5 judged 1).

    >>> round(cohen_kappa([0, 1, 2, 2], [0, 1, 2, 1], 3), 3)
    0.636
    """
    import numpy as np

    if not human:
        return float("nan")
    k = k or max(max(human), max(judge)) + 1
    observed = np.asarray(confusion_matrix(human, judge, k), dtype=float)
    n = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    idx = np.arange(k)
    if weights is None:
        w = (idx[:, None] != idx[None, :]).astype(float)
    elif weights == "linear":
        w = np.abs(idx[:, None] - idx[None, :]).astype(float)
    elif weights == "quadratic":
        w = ((idx[:, None] - idx[None, :]) ** 2).astype(float)
    else:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    denominator = float((w * expected).sum())
    if denominator == 0.0:
        # both raters used one and the same label throughout: agreement is perfect but
        # chance-corrected agreement is undefined (sklearn returns nan too)
        return float("nan")
    return 1.0 - float((w * observed).sum()) / denominator


@dataclasses.dataclass(frozen=True)
class Agreement:
    """How well a judge agrees with human labels on one calibration set."""

    n: int
    accuracy: float  # exact agreement
    within_one: float  # |judge - human| <= 1 level
    kappa: float
    weighted_kappa: float  # quadratic weights
    confusion: list[list[int]]
    labels: list[Any]
    mean_bias: float  # mean (judge - human) in levels: > 0 the judge is lenient

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": self.accuracy, "within_one": self.within_one,
                "kappa": _finite(self.kappa), "weighted_kappa": _finite(self.weighted_kappa),
                "confusion": {"labels": list(self.labels), "matrix": self.confusion,
                              "rows": "human", "columns": "judge"},
                "mean_bias": self.mean_bias}


def agreement(human: Sequence[int], judge: Sequence[int], labels: Sequence[Any]) -> Agreement:
    """Accuracy, within-one accuracy, kappa, quadratic kappa and the confusion matrix."""
    k = len(labels)
    n = len(human)
    if n == 0:
        nan = float("nan")
        return Agreement(0, nan, nan, nan, nan, confusion_matrix([], [], k), list(labels), nan)
    exact = sum(h == j for h, j in zip(human, judge, strict=True)) / n
    near = sum(abs(h - j) <= 1 for h, j in zip(human, judge, strict=True)) / n
    bias = sum(j - h for h, j in zip(human, judge, strict=True)) / n
    return Agreement(n=n, accuracy=exact, within_one=near, kappa=cohen_kappa(human, judge, k),
                     weighted_kappa=cohen_kappa(human, judge, k, weights="quadratic"),
                     confusion=confusion_matrix(human, judge, k), labels=list(labels),
                     mean_bias=bias)


def _finite(x: float) -> float | None:
    return None if x != x else x  # NaN -> null in JSON
