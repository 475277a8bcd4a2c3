"""Agreement between a judge and reference labels: accuracy, Cohen's kappa (plain and
weighted), with bootstrap confidence intervals.

Labels are ordinal positions ``0..k-1`` (a rubric's levels, worst to best). Kappa is
implemented with numpy so the library does not depend on scikit-learn (the tests check it
against ``sklearn.metrics.cohen_kappa_score``); intervals come from ``scipy.stats.bootstrap``
(items resampled with replacement, judge and label kept paired, BCa).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any


def confusion_matrix(human: Sequence[int], judge: Sequence[int], k: int) -> list[list[int]]:
    """``k x k`` counts: rows are human levels, columns judge levels."""
    if len(human) != len(judge):
        raise ValueError(f"{len(human)} labels but {len(judge)} judge verdicts")
    matrix = [[0] * k for _ in range(k)]
    for h, j in zip(human, judge, strict=True):
        if not (0 <= h < k and 0 <= j < k):
            raise ValueError(f"label index out of range 0..{k - 1}: human {h}, judge {j}")
        matrix[h][j] += 1
    return matrix


def _weights(k: int, weights: str | None) -> Any:
    import numpy as np

    idx = np.arange(k)
    if weights is None:
        return (idx[:, None] != idx[None, :]).astype(float)
    if weights == "linear":
        return np.abs(idx[:, None] - idx[None, :]).astype(float)
    if weights == "quadratic":
        return ((idx[:, None] - idx[None, :]) ** 2).astype(float)
    raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")


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
    w = _weights(k, weights)
    denominator = float((w * expected).sum())
    if denominator == 0.0:
        # both raters used one and the same label throughout: agreement is perfect but
        # chance-corrected agreement is undefined (sklearn returns nan too)
        return float("nan")
    return 1.0 - float((w * observed).sum()) / denominator


def _kappa_batch(human: Any, judge: Any, k: int, weights: str | None) -> Any:
    """Kappa of each row of ``human``/``judge`` (shape ``(..., n)``): NaN where undefined."""
    import numpy as np

    eye = np.eye(k)
    observed = np.einsum("...na,...nc->...ac", eye[human], eye[judge])
    n = observed.sum(axis=(-2, -1))[..., None, None]
    expected = observed.sum(axis=-1)[..., :, None] * observed.sum(axis=-2)[..., None, :] / n
    w = _weights(k, weights)
    denominator = (w * expected).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - (w * observed).sum(axis=(-2, -1)) / denominator


#: how the intervals are made (stored with them, printed by the CLI)
CI_METHOD = "BCa bootstrap over items (scipy.stats.bootstrap, paired), 2000 resamples, seed 0"


def agreement_intervals(human: Sequence[int], judge: Sequence[int], k: int, *,
                        confidence: float = 0.95, n_resamples: int = 2000,
                        seed: int = 0) -> dict[str, Any]:
    """Bootstrap confidence intervals of accuracy, kappa and quadratic-weighted kappa.

    Items are resampled with replacement (judge verdict and label stay paired); the interval
    is BCa (bias-corrected and accelerated), or percentile when BCa is undefined. A bound is
    None when the statistic is undefined on too many resamples (e.g. a handful of items that
    all carry one label).

    >>> agreement_intervals([0, 1, 2, 2] * 10, [0, 1, 2, 1] * 10, 3)["kappa"]  # doctest: +SKIP
    [0.47, 0.79]
    """
    import warnings

    import numpy as np
    from scipy import stats

    h = np.asarray(human, dtype=int)
    j = np.asarray(judge, dtype=int)
    out: dict[str, Any] = {"confidence": confidence, "method": CI_METHOD, "n": int(h.size)}
    if h.size < 2:
        return {**out, "accuracy": None, "kappa": None, "weighted_kappa": None}
    statistics = {
        "accuracy": lambda a, b, axis=-1: (a == b).mean(axis=axis),
        "kappa": lambda a, b, axis=-1: _kappa_batch(a, b, k, None),
        "weighted_kappa": lambda a, b, axis=-1: _kappa_batch(a, b, k, "quadratic"),
    }
    for name, fn in statistics.items():
        bounds: list[float | None] = [None, None]
        for method in ("BCa", "percentile"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = stats.bootstrap((h, j), fn, paired=True, vectorized=True,
                                      n_resamples=n_resamples, confidence_level=confidence,
                                      method=method, rng=np.random.default_rng(seed))
            low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
            if low == low and high == high:  # not NaN
                bounds = [low, high]
                break
        out[name] = bounds if bounds[0] is not None else None
    return out


@dataclasses.dataclass(frozen=True)
class Agreement:
    """How well a judge agrees with the labels of one calibration set."""

    n: int
    accuracy: float  # exact agreement
    within_one: float  # |judge - human| <= 1 level
    kappa: float
    weighted_kappa: float  # quadratic weights
    confusion: list[list[int]]
    labels: list[Any]
    mean_bias: float  # mean (judge - label) in levels: > 0 the judge is lenient
    intervals: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": self.accuracy, "within_one": self.within_one,
                "kappa": _finite(self.kappa), "weighted_kappa": _finite(self.weighted_kappa),
                "confusion": {"labels": list(self.labels), "matrix": self.confusion,
                              "rows": "human", "columns": "judge"},
                "mean_bias": self.mean_bias, "ci": self.intervals}


def agreement(human: Sequence[int], judge: Sequence[int], labels: Sequence[Any], *,
              intervals: bool = True) -> Agreement:
    """Accuracy, within-one accuracy, kappa, quadratic kappa (each with a bootstrap interval
    unless ``intervals`` is False) and the confusion matrix. ``human`` are the labels' level
    indices, whoever made the labels (the name is kept for the stored format)."""
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
                     mean_bias=bias,
                     intervals=agreement_intervals(human, judge, k) if intervals else {})


def _finite(x: float) -> float | None:
    return None if x != x else x  # NaN -> null in JSON
