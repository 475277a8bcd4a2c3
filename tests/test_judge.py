"""passline.judge over real HTTP to the simulator: rubrics, verdicts, swaps, calibration."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from passline._types import AgentContext, AgentRun, Case, RunStatus, ToolCall, Variant
from passline.errors import ConfigError, RecordError, ScorerError
from passline.judge import (
    CalibrationItem,
    PairwiseResult,
    aggregate,
    agreement,
    calibrate,
    cohen_kappa,
    combine,
    derive_pairs,
    judge,
    judge_scorer,
    list_rubrics,
    load_calibration,
    load_rubric,
    pairwise,
    position_bias_rate,
    save_calibration,
)
from passline.models import ModelClient
from passline.settings import Settings
from passline.sim import SimConfig, SimServer

REPO = Path(__file__).resolve().parents[1]
ORDER = {"order_id": "ORD-10285", "status": "shipped", "total_usd": 1827.1,
         "shipped_at": "2026-06-28", "delivered_at": None}
CONTEXT = json.dumps({"tool": "get_order", "arguments": {"order_id": "ORD-10285"},
                      "result": ORDER})
QUESTION = "Where is my order ORD-10285 and what is its total?"
GOOD = "ORD-10285 was shipped on 2026-06-28; its total is 1,827.10 USD."
WRONG = "ORD-10285 was shipped on 2026-06-28; its total is 1,872.10 USD."


def settings(base_url: str, **overrides: Any) -> Settings:
    values = {"base_url": base_url, "backoff_base_s": 0.01, "backoff_max_s": 0.2,
              "max_retries": 1, "timeout_s": 5.0, "model": "sim-2", **overrides}
    return Settings.resolve(values, env={})


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def completions(sim: SimServer) -> int:
    return int(sim.stats()["completions"])


# ---------------------------------------------------------------- rubrics


def test_packaged_rubrics_load_with_levels_and_reference_modes() -> None:
    assert {"answer-quality@1", "groundedness@1"} <= set(list_rubrics())
    quality = load_rubric("answer-quality@1")
    assert (quality.kind, quality.levels, quality.pass_level) == ("score", (1, 2, 3, 4, 5), 4)
    assert quality.reference == "optional" and quality.calibration_field == "x_score"
    grounded = load_rubric("groundedness@v1")
    assert grounded.levels == ("ungrounded", "partially", "grounded")
    assert grounded.reference == "none" and grounded.normalise("partially") == 0.5
    with pytest.raises(ConfigError, match=r"available: .*answer-quality@1"):
        load_rubric("answer-quality@9")
    with pytest.raises(ConfigError, match="ID@VERSION"):
        load_rubric("answer quality")


def test_rendering_tags_every_input_and_is_strict_about_variables() -> None:
    rubric = load_rubric("answer-quality@1")
    system, user = rubric.render(question=QUESTION, answer=GOOD, reference="Shipped.",
                                 context=CONTEXT, rules=None)
    assert system["role"] == "system" and "5: fully correct" in system["content"]
    assert "<question>\n" + QUESTION in user["content"]
    assert "<reference>\nShipped.\n</reference>" in user["content"]
    assert "<context>" in user["content"] and "<answer>\n" + GOOD in user["content"]
    assert "<rules>" not in user["content"]  # absent inputs leave no empty block
    bare = rubric.render(question=QUESTION, answer=GOOD, reference=None, context=None,
                         rules=None)[1]["content"]
    assert "<reference>" not in bare and "<context>" not in bare
    with pytest.raises(ConfigError, match=r"undefined variable.*reference"):
        rubric.render(question=QUESTION, answer=GOOD)


def test_verdict_schema_validation_names_each_problem() -> None:
    rubric = load_rubric("answer-quality@1")
    assert rubric.validate({"reasoning": "ok", "score": 4}) == []
    assert rubric.validate({"reasoning": "ok", "score": 7}) == ["$.score must be <= 5, got 7"]
    problems = rubric.validate({"score": "high", "extra": 1})
    assert "$ is missing required key 'reasoning'" in problems
    assert "$ has unexpected key 'extra'" in problems
    assert any("$.score must be an integer" in p for p in problems)
    label = load_rubric("groundedness@1")
    assert label.validate({"reasoning": "x", "label": "fine"})[0].startswith("$.label must be one")


# ---------------------------------------------------------------- single verdicts


def test_judge_scores_a_wrong_number_below_the_right_one(passline_sim_url: str) -> None:
    client = ModelClient(settings(passline_sim_url))

    async def both() -> list[Any]:
        return await asyncio.gather(*[
            judge("answer-quality@1", question=QUESTION, answer=a, context=CONTEXT,
                  client=client) for a in (GOOD, WRONG)])

    good, wrong = run(both())
    assert good.ok and wrong.ok and good.model == "sim-2"
    assert good.score > wrong.score and 0.0 <= wrong.value < good.value <= 1.0
    assert "1,872.10" in wrong.rationale  # the rationale names the unsupported claim
    assert good.samples == (good.score,) and good.spread == 0 and not good.flagged
    judge_usage = client.usage_by_purpose["judge"]
    assert judge_usage.calls == 2 and "agent" not in client.usage_by_purpose
    assert good.usage.cost_usd > 0


def test_judge_model_comes_from_settings_not_from_the_agent(passline_sim_url: str) -> None:
    client = ModelClient(settings(passline_sim_url, judge_model="sim-1"))
    verdict = run(judge("groundedness@1", question=QUESTION, answer=GOOD, context=CONTEXT,
                        client=client))
    assert verdict.model == "sim-1" and verdict.label in load_rubric("groundedness@1").levels


def test_malformed_output_is_an_error_with_the_raw_text(passline_sim_url: str) -> None:
    client = ModelClient(settings(passline_sim_url))
    verdict = run(judge("answer-quality@1", question=QUESTION, answer=GOOD, context=CONTEXT,
                        client=client, retries=1, extra_headers={"X-Sim-Faults": "malformed"}))
    assert not verdict.ok and verdict.score is None and verdict.value is None
    assert "2 attempts" in verdict.error and "not valid JSON" in verdict.error
    assert verdict.raw and verdict.raw[:50] in verdict.error
    assert verdict.usage.calls == 2  # both attempts are paid for and counted


def test_rerun_with_a_rw_cache_makes_no_new_completions(passline_sim: SimServer,
                                                        tmp_path: Path) -> None:
    s = settings(passline_sim.base_url, cache="rw", cache_path=str(tmp_path / "c.sqlite"))

    def once() -> Any:
        return run(judge("answer-quality@1", question=QUESTION, answer=GOOD, context=CONTEXT,
                         client=ModelClient(s), n=2, temperature=0.5))

    first = once()
    before = completions(passline_sim)
    second = once()
    assert completions(passline_sim) == before
    assert second.cached and not first.cached and second.samples == first.samples
    other = run(judge("groundedness@1", question=QUESTION, answer=GOOD, context=CONTEXT,
                      client=ModelClient(s)))  # another rubric: its own cache entries
    assert not other.cached


# ---------------------------------------------------------------- self-consistency


def test_aggregate_means_scores_and_takes_the_majority_label() -> None:
    quality = load_rubric("answer-quality@1")
    agg = aggregate(quality, [4, 5, 2], ["a", "b", "c"])
    assert agg["score"] == pytest.approx(11 / 3) and agg["spread"] == 3 and agg["flagged"]
    assert agg["rationale"] == "a"  # the sample nearest the median
    assert not aggregate(quality, [4, 4, 5])["flagged"]
    grounded = load_rubric("groundedness@1")
    agg = aggregate(grounded, ["grounded", "partially", "grounded"])
    assert agg["label"] == "grounded" and agg["spread"] == pytest.approx(1 / 3)
    assert not agg["flagged"]
    tie = aggregate(grounded, ["grounded", "partially"])
    assert tie["label"] == "partially" and tie["flagged"]  # a tie goes to the worse label


def test_n_samples_are_separate_seeded_calls(passline_sim: SimServer) -> None:
    client = ModelClient(settings(passline_sim.base_url))
    before = completions(passline_sim)
    verdict = run(judge("answer-quality@1", question=QUESTION, answer=GOOD, context=CONTEXT,
                        client=client, n=3))
    assert completions(passline_sim) - before == 3 and len(verdict.samples) == 3
    assert verdict.score == pytest.approx(sum(verdict.samples) / 3)
    with pytest.raises(ConfigError, match="temperature > 0"):
        run(judge("answer-quality@1", question=QUESTION, answer=GOOD, client=client, n=3,
                  temperature=0.0))


# ---------------------------------------------------------------- pairwise


def test_swap_logic_counts_flips_as_ties() -> None:
    assert combine("A", "A") == ("A", False)
    assert combine("B", "B") == ("B", False)
    assert combine("A", "B") == ("tie", True)
    assert combine("tie", "tie") == ("tie", False)
    results = [PairwiseResult("r@1", "m", "tie", "A", "B", flipped=True),
               PairwiseResult("r@1", "m", "A", "A", "A"),
               PairwiseResult("r@1", "m", None, error="bad")]
    assert position_bias_rate(results) == 0.5  # errors are left out, not counted as flips


def test_pairwise_swaps_positions_and_exposes_sim1_position_bias(passline_sim_url: str) -> None:
    client = ModelClient(settings(passline_sim_url))
    # two equally good answers: a fair judge calls it a tie in both orders; sim-1 prefers
    # whichever answer it reads first, so its verdict flips with the order
    twin = GOOD.replace("its total is", "the total is")

    def compare(model: str, a: str, b: str) -> PairwiseResult:
        return run(pairwise("answer-quality@1", question=QUESTION, answer_a=a, answer_b=b,
                            context=CONTEXT, client=client, model=model))

    biased = compare("sim-1", GOOD, twin)
    assert (biased.first, biased.second, biased.flipped, biased.winner) == ("A", "B", True,
                                                                           "tie")
    assert biased.positions_chosen == ("A", "A")
    fair = compare("sim-2", GOOD, twin)
    assert not fair.flipped and fair.winner == "tie"
    clear = compare("sim-2", WRONG, GOOD)
    assert clear.winner == "B" and not clear.flipped and clear.usage.calls == 2
    assert position_bias_rate([biased, fair, clear]) == pytest.approx(1 / 3)


# ---------------------------------------------------------------- agreement


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_kappa_matches_sklearn(weights: str | None) -> None:
    from sklearn.metrics import cohen_kappa_score

    rng = random.Random(7)
    for _ in range(60):
        k = rng.randint(2, 5)
        human = [rng.randrange(k) for _ in range(rng.randint(3, 40))]
        judged = [min(k - 1, max(0, h + rng.choice((-2, -1, 0, 0, 0, 1)))) for h in human]
        if len(set(human) | set(judged)) < 2:
            continue
        expected = cohen_kappa_score(human, judged, weights=weights, labels=list(range(k)))
        assert cohen_kappa(human, judged, k, weights=weights) == pytest.approx(expected)


def test_agreement_reports_accuracy_within_one_and_confusion() -> None:
    result = agreement([0, 1, 2, 2, 4], [0, 2, 2, 4, 4], [1, 2, 3, 4, 5])
    assert result.accuracy == pytest.approx(3 / 5)
    assert result.within_one == pytest.approx(4 / 5)
    assert result.confusion[2] == [0, 0, 1, 0, 1] and result.mean_bias == pytest.approx(0.6)
    assert result.weighted_kappa > result.kappa  # near misses cost less when weighted


def test_agreement_intervals_bracket_the_estimate_and_shrink_with_more_items() -> None:
    from passline.judge._agreement import agreement_intervals

    rng = random.Random(3)
    human = [rng.randrange(5) for _ in range(400)]
    judge_ = [min(4, max(0, h + rng.choice((-1, 0, 0, 1)))) for h in human]
    small = agreement(human[:40], judge_[:40], [1, 2, 3, 4, 5])
    large = agreement(human, judge_, [1, 2, 3, 4, 5])
    for result in (small, large):
        for name in ("accuracy", "kappa", "weighted_kappa"):
            low, high = result.intervals[name]
            assert low <= getattr(result, name) <= high
    narrow, wide = (r.intervals["kappa"][1] - r.intervals["kappa"][0] for r in (large, small))
    assert narrow < wide / 2  # ~1/sqrt(n): 10x the items, ~3x narrower
    # the same data resampled with the same seed gives the same interval
    assert agreement_intervals(human, judge_, 5) == agreement_intervals(human, judge_, 5)
    # one label throughout: kappa is undefined, so is its interval
    assert agreement([2, 2, 2], [2, 2, 2], [1, 2, 3]).intervals["kappa"] is None


def test_cli_and_library_default_to_the_same_calibration_set() -> None:
    from passline.cli.judge import DEFAULT_DATASET as CLI_DEFAULT
    from passline.judge._calibrate import DEFAULT_DATASET

    assert CLI_DEFAULT == DEFAULT_DATASET == "judge-calibration@v2"


# ---------------------------------------------------------------- calibration


def _items() -> list[CalibrationItem]:
    return [CalibrationItem("g", QUESTION, GOOD, 5, context=CONTEXT, group="q1"),
            CalibrationItem("w", QUESTION, WRONG, 2, context=CONTEXT, group="q1"),
            CalibrationItem("r", QUESTION, "I can't help with that.", 2, context=CONTEXT,
                            group="q1")]


def test_calibrate_measures_agreement_and_biases_and_stores_atomically(
        passline_sim_url: str, tmp_path: Path) -> None:
    rubric = load_rubric("answer-quality@1")
    assert [(a.id, b.id) for a, b in derive_pairs(rubric, _items())] == [("g", "w"), ("r", "g")]
    client = ModelClient(settings(passline_sim_url))
    report = run(calibrate(rubric, client=client, model="sim-1", items=_items(), min_kappa=0.6))
    assert report.n_items == 3 and report.n_errors == 0
    assert report.pairwise["n"] == 2 and report.verbosity["n"] == 3
    assert sum(map(sum, report.agreement["confusion"]["matrix"])) == 3
    assert report.trusted is (report.kappa is not None and report.kappa >= 0.6)
    path = save_calibration(report, tmp_path)
    assert path == tmp_path / ".passline" / "judges" / "answer-quality@1__sim-1.json"
    assert not list(path.parent.glob("*.tmp"))
    stored = load_calibration("answer-quality@1", "sim-1", tmp_path)
    assert stored["schema_version"] == 1 and stored["items"][0]["id"] == "g"
    path.write_text(json.dumps({**stored, "schema_version": 99}))
    with pytest.raises(RecordError, match="schema_version 99"):
        load_calibration("answer-quality@1", "sim-1", tmp_path)


def _calibration_root(tmp_path: Path, n: int) -> Path:
    from passline.golden import lock

    src = REPO / "golden" / "judge-calibration" / "v2"
    dst = tmp_path / "golden" / "judge-calibration" / "v2"
    dst.mkdir(parents=True)
    lines = (src / "data.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    (dst / "data.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(src / "card.md", dst / "card.md")
    lock(tmp_path)
    return tmp_path


def test_calibrate_cli_prints_the_table_and_marks_untrusted(
        passline_sim_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from passline.cli import judge as judge_cli

    root = _calibration_root(tmp_path, 11)
    monkeypatch.setenv("PASSLINE_BASE_URL", passline_sim_url)
    parser = argparse.ArgumentParser(prog="passline")
    judge_cli.register(parser.add_subparsers())
    args = parser.parse_args(["judge", "calibrate", "answer-quality@1", "--model", "sim-2",
                              "--root", str(root), "--min-kappa", "0.99",
                              "--fail-untrusted", "--by-tag", "origin"])
    code = args.func(args)
    out = capsys.readouterr().out
    for text in ("Cohen's kappa", "quadratic-weighted kappa", "confusion matrix",
                 "position-bias rate", "verbosity", "untrusted", "95% CI", "11 reference",
                 "agreement by tag", "origin:v1"):
        assert text in out
    assert code == 1  # --fail-untrusted with an unreachable threshold
    stored = load_calibration("answer-quality@1", "sim-2", root)
    assert stored["n_items"] == 11 and stored["trusted"] is False
    assert stored["dataset"] == "judge-calibration@v2"
    assert stored["label_sources"]["kinds"] == {"reference": 11}
    low, high = stored["agreement"]["ci"]["accuracy"]
    assert low <= stored["agreement"]["accuracy"] <= high
    args = parser.parse_args(["judge", "list", "--root", str(root), "--json"])
    assert args.func(args) == 0
    listed = {r["rubric"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed["answer-quality@1"]["calibrations"][0]["model"] == "sim-2"


# ---------------------------------------------------------------- the scorer


def _case(**expected: Any) -> Case:
    return Case("c1", {"message": QUESTION}, expected=expected, dataset="d", version="v1")


def _run(answer: str, status: str = RunStatus.OK) -> AgentRun:
    return AgentRun(answer, tool_calls=(ToolCall("get_order", {"order_id": "ORD-10285"},
                                                 result=ORDER),), status=status)


def test_scorer_outside_a_session_judges_on_the_spot(
        passline_sim_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from passline.scoring import evaluate

    monkeypatch.setenv("PASSLINE_BASE_URL", passline_sim_url)
    scorer = judge_scorer("answer-quality@1", threshold=4, root=tmp_path)
    good, = evaluate(_run(GOOD), _case(answer="Shipped 2026-06-28; total 1,827.10 USD."),
                     [scorer])
    assert good.name == "judge:answer-quality@1" and good.passed
    assert good.value == pytest.approx((good.details["score"] - 1) / 4)
    # never calibrated, so under the default untrusted_judge = "inform" it only informs
    assert good.explanation.startswith("[informational: untrusted judge, never calibrated; "
                                       f"untrusted_judge = inform] {good.details['score']:g}/5: ")
    assert good.details["advisory"] is True and good.details["untrusted_judge"] == "inform"
    assert {"rationale", "score", "samples", "judge_cost_usd", "judge_tokens", "rubric",
            "trusted"} <= set(good.details)
    assert good.details["calibration"] == "uncalibrated" and good.details["trusted"] is None
    wrong = scorer(_run(WRONG), _case())  # reference-free (no expected.answer)
    assert wrong.details["score"] < good.details["score"]
    skipped = scorer(_run("", status=RunStatus.ERROR), _case())
    assert not skipped.passed and skipped.details["judged"] is False


def test_prepared_verdict_is_reused_and_malformed_output_is_a_scorer_error(
        passline_sim: SimServer) -> None:
    scorer = judge_scorer("groundedness@1")
    client = ModelClient(settings(passline_sim.base_url))
    run_, case = _run(GOOD), _case()
    prepared = run(scorer.aprepare(run_, case, client=client, trial=0))
    before = completions(passline_sim)
    score = scorer(run_, case)  # reads the prepared verdict: no new model call
    assert completions(passline_sim) == before
    assert score.details["score"] == prepared.label and score.details["rubric"] == \
        "groundedness@1"

    with SimServer(SimConfig(faults="malformed")) as broken:
        bad_client = ModelClient(settings(broken.base_url))
        bad = judge_scorer("answer-quality@1")
        assert run(bad.aprepare(run_, case, client=bad_client)).error
        with pytest.raises(ScorerError, match=r"no valid verdict.*raw output"):
            bad(run_, case)


async def _agent(case_input: Any, ctx: AgentContext) -> AgentRun:
    return _run(GOOD)


def test_runner_prepares_judge_calls_as_runs_finish(passline_sim: SimServer,
                                                    tmp_path: Path) -> None:
    from passline.runner import Job, Runner
    from passline.runner._session import _prepare

    runner = Runner(settings(passline_sim.base_url), workdir=tmp_path)
    try:
        scorer = judge_scorer("answer-quality@1", threshold=3)
        case = _case()
        job = Job(f"{__name__}:_agent", case, 0, Variant("base", "sim-1", "v1"))
        prepared = runner.after(job, functools.partial(
            _prepare, scorer.aprepare, case=case, client=runner.client, trial=0))
        verdict = prepared.result(timeout=20)
        before = completions(passline_sim)
        score = scorer(runner.result(job), case)
        assert completions(passline_sim) == before and score.details["score"] == verdict.score
        assert runner.client.usage_by_purpose["judge"].calls == 1
    finally:
        runner.close()


def test_calibration_summary_reads_the_stored_calibration(tmp_path: Path) -> None:
    save_calibration({"schema_version": 1, "rubric": "answer-quality@1", "model": "sim-2",
                      "dataset": "judge-calibration@v1", "trusted": False, "n_items": 116,
                      "agreement": {"kappa": 0.24, "accuracy": 0.4},
                      "pairwise": {"position_bias_rate": 0.0},
                      "verbosity": {"mean_increase": 0.0}, "min_kappa": 0.6}, tmp_path)
    scorer = judge_scorer("answer-quality@1", model="sim-2", root=tmp_path)
    summary = scorer.calibration_summary()
    assert summary["status"] == "calibrated" and summary["kappa"] == 0.24
    assert summary["trusted"] is False and summary["rubric"] == "answer-quality@1"
    other = judge_scorer("answer-quality@1", model="sim-1", root=tmp_path)
    assert other.calibration_summary()["status"] == "uncalibrated"


def test_scorer_inputs_follow_reference_and_context_sources() -> None:
    case = _case(facts=["ORD-10285", "shipped"])
    joined = judge_scorer("answer-quality@1", reference_from="expected.facts")
    inputs = joined.inputs(_run(GOOD), case)
    assert inputs["reference"] == "ORD-10285; shipped" and inputs["question"] == QUESTION
    assert json.loads(inputs["context"])["result"]["status"] == "shipped"
    custom = judge_scorer("answer-quality@1", reference_from=lambda c: "ref!",
                          context_from_tools=False)
    assert custom.inputs(_run(GOOD), case)["reference"] == "ref!"
    assert custom.inputs(_run(GOOD), case)["context"] is None
    free = judge_scorer("groundedness@1", reference_from=None)
    assert free.inputs(_run(GOOD), case)["reference"] is None
    with pytest.raises(ConfigError, match="needs a threshold"):
        judge_scorer(dataclasses.replace(load_rubric("answer-quality@1"), pass_level=None))
