"""compare(baseline, candidate): paired statistics per metric, per case and per slice.

Cases are paired by (eval, case_id); the trials of a case are averaged first, so the
paired unit is the case (or, with clusters, the cluster: see docs/statistics.md).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from passline.compare import _stats as st
from passline.compare._cases import CaseSummary
from passline.compare._results import (
    CaseChange,
    Comparison,
    FlakyCase,
    MetricResult,
    MustPassCase,
    SliceResult,
)
from passline.compare._sources import Side, load_side
from passline.errors import ConfigError, RecordError

if TYPE_CHECKING:
    import numpy as np

LATENCY_QUANTILE = 0.95
POWER = 0.8
# cost and latency changes are relative (ratios of skewed means / quantiles): their percentile
# intervals under-cover badly with few units, so below this many paired units (cases or
# clusters) a relative change is reported but never significant
MIN_RELATIVE_UNITS = 20
_LATENCY_FLOOR_S = 1e-6  # log latency of a 0 s (fully cached) run stays finite
# independent random streams per purpose (see _stats.make_rng)
_STREAM_BOOT, _STREAM_PASS, _STREAM_SCORE, _STREAM_COST, _STREAM_SLICES = 0, 1, 2, 3, 1000
_STREAM_LATENCY = 4
_STREAM_QUALITY = 5
PARALLEL_MIN_PAIRS = 2000  # below this many pairs the tests run one after the other


def compare(
    baseline: Any,
    candidate: Any,
    *,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
    cluster_key: str | None = "cluster",
    sampling_unit: str = "auto",
    slice_prefixes: Sequence[str] | None = None,
    correction: str = "holm",
    must_pass_tag: str = "must-pass",
    first_look_alpha: float | None = None,
) -> Comparison:
    """Compare a candidate run against a baseline with paired statistics.

    ``baseline`` and ``candidate`` are each a run directory, a baseline file, a loaded
    :class:`Baseline` or a ``(manifest, rows)`` pair. The sampling unit is the case, or the
    cluster (the rows' ``cluster_key`` field) for datasets whose card declares
    ``Sampling unit: cluster`` (``sampling_unit="auto"``); ``"cluster"`` uses clusters
    wherever rows carry one, ``"case"`` (or ``cluster_key=None``) never. ``slice_prefixes``
    limits slices to tags such as ``worker:...`` (default: every ``prefix:value`` tag).
    ``first_look_alpha`` is the two-sided level of the pass-rate and score tests when a
    confirmation look may follow (docs/statistics.md); default ``alpha``.

    >>> result = compare("reports/baselines/main.json", "reports/runs/latest")  # doctest: +SKIP
    >>> result.metric("pass_rate").direction  # doctest: +SKIP
    'unchanged'
    """
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha}")
    if n_boot < 100:
        raise ConfigError(f"n_boot must be >= 100 for a usable interval, got {n_boot}")
    if correction not in ("holm", "bh", "none"):
        raise ConfigError(f"correction {correction!r} is unknown; use 'holm', 'bh' or 'none'")
    if sampling_unit not in ("auto", "case", "cluster"):
        raise ConfigError(f"sampling_unit {sampling_unit!r} is unknown; use 'auto', 'case' or "
                          "'cluster'")
    base = load_side(baseline, cluster_key=cluster_key, role="baseline")
    cand = load_side(candidate, cluster_key=cluster_key, role="candidate")
    keys = sorted(base.cases.keys() & cand.cases.keys())
    if not keys:
        raise RecordError(
            f"baseline {base.info.label!r} and candidate {cand.info.label!r} share no "
            "(eval, case_id); compare runs of the same evals over the same dataset"
        )
    pairs = [(base.cases[k], cand.cases[k]) for k in keys]
    clustered = _clustered_datasets(base, cand, sampling_unit if cluster_key else "case")
    data = _PairedData(pairs, clustered=clustered)
    cached = base.info.cache_hits > 0 or cand.info.cache_hits > 0
    with _pool(data.n) as pool:
        # every resampling test is queued first (the metrics' bootstrap, the longest, at the
        # head, so no thread is left waiting for it at the end), and the case lists are
        # built here while the threads resample
        metrics_done = _metrics(data, pool, alpha=alpha, n_boot=n_boot, seed=seed,
                                cached=cached,
                                simulated=base.info.simulated or cand.info.simulated,
                                first_look_alpha=first_look_alpha)
        slices_done = _slices(data, pool, slice_prefixes, alpha=alpha, n_boot=n_boot,
                              seed=seed, correction=correction)
        changes = _changes(pairs, must_pass_tag)
        flaky = _flaky(base, "baseline") + _flaky(cand, "candidate")
        must_pass = _must_pass(pairs, must_pass_tag)
        discordant = _discordant(data)
        metrics, slices = metrics_done(), slices_done()
    only_b = tuple(sorted(base.cases.keys() - cand.cases.keys()))
    return Comparison(
        baseline=base.info,
        candidate=cand.info,
        alpha=alpha,
        n_boot=n_boot,
        seed=seed,
        correction=correction,
        cluster_key=cluster_key,
        n_pairs=len(keys),
        n_clusters=data.n_units,
        datasets=tuple(sorted({c.dataset_label for _, c in pairs})),
        metrics=metrics,
        changes=changes,
        flaky=flaky,
        slices=slices,
        only_in_baseline=only_b,
        only_in_candidate=tuple(sorted(cand.cases.keys() - base.cases.keys())),
        warnings=_dataset_warnings(base, cand),
        sampling_unit=data.unit_kind,
        must_pass_tag=must_pass_tag,
        must_pass=must_pass,
        must_pass_missing=tuple(k for k in only_b if must_pass_tag in base.cases[k].tags),
        discordant=discordant,
    )


class _Inline(Executor):
    """Runs each task at once (small comparisons: threads would cost more than they save)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # re-raised by .result(), as a thread pool would
            future.set_exception(exc)
        return future


def _pool(n_pairs: int) -> Executor:
    """Threads for the resampling tests of a large comparison: each draws from its own
    seeded stream and numpy releases the GIL while it draws and multiplies."""
    workers = min(os.cpu_count() or 1, 4)
    if n_pairs < PARALLEL_MIN_PAIRS or workers < 2:
        return _Inline()
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="passline-compare")


