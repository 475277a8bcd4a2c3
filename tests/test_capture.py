"""Capture: every model call an agent makes, whatever client, attributed to its case."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from passline._types import Case, Variant
from passline.capture import SENTINEL_BASE_URL
from passline.capture._http import installed
from passline.runner import Job, Runner
from passline.settings import Settings


def make_runner(tmp_path: Path, cache: str = "off", **overrides: Any) -> Runner:
    values = {"cache": cache, "cache_path": str(tmp_path / "cache.sqlite"),
              "concurrency": 64, "run_timeout_s": 60.0, **overrides}
    return Runner(Settings.resolve(values, env={}), workdir=tmp_path / "work")


def job(agent: str, marker: str, trial: int = 0, **extra: Any) -> Job:
    case = Case(id=marker.lower(), input={"marker": marker, **extra}, dataset="t", version="v1")
    return Job(f"_capture_agents:{agent}", case, trial, Variant("cand", "sim-2", "v1"))


def user_texts(calls: Any) -> list[str]:
    return [str(m.get("content")) for c in calls.ordered_calls()
            for m in c.request["messages"] if m.get("role") == "user"]


@pytest.mark.parametrize("agent", ["two_calls", "two_calls_sync"])
def test_64_concurrent_cases_through_one_shared_client_keep_their_own_calls(
        tmp_path: Path, agent: str) -> None:
    runner = make_runner(tmp_path)
    try:
        jobs = [job(agent, f"CODE-{i:03d}") for i in range(64)]
        futures = [runner.submit(j) for j in jobs]
        runs = [f.result(timeout=120) for f in futures]
        for j, run in zip(jobs, runs, strict=True):
            marker = j.case.input["marker"]
            calls = runner.take_calls(j)
            assert calls is not None and len(calls.calls) == 2, run
            texts = user_texts(calls)
            assert texts and all(marker in t for t in texts), (marker, texts)
            others = [f"CODE-{i:03d}" for i in range(64) if f"CODE-{i:03d}" != marker]
            assert not any(o in t for o in others for t in texts)
            assert run.capture is not None and run.capture.calls == 2
            assert run.usage.total_tokens == run.capture.usage.total_tokens > 0
            assert run.usage.cost_usd > 0 and run.latency_s > 0
            assert [s.kind for s in run.trace].count("llm") == 2
    finally:
        runner.close()


def test_calls_nest_under_the_span_the_agent_had_open(tmp_path: Path) -> None:
    runner = make_runner(tmp_path)
    try:
        run = runner.result(job("two_calls", "NEST-1"), timeout_s=60)
    finally:
        runner.close()
    by_id = {s.span_id: s for s in run.trace}
    first, second = sorted((s for s in run.trace if s.kind == "llm"), key=lambda s: s.start_s)
    assert by_id[first.parent_id].name == "first" and second.parent_id is None
    assert by_id[first.parent_id].usage == first.usage  # the parent rolls up its child
    assert first.attributes["model"] == "sim-2" and "NEST-1" in first.attributes["input"]


@pytest.mark.parametrize("agent,usage", [("streamed", True), ("streamed", False),
                                         ("streamed_sync", True)])
def test_streams_are_captured_folded_and_replayed(tmp_path: Path, agent: str,
                                                  usage: bool) -> None:
    rw = make_runner(tmp_path, cache="rw")
    try:
        live = rw.result(job(agent, "STREAM-7", usage=usage), timeout_s=60)
        (call,) = rw.take_calls(job(agent, "STREAM-7", usage=usage)).ordered_calls()
    finally:
        rw.close()
    assert live.status == "ok" and live.answer
    assert call.stream and call.response["choices"][0]["message"]["content"] == live.answer
    assert call.usage.completion_tokens > 0 and call.usage_estimated is (not usage)
    replay = make_runner(tmp_path, cache="replay")
    try:
        again = replay.result(job(agent, "STREAM-7", usage=usage), timeout_s=60)
    finally:
        replay.close()
    assert again.answer == live.answer and again.capture.cached_calls == 1


def test_a_retried_request_is_one_call_with_its_retry_counted(tmp_path: Path) -> None:
    runner = make_runner(tmp_path)
    try:
        run = runner.result(job("flaky", "RETRY-1"), timeout_s=60)
    finally:
        runner.close()
    assert run.status == "ok"
    assert run.capture.calls == 1 and run.capture.failed_attempts == 1 and run.capture.retries == 1
    statuses = sorted(s.status for s in run.trace if s.kind == "llm")
    assert statuses == ["error", "ok"]


def test_replay_miss_is_an_error_naming_the_case_and_never_a_live_call(
        tmp_path: Path, passline_sim: Any) -> None:
    (tmp_path / "cache.sqlite").touch()
    runner = make_runner(tmp_path, cache="rw")
    runner.close()  # an empty but valid recording
    before = passline_sim.stats()["requests"]
    replay = make_runner(tmp_path, cache="replay", base_url=passline_sim.base_url)
    try:
        run = replay.result(job("two_calls", "MISS-1"), timeout_s=60)
    finally:
        replay.close()
    assert run.status == "error"
    assert "replay miss: case t@v1:miss-1 (trial 0, variant cand)" in run.error
    assert "re-record with --passline-cache rw" in run.error
    assert passline_sim.stats()["requests"] == before


def test_trials_are_distinct_samples_in_the_cache(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, cache="rw", temperature=0.7)
    try:
        for trial in (0, 1):
            runner.result(job("two_calls", "TRIAL-1", trial=trial), timeout_s=60)
        keys = len(runner.client.cache)
    finally:
        runner.close()
    assert keys == 4  # two calls x two trials, none served from the other trial


def test_reported_usage_is_kept_and_a_mismatch_is_visible(tmp_path: Path) -> None:
    runner = make_runner(tmp_path)
    try:
        run = runner.result(job("misreports", "MIS-1"), timeout_s=60)
    finally:
        runner.close()
    assert run.usage.total_tokens == 2  # the agent's own figure stays
    assert run.capture.reported_usage == run.usage
    assert run.capture.usage.total_tokens > 2
    assert "tokens 2 reported vs" in run.capture.mismatch
    assert "calls 1 reported vs 2 captured" in run.capture.mismatch


def test_agents_may_skip_ctx_and_return_a_dict_or_a_str(tmp_path: Path) -> None:
    runner = make_runner(tmp_path)
    try:
        ok = runner.result(job("answer_only", "DICT-1"), timeout_s=60)
        bad = runner.result(job("wrong_type", "BAD-1"), timeout_s=60)
    finally:
        runner.close()
    assert ok.status == "ok" and ok.answer == "no model needed for DICT-1" and ok.steps == 1
    assert ok.capture.calls == 0 and ok.latency_s > 0
    assert bad.status == "error" and "returned int" in bad.error
    assert "a str (the answer)" in bad.error


def test_session_routes_agent_built_clients_and_restores_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://example.invalid/v1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    runner = make_runner(tmp_path)
    assert os.environ["OPENAI_BASE_URL"] == SENTINEL_BASE_URL and installed()
    assert os.environ["OPENAI_API_KEY"]  # a placeholder, so clients can be built
    runner.close()
    assert os.environ["OPENAI_BASE_URL"] == "https://example.invalid/v1"
    assert "OPENAI_API_KEY" not in os.environ and not installed()


def test_capture_off_leaves_http_untouched(tmp_path: Path) -> None:
    runner = make_runner(tmp_path, capture="off")
    try:
        assert not installed() and os.environ.get("OPENAI_BASE_URL") != SENTINEL_BASE_URL
    finally:
        runner.close()
