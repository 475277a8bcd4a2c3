"""Statistical primitives for paired comparisons: McNemar, sign-flip permutation, bootstrap.

Everything here works on "units": a unit is what is resampled or sign-flipped as one
block — a case, or a whole cluster of cases that share a template. numpy and scipy are
imported inside the functions so that importing passline stays cheap. Distribution
quantiles and tail probabilities come from scipy (the normal quantile from the standard
library's ``statistics.NormalDist``); nothing is tabulated by hand.

No sum here goes through BLAS (``@``): OpenBLAS sums a long product in an order that
depends on its thread count and on the CPU's kernel, so the last digit of a figure would
depend on the machine. Sums of floats are numpy's pairwise sums along a row, in one fixed
order; sums of integers are exact.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

EXACT_SIGN_FLIP_MAX_UNITS = 16  # up to 2**16 sign patterns are enumerated exactly
_CHUNK_CELLS = 2_000_000  # resampling matrices are built in chunks of about this many cells


def make_rng(seed: int, stream: int) -> np.random.Generator:
    """A seeded generator per purpose, so adding a slice never shifts another's numbers."""
    import numpy as np

    return np.random.default_rng([seed, stream])


def unit_index(labels: Sequence[Hashable]) -> tuple[np.ndarray, int]:
    """Map per-case unit labels to integer unit ids (first-seen order) and the unit count."""
    import numpy as np

    ids: dict[Hashable, int] = {}
    index = np.fromiter((ids.setdefault(label, len(ids)) for label in labels), dtype=np.int64,
                        count=len(labels))
    return index, len(ids)


def unit_totals(values: np.ndarray, index: np.ndarray, n_units: int) -> np.ndarray:
    import numpy as np

    return np.bincount(index, weights=values, minlength=n_units)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts ``b`` and ``c``."""
    # Under the null the b of n = b + c discordant pairs are Binomial(n, 1/2), a symmetric
    # law: the two-sided p-value (``scipy.stats.binomtest``'s, sum of the outcomes no
    # likelier than the observed one) is twice the tail below min(b, c), and that tail is
    # the regularised incomplete beta I_{1/2}(n - m, m + 1). ``scipy.special`` gives it
    # without importing ``scipy.stats`` (about a second of CPU at every gate); a test holds
    # it to binomtest's value.
    if b == c:
        return 1.0
    from scipy.special import betainc

    n, m = b + c, min(b, c)
    return min(1.0, 2.0 * float(betainc(n - m, m + 1, 0.5)))


def sign_flip_pvalue(
    diffs: np.ndarray, index: np.ndarray, n_units: int, *, n_perm: int, rng: np.random.Generator
) -> float:
    """Two-sided paired permutation p-value for "mean difference is 0".

    Under the null each unit's total difference is as likely to be +t as -t, so the
    statistic |sum of differences| is referred to its distribution over sign flips of the
    unit totals. Exact enumeration for at most ``EXACT_SIGN_FLIP_MAX_UNITS`` non-zero units,
    otherwise ``n_perm`` seeded random flips with the (count + 1) / (n_perm + 1) estimator,
    which never returns 0 and keeps the test valid.
    """
    import numpy as np

    totals = unit_totals(diffs, index, n_units)
    scale = float(np.abs(totals).max()) if totals.size else 0.0
    totals = totals[np.abs(totals) > 1e-12 * max(scale, 1.0)]
    k = totals.size
    if k == 0:
        return 1.0
    observed = abs(float(totals.sum()))
    tol = 1e-9 * max(observed, 1.0)
    if k <= EXACT_SIGN_FLIP_MAX_UNITS:
        sums = np.abs(flipped_sums(_all_patterns(k), totals))
        return float(np.mean(sums >= observed - tol))
    hits = 0
    chunk = max(1, min(n_perm, _CHUNK_CELLS // k))
    done = 0
    while done < n_perm:
        m = min(chunk, n_perm - done)
        sums = flipped_sums(sign_bits(rng, m, k), totals)
        hits += int(np.count_nonzero(np.abs(sums) >= observed - tol))
        done += m
    return (hits + 1) / (n_perm + 1)


def _all_patterns(k: int) -> np.ndarray:
    """(2**k, k) 0/1: every sign pattern of k units."""
    import numpy as np

    patterns = np.arange(2**k, dtype=np.int64)[:, None] >> np.arange(k, dtype=np.int64)
    return (patterns & 1).astype(np.uint8)


def sign_bits(rng: np.random.Generator, m: int, k: int) -> np.ndarray:
    """(m, k) random 0/1 (uint8), one per unit and flip: the top bit of each byte of the
    generator's 32-bit output, low byte first -- bit for bit what
    ``rng.integers(0, 2, size=(m, k), dtype=np.int8)`` draws (numpy takes a 0/1 draw from
    the top bit of one byte), at twice its speed."""
    import numpy as np

    cells = m * k
    words = rng.integers(0, 2**32, size=-(-cells // 4), dtype=np.uint32)
    # low byte first on any machine (no copy on a little-endian one)
    bits = words.astype("<u4", copy=False).view(np.uint8)[:cells]
    bits >>= 7
    return bits.reshape(m, k)


def flipped_sums(bits: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Per row of ``bits``: the sum of ``totals`` with each unit's sign flipped where its bit
    is 0 (kept where 1), as ``2 * (sum of the kept) - (sum of all)`` -- pairwise sums in a
    fixed order, so the same on every machine (a BLAS product is not)."""
    import numpy as np

    return 2.0 * np.multiply(bits, totals).sum(axis=1) - totals.sum()


