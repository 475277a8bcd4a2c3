"""compare's fast resampling paths give, bit for bit, what the plain float computations on
the bootstrap weight matrix give (the figures of every comparison depend on it)."""

from __future__ import annotations

import numpy as np
import pytest

from passline.compare import _stats as st


def _design(kind: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    if kind == "cases":
        return np.arange(n), n
    size = {"small-clusters": 3, "big-clusters": max(1, n // 10)}[kind]
    return st.unit_index(list(np.arange(n) // size))


@pytest.mark.parametrize("kind", ["cases", "small-clusters", "big-clusters"])
@pytest.mark.parametrize("q", [0.95, 0.5, 0.0, 1.0])
def test_resampled_quantile_equals_weighted_quantile(kind: str, q: float) -> None:
    rng = np.random.default_rng(3)
    for n in (1, 7, 500, 2500):
        index, n_units = _design(kind, n, rng)
        for values in (rng.random(n), np.round(rng.random(n), 1), index + rng.random(n) / 2):
            column = st.Column(values, index, n_units)
            for r in st.bootstrap_resamples(n, index, n_units, n_boot=200,
                                            rng=st.make_rng(n, 0)):
                want = st.weighted_quantile(r.weights, values, q)
                assert np.array_equal(st.resampled_quantile(r, column, q), want)


def test_resampled_quantile_rows_below_the_summed_region_take_the_full_sum(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Big clusters whose values go with the cluster put some replicates' quantile below
    the region the fast path sums: those rows must still get the exact answer."""
    full_rows = []
    real = st._sorted_counts

    def spy(r: st.Resample, positions: np.ndarray, rows: np.ndarray | None = None
            ) -> np.ndarray:
        if rows is not None and 0 < rows.size < r.size:
            full_rows.append(rows.size)
        return real(r, positions, rows)

    monkeypatch.setattr(st, "_sorted_counts", spy)
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(10), 200)
    index, n_units = st.unit_index(list(labels))
    values = labels + rng.random(labels.size) / 2
    column = st.Column(values, index, n_units)
    for r in st.bootstrap_resamples(labels.size, index, n_units, n_boot=600,
                                    rng=st.make_rng(1, 0)):
        want = st.weighted_quantile(r.weights, values, 0.95)
        assert np.array_equal(st.resampled_quantile(r, column, 0.95), want)
    assert full_rows  # the fallback ran


@pytest.mark.parametrize("kind", ["cases", "small-clusters", "big-clusters"])
def test_resampled_mean_equals_weighted_mean(kind: str) -> None:
    rng = np.random.default_rng(4)
    for n in (1, 9, 3000):
        index, n_units = _design(kind, n, rng)
        passed_b, passed_c = rng.random(n) < 0.8, rng.random(n) < 0.7
        integer = passed_c.astype(float) - passed_b.astype(float)  # the exact integer path
        for values in (integer, rng.random(n) - 0.5, np.zeros(n), integer * 3):
            column = st.Column(values, index, n_units)
            assert (column.units is not None) == bool(np.all(values == np.rint(values)))
            for r in st.bootstrap_resamples(n, index, n_units, n_boot=300,
                                            rng=st.make_rng(n, 1)):
                want = st.weighted_mean(r.weights, values)
                got = st.resampled_mean(r, column)
                assert np.array_equal(got, want)
                assert np.array_equal(np.signbit(got), np.signbit(want))  # no -0.0 drift


def test_bootstrap_weights_are_the_counts_of_the_drawn_units() -> None:
    index, n_units = st.unit_index(["a", "a", "b", "c", "c", "c"])
    draws = st.make_rng(0, 0).integers(0, n_units, size=(50, n_units))
    want = np.stack([np.bincount(row, minlength=n_units)[index] for row in draws]
                    ).astype(np.float64)
    got = next(st.bootstrap_resamples(6, index, n_units, n_boot=50,
                                      rng=st.make_rng(0, 0))).weights
    assert np.array_equal(got, want)


def test_sign_flips_draw_what_rng_integers_draws() -> None:
    """The fast 0/1 draws of the sign-flip tests are numpy's own 0/1 draws: the p-values of
    every comparison stay what they were."""
    for m, k in ((20, 100_000), (7, 13), (1, 1), (3, 5)):
        fast, plain = st.make_rng(0, 5), st.make_rng(0, 5)
        for _ in range(3):
            want = plain.integers(0, 2, size=(m, k), dtype=np.int8)
            assert np.array_equal(st.sign_bits(fast, m, k), want)
        assert np.array_equal(fast.integers(0, 99, 10), plain.integers(0, 99, 10))


def test_flipped_sums_are_the_signed_sums() -> None:
    rng = np.random.default_rng(2)
    totals = rng.integers(-50, 50, size=40).astype(np.float64)  # exact in any order
    bits = rng.integers(0, 2, size=(30, 40)).astype(np.uint8)
    want = (np.where(bits == 1, 1.0, -1.0) * totals).sum(axis=1)
    assert np.array_equal(st.flipped_sums(bits, totals), want)


def test_figures_do_not_depend_on_the_blas_thread_count() -> None:
    """A BLAS product splits a long sum across its threads (and CPU kernels order it
    differently): compare's sums must not go through it, or the last digit of a figure
    changes with the machine. 100,000 units make chunks of 20 replicates, the shape where
    OpenBLAS's threads split the sum."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(6)
    n = 100_000
    index = np.arange(n)
    values = rng.random(n)
    diffs = rng.random(n) - 0.5
    results = []
    for threads in (1, 2):
        with threadpoolctl.threadpool_limits(threads, user_api="blas"):
            column = st.Column(values, index, n)
            means = [st.resampled_mean(r, column) for r in st.bootstrap_resamples(
                n, index, n, n_boot=40, rng=st.make_rng(0, 0))]
            results.append((np.concatenate(means), st.mean_variances(diffs, index, n),
                            st.sign_flip_pvalue(diffs, index, n, n_perm=200,
                                                rng=st.make_rng(0, 1))))
    assert np.array_equal(results[0][0], results[1][0])
    assert results[0][1:] == results[1][1:]


def test_mcnemar_exact_is_binomtests_two_sided_pvalue() -> None:
    """McNemar's p-value comes from the incomplete beta (no scipy.stats import at the
    gate); it must be the exact binomial test's two-sided p-value, every count."""
    from scipy.stats import binomtest

    pairs = [(b, n - b) for n in range(0, 61) for b in range(n + 1)]
    pairs += [(b, n - b) for n in (399, 400, 5000, 100_000)
              for b in (0, 1, n // 3, n // 2 - 7, n // 2)]
    for b, c in pairs:
        want = 1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue
        assert st.mcnemar_exact(b, c) == pytest.approx(want, rel=1e-12, abs=1e-300), (b, c)