def _discordant(data: _PairedData) -> tuple[tuple[str, str, str, float], ...]:
    import numpy as np

    weight = np.abs(data.pass_c - data.pass_b) + np.abs(data.score_c - data.score_b)
    out = [(data.pairs[i][1].eval, data.pairs[i][1].case_id, "/".join(data.labels[i]),
            float(weight[i])) for i in np.flatnonzero(weight > 1e-12)]
    out.sort(key=lambda t: (-t[3], t[0], t[1]))
    return tuple(out)


def _clustered_datasets(base: Side, cand: Side, sampling_unit: str) -> set[str] | bool:
    """Dataset names whose clusters are sampling units (True: every dataset, False: none)."""
    if sampling_unit == "case":
        return False
    if sampling_unit == "cluster":
        return True
    names: set[str] = set()
    for side in (base, cand):
        for key, info in (side.info.datasets or {}).items():
            if isinstance(info, dict) and info.get("sampling_unit") == "cluster":
                names.add(str(info.get("name") or str(key).split("@")[0]))
    return names


class _PairedData:
    """Per-pair arrays, the unit (cluster) of each pair, and pooled tags."""

    def __init__(self, pairs: list[tuple[CaseSummary, CaseSummary]], *,
                 clustered: set[str] | bool) -> None:
        import numpy as np

        self.pairs = pairs
        n = len(pairs)
        # one pass over the pairs (eight of them cost seconds at 100,000 cases)
        columns = np.empty((8, n), dtype=np.float64)
        single_trial = True
        for i, (b, c) in enumerate(pairs):
            bo, co = b.outcomes, c.outcomes
            columns[:, i] = (bo.count("pass") / len(bo), co.count("pass") / len(co),
                             b.score, c.score, b.cost_usd, c.cost_usd, b.latency_s, c.latency_s)
            if single_trial and (len(bo) != 1 or len(co) != 1):
                single_trial = False
        self.pass_b, self.pass_c, self.score_b, self.score_c = columns[:4]
        self.cost_b, self.cost_c, self.lat_b, self.lat_c = columns[4:]
        self.single_trial = single_trial
        self.labels = [_unit_label(b, c, clustered) for b, c in pairs]
        self.index, self.n_units = st.unit_index(self.labels)
        n_cluster_units = len({lab for lab in self.labels if lab[0] == "cluster"})
        self.unit_kind = ("case" if n_cluster_units == 0 else
                          "cluster" if all(lab[0] == "cluster" for lab in self.labels)
                          else "mixed")
        self.tags = [tuple(dict.fromkeys((*c.tags, *b.tags))) for b, c in pairs]

    @property
    def n(self) -> int:
        return len(self.pairs)