def mean_variances(diffs: np.ndarray, index: np.ndarray, n_units: int) -> tuple[float, float]:
    """Variance of the mean difference: (cluster-robust, iid).

    The cluster-robust one is the linearisation variance of the ratio estimator
    sum(d) / n with whole clusters as sampling units; it equals the iid one when every
    cluster holds one case. Their ratio is the design effect.
    """
    import numpy as np

    n = diffs.size
    if n < 2:
        return (math.nan, math.nan)
    mean = float(diffs.mean())
    var_iid = float(diffs.var(ddof=1)) / n
    if n_units < 2:
        return (math.nan, var_iid)
    sizes = np.bincount(index, minlength=n_units).astype(np.float64)
    resid = unit_totals(diffs, index, n_units) - sizes * mean
    var_cluster = n_units / (n_units - 1) * float(np.square(resid).sum()) / n**2
    return (var_cluster, var_iid)


class Resample:
    """One chunk of bootstrap replicates: the units each replicate drew, and what the
    statistics read from them, each computed once and only when asked for.

    Resampling weights are integer counts, so their sums (and any sum of count x integer
    value) are exact in float64 whatever the order of summation: the shortcuts below give
    bit for bit what the plain float computations (:func:`weighted_mean`,
    :func:`weighted_quantile`) give on the weight matrix.
    """

    def __init__(self, draws: np.ndarray, index: np.ndarray, n_units: int,
                 identity: bool) -> None:
        self.draws = draws  # (chunk, n_units) unit ids
        self.index = index
        self.n_units = n_units
        self.identity = identity  # every unit is one case, in case order
        self._cache: dict[str, np.ndarray] = {}

    @property
    def size(self) -> int:
        return int(self.draws.shape[0])

    @property
    def counts(self) -> np.ndarray:
        """(chunk, n_units): how many times each unit was drawn."""
        if "counts" not in self._cache:
            import numpy as np

            m, k = self.draws.shape
            # int32: half the memory traffic of bincount's int64 for the gathers and the
            # cumulative sums below (a count never exceeds the draws of one replicate);
            # row by row: one bincount over the whole chunk scatters into m * k bins
            counts = np.empty((m, k), dtype=np.int32)
            for row, draws in zip(counts, self.draws, strict=True):
                row[:] = np.bincount(draws, minlength=k)
            self._cache["counts"] = counts
        return self._cache["counts"]

    @property
    def weights(self) -> np.ndarray:
        """(chunk, n_cases) float weights: a case weighs what its unit was drawn."""
        if "weights" not in self._cache:
            import numpy as np

            counts = self.counts if self.identity else self.counts[:, self.index]
            self._cache["weights"] = counts.astype(np.float64)
        return self._cache["weights"]

    @property
    def totals(self) -> np.ndarray:
        """Row sums of :attr:`weights` (exact: sums of integers)."""
        if "totals" not in self._cache:
            import numpy as np

            if self.identity:
                total = np.full(self.size, float(self.index.size))
            else:
                sizes = np.bincount(self.index, minlength=self.n_units)
                total = sizes[self.draws].sum(axis=1).astype(np.float64)
            self._cache["totals"] = total
        return self._cache["totals"]

    def case_counts_in(self, order: np.ndarray) -> np.ndarray:
        """Per-case counts with the cases permuted by ``order`` (integers)."""
        return self.counts[:, order if self.identity else self.index[order]]


