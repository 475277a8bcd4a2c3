"""The pytest plugin end to end, through pytester: items, options, records, concurrency."""

from __future__ import annotations

import json
from pathlib import Path

# pytester's in-process runs drop modules first imported inside them; C extensions such as
# numpy cannot be imported twice, so the ones the gate needs are imported up front
import numpy  # noqa: F401
import pytest
import scipy.stats  # noqa: F401
from mini_project import write_mini_project

from passline.records import load_run, read_rows
from passline.sim import SimConfig, shared_server

pytest_plugins = ["pytester"]

AGENT = '''
from passline import AgentRun

async def agent(case_input, ctx):
    if "explode" in case_input["message"]:
        raise RuntimeError("agent bug on purpose")
    r = await ctx.client.chat([{"role": "user", "content": case_input["message"]}],
                              model=ctx.model, trial=ctx.trial)
    return AgentRun(answer=case_input["message"] + " | " + (r.content or ""), usage=r.usage,
                    latency_s=r.latency_s)
'''

EVAL = '''
import passline
from passline.scoring import required_facts

@passline.eval("mini@v1", scorers=[required_facts()], trials={trials})
def test_answers(run, case):
    assert run.status == "ok"
'''


@pytest.fixture(autouse=True)
def _run_dir_from_pyproject(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PASSLINE_RUN_DIR", raising=False)


def make_project(pytester: pytest.Pytester, n: int = 6, trials: int = 1,
                 extra_rows: list[dict] | None = None, latency_ms: float = 0,
                 extra_toml: str = "") -> Path:
    rows = [{"id": f"c{i}", "input": {"message": f"hello number {i}"},
             "expected": {"facts": [f"hello number {i}" if i % 3 else "absent fact"]},
             "tags": [f"worker:{'a' if i % 2 else 'b'}"]} for i in range(n)]
    rows += extra_rows or []
    return write_mini_project(pytester, rows, agent=AGENT, eval_src=EVAL.format(trials=trials),
                              toml=f"sim_latency_ms = {latency_ms}\n{extra_toml}")


def only_run(root: Path) -> Path:
    runs = sorted((root / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def test_one_item_per_case_and_trial_with_readable_ids(pytester: pytest.Pytester) -> None:
    make_project(pytester, n=3, trials=2)
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["test_evals.py::test_answers[[]mini@v1:c0:t0[]]",
                                 "test_evals.py::test_answers[[]mini@v1:c2:t1[]]",
                                 "6 tests collected*"])


def test_scores_decide_pass_fail_and_records_are_written(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=6)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(["mini@v1:c0: 1 of 1 scores failed",
                                 "  input:  hello number 0",
                                 "  x required_facts (0.00): missing 1/1 facts: 'absent fact'",
                                 "  answer [[]ok[]]: 'hello number 0 | *",
                                 "*passline · candidate = sim-1:v2 · 6 results · pass 66.7%*",
                                 "*worker:a*", "run record: *"])
    run_dir = only_run(root)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["schema_version"] == 1 and manifest["finished_at"]
    assert manifest["trials"] == 1 and manifest["timings"]["runs"] == 6
    assert manifest["totals"]["n"] == 6 and manifest["totals"]["passed"] == 4
    assert manifest["variant"] == {"name": "candidate", "model": "sim-1", "prompts": "v2",
                                   "params": {}}
    assert manifest["datasets"]["mini@v1"]["n_cases"] == 6
    rows = list(read_rows(run_dir))
    assert sorted(r["case_id"] for r in rows) == [f"c{i}" for i in range(6)]
    failed = next(r for r in rows if r["case_id"] == "c3")
    assert failed["status"] == "fail" and failed["scores"][0]["passed"] is False
    assert failed["run"]["answer"].startswith("hello number 3")
    assert failed["cost_usd"] > 0 and failed["tokens"] > 0
    loaded = load_run(run_dir)
    assert len(loaded.results) == 6 and set(loaded.scores.name) == {"required_facts"}


def test_k_selects_cases_and_only_those_run(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=6)
    result = pytester.runpytest("-k", "c1 or c2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, deselected=4)
    assert len(list(read_rows(only_run(root)))) == 2


def test_last_failed_reruns_only_failures(pytester: pytest.Pytester) -> None:
    make_project(pytester, n=6)
    pytester.runpytest().assert_outcomes(passed=4, failed=2)
    again = pytester.runpytest("--lf")
    again.assert_outcomes(failed=2)
    again.stdout.fnmatch_lines(["*rerun previous 2 failures*"])


def test_agent_errors_are_item_errors_and_the_session_goes_on(pytester: pytest.Pytester
                                                              ) -> None:
    root = make_project(pytester, n=2, extra_rows=[
        {"id": "boom", "input": {"message": "explode now"}, "expected": {"facts": ["x"]}}])
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(["*agent run ended with status error: RuntimeError: agent bug*"])
    boom = next(r for r in read_rows(only_run(root)) if r["case_id"] == "boom")
    assert boom["status"] == "error" and "agent bug on purpose" in boom["run"]["error"]


def test_two_variants_in_one_session_write_two_runs(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=3)
    result = pytester.runpytest("--passline-variant", "base=sim-1:v1", "--passline-variant",
                                "cand=sim-2:v2", "-p", "no:cacheprovider", "-v")
    result.stdout.fnmatch_lines(["*test_answers[[]base:mini@v1:c1:t0[]] PASSED*",
                                 "*test_answers[[]cand:mini@v1:c1:t0[]] PASSED*"])
    runs = sorted(p.name for p in (root / "runs").iterdir())
    assert [r.rsplit("-", 1)[-1] for r in runs] == ["base", "cand"]


def test_runs_execute_concurrently(pytester: pytest.Pytester) -> None:
    make_project(pytester, n=20, latency_ms=150)
    sim = shared_server(SimConfig(latency_ms=150))
    sim.reset_stats()
    result = pytester.runpytest("--passline-concurrency", "10", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=13, failed=7)
    assert sim.stats()["max_in_flight"] == 10  # ten runs in flight at once, never more


def test_shards_partition_the_cases_and_merge_back(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=10)
    pytester.runpytest("--passline-shard", "1/2", "-p", "no:cacheprovider")
    pytester.runpytest("--passline-shard", "2/2", "-p", "no:cacheprovider")
    shards = sorted((root / "runs").iterdir())
    ids = [sorted(r["case_id"] for r in read_rows(s)) for s in shards]
    assert not set(ids[0]) & set(ids[1]) and len(ids[0]) + len(ids[1]) == 10
    from passline.cli import main

    assert main(["merge", *map(str, shards), "--out", str(root / "merged")]) == 0
    merged = [r["case_id"] for r in read_rows(root / "merged")]
    assert merged == sorted(merged) and len(merged) == 10
    again = root / "merged2"
    main(["merge", *map(str, reversed(shards)), "--out", str(again)])
    strip = [{k: v for k, v in r.items() if k != "run_id"} for r in read_rows(again)]
    assert strip == [{k: v for k, v in r.items() if k != "run_id"}
                     for r in read_rows(root / "merged")]


def test_xdist_workers_send_rows_to_the_controller(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=8)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, failed=3)
    rows = list(read_rows(only_run(root)))
    assert sorted(r["case_id"] for r in rows) == [f"c{i}" for i in range(8)]


def test_unknown_dataset_is_a_clear_usage_error(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    pytester.makepyfile(test_bad='''
import passline
@passline.eval("nope@v9")
def test_x(run):
    pass
''')
    result = pytester.runpytest("test_bad.py")
    assert result.ret == 2  # a usage error, found at collection: nothing runs
    result.stdout.fnmatch_lines(["passline: test_bad.py:2: no golden dataset 'nope'*create "
                                 "golden/nope/v1*"])
    assert "Traceback" not in result.stdout.str() and "raise " not in result.stdout.str()


def test_plain_pytest_sessions_are_untouched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()


def test_exitfirst_stops_early_and_records_only_what_ran(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=12)
    result = pytester.runpytest("-x", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)  # c0 fails first
    rows = list(read_rows(only_run(root)))
    assert [r["case_id"] for r in rows] == ["c0"]


GATED_AGENT = '''
import os
from passline import AgentRun

async def agent(case_input, ctx):
    r = await ctx.client.chat([{"role": "user", "content": case_input["message"]}],
                              model=ctx.model, trial=ctx.trial)
    broken = os.environ.get("BREAK_AGENT") == "1"
    answer = "nothing useful" if broken else case_input["message"]
    return AgentRun(answer=answer, usage=r.usage, latency_s=r.latency_s)
'''


def test_baseline_option_makes_the_gate_verdict_the_exit_code(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # wall-clock latency of in-process runs is noise on a busy machine: gate on quality only
    root = make_project(pytester, n=40, extra_toml="[tool.passline.gate]\n"
                        "max_p95_latency_increase = inf\nmax_cost_increase = inf\n")
    pytester.makepyfile(myagent=GATED_AGENT)
    first = pytester.runpytest("-p", "no:cacheprovider")
    assert first.ret == 1  # some cases fail, as evals do
    baseline = only_run(root)
    same = pytester.runpytest("--passline-baseline", str(baseline), "-p", "no:cacheprovider")
    assert same.ret == 0  # failing cases alone do not fail a gated run: the verdict does
    same.stdout.fnmatch_lines(["*passline gate: PASS*"])
    monkeypatch.setenv("BREAK_AGENT", "1")
    worse = pytester.runpytest("--passline-baseline", str(baseline), "-p", "no:cacheprovider")
    assert worse.ret == 1
    worse.stdout.fnmatch_lines(["*passline gate: REGRESSED*", "*pass rate*"])


def test_collect_only_never_runs_the_agent(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=4)
    pytester.runpytest("--collect-only", "-q").assert_outcomes()
    assert not (root / "runs").exists()


def test_skipped_evals_write_no_result_row(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=3)
    pytester.makepyfile(test_evals='''
import pytest, passline

@passline.eval("mini@v1")
def test_skipping(run, case):
    if case.id != "c1":
        pytest.skip("not this one")
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1, skipped=2)
    assert [r["case_id"] for r in read_rows(only_run(root))] == ["c1"]


def test_merge_refuses_a_non_empty_destination(pytester: pytest.Pytester,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(pytester, n=2)
    pytester.runpytest("-p", "no:cacheprovider")
    run_dir = only_run(root)
    from passline.cli import main

    assert main(["merge", str(run_dir), "--out", str(run_dir)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert len(list(read_rows(run_dir))) == 2


def test_bad_agent_name_is_a_usage_error_at_collection(pytester: pytest.Pytester) -> None:
    make_project(pytester, n=2)
    result = pytester.runpytest("--passline-agent", "nosuch_module:run")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*cannot import agent module 'nosuch_module'*"])


def test_missing_baseline_is_a_usage_error_before_anything_runs(
        pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=2)
    result = pytester.runpytest_subprocess("--passline-baseline", "reports/nope")
    assert result.ret == 2  # passline's usage error, as from the CLI
    result.stderr.fnmatch_lines(["passline: --passline-baseline reports/nope: no such run*"])
    assert not (root / "runs").exists()


def test_gate_refuses_to_judge_a_run_with_errors(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=6, extra_toml="[tool.passline.gate]\n"
                        "max_p95_latency_increase = inf\nmax_cost_increase = inf\n")
    pytester.runpytest("-p", "no:cacheprovider")
    baseline = only_run(root)
    (root / "golden" / "mini" / "v1" / "data.jsonl").write_text(
        "".join(json.dumps({"id": f"c{i}", "input": {"message": "explode"},
                            "expected": {"facts": ["x"]}}) + "\n" for i in range(6)))
    result = pytester.runpytest("--passline-baseline", str(baseline), "-p", "no:cacheprovider")
    assert result.ret == 3  # an outage is an infrastructure error, never a verdict
    result.stdout.fnmatch_lines(
        ["*passline gate: NOT RUN -- every agent run (6) ended in error: an outage*"])
    # without a baseline too: a total outage is not "some evals failed"
    alone = pytester.runpytest("-p", "no:cacheprovider")
    assert alone.ret == 3
    alone.stdout.fnmatch_lines(["*NOT RUN -- every agent run (6) ended in error*"])


def test_gate_keeps_plain_test_failures_and_early_stops(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=6, extra_toml="[tool.passline.gate]\n"
                        "max_p95_latency_increase = inf\nmax_cost_increase = inf\n")
    pytester.runpytest("-p", "no:cacheprovider")
    baseline = str(only_run(root))
    pytester.makepyfile(test_plain="def test_broken():\n    assert False\n")
    result = pytester.runpytest("--passline-baseline", baseline, "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*passline gate: PASS*"])
    assert result.ret == 1  # the verdict passes, but a plain test failed
    early = pytester.runpytest("-x", "--passline-baseline", baseline, "-p", "no:cacheprovider")
    assert early.ret == 3  # no verdict on incomplete evidence
    early.stdout.fnmatch_lines(["*passline gate: NOT RUN -- the session stopped early*"])


def test_synchronous_agents_run_concurrently_in_threads(pytester: pytest.Pytester) -> None:
    make_project(pytester, n=8)
    pytester.makepyfile(myagent='''
import threading, time
from passline import AgentRun
ACTIVE = [0, 0]
LOCK = threading.Lock()

def agent(case_input, ctx):
    with LOCK:
        ACTIVE[0] += 1
        ACTIVE[1] = max(ACTIVE)
    time.sleep(0.2)
    with LOCK:
        ACTIVE[0] -= 1
    return AgentRun(answer=case_input["message"] + f" peak={ACTIVE[1]}")
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=5, failed=3)
    peaks = [int(r["run"]["answer"].split("peak=")[1])
             for r in read_rows(only_run(pytester.path))]
    assert max(peaks) > 1


def test_shards_are_balanced(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=12)
    for i in (1, 2, 3):
        pytester.runpytest("--passline-shard", f"{i}/3", "-p", "no:cacheprovider")
    sizes = sorted(len(list(read_rows(d))) for d in (root / "runs").iterdir())
    assert sizes == [4, 4, 4]


def test_xdist_with_two_evals_sharing_runs(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=6)
    pytester.makepyfile(test_more='''
import passline

@passline.eval("mini@v1")
def test_status(run):
    assert run.status == "ok"
''')
    result = pytester.runpytest_subprocess("-n", "3", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=10, failed=2)
    assert len(list(read_rows(only_run(root)))) == 12


def test_xdist_manifest_keeps_model_call_and_cache_summaries(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=4)
    pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    manifest = json.loads((only_run(root) / "manifest.json").read_text())
    assert manifest["session_model_calls"]["agent"]["calls"] == 4  # summed over both workers
    assert manifest["cache"]["mode"] == "off"


def test_a_killed_session_keeps_its_rows_and_runs_show_reports_them(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(pytester, n=6)
    pytester.makepyfile(test_kill='''
import os
def test_zz_kill():  # runs after the evals (alphabetical files): the process dies
    os._exit(9)
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 9
    run_dir = only_run(root)
    assert json.loads((run_dir / "manifest.json").read_text())["finished_at"] is None
    assert len(list(read_rows(run_dir))) == 6  # every finished case was already on disk
    from passline.cli import main

    assert main(["runs", "show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "unfinished" in out and "66.7%" in out


def test_an_agent_crash_shows_the_agents_own_file_and_line(pytester: pytest.Pytester) -> None:
    make_project(pytester, n=1)
    pytester.makepyfile(myagent='''
PROMPTS = {"v1": "terse"}


def pick(version):
    return PROMPTS[version]


async def agent(case_input, ctx):
    return pick(ctx.prompts)
''')
    result = pytester.runpytest("--passline-prompts", "v9")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*agent run ended with status error: KeyError: 'v9'*",
                                 '*File "*myagent.py", line 9, in agent*',
                                 '*File "*myagent.py", line 5, in pick*',
                                 "*>*5*return PROMPTS[[]version[]]*"])
    assert "passline/runner" not in result.stdout.str()
    line = pytester.runpytest("--passline-prompts", "v9", "--tb=line")
    line.stdout.fnmatch_lines(["*myagent.py:5: KeyError: 'v9'*"])
    quiet = pytester.runpytest("--passline-prompts", "v9", "--tb=no")
    assert "myagent.py" not in quiet.stdout.str()
    first = sorted((pytester.path / "runs").iterdir())[0]
    row = next(iter(read_rows(first)))
    assert 'myagent.py", line 5, in pick' in row["run"]["metadata"]["traceback"]


VARIANT_AGENT = '''
from passline import AgentRun

async def agent(case_input, ctx):
    r = await ctx.client.chat([{"role": "user", "content": case_input["message"]}],
                              model=ctx.model, trial=ctx.trial)
    message = case_input["message"]
    number = message.rsplit(" ", 1)[-1]
    broken = ctx.prompts == "bad" and (number.isdigit() and int(number) < 15
                                       or "critical" in message)
    return AgentRun(answer="nothing useful" if broken else message, usage=r.usage,
                    latency_s=r.latency_s)
'''
QUIET_GATE = "[tool.passline.gate]\nmax_p95_latency_increase = inf\nmax_cost_increase = inf\n"


def test_two_variants_end_with_a_verdict_a_report_and_the_gate_exit_code(
        pytester: pytest.Pytester) -> None:
    root = make_project(pytester, n=30, extra_toml=QUIET_GATE + "confirm_trials = 0\n")
    pytester.makepyfile(myagent=VARIANT_AGENT)
    result = pytester.runpytest("--passline-variant", "base=sim-1:good", "--passline-variant",
                                "cand=sim-1:bad", "-p", "no:cacheprovider")
    assert result.ret == 1  # the gate's verdict, not "some evals failed"
    result.stdout.fnmatch_lines(["*passline gate: REGRESSED (cand vs base)*",
                                 "*pass rate * significant drop (p = *",
                                 "*report: *vs-base*index.html*"])
    (cand_dir,) = [p for p in (root / "runs").iterdir() if p.name.endswith("-cand")]
    for name in ("index.html", "summary.md", "junit.xml"):
        assert (cand_dir / "vs-base" / name).is_file()
    assert "REGRESSED" in (cand_dir / "vs-base" / "summary.md").read_text()
    # the same variant twice: nothing to gate against, the session passes
    same = pytester.runpytest("--passline-variant", "one=sim-1:good", "--passline-variant",
                              "two=sim-1:good", "-p", "no:cacheprovider")
    assert same.ret == 0
    same.stdout.fnmatch_lines(["*passline gate: PASS (two vs one)*"])
    off = pytester.runpytest("--passline-variant", "base=sim-1:good", "--passline-variant",
                             "cand=sim-1:bad", "--passline-compare=off", "-p",
                             "no:cacheprovider")
    assert off.ret == 1 and "passline gate" not in off.stdout.str()  # pytest's own code


def test_a_must_pass_failure_is_confirmed_by_new_trials_before_it_fails_the_session(
        pytester: pytest.Pytester) -> None:
    critical = {"id": "critical", "input": {"message": "critical hello 99"},
                "expected": {"facts": ["critical hello"]}, "tags": ["must-pass"]}
    make_project(pytester, n=3, trials=3, extra_rows=[critical], extra_toml=QUIET_GATE)
    pytester.makepyfile(myagent=VARIANT_AGENT.replace("int(number) < 15", "int(number) < 0"))
    result = pytester.runpytest("--passline-variant", "base=sim-1:good", "--passline-variant",
                                "cand=sim-1:bad", "-p", "no:cacheprovider")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "*confirming 1 must-pass case(s), look 1 of 3*",
        "*1 must-pass case newly fails, confirmed by an exact test: critical*3/3 -> 0/3 trials"
        " passed; then 0/5 new candidate trials vs 8/8 baseline trials*"])


def test_k_deselecting_evals_of_two_variants_names_allow_partial(
        pytester: pytest.Pytester) -> None:
    make_project(pytester, n=6, extra_toml="[tool.passline.gate]\n"
                 "max_p95_latency_increase = inf\nmax_cost_increase = inf\n")
    variants = ["--passline-variant", "base=sim-1:v1", "--passline-variant", "cand=sim-2:v2"]
    result = pytester.runpytest(*variants, "-k", "c1 or c2", "-p", "no:cacheprovider")
    assert result.ret == 3  # a comparison of a subset is not the gate's verdict on the eval
    result.stdout.fnmatch_lines(["*passline gate: NOT RUN -- the baseline * is incomplete "
                                 "(partial: 4 of 6 planned items have no result*"
                                 "a verdict on it would be a partial comparison*"
                                 "pass --passline-allow-partial to gate the cases that finished"])
    allowed = pytester.runpytest(*variants, "-k", "c1 or c2", "--passline-allow-partial",
                                 "-p", "no:cacheprovider")
    assert allowed.ret == 0
    allowed.stdout.fnmatch_lines(["*passline gate: PASS (cand vs base)*"])