def _unit_label(b: CaseSummary, c: CaseSummary, clustered: set[str] | bool
                ) -> tuple[str, ...]:
    cluster = c.cluster if c.cluster is not None else b.cluster
    use = clustered if isinstance(clustered, bool) else c.dataset in clustered
    if use and cluster is not None:
        return ("cluster", c.dataset, cluster)
    # the same case scored by several evals is one sampling unit: its runs are shared
    return ("case", c.dataset, c.case_id)


def _direction(delta: float, significant: bool, higher_is_better: bool) -> str:
    if not significant or delta == 0 or not math.isfinite(delta):
        return "unchanged"
    return "improved" if (delta > 0) == higher_is_better else "regressed"


def _paired_test(diffs: np.ndarray, index: np.ndarray, n_units: int, binary_iid: bool,
                 pass_b: np.ndarray | None, pass_c: np.ndarray | None, *, n_perm: int,
                 rng: np.random.Generator) -> tuple[float, str]:
    """McNemar exact for single-trial pass/fail on independent cases, else sign-flip."""
    if binary_iid and pass_b is not None and pass_c is not None:
        b = int(((pass_b == 1) & (pass_c == 0)).sum())
        c = int(((pass_b == 0) & (pass_c == 1)).sum())
        return st.mcnemar_exact(b, c), "mcnemar-exact"
    test = "sign-flip" if n_units == diffs.size else "cluster-sign-flip"
    return st.sign_flip_pvalue(diffs, index, n_units, n_perm=n_perm, rng=rng), test


def quality_pvalues(d_pass: np.ndarray, d_score: np.ndarray, index: np.ndarray, n_units: int,
                    *, n_perm: int, rng: np.random.Generator
                    ) -> tuple[tuple[float, float], tuple[float, float]]:
    """One-sided (drop, rise) p-values of pass rate and of mean score, adjusted jointly
    (max-T over the same sign flips): ``((drop, rise) of pass rate, (drop, rise) of score)``.
    """
    import numpy as np

    totals = np.vstack([st.unit_totals(d_pass, index, n_units),
                        st.unit_totals(d_score, index, n_units)])
    drop, rise = st.max_t_sign_flip(totals, n_perm=n_perm, rng=rng)
    return (float(drop[0]), float(rise[0])), (float(drop[1]), float(rise[1]))