def is_identity(index: np.ndarray, n_units: int) -> bool:
    """Whether every unit is one case, in case order (no clusters)."""
    import numpy as np

    return n_units == index.size and bool(np.all(index == np.arange(index.size)))


def bootstrap_resamples(
    n_cases: int, index: np.ndarray, n_units: int, *, n_boot: int, rng: np.random.Generator
) -> Iterator[Resample]:
    """Yield chunks of resamples: each replicate draws ``n_units`` units with replacement
    (all cases of a cluster move together: the cluster bootstrap)."""

    identity = is_identity(index, n_units)
    chunk = max(1, min(n_boot, _CHUNK_CELLS // max(n_cases, n_units, 1)))
    done = 0
    while done < n_boot:
        m = min(chunk, n_boot - done)
        yield Resample(rng.integers(0, n_units, size=(m, n_units)), index, n_units, identity)
        done += m


def bootstrap(
    statistic: Callable[[Resample], np.ndarray],
    n_cases: int,
    index: np.ndarray,
    n_units: int,
    *,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Replicates of ``statistic(resample) -> (chunk, m)``, stacked to shape (n_boot, m)."""
    import numpy as np

    parts = [statistic(r) for r in bootstrap_resamples(n_cases, index, n_units, n_boot=n_boot,
                                                         rng=rng)]
    return np.concatenate(parts, axis=0)


def weighted_mean(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per-row weighted mean of ``values`` (one row of weights per bootstrap replicate): the
    pairwise sum of weight x value along the row over the sum of the weights."""
    return (weights * values).sum(axis=1) / weights.sum(axis=1)


class Column:
    """A per-case value column prepared once for the bootstrap: its integer form when every
    value is a small integer (a single-trial pass/fail difference), and its sort order for
    quantiles."""

    def __init__(self, values: np.ndarray, index: np.ndarray, n_units: int) -> None:
        import numpy as np

        self.values = values
        self.units: np.ndarray | None = None  # per-unit integer totals, when exact
        self.max_abs = float(np.abs(values).max()) if values.size else 0.0
        if values.size and self.max_abs <= _EXACT_INT and bool(
                np.all(values == np.rint(values))):
            units = (values if is_identity(index, n_units)
                     else np.bincount(index, weights=values, minlength=n_units))
            # the narrowest integer type that holds them: the resampled sums gather one
            # value per draw, and a small table (int8 for pass/fail) stays in cache
            top = float(np.abs(units).max()) if units.size else 0.0
            narrow = next(t for t in (np.int8, np.int16, np.int32, np.int64)
                          if top <= np.iinfo(t).max)
            self.units = units.astype(narrow)
        self._order: np.ndarray | None = None
        self._sorted: np.ndarray | None = None

    @property
    def order(self) -> np.ndarray:
        if self._order is None:
            import numpy as np

            self._order = np.argsort(self.values, kind="stable")
        return self._order

    @property
    def sorted_values(self) -> np.ndarray:
        if self._sorted is None:
            self._sorted = self.values[self.order]
        return self._sorted


_EXACT_INT = 2**10  # integer values up to this size take the exact integer path
_EXACT_SUM = 2.0**53  # ...while every partial sum stays an exactly representable integer


def resampled_mean(r: Resample, column: Column) -> np.ndarray:
    """``weighted_mean(r.weights, column.values)``, bit for bit: with integer values the
    numerator is an exact integer sum, taken over the draws without building weights."""
    import numpy as np

    totals = r.totals
    if column.units is not None and float(totals.max()) * column.max_abs < _EXACT_SUM:
        return (column.units.take(r.draws).sum(axis=1, dtype=np.int64).astype(np.float64)
                / totals)
    # integer counts times floats: the same products as on the float weights
    weights = r.counts if r.identity else r.weights
    return np.multiply(weights, column.values).sum(axis=1) / totals


def resampled_quantile(r: Resample, column: Column, q: float) -> np.ndarray:
    """``weighted_quantile(r.weights, column.values, q)``, bit for bit, on integer counts.

    The answer is the first sorted position whose cumulative weight reaches
    ``q * total - 1e-9``; with integer counts, the first whose integer cumulative count
    reaches the ceiling of that threshold. Only the sorted positions from a little below
    the lowest such threshold are summed (the rest is the row total minus their sum): a
    high quantile reads a few percent of the columns. Rows whose answer lies lower after
    all take the full sum.
    """
    import numpy as np

    totals = r.totals
    need = np.ceil(q * totals[:, None] - 1e-9).astype(np.int64)[:, 0]
    order = column.order
    n = order.size
    # below `start`, fewer than `need` draws in (nearly) every replicate: the margin is
    # eight standard deviations of a resampled count
    start = max(0, min(n, int(need.min())) - 8 * int(math.sqrt(float(totals.max()))) - 16)
    if start > 0:
        top = _sorted_counts(r, order[start:])
        cum = np.cumsum(top, axis=1, dtype=np.int64)
        below = totals.astype(np.int64) - cum[:, -1]
        cum += below[:, None]
        pos = start + np.argmax(cum >= need[:, None], axis=1)
        low = np.flatnonzero(below >= need)
        if low.size == 0:
            return column.sorted_values[pos]
    else:
        pos = np.zeros(r.size, dtype=np.int64)
        low = np.arange(r.size)
    full = _sorted_counts(r, order, rows=low)
    wide = np.int32 if float(totals.max()) < 2**31 - 1 else np.int64
    cum_full: np.ndarray = np.cumsum(full, axis=1, dtype=wide)
    pos[low] = np.argmax(cum_full >= need[low, None], axis=1)
    return column.sorted_values[pos]


def _sorted_counts(r: Resample, positions: np.ndarray, rows: np.ndarray | None = None
                   ) -> np.ndarray:
    """Counts of the cases at ``positions`` of a sort order (all rows, or ``rows``)."""
    import numpy as np

    cols = positions if r.identity else r.index[positions]
    counts = r.counts if rows is None else r.counts[rows]
    return np.take(counts, cols, axis=1)


def quantile(values: np.ndarray, q: float) -> float:
    """The inverted-CDF quantile (an observed value), the same rule the bootstrap uses."""
    import numpy as np

    return float(np.quantile(values, q, method="inverted_cdf"))


def weighted_quantile(weights: np.ndarray, values: np.ndarray, q: float) -> np.ndarray:
    """Per-row inverted-CDF quantile of ``values`` under integer resampling weights."""
    import numpy as np

    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[:, order], axis=1)
    target = q * cum[:, -1:]
    pos = np.argmax(cum >= target - 1e-9, axis=1)
    return values[order][pos]


def percentile_ci(replicates: np.ndarray, alpha: float) -> tuple[float, float]:
    """Percentile bootstrap interval at level 1 - alpha (NaN-free replicates only); the
    endpoints are inverted-CDF quantiles (observed replicates), like every percentile here."""
    import numpy as np

    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return (math.nan, math.nan)
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    return (float(low), float(high))


def mde(se: float, alpha: float, power: float = 0.8) -> float:
    """Minimum detectable effect of a two-sided level-alpha test with the given power."""
    if not math.isfinite(se):
        return math.nan
    return float((_z(1 - alpha / 2) + _z(power)) * se)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (family-wise error control)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate control)."""
    if not pvalues:
        return []
    from scipy.stats import false_discovery_control

    return [float(p) for p in false_discovery_control(list(pvalues), method="bh")]


def adjust(pvalues: Sequence[float], method: str) -> list[float]:
    """Adjust a family of p-values: ``holm``, ``bh`` or ``none``."""
    if method == "holm":
        return holm(pvalues)
    if method == "bh":
        return benjamini_hochberg(pvalues)
    if method == "none":
        return list(pvalues)
    from passline.errors import ConfigError

    raise ConfigError(f"correction {method!r} is unknown; use 'holm', 'bh' or 'none'")


def max_t_sign_flip(totals: np.ndarray, *, n_perm: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    """One-sided sign-flip p-values for several metrics at once, adjusted for testing them
    together (Westfall-Young max-T): ``(p_drop, p_rise)``, one value per metric.

    ``totals`` has one row per metric and one column per unit (a unit's total difference,
    candidate minus baseline). Under "no difference" every unit's differences are as likely
    negated; the same flip negates a unit in every metric, so the correlation between the
    metrics is kept. Each metric is standardised by ``sqrt(sum_g T_g^2)`` (invariant under
    flips), and metric ``j``'s drop p-value is the probability over flips that the largest
    standardised drop of *any* metric reaches metric ``j``'s observed one. Rejecting
    ``p_drop[j] <= a`` for every ``j`` then has family-wise error at most ``a`` over the
    metrics, and costs little when the metrics move together (they share the flips).
    """
    import numpy as np

    m = totals.shape[0]
    ones = np.ones(m)
    if totals.size == 0:
        return ones, ones.copy()
    scale = np.sqrt((totals**2).sum(axis=1))
    informative = scale > 1e-12
    if not informative.any():
        return ones, ones.copy()
    keep = np.abs(totals).max(axis=0) > 1e-12 * max(float(np.abs(totals).max()), 1.0)
    t = totals[:, keep]
    z_obs = np.where(informative, t.sum(axis=1) / np.where(informative, scale, 1.0), 0.0)
    k = t.shape[1]
    tol = 1e-9

    def z_of(bits: np.ndarray) -> np.ndarray:  # (patterns, m)
        out = np.column_stack([flipped_sums(bits, row) for row in t])
        return np.where(informative, out / np.where(informative, scale, 1.0), 0.0)

    drop_hits = np.zeros(m)
    rise_hits = np.zeros(m)
    if k <= EXACT_SIGN_FLIP_MAX_UNITS:
        z = z_of(_all_patterns(k))
        max_drop, max_rise = (-z).max(axis=1), z.max(axis=1)
        drop_hits = (max_drop[:, None] >= -z_obs[None, :] - tol).sum(axis=0)
        rise_hits = (max_rise[:, None] >= z_obs[None, :] - tol).sum(axis=0)
        p_drop, p_rise = drop_hits / 2**k, rise_hits / 2**k
    else:
        chunk = max(1, min(n_perm, _CHUNK_CELLS // k))
        done = 0
        while done < n_perm:
            size = min(chunk, n_perm - done)
            z = z_of(sign_bits(rng, size, k))
            max_drop, max_rise = (-z).max(axis=1), z.max(axis=1)
            drop_hits += (max_drop[:, None] >= -z_obs[None, :] - tol).sum(axis=0)
            rise_hits += (max_rise[:, None] >= z_obs[None, :] - tol).sum(axis=0)
            done += size
        p_drop, p_rise = (drop_hits + 1) / (n_perm + 1), (rise_hits + 1) / (n_perm + 1)
    p_drop = np.where(informative, np.minimum(p_drop, 1.0), 1.0)
    p_rise = np.where(informative, np.minimum(p_rise, 1.0), 1.0)
    return p_drop, p_rise


@functools.lru_cache(maxsize=4096)
def pass_rate_drop_pvalue(base_pass: int, base_n: int, cand_pass: int, cand_n: int) -> float:
    """One-sided exact p-value that the candidate passes less often than the baseline
    (Boschloo's test, uniformly more powerful than Fisher's on 2x2 tables).

    Cached: a gate asks this once per must-pass case, and with a few trials per case the
    same few tables recur (10,000 cases failing 1/1 -> 0/1 are one table); each Boschloo
    test is an optimisation of about 6 ms."""
    if base_n == 0 or cand_n == 0:
        return 1.0
    if cand_pass * base_n >= base_pass * cand_n:  # the candidate did not do worse
        return 1.0
    from scipy.stats import boschloo_exact

    table = [[base_pass, cand_pass], [base_n - base_pass, cand_n - cand_pass]]
    return float(min(1.0, boschloo_exact(table, alternative="greater", n=64).pvalue))


def _z(q: float) -> float:
    """The standard normal quantile (the stdlib's, exact to double precision: scipy's import
    costs about a second, too much for the terminal summary of a session)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(q)


def wilson(successes: float, n: float, alpha: float) -> tuple[float, float]:
    """Wilson score interval of a proportion at level 1 - alpha (NaN when n is 0)."""
    if n <= 0:
        return (math.nan, math.nan)
    z = _z(1 - alpha / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def bauer_koehne_critical(alpha: float, alpha1: float, alpha0: float) -> float:
    """Critical value c of the two-stage design of Bauer and Koehne (1994): reject at the
    first look when p1 <= alpha1, stop for futility when p1 > alpha0, otherwise reject after
    the second look when p1 * p2 <= c, with ``alpha1 + c * ln(alpha0 / alpha1) = alpha``,
    so the overall level is ``alpha`` for any valid p-values p1 and p2 (p2 from new data)."""
    if not 0 < alpha1 < alpha <= alpha0 <= 1:
        raise ValueError(f"need 0 < alpha1 < alpha <= alpha0 <= 1, got {alpha1}, {alpha}, "
                         f"{alpha0}")
    return (alpha - alpha1) / math.log(alpha0 / alpha1)
