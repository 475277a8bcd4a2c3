"""Does the gate cry wolf? Simulated false-alarm rate, power, and compare() speed.

Simulates K pairs of runs of the same agent (no true difference): per-case pass
probabilities drawn around template clusters, 2-3 trials per case, noisy scores, costs
and latencies. Prints
  * the gate's false-alarm rate (must be <= alpha) and each test's rejection rate,
  * the rejection rate under a "heterogeneous null" (each template cluster shifts at
    random, zero on average over templates) with clusters and with cases as sampling units,
  * power against a true 5-point pass-rate drop, with cases and with clusters as units,
  * seconds for compare() on 10,000 cases.

    .venv/bin/python bench/bench_compare_false_alarms.py [--k 500] [--n-cases 400]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from passline.compare import GatePolicy, compare, gate

EVAL = "evals/test_tools.py::test_tool_choice"
WORKERS = ("worker:support", "worker:finance", "worker:policy")


def population(rng: np.random.Generator, n: int, n_clusters: int) -> dict[str, np.ndarray]:
    """Case-level truth shared by both runs: pass probability, cluster, cost and latency."""
    cluster = rng.integers(0, n_clusters, n)
    cluster_effect = rng.normal(0.0, 1.0, n_clusters)
    logit = 1.0 + cluster_effect[cluster] + rng.normal(0.0, 1.0, n)
    p = np.clip(1 / (1 + np.exp(-logit)), 0.05, 0.97)  # room for an exact 5-point drop
    return {
        "p": p,
        "cluster": cluster,
        "cost": rng.lognormal(np.log(0.002), 0.5, n),
        "latency": rng.lognormal(np.log(1.5), 0.4, n),
    }


def simulate_run(rng: np.random.Generator, pop: dict[str, np.ndarray], p: np.ndarray,
                 trials: int, run_id: str) -> tuple[dict, list[dict]]:
    n = p.size
    passed = rng.random((trials, n)) < p
    partial = rng.uniform(0.0, 0.6, (trials, n))
    cost = pop["cost"] * rng.lognormal(0.0, 0.15, (trials, n))
    latency = pop["latency"] * rng.lognormal(0.0, 0.25, (trials, n))
    rows = []
    for t in range(trials):
        for i in range(n):
            ok = bool(passed[t, i])
            rows.append({
                "schema_version": 1, "run_id": run_id, "eval": EVAL, "case_id": f"c{i:05d}",
                "dataset": "tools-unit", "dataset_version": "v2",
                "tags": [WORKERS[i % 3]], "cluster": f"tmpl-{pop['cluster'][i]}", "trial": t,
                "status": "pass" if ok else "fail", "score": 1.0 if ok else float(partial[t, i]),
                "cost_usd": float(cost[t, i]), "latency_s": float(latency[t, i]), "tokens": 0,
            })
    manifest = {"schema_version": 1, "run_id": run_id, "trials": trials,
                "datasets": {"tools-unit@v2": {"name": "tools-unit", "version": "v2"}}}
    return manifest, rows


def trial_pair(rng: np.random.Generator, n: int, n_clusters: int, scenario: str,
               n_boot: int, seed: int, unit: str = "case") -> dict[str, bool]:
    pop = population(rng, n, n_clusters)
    trials = int(rng.integers(2, 4))
    p_base = pop["p"]
    if scenario == "drop":
        p_cand = p_base - 0.05
    elif scenario == "hetero":
        # each template moves by its own random amount, zero on average over the population
        # of templates; these 40 templates' average is not zero, and only a cluster-aware
        # analysis knows that it cannot tell the two apart
        shift = rng.normal(0.0, 0.10, size=n_clusters)
        p_cand = np.clip(p_base + shift[pop["cluster"]], 0.0, 1.0)
    else:
        p_cand = p_base
    base = simulate_run(rng, pop, p_base, trials, "base")
    cand = simulate_run(rng, pop, p_cand, trials, "cand")
    comparison = compare(base, cand, n_boot=n_boot, seed=seed, sampling_unit=unit)
    verdict = gate(comparison, GatePolicy())
    return {
        "gate": verdict.status == "regressed",
        "pass_rate": comparison.metric("pass_rate").significant,
        "score": comparison.metric("score").significant,
        "cost": comparison.metric("cost").significant,
        "latency_p95": comparison.metric("latency_p95").significant,
    }


def rates(outcomes: list[dict[str, bool]]) -> dict[str, float]:
    return {k: float(np.mean([o[k] for o in outcomes])) for k in outcomes[0]}


def time_large(n: int, n_boot: int) -> float:
    rng = np.random.default_rng(7)
    pop = population(rng, n, 200)
    base = simulate_run(rng, pop, pop["p"], 3, "base")
    cand = simulate_run(rng, pop, pop["p"], 3, "cand")
    start = time.perf_counter()
    compare(base, cand, n_boot=n_boot)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=500, help="simulated run pairs per scenario")
    ap.add_argument("--n-cases", type=int, default=400)
    ap.add_argument("--n-clusters", type=int, default=40)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()
    alpha = GatePolicy().alpha
    rng = np.random.default_rng(args.seed)
    print(f"{args.k} simulated run pairs per scenario, {args.n_cases} cases, "
          f"{args.n_clusters} clusters, 2-3 trials, n_boot={args.n_boot}, alpha={alpha}")

    start = time.perf_counter()
    null = [trial_pair(rng, args.n_cases, args.n_clusters, "null", args.n_boot, k)
            for k in range(args.k)]
    r = rates(null)
    print(f"no true difference: gate false-alarm rate {r['gate']:.3f} (must be <= {alpha}); "
          f"two-sided rejection rates: pass_rate {r['pass_rate']:.3f}, score {r['score']:.3f}, "
          f"cost {r['cost']:.3f}, latency_p95 {r['latency_p95']:.3f}")

    hetero = [trial_pair(rng, args.n_cases, args.n_clusters, "hetero", args.n_boot, k,
                         unit="cluster") for k in range(args.k)]
    hetero_iid = [trial_pair(rng, args.n_cases, args.n_clusters, "hetero", args.n_boot, k,
                             unit="case") for k in range(args.k)]
    print(f"templates shift at random (sd 10 pts, mean 0 over templates): pass_rate "
          "rejection rate "
          f"{rates(hetero)['pass_rate']:.3f} with clusters as units vs "
          f"{rates(hetero_iid)['pass_rate']:.3f} with cases")

    drop = [trial_pair(rng, args.n_cases, args.n_clusters, "drop", args.n_boot, k)
            for k in range(args.k)]
    r = rates(drop)
    drop_c = rates([trial_pair(rng, args.n_cases, args.n_clusters, "drop", args.n_boot, k,
                               unit="cluster") for k in range(args.k)])
    print(f"true 5-point pass-rate drop: gate power {r['gate']:.3f} with cases as the sampling "
          f"unit, {drop_c['gate']:.3f} with clusters (pass_rate test alone {r['pass_rate']:.3f}"
          f" / {drop_c['pass_rate']:.3f})")
    print(f"simulation time {time.perf_counter() - start:.1f} s")

    for n_boot in (2000,):
        secs = time_large(10_000, n_boot)
        print(f"compare() on 10,000 cases x 3 trials (200 clusters, 3 slices, n_boot={n_boot}):"
              f" {secs:.2f} s")


if __name__ == "__main__":
    main()