def _metrics(data: _PairedData, pool: Executor, *, alpha: float, n_boot: int, seed: int,
             cached: bool = False, simulated: bool = False,
             first_look_alpha: float | None = None
             ) -> Callable[[], tuple[MetricResult, ...]]:
    """Queue the metrics' resampling tests on ``pool``; the returned function waits for
    them and gives the metrics."""
    import numpy as np

    n, index, n_units = data.n, data.index, data.n_units
    level = alpha if first_look_alpha is None else first_look_alpha
    d_pass = data.pass_c - data.pass_b
    d_score = data.score_c - data.score_b
    d_cost = data.cost_c - data.cost_b
    q = LATENCY_QUANTILE

    col_pass, col_score = st.Column(d_pass, index, n_units), st.Column(d_score, index, n_units)
    col_cost_b, col_cost_c = (st.Column(data.cost_b, index, n_units),
                              st.Column(data.cost_c, index, n_units))
    col_lat_b, col_lat_c = (st.Column(data.lat_b, index, n_units),
                            st.Column(data.lat_c, index, n_units))

    def statistic(r: st.Resample) -> np.ndarray:
        cost_b = st.resampled_mean(r, col_cost_b)
        cost_c = st.resampled_mean(r, col_cost_c)
        lat_b = st.resampled_quantile(r, col_lat_b, q)
        lat_c = st.resampled_quantile(r, col_lat_c, q)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.column_stack([
                st.resampled_mean(r, col_pass),
                st.resampled_mean(r, col_score),
                cost_c / cost_b - 1.0,
                lat_c / lat_b - 1.0,
            ])

    # every test below draws from its own seeded stream, so they may run side by side
    # (numpy releases the GIL) and give the same numbers as one after the other
    boot = pool.submit(st.bootstrap, statistic, n, index, n_units, n_boot=n_boot,
                       rng=st.make_rng(seed, _STREAM_BOOT))
    binary = bool(np.all((data.pass_b == 0) | (data.pass_b == 1))
                  and np.all((data.pass_c == 0) | (data.pass_c == 1)))
    pass_test = pool.submit(_paired_test, d_pass, index, n_units,
                            data.single_trial and binary and n_units == n,
                            data.pass_b, data.pass_c, n_perm=n_boot,
                            rng=st.make_rng(seed, _STREAM_PASS))
    score_test = pool.submit(_paired_test, d_score, index, n_units, False, None, None,
                             n_perm=n_boot, rng=st.make_rng(seed, _STREAM_SCORE))
    quality = pool.submit(quality_pvalues, d_pass, d_score, index, n_units, n_perm=n_boot,
                          rng=st.make_rng(seed, _STREAM_QUALITY))
    cost_test = pool.submit(_paired_test, d_cost, index, n_units, False, None, None,
                            n_perm=n_boot, rng=st.make_rng(seed, _STREAM_COST))
    d_log_lat = (np.log(np.maximum(data.lat_c, _LATENCY_FLOOR_S))
                 - np.log(np.maximum(data.lat_b, _LATENCY_FLOOR_S)))
    lat_test = pool.submit(_paired_test, d_log_lat, index, n_units, False, None, None,
                           n_perm=n_boot, rng=st.make_rng(seed, _STREAM_LATENCY))

    def finish() -> tuple[MetricResult, ...]:
        reps = boot.result()

        def mean_metric(name: str, col: int, b: np.ndarray, c: np.ndarray, d: np.ndarray,
                        one_sided: tuple[float, float], p_raw: float, test: str
                        ) -> MetricResult:
            var_cluster, var_iid = st.mean_variances(d, index, n_units)
            se = math.sqrt(var_cluster) if math.isfinite(var_cluster) else math.nan
            deff = ((var_cluster / var_iid) if var_iid > 0 and math.isfinite(var_cluster)
                    else None)
            lo, hi = st.percentile_ci(reps[:, col], alpha)
            delta = float(d.mean())
            # two-sided p of the joint test: twice the smaller one-sided p (capped at 1)
            p = min(1.0, 2.0 * min(one_sided))
            significant = p < level and delta != 0
            return MetricResult(
                name=name, baseline=float(b.mean()), candidate=float(c.mean()), delta=delta,
                delta_kind="absolute", ci_low=lo, ci_high=hi, p_value=p, test=test,
                n_pairs=n, significant=significant,
                direction=_direction(delta, significant, True), higher_is_better=True,
                mde=st.mde(se, level, POWER), design_effect=deff, level=level, p_raw=p_raw,
                n_units=n_units, p_drop=one_sided[0],
            )

        p_pass_raw, _ = pass_test.result()
        p_score_raw, _ = score_test.result()
        joint_pass, joint_score = quality.result()
        test = "sign-flip" if n_units == n else "cluster-sign-flip"
        out = [mean_metric("pass_rate", 0, data.pass_b, data.pass_c, d_pass, joint_pass,
                           p_pass_raw, test),
               mean_metric("score", 1, data.score_b, data.score_c, d_score, joint_score,
                           p_score_raw, test)]
        # cost per case: relative change of the mean; tested on the paired per-case
        # differences
        base_cost, cand_cost = float(data.cost_b.mean()), float(data.cost_c.mean())
        p_cost, test_cost = cost_test.result()
        out.append(_relative_metric("cost", base_cost, cand_cost, reps[:, 2], alpha, n,
                                    p_cost, test_cost, d_cost, index, n_units))
        # p95 latency: the bootstrap interval alone calls noise significant (a degenerate
        # interval of the one or two tail cases), so a paired sign-flip test on per-case
        # log latency must agree; latency is not comparable when either side was served
        # from cache
        base_lat, cand_lat = st.quantile(data.lat_b, q), st.quantile(data.lat_c, q)
        p_lat, test_lat = lat_test.result()
        out.append(_relative_metric("latency_p95", base_lat, cand_lat, reps[:, 3], alpha, n,
                                    p_lat, test_lat, d_log_lat, index, n_units,
                                    not_comparable="cached" if cached else
                                    "simulated" if simulated else ""))
        return tuple(out)

    return finish


