"""gate() verdicts, the gate policy, named baselines and the gate/baseline CLIs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from passline.cli import baseline as baseline_cli
from passline.cli import gate as gate_cli
from passline.compare import (
    GatePolicy,
    compare,
    gate,
    list_baselines,
    load_baseline,
    load_policy,
    promote_baseline,
    rollback_baseline,
    save_baseline,
)
from passline.errors import ConfigError, ExitCode, GateFailed, RecordError

EVAL = "evals/test_tools.py::test_tool_choice"
N_BOOT = 400


def make_run(outcomes, *, run_id="run", tags=None, clusters=None, cost=0.001, latency=1.0):
    """A (manifest, rows) pair; ``outcomes[i]`` is a status or a list of per-trial statuses."""
    rows = []
    for i, case in enumerate(outcomes):
        trials = [case] if isinstance(case, str) else list(case)
        for t, status in enumerate(trials):
            rows.append({
                "schema_version": 1, "run_id": run_id, "eval": EVAL, "case_id": f"case-{i:04d}",
                "dataset": "tools-unit", "dataset_version": "v2",
                "tags": list(tags[i]) if tags else [],
                "cluster": clusters[i] if clusters else None, "trial": t, "status": status,
                "score": 1.0 if status == "pass" else 0.0, "scores": [],
                "cost_usd": cost * (1 + (i % 7) / 10), "tokens": 100,
                "latency_s": latency * (1 + (i % 11) / 10), "error": None,
                "run": {"answer": "long answer that a baseline file must not keep", "trace": []},
            })
    manifest = {"schema_version": 1, "run_id": run_id, "trials": 1,
                "finished_at": "2026-11-27T10:00:00+00:00",
                "variant": {"name": run_id, "model": "gpt-4o-mini", "prompts": "v2",
                            "params": {}},
                "datasets": {"tools-unit@v2": {"name": "tools-unit", "version": "v2",
                                               "fingerprint": "f00d", "n_cases": len(outcomes)}}}
    return manifest, rows


def write_run(folder: Path, run) -> Path:
    manifest, rows = run
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def verdict_of(base, cand, policy=None, **kw):
    return gate(compare(base, cand, n_boot=N_BOOT, **kw), policy or GatePolicy())


# --- verdicts -------------------------------------------------------------------------------

def test_identical_runs_pass_the_gate():
    outcomes = ["pass"] * 70 + ["fail"] * 30
    verdict = verdict_of(make_run(outcomes), make_run(outcomes))
    assert verdict.status == "pass" and verdict.exit_code == ExitCode.OK and verdict.passed
    assert all(c.status != "fail" for c in verdict.checks)
    verdict.raise_for_status()  # no exception


def test_clear_regression_fails_with_a_reason_a_reviewer_can_read():
    base = ["pass"] * 80 + ["fail"] * 20
    cand = ["fail"] * 30 + ["pass"] * 50 + ["fail"] * 20
    verdict = verdict_of(make_run(base, run_id="main"), make_run(cand, run_id="pr-7"))
    assert verdict.status == "regressed" and verdict.exit_code == ExitCode.REGRESSION
    first = verdict.reasons[0]
    assert first.startswith("pass rate 80.0% -> 50.0% (-30.0 pts, 95% CI -")
    assert ") on tools-unit@v2: significant drop (p = 0.005), beyond the 2.0-pt margin" in first
    assert {c.name for c in verdict.checks if c.status == "fail"} == {"pass_rate", "score"}
    with pytest.raises(GateFailed, match="pr-7 regressed against main") as info:
        verdict.raise_for_status()
    assert info.value.exit_code == ExitCode.REGRESSION


def test_a_drop_that_is_not_significant_never_fails():
    base = ["pass"] * 80 + ["fail"] * 20
    cand = ["fail"] * 3 + ["pass"] * 77 + ["fail"] * 20
    verdict = verdict_of(make_run(base), make_run(cand))
    assert verdict.status == "pass"
    (reason,) = [r for r in verdict.reasons if r.startswith("pass rate")]
    # the words say what was tested, and what the run could not have seen
    assert ": not significant (p = 0.25); could not detect drops smaller than " in reason
    assert " points with 100 cases; add cases or trials" in reason
    assert not any("no significant change" in r or "no change" in r for r in verdict.reasons)


def test_must_pass_case_newly_failing_fails_when_an_exact_test_shows_it():
    tags = [["must-pass"] if i == 2 else [] for i in range(100)]
    base = [["pass"] * 12] * 80 + [["fail"] * 12] * 20
    cand = [["pass"] * 12] * 2 + [["fail"] * 12] + [["pass"] * 12] * 77 + [["fail"] * 12] * 20
    comparison = compare(make_run(base, tags=tags), make_run(cand, tags=tags), n_boot=N_BOOT)
    assert not comparison.metric("pass_rate").significant
    verdict = gate(comparison, GatePolicy())
    assert verdict.status == "regressed"
    assert verdict.reasons[0].startswith(
        "1 must-pass case newly fails, confirmed by an exact test: case-0002 "
        f"({EVAL}): 12/12 -> 0/12 trials passed")
    # the tag is the policy's choice
    other = compare(make_run(base, tags=tags), make_run(cand, tags=tags), n_boot=N_BOOT,
                    must_pass_tag="critical")
    assert gate(other, GatePolicy(must_pass_tag="critical")).status == "pass"
    with pytest.raises(ConfigError, match="must_pass_tag='critical'"):
        gate(comparison, GatePolicy(must_pass_tag="critical"))


def test_one_failed_trial_of_a_must_pass_case_is_a_warning_not_a_regression():
    # 1/1 -> 0/1 is what one flaky trial looks like: exact one-sided p = 0.5
    tags = [["must-pass"] if i == 2 else [] for i in range(100)]
    base = ["pass"] * 80 + ["fail"] * 20
    cand = ["pass", "pass", "fail"] + ["pass"] * 77 + ["fail"] * 20
    verdict = verdict_of(make_run(base, tags=tags), make_run(cand, tags=tags))
    assert verdict.status == "pass" and verdict.exit_code == ExitCode.OK
    (warn,) = [c for c in verdict.checks if c.status == "warn"]
    assert warn.name == "must_pass_unconfirmed"
    assert "1 must-pass case failed a majority of the candidate's trials but not confirmed" \
        in warn.message and "case-0002" in warn.message
    assert verdict.reasons[0] == warn.message  # warnings come right after failures


def test_a_must_pass_case_failing_in_the_baseline_too_is_pre_existing():
    tags = [["must-pass"] if i < 2 else [] for i in range(40)]
    base = [["pass", "fail", "fail"], ["pass"] * 3] + [["pass"] * 3] * 38
    cand = [["fail", "fail", "fail"], ["pass"] * 3] + [["pass"] * 3] * 38
    verdict = verdict_of(make_run(base, tags=tags), make_run(cand, tags=tags))
    assert verdict.status == "pass"
    (pre,) = [c for c in verdict.checks if c.name == "must_pass_pre_existing"]
    assert pre.status == "warn" and "case-0000" in pre.message and "1/3 -> 0/3" in pre.message


def test_significant_drop_within_the_margin_is_tolerated():
    n = 4000
    base = ["pass"] * n
    cand = ["fail"] * 40 + ["pass"] * (n - 40)  # -1.0 pt, very significant
    comparison = compare(make_run(base), make_run(cand), n_boot=200)
    assert comparison.metric("pass_rate").significant
    verdict = gate(comparison, GatePolicy(metrics=("pass_rate",)))
    assert verdict.status == "pass"
    assert "within the 2.0-pt margin" in verdict.reasons[0]
    assert gate(comparison, GatePolicy(max_drop=0.005, metrics=("pass_rate",))
                ).status == "regressed"


def test_improvement_passes_with_status_improved():
    base = ["fail"] * 30 + ["pass"] * 50 + ["fail"] * 20
    cand = ["pass"] * 80 + ["fail"] * 20
    verdict = verdict_of(make_run(base), make_run(cand))
    assert verdict.status == "improved" and verdict.exit_code == ExitCode.OK
    assert any(r.startswith("pass rate 50.0% -> 80.0%") and ": significant rise (p = " in r
               for r in verdict.reasons)


def test_cost_budget_fails_on_a_significant_increase_beyond_the_limit():
    outcomes = ["pass"] * 50
    verdict = verdict_of(make_run(outcomes, cost=0.001), make_run(outcomes, cost=0.0013))
    assert verdict.status == "regressed"
    (failed,) = [c for c in verdict.checks if c.status == "fail"]
    assert failed.name == "cost" and "+30.0%" in failed.message
    assert "over the +20% budget" in failed.message
    relaxed = verdict_of(make_run(outcomes, cost=0.001), make_run(outcomes, cost=0.0013),
                         GatePolicy(max_cost_increase=float("inf")))
    assert relaxed.status == "pass"
    assert [c.status for c in relaxed.checks if c.name == "cost"] == ["skip"]


def test_latency_budget_fails_on_p95_increase():
    outcomes = ["pass"] * 50
    verdict = verdict_of(make_run(outcomes, latency=1.0), make_run(outcomes, latency=1.5))
    assert [c.name for c in verdict.checks if c.status == "fail"] == ["latency_p95"]
    assert verdict_of(make_run(outcomes, latency=1.0), make_run(outcomes, latency=1.2)
                      ).status == "pass"


def test_missing_cases_fail_only_when_the_policy_says_so():
    manifest, rows = make_run(["pass"] * 20)
    cand = (manifest, [r for r in rows if r["case_id"] != "case-0003"])
    comparison = compare((manifest, rows), cand, n_boot=N_BOOT)
    lenient = gate(comparison, GatePolicy())
    assert lenient.status == "pass"
    (warn,) = [c for c in lenient.checks if c.name == "missing_cases"]
    assert warn.status == "warn" and f"{EVAL}::case-0003" in warn.message  # named, not a ✓
    strict = gate(comparison, GatePolicy(fail_on_missing_cases=True))
    # missing evidence is not a regression: exit 3, not 1
    assert strict.status == "incomplete" and strict.exit_code == ExitCode.INFRASTRUCTURE_ERROR
    assert "1 baseline case(s) were not run by the candidate" in strict.reasons[0]


def test_a_missing_must_pass_case_never_passes():
    tags = [["must-pass"] if i == 3 else [] for i in range(20)]
    manifest, rows = make_run(["pass"] * 20, tags=tags)
    cand = (manifest, [r for r in rows if r["case_id"] != "case-0003"])
    verdict = gate(compare((manifest, rows), cand, n_boot=N_BOOT), GatePolicy())
    assert verdict.status == "incomplete" and verdict.exit_code == ExitCode.INFRASTRUCTURE_ERROR
    assert verdict.reasons[0].startswith("1 must-pass case(s) of the baseline were not run")


# --- policy ---------------------------------------------------------------------------------

def test_policy_is_read_from_pyproject_and_overridden(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.passline]\nmodel = 'sim-2'\n\n[tool.passline.gate]\nalpha = 0.01\n"
        "max-drop = 0.05\nmax_cost_increase = inf\nmetrics = ['pass_rate']\n")
    policy = load_policy(tmp_path)
    assert (policy.alpha, policy.max_drop, policy.metrics) == (0.01, 0.05, ("pass_rate",))
    assert policy.max_cost_increase == float("inf")
    assert policy.score_max_drop == 0.02  # default kept
    assert load_policy(tmp_path, alpha=0.1, max_drop=None).alpha == 0.1


@pytest.mark.parametrize(("body", "message"), [
    ("max_dorp = 0.1", "unknown key 'max_dorp'"),
    ("alpha = 'low'", "alpha = 'low' should be"),
    ("metrics = ['accuracy']", r"pyproject.toml \[tool.passline.gate\]: .*'accuracy'.* unknown"),
    ("alpha = 1.5", "alpha must be in"),
])
def test_bad_policy_is_a_config_error(tmp_path, body, message):
    (tmp_path / "pyproject.toml").write_text(f"[tool.passline.gate]\n{body}\n")
    with pytest.raises(ConfigError, match=message):
        load_policy(tmp_path)


# --- baselines ------------------------------------------------------------------------------

def test_baseline_file_gives_the_same_comparison_and_verdict_as_the_run(tmp_path):
    clusters = [f"t{i % 9}" for i in range(60)]
    tags = [["worker:support" if i % 2 else "worker:finance"] for i in range(60)]
    base = [["pass", "fail"] if i % 5 == 0 else ["pass", "pass"] for i in range(60)]
    cand = [["fail", "fail"] if i % 4 == 0 else ["pass", "pass"] for i in range(60)]
    base_dir = write_run(tmp_path / "runs" / "base", make_run(base, run_id="base", tags=tags,
                                                              clusters=clusters))
    cand_dir = write_run(tmp_path / "runs" / "cand", make_run(cand, run_id="cand", tags=tags,
                                                              clusters=clusters))
    path = save_baseline("main", base_dir, directory=tmp_path / "baselines")
    assert "long answer" not in path.read_text()  # no answers or traces in a baseline

    from_run = compare(base_dir, cand_dir, n_boot=N_BOOT)
    from_file = compare(path, cand_dir, n_boot=N_BOOT)
    strip = lambda d: {k: v for k, v in d.items() if k != "baseline"}  # noqa: E731
    assert strip(from_file.to_dict()) == strip(from_run.to_dict())
    assert from_file.baseline.kind == "baseline" and from_file.baseline.label == "main"
    assert gate(from_file).to_dict()["reasons"] == gate(from_run).to_dict()["reasons"]


def test_save_refuses_to_overwrite_promote_keeps_history_rollback_restores(tmp_path):
    d = tmp_path / "baselines"
    run1 = write_run(tmp_path / "r1", make_run(["pass"] * 3, run_id="r1"))
    run2 = write_run(tmp_path / "r2", make_run(["fail"] * 3, run_id="r2"))
    save_baseline("main", run1, directory=d)
    with pytest.raises(ConfigError, match="already exists"):
        save_baseline("main", run2, directory=d)
    with pytest.raises(RecordError, match="no history"):
        rollback_baseline("main", directory=d)
    promote_baseline("main", run2, directory=d)
    assert load_baseline(d / "main.json").manifest["run_id"] == "r2"
    assert len(list((d / "main.history").glob("*.json"))) == 1
    (info,) = list_baselines(d)
    assert (info.name, info.run_id, info.n_cases, info.n_history) == ("main", "r2", 3, 1)

    rollback_baseline("main", directory=d)
    assert load_baseline(d / "main.json").manifest["run_id"] == "r1"
    assert list((d / "main.history").glob("*.json")) == []
    assert len(list((d / "main.history" / "discarded").glob("*.json"))) == 1
    assert not list(d.glob(".*.tmp"))  # atomic writes leave no temp files


def test_baseline_names_are_checked(tmp_path):
    run = write_run(tmp_path / "r", make_run(["pass"]))
    with pytest.raises(ConfigError, match="not valid"):
        save_baseline("../escape", run, directory=tmp_path)


def test_a_file_that_is_not_a_baseline_is_refused(tmp_path):
    bogus = tmp_path / "x.json"
    bogus.write_text('{"cases": []}')
    with pytest.raises(RecordError, match="not a passline baseline file"):
        compare(bogus, make_run(["pass"]))


# --- CLI ------------------------------------------------------------------------------------

def _cli(module, argv):
    parser = argparse.ArgumentParser(prog="passline")
    module.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_gate_cli_exit_code_and_json(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["pass"] * 80 + ["fail"] * 20
    cand = ["fail"] * 30 + ["pass"] * 50 + ["fail"] * 20
    b = write_run(tmp_path / "b", make_run(base, run_id="b"))
    c = write_run(tmp_path / "c", make_run(cand, run_id="c"))
    code = _cli(gate_cli, ["gate", str(b), str(c), "--json", "--n-boot", "200"])
    out = json.loads(capsys.readouterr().out)
    assert code == int(ExitCode.REGRESSION) == out["verdict"]["exit_code"]
    assert out["comparison"]["metrics"][0]["name"] == "pass_rate"

    assert _cli(gate_cli, ["gate", str(b), str(b), "--n-boot", "200"]) == 0
    assert "PASS" in capsys.readouterr().out


def test_baseline_cli_round_trip_and_gate_by_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    b = write_run(tmp_path / "b", make_run(["pass"] * 40, run_id="b"))
    c = write_run(tmp_path / "c", make_run(["fail"] * 20 + ["pass"] * 20, run_id="c"))
    assert _cli(baseline_cli, ["baseline", "save", "main", str(b)]) == 0
    assert (tmp_path / "reports/baselines/main.json").is_file()
    assert _cli(baseline_cli, ["baseline", "list", "--json"]) == 0
    capsys.readouterr()
    assert _cli(gate_cli, ["gate", "main", str(c), "--n-boot", "200"]) == 1
    assert "REGRESSED" in capsys.readouterr().out
    assert _cli(baseline_cli, ["baseline", "promote", "main", str(c)]) == 0
    assert _cli(gate_cli, ["gate", "main", str(c), "--n-boot", "200"]) == 0
    assert _cli(baseline_cli, ["baseline", "rollback", "main"]) == 0
    assert "rolled back baseline main to run b" in capsys.readouterr().out


# --- false alarms: the gate must not cry wolf on noise --------------------------------------
def _noisy_pair(rng, n_cases: int, trials: int, clusters: int | None):
    """Two runs of the *same* agent: per-case pass probabilities shared, outcomes sampled."""
    import numpy as np

    if clusters:  # cases of a cluster share difficulty (e.g. one template or source document)
        cluster_p = rng.beta(2, 1, size=clusters)
        ids = rng.integers(0, clusters, size=n_cases)
        p = np.clip(cluster_p[ids] + rng.normal(0, 0.05, n_cases), 0, 1)
        names = [f"c{i}" for i in ids]
    else:
        p, names = rng.beta(2, 1, size=n_cases), None

    def sample(run_id: str):
        q = p
        if clusters:  # each run shifts each cluster a little (sampling noise hits a whole
            # template at once): correlated within a cluster, zero on average
            q = np.clip(p + rng.normal(0, 0.15, clusters)[ids], 0, 1)
        outcomes = [["pass" if rng.random() < q[i] else "fail" for _ in range(trials)]
                    for i in range(n_cases)]
        return make_run(outcomes, run_id=run_id, clusters=names)
    return sample("base"), sample("cand")


@pytest.mark.parametrize("clusters", [None, 12], ids=["independent", "clustered"])
def test_false_alarm_rate_on_identical_variants_stays_below_alpha(clusters):
    import numpy as np

    rng = np.random.default_rng(20261127)
    policy = GatePolicy(max_cost_increase=float("inf"), max_p95_latency_increase=float("inf"))
    pairs = 150
    # a run shifts whole clusters here, so the clusters must be the sampling unit (a card
    # declares it; here the policy does)
    unit = "cluster" if clusters else "case"
    alarms = sum(gate(compare(*_noisy_pair(rng, 80, 2, clusters), n_boot=200,
                              sampling_unit=unit), policy).status
                 == "regressed" for _ in range(pairs))
    assert alarms / pairs <= policy.alpha  # measured in bench/bench_compare_false_alarms.py


def _with_latency(run, factor: float, cache_hits: int = 0):
    manifest, rows = run
    rows = [{**r, "latency_s": r["latency_s"] * factor} for r in rows]
    if cache_hits:
        manifest = {**manifest, "cache": {"mode": "rw", "hits": cache_hits, "misses": 0}}
    return manifest, rows


@pytest.mark.parametrize("n_cases", [1, 6])
def test_latency_rise_on_too_few_cases_does_not_fail_the_gate(n_cases):
    # review #8: a crashed run with 1 paired case gave "CI +1189.8%..+1189.8%" -> REGRESSED
    base = make_run(["pass"] * n_cases)
    verdict = verdict_of(base, _with_latency(base, 1.6))
    (lat,) = [c for c in verdict.checks if c.name == "latency_p95"]
    assert verdict.status == "pass" and lat.status == "pass"
    assert f"not gated: fewer than 20 paired units ({n_cases})" in lat.message
    assert not compare(base, _with_latency(base, 1.6), n_boot=N_BOOT
                       ).metric("latency_p95").significant


@pytest.mark.parametrize("cached_side", ["baseline", "candidate"])
def test_latency_is_not_compared_when_a_side_was_served_from_the_cache(cached_side):
    # cached model calls take 0 s: a replayed baseline vs a live candidate is no latency change
    plain = make_run(["pass"] * 50)
    base = _with_latency(plain, 1.0, cache_hits=40 if cached_side == "baseline" else 0)
    cand = _with_latency(plain, 3.0, cache_hits=40 if cached_side == "candidate" else 0)
    verdict = verdict_of(base, cand)
    (lat,) = [c for c in verdict.checks if c.name == "latency_p95"]
    assert verdict.status == "pass"
    assert lat.status == "skip"
    assert f"the {cached_side} (40 cache hits)" in lat.message and "cache" in lat.message
    # the same pair without cache hits is a real +200% regression
    assert verdict_of(plain, _with_latency(plain, 3.0)).status == "regressed"


def test_baseline_file_keeps_the_cache_figures(tmp_path):
    base = _with_latency(make_run(["pass"] * 30), 1.0, cache_hits=5)
    path = save_baseline("main", write_run(tmp_path / "run", base), directory=tmp_path / "b")
    verdict = verdict_of(load_baseline(path), _with_latency(make_run(["pass"] * 30), 3.0))
    assert [c.status for c in verdict.checks if c.name == "latency_p95"] == ["skip"]


def test_init_scaffold_gives_a_lenient_latency_budget(tmp_path):
    from passline.cli import main

    assert main(["init", "--dir", str(tmp_path)]) == 0
    assert load_policy(tmp_path).max_p95_latency_increase == 1.0


def test_gate_cli_refuses_runs_with_errored_rows(tmp_path, capsys):
    base = write_run(tmp_path / "base", make_run(["pass"] * 30))
    cand = write_run(tmp_path / "cand", make_run(["pass"] * 28 + ["error"] * 2))
    parser = argparse.ArgumentParser()
    gate_cli.register(parser.add_subparsers())
    args = parser.parse_args(["gate", str(base), str(cand)])
    assert args.func(args) == int(ExitCode.INFRASTRUCTURE_ERROR)
    assert "NOT RUN -- 2 agent run(s)" in capsys.readouterr().out
    args = parser.parse_args(["gate", str(base), str(cand), "--allow-errors"])
    assert args.func(args) in (int(ExitCode.OK), int(ExitCode.REGRESSION))


def test_latency_of_the_built_in_simulator_is_not_compared():
    # the simulator answers in-process: its latency is this machine's load, not a model's
    plain = make_run(["pass"] * 50)
    sim = ({**plain[0], "variant": {**plain[0]["variant"], "model": "sim-2"}}, plain[1])
    verdict = verdict_of(sim, _with_latency(sim, 3.0))
    (lat,) = [c for c in verdict.checks if c.name == "latency_p95"]
    assert verdict.status == "pass" and lat.status == "skip"
    assert "answered by the built-in simulator, whose latency measures this machine's load" \
        in lat.message
    assert verdict_of(plain, _with_latency(plain, 3.0)).status == "regressed"  # a real endpoint
