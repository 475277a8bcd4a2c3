"""Does the gate keep its promises on real runs? False alarms, detection, confirmation budget.

Every figure comes from real eval sessions on the built-in simulator (no synthetic rows): the
demo's candidate (sim-2 + prompts v2), 3 trials per case at temperature 0.7, a different seed
per run, gated through the whole gate -- pass rate and score, must-pass with confirmation
runs, cost and latency budgets, as configured in [tool.passline.gate]:

  * A/A: ``--aa-runs`` runs of the identical variant, every pair of them gated (10 runs: 45
    pairs, the design of the measurement in issue 12) -> false-alarm rate (any verdict other
    than pass/improved) with its Wilson interval, and the rate on the disjoint pairs alone
    (0-1, 2-3, ...), whose interval is exact in its assumptions (pairs that share a run are
    not independent, so the all-pairs interval is nominal);
  * v3-regressed: A/A run k vs a run of sim-2 + prompts v3-regressed, for the first
    ``--detect`` runs -> detection rate;
  * a single-tool-description regression the bench generates (v2 with the ``enum`` dropped
    from ``ledger_summary.account``; not a shipped prompt version), on evals/test_tools.py
    alone: ``--detect`` pairs of (v2, generated) -> detection rate;
  * confirmation runs spent per gate (median, max).

The project (agents, evals, golden, pyproject and the passline sources) is copied into
``--work`` and committed to a fresh git repository first, so editing the checkout while the
bench runs changes nothing, and confirmation runs see the code the runs were recorded with.
Runs and verdicts are kept in ``--work``: re-running resumes where it stopped.

    nice .venv/bin/python bench/bench_gate_aa.py [--aa-runs 10] [--detect 10] [--work DIR]
    .venv/bin/python bench/bench_gate_aa.py --aa-runs 3 --detect 1 \\
        --targets evals/test_tools.py -k "refund-status or order-status"   # small, to validate
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MODEL, CANDIDATE, REGRESSED = "sim-2", "v2", "v3-regressed"
GENERATED = "bench-noenum-ledger"  # v2 minus the enum of ledger_summary.account
DROP = ("ledger_summary", "account")
ROLES = ("router", "planner", "worker", "composer", "critic")


def load_avg() -> float:
    return os.getloadavg()[0]


def snapshot(work: Path) -> Path:
    """A committed copy of the project with the generated prompt version added."""
    proj = work / "project"
    if (proj / ".git").is_dir():
        return proj
    proj.mkdir(parents=True, exist_ok=True)
    for name in ("agents", "evals", "golden"):
        shutil.copytree(REPO / name, proj / name, ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc"))
    shutil.copy(REPO / "pyproject.toml", proj / "pyproject.toml")
    shutil.copytree(REPO / "src" / "passline", proj / "src" / "passline",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    make_generated_version(proj)
    git = ["git", "-C", str(proj), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "bench snapshot"], check=True)
    return proj


def make_generated_version(proj: Path) -> None:
    """A prompt version identical to v2 except one tool parameter loses its ``enum``."""
    prompts = proj / "agents" / "prompts"
    for role in ROLES:
        src = prompts / role / f"{CANDIDATE}.j2"
        if src.exists():
            shutil.copy(src, prompts / role / f"{GENERATED}.j2")
    spec = json.loads((prompts / "tools" / f"{CANDIDATE}.json").read_text(encoding="utf-8"))
    spec["version"] = GENERATED
    spec["_changelog"] = f"bench: {CANDIDATE} without the enum of {DROP[0]}.{DROP[1]}"
    dropped = False
    for tool in spec["tools"]:
        fn = tool.get("function", tool)
        if fn.get("name") == DROP[0]:
            dropped = fn["parameters"]["properties"][DROP[1]].pop("enum", None) is not None
    assert dropped, f"{DROP} has no enum in {CANDIDATE}"
    (prompts / "tools" / f"{GENERATED}.json").write_text(json.dumps(spec, indent=1),
                                                          encoding="utf-8")
    specs_py = proj / "agents" / "tools" / "_specs.py"  # the copy's list of known versions
    text = specs_py.read_text(encoding="utf-8")
    text = text.replace('"v3-regressed")', f'"v3-regressed", "{GENERATED}")', 1)
    specs_py.write_text(text, encoding="utf-8")


def child_env(proj: Path) -> dict[str, str]:
    # pytest's own state (PYTEST_XDIST_WORKER, PYTEST_CURRENT_TEST...) stays out when the test
    # suite calls us; PYTEST_ADDOPTS, the user's (or the suite's) options, is passed on
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "PASSLINE_")) or k == "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = os.pathsep.join([str(proj / "src"), str(proj)])
    return env


def run_eval(proj: Path, name: str, prompts: str, seed: int, args: argparse.Namespace,
             targets: list[str]) -> tuple[Path | None, float]:
    """One eval session of one variant; (run dir, wall seconds). Resumes a finished run."""
    out = proj / "bench-runs" / name
    done = [p for p in out.glob("*/manifest.json")  # an interrupted run is run again
            if (json.loads(p.read_text()).get("completion") or {}).get("state") == "complete"]
    if done:
        return done[0].parent, 0.0
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "pytest", *targets, "-q", "-rN", "--tb=no", "-o", "addopts=",
           "-p", "no:cacheprovider", "--passline-compare=off", f"--passline-run-dir={out}",
           f"--passline-model={MODEL}", f"--passline-prompts={prompts}",
           f"--passline-trials={args.trials}", f"--passline-temperature={args.temperature}",
           f"--passline-seed={seed}", f"--passline-concurrency={args.concurrency}"]
    if args.keyword:
        cmd += ["-k", args.keyword]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=proj, env=child_env(proj), capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - start
    runs = list(out.glob("*/manifest.json"))
    if proc.returncode not in (0, 1, 3) or not runs:
        print(f"  run {name} failed (exit {proc.returncode}):\n{proc.stdout[-1500:]}",
              flush=True)
        return None, wall
    return runs[0].parent, wall


def gate_pair(proj: Path, base: Path, cand: Path, args: argparse.Namespace) -> dict[str, Any]:
    from passline.cli.gate import decide, refusal
    from passline.compare import load_policy

    why = refusal([("baseline", str(base)), ("candidate", str(cand))], allow_errors=False,
                  allow_partial=bool(args.keyword))
    if why:
        return {"status": "not-run", "why": why, "runs": 0}
    policy = load_policy(proj)
    start = time.perf_counter()
    comparison, verdict = decide(str(base), str(cand), policy, confirm=not args.no_confirm,
                                 root=proj)
    pr = comparison.metric("pass_rate")
    info = comparison.confirmation
    return {
        "status": verdict.status,
        "failing": [c.name for c in verdict.checks if c.status == "fail"],
        "warnings": [c.name for c in verdict.checks if c.status == "warn"],
        "runs": info.runs if info else 0,
        "baseline_rerun": bool(info and info.baseline_rerun),
        "pass_rate": [pr.baseline, pr.candidate], "p": pr.p_value, "mde": pr.mde,
        "stage2": pr.stage2 is not None,
        "must_pass": {m.case_id: m.status for m in comparison.must_pass if m.status != "ok"},
        "gate_s": round(time.perf_counter() - start, 1),
        "first_reason": verdict.reasons[0] if verdict.reasons else "",
    }


def wilson(k: int, n: int) -> tuple[float, float]:
    from passline.compare._stats import wilson as w

    return w(k, n, 0.05)


def scenario(proj: Path, work: Path, key: str, pairs: list[tuple[tuple, tuple]],
             args: argparse.Namespace, targets: list[str]) -> list[dict[str, Any]]:
    """Run and gate every (baseline spec, candidate spec) pair; results cached in work/."""
    cache = work / f"{key}.jsonl"
    done = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            rec = json.loads(line)
            done[rec["pair"]] = rec
    out = []
    for i, (bspec, cspec) in enumerate(pairs):
        pair_id = f"{bspec[0]}|{cspec[0]}"
        if pair_id in done:
            out.append(done[pair_id])
            continue
        base, wb = run_eval(proj, bspec[0], bspec[1], bspec[2], args, targets)
        cand, wc = run_eval(proj, cspec[0], cspec[1], cspec[2], args, targets)
        if base is None or cand is None:
            rec = {"pair": pair_id, "status": "not-run", "why": "a run failed", "runs": 0}
        else:
            rec = {"pair": pair_id, **gate_pair(proj, base, cand, args)}
        rec.update(load=round(load_avg(), 2), run_s=[round(wb, 1), round(wc, 1)])
        with cache.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        print(f"  {key} {i + 1}/{len(pairs)}: {rec['status']}"
              f"{' ' + ','.join(rec.get('failing') or []) if rec.get('failing') else ''}"
              f" (confirmation runs {rec.get('runs', 0)}, load {rec['load']})", flush=True)
        out.append(rec)
    return out


def rate_line(label: str, recs: list[dict[str, Any]], hit: Any) -> str:
    judged = [r for r in recs if r["status"] != "not-run"]
    k = sum(1 for r in judged if hit(r))
    n = len(judged)
    if not n:
        return f"{label}: no pair could be gated"
    lo, hi = wilson(k, n)
    skipped = len(recs) - n
    extra = f"; {skipped} pair(s) not gated (errored/incomplete runs)" if skipped else ""
    return f"{label}: {k}/{n} = {k / n:.3f} (Wilson 95% CI {lo:.3f}-{hi:.3f}){extra}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aa-runs", type=int, default=10,
                    help="runs of the identical variant; every pair of them is gated")
    ap.add_argument("--detect", type=int, default=10, help="pairs per detection scenario")
    ap.add_argument("--tool-pairs", type=int, default=None,
                    help="pairs of the generated tool regression (default: --detect)")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--targets", nargs="*", default=["evals"],
                    help="what the A/A and v3 runs evaluate (default: all of evals/)")
    ap.add_argument("-k", dest="keyword", default=None,
                    help="only cases matching (pytest -k); records are then partial and are "
                    "gated with --allow-partial")
    ap.add_argument("--work", default=None, help="where the project copy, runs and verdicts "
                    "go (default: a fresh temporary folder)")
    ap.add_argument("--no-confirm", action="store_true", help="gate without confirmation runs")
    args = ap.parse_args(argv)

    import tempfile

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench-gate-aa-"))
    work.mkdir(parents=True, exist_ok=True)
    proj = snapshot(work)
    fresh = "passline" not in sys.modules  # (imported already when the test suite calls us)
    sys.path.insert(0, str(proj / "src"))  # the snapshot's passline, not the checkout's
    os.environ["PYTHONPATH"] = child_env(proj)["PYTHONPATH"]
    import passline

    assert not fresh or Path(passline.__file__).is_relative_to(proj), passline.__file__
    from passline.compare import load_policy

    policy = load_policy(proj)
    start, load0 = time.perf_counter(), load_avg()
    print(f"work dir {work}; load average {load0:.2f}; policy {policy}", flush=True)
    targets = list(args.targets)
    runs = [(f"aa{k}", CANDIDATE, 100 + k) for k in range(args.aa_runs)]
    aa = [(runs[i], runs[j]) for i in range(len(runs)) for j in range(i + 1, len(runs))]
    aa_recs = scenario(proj, work, "aa", aa, args, targets)
    disjoint = {f"aa{k}|aa{k + 1}" for k in range(0, args.aa_runs - 1, 2)}
    v3 = [(runs[k], (f"v3-{k}", REGRESSED, 5000 + k))
          for k in range(min(args.detect, args.aa_runs))]
    v3_recs = scenario(proj, work, "v3", v3, args, targets)
    tools = ["evals/test_tools.py"]
    one = [((f"tools-v2-{k}", CANDIDATE, 7000 + k), (f"tools-gen-{k}", GENERATED, 8000 + k))
           for k in range(args.detect if args.tool_pairs is None else args.tool_pairs)]
    saved_k, args.keyword = args.keyword, None  # the tool regression runs the whole file
    one_recs = scenario(proj, work, "tool", one, args, tools)
    args.keyword = saved_k

    failed = lambda r: r["status"] in ("regressed", "incomplete")  # noqa: E731
    print()
    print(f"{args.trials} trials, temperature {args.temperature}, {MODEL}; targets "
          f"{' '.join(targets)}{' -k ' + repr(args.keyword) if args.keyword else ''}; "
          f"confirmation {'off' if args.no_confirm else 'on'}; alpha {policy.alpha}")
    print(rate_line(f"A/A false-alarm rate (identical variants, whole gate), all "
                    f"{len(aa_recs)} pairs of {args.aa_runs} runs (nominal interval: pairs "
                    "share runs)", aa_recs, failed))
    print(rate_line("  on the disjoint pairs alone", [r for r in aa_recs
                                                       if r["pair"] in disjoint], failed))
    causes: dict[str, int] = {}
    for r in aa_recs:
        for name in r.get("failing") or ():
            causes[name] = causes.get(name, 0) + 1
    if causes:
        print(f"  false alarms by check: {causes}")
    warned = sum(1 for r in aa_recs if "must_pass_unconfirmed" in (r.get("warnings") or ()))
    print(f"  A/A gates with an unconfirmed must-pass warning: {warned}/{len(aa_recs)}")
    print(rate_line(f"detection, {REGRESSED} vs {CANDIDATE}", v3_recs, failed))
    print(rate_line(f"detection, generated {GENERATED} vs {CANDIDATE} on "
                    "evals/test_tools.py", one_recs, failed))
    effects = [r["pass_rate"][1] - r["pass_rate"][0] for r in one_recs if "pass_rate" in r]
    if effects:
        print(f"  its pass-rate change: median {statistics.median(effects) * 100:+.1f} pts; "
              f"median mde {statistics.median(r['mde'] for r in one_recs if 'mde' in r) * 100:.1f}"
              f" pts; second looks taken {sum(r.get('stage2', False) for r in one_recs)}")
    for key, recs in (("A/A", aa_recs), (REGRESSED, v3_recs), (GENERATED, one_recs)):
        spent = [r.get("runs", 0) for r in recs if r["status"] != "not-run"]
        if spent:
            print(f"confirmation runs per gate, {key}: median {statistics.median(spent):g}, "
                  f"max {max(spent)}")
    print(f"wall time {time.perf_counter() - start:.0f} s; load average at start {load0:.2f}, "
          f"at end {load_avg():.2f}; runs and verdicts in {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