def _relative_metric(name: str, base: float, cand: float, reps: np.ndarray, alpha: float,
                     n: int, p: float | None, test: str, diffs: np.ndarray | None,
                     index: np.ndarray, n_units: int, *, not_comparable: str = ""
                     ) -> MetricResult:
    """Cost and latency: lower is better. Significant only when the CI of the change
    excludes 0, the paired sign-flip test agrees (p < alpha), and there
    are at least ``MIN_RELATIVE_UNITS`` units: percentile intervals of a ratio of skewed
    means or of a tail quantile under-cover with few units, the sign-flip test does not.
    ``not_comparable`` ("cached": model calls served from the cache; "simulated": the
    built-in simulator, whose latency is the host's load) never makes a change significant."""
    import numpy as np

    if base > 0:
        delta = cand / base - 1.0
        lo, hi = st.percentile_ci(reps, alpha)
        finite = reps[np.isfinite(reps)]
        se = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
    else:  # nothing to be relative to (e.g. unpriced model): no relative change defined
        delta, lo, hi, se = (0.0 if cand == base else math.nan), math.nan, math.nan, math.nan
    not_gated = (not_comparable or
                 "undefined" if not math.isfinite(delta) else
                 "few-units" if n_units < MIN_RELATIVE_UNITS else "")
    # a zero-width interval alone (one tail case, or a single unit) proves nothing: the paired
    # test and the unit count decide; a zero-width interval of a consistent shift over many
    # units (every case exactly 2x slower) is significant through them
    significant = (not not_gated
                   and math.isfinite(lo) and math.isfinite(hi)
                   and (lo > 0 or hi < 0) and p is not None and p < alpha)
    deff = None
    if diffs is not None:
        var_cluster, var_iid = st.mean_variances(diffs, index, n_units)
        if var_iid > 0 and math.isfinite(var_cluster):
            deff = var_cluster / var_iid
    return MetricResult(
        name=name, baseline=base, candidate=cand, delta=delta, delta_kind="relative",
        ci_low=lo, ci_high=hi, p_value=p, test=test, n_pairs=n, significant=significant,
        direction=_direction(delta, significant, False), higher_is_better=False,
        mde=st.mde(se, alpha, POWER), design_effect=deff, level=alpha, p_raw=p,
        n_units=n_units, not_gated=not_gated,
    )


def _changes(pairs: list[tuple[CaseSummary, CaseSummary]], must_pass_tag: str
             ) -> tuple[CaseChange, ...]:
    changes = []
    for b, c in pairs:
        if b.passed == c.passed:
            continue
        tags = tuple(dict.fromkeys((*c.tags, *b.tags)))
        changes.append(CaseChange(
            eval=c.eval, case_id=c.case_id, dataset=c.dataset_label,
            kind="regression" if b.passed else "improvement",
            must_pass=must_pass_tag in tags, tags=tags,
            cluster=c.cluster if c.cluster is not None else b.cluster,
            baseline_outcomes=b.outcomes, candidate_outcomes=c.outcomes,
            baseline_pass_rate=b.pass_rate, candidate_pass_rate=c.pass_rate,
            baseline_score=b.score, candidate_score=c.score,
        ))
    # most severe first: regressions, must-pass, biggest pass-rate then score change
    changes.sort(key=lambda ch: (
        ch.kind != "regression", not ch.must_pass,
        -abs(ch.candidate_pass_rate - ch.baseline_pass_rate), -abs(ch.score_delta),
        ch.eval, ch.case_id,
    ))
    return tuple(changes)


def _must_pass(pairs: list[tuple[CaseSummary, CaseSummary]], must_pass_tag: str
               ) -> tuple[MustPassCase, ...]:
    """Every paired must-pass case with its first-look status (see MustPassCase)."""
    out = []
    for b, c in pairs:
        if must_pass_tag not in b.tags and must_pass_tag not in c.tags:
            continue
        status = "ok" if c.passed else ("suspect" if b.passed else "pre-existing")
        out.append(MustPassCase(eval=c.eval, case_id=c.case_id, baseline_outcomes=b.outcomes,
                                candidate_outcomes=c.outcomes, status=status))
    # pre-existing failures first (a warning the reader should see first), then suspects
    order = {"pre-existing": 0, "suspect": 1, "ok": 2}
    out.sort(key=lambda m: (order[m.status], m.eval, m.case_id))
    return tuple(out)


def _flaky(side: Side, name: str) -> tuple[FlakyCase, ...]:
    flaky = sorted(key for key, c in side.cases.items() if c.flaky)  # sort the few only
    return tuple(
        FlakyCase(eval=c.eval, case_id=c.case_id, side=name, outcomes=c.outcomes,
                  pass_rate=c.pass_rate)
        for c in (side.cases[key] for key in flaky)
    )


def _mean_column(column: st.Column, resample: st.Resample) -> np.ndarray:
    return st.resampled_mean(resample, column)[:, None]


def _slice_matches(tag: str, prefixes: Sequence[str] | None) -> bool:
    if prefixes is None:
        return ":" in tag
    for prefix in prefixes:
        if prefix.endswith(":") and tag.startswith(prefix):
            return True
        if tag == prefix or tag.startswith(prefix + ":"):
            return True
    return False


def _slices(data: _PairedData, pool: Executor, prefixes: Sequence[str] | None, *, alpha: float,
            n_boot: int, seed: int, correction: str
            ) -> Callable[[], tuple[SliceResult, ...]]:
    """Queue each slice's test and bootstrap on ``pool``; the returned function waits for
    them and gives the slices."""
    import numpy as np

    members: dict[str, list[int]] = {}
    matches: dict[str, bool] = {}  # a few distinct tags, on 100,000 pairs
    for i, tags in enumerate(data.tags):
        for tag in tags:
            hit = matches.get(tag)
            if hit is None:
                hit = matches[tag] = _slice_matches(tag, prefixes)
            if hit:
                members.setdefault(tag, []).append(i)
    names = sorted(members)
    trials = (np.ones(data.n, dtype=bool) if data.single_trial else
              np.fromiter((b.n_trials == 1 and c.n_trials == 1 for b, c in data.pairs),
                          dtype=bool, count=data.n))
    pending = []
    for k, tag in enumerate(names):
        idx = np.asarray(members[tag], dtype=np.int64)
        pb, pc = data.pass_b[idx], data.pass_c[idx]
        d = pc - pb
        if data.n_units == data.n:  # every pair its own unit: so in any slice
            index, n_units = np.arange(idx.size, dtype=np.int64), int(idx.size)
        else:
            index, n_units = st.unit_index([data.labels[i] for i in idx])
        binary = bool(np.all((pb == 0) | (pb == 1)) and np.all((pc == 0) | (pc == 1)))
        single = bool(trials[idx].all())
        rng = st.make_rng(seed, _STREAM_SLICES + 2 * k)
        tested = pool.submit(_paired_test, d, index, n_units,
                             binary and single and n_units == idx.size, pb, pc,
                             n_perm=n_boot, rng=rng)
        boot = pool.submit(st.bootstrap,
                           functools.partial(_mean_column, st.Column(d, index, n_units)),
                           idx.size, index, n_units, n_boot=n_boot,
                           rng=st.make_rng(seed, _STREAM_SLICES + 2 * k + 1))
        pending.append((tag, idx.size, pb, pc, d, tested, boot))

    def finish() -> tuple[SliceResult, ...]:
        raw: list[tuple[str, int, float, float, float, float, float, float, str]] = []
        for tag, size, pb, pc, d, tested, boot in pending:
            p, test_name = tested.result()
            lo, hi = st.percentile_ci(boot.result()[:, 0], alpha)
            raw.append((tag, size, float(pb.mean()), float(pc.mean()), float(d.mean()), lo,
                        hi, p, test_name))
        adjusted = st.adjust([r[7] for r in raw], correction)
        out = []
        for (tag, n, b, c, delta, lo, hi, p, test), p_adj in zip(raw, adjusted, strict=True):
            significant = p_adj < alpha
            out.append(SliceResult(
                slice=tag, n_pairs=n, baseline=b, candidate=c, delta=delta, ci_low=lo,
                ci_high=hi, p_value=p, p_adjusted=p_adj, test=test, significant=significant,
                direction=_direction(delta, significant, True),
            ))
        return tuple(out)

    return finish


def _dataset_warnings(base: Side, cand: Side) -> tuple[str, ...]:
    def by_name(datasets: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, info in datasets.items():
            info = info if isinstance(info, dict) else {}
            out[str(info.get("name") or key.split("@")[0])] = info
        return out

    b, c = by_name(base.info.datasets), by_name(cand.info.datasets)
    warnings: list[str] = []
    for name in sorted(b.keys() | c.keys()):
        if name not in c:
            warnings.append(f"dataset {name} is in the baseline run only")
            continue
        if name not in b:
            warnings.append(f"dataset {name} is in the candidate run only")
            continue
        vb, vc = b[name].get("version"), c[name].get("version")
        fb, fc = b[name].get("fingerprint"), c[name].get("fingerprint")
        if vb != vc:
            warnings.append(
                f"dataset {name}: baseline used version {vb}, candidate {vc}; cases are "
                "paired by id across versions, so changed cases may differ in content"
            )
        elif fb and fc and fb != fc:
            warnings.append(
                f"dataset {name}@{vb}: content fingerprints differ ({str(fb)[:12]} vs "
                f"{str(fc)[:12]}) although the version is the same; re-pin golden.lock"
            )
    return tuple(warnings)

