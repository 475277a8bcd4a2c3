"""passline.models over real HTTP to the simulator: retries, limits, accounting, cache."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest

from passline.errors import CacheMiss, ConfigError, MalformedOutput, ModelTimeout, RetriesExhausted
from passline.models import ModelClient, ResponseCache, request_key, resolve_endpoint, usage_for
from passline.settings import Settings
from passline.sim import SimConfig, SimServer

TOOLS = [{"type": "function", "function": {
    "name": "get_order", "description": "Look up one order by id: status and total.",
    "parameters": {"type": "object", "required": ["order_id"], "properties": {
        "order_id": {"type": "string", "pattern": "^ORD-\\d{5}$",
                     "description": "Order id, like ORD-10042"}}}}}]
ASK = [{"role": "user", "content": "Where is my order ORD-10042?"}]
JSON = {"type": "json_object"}


def settings(base_url: str, **overrides: Any) -> Settings:
    values = {"base_url": base_url, "backoff_base_s": 0.01, "backoff_max_s": 0.5,
              "max_retries": 3, "timeout_s": 5.0, **overrides}
    return Settings.resolve(values, env={})


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_chat_returns_tool_calls_usage_and_cost(passline_sim_url: str) -> None:
    client = ModelClient(settings(passline_sim_url))
    result = run(client.chat(ASK, model="sim-2", tools=TOOLS))
    assert [t.name for t in result.tool_calls] == ["get_order"]
    assert result.tool_calls[0].arguments() == {"order_id": "ORD-10042"}
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    expected = usage_for("sim-2", result.usage.prompt_tokens, result.usage.completion_tokens)
    assert result.usage.cost_usd == pytest.approx(expected.cost_usd) and result.usage.cost_usd > 0
    assert result.message()["tool_calls"][0]["function"]["name"] == "get_order"
    assert client.usage_by_purpose["agent"].calls == 1


def test_pricing_table_can_be_overridden(passline_sim_url: str) -> None:
    client = ModelClient(settings(passline_sim_url,
                                  pricing={"sim-1": {"input": 1000.0, "output": 0.0}}))
    result = run(client.chat([{"role": "user", "content": "hi"}], model="sim-1"))
    assert result.usage.cost_usd == pytest.approx(result.usage.prompt_tokens / 1000)


@pytest.mark.parametrize("fault", ["429#2", "500#2", "503#2", "503#1,429#2"])
def test_transient_faults_are_retried_until_success(passline_sim_url: str, fault: str) -> None:
    client = ModelClient(settings(passline_sim_url))
    result = run(client.chat([{"role": "user", "content": f"retry {fault}"}], model="sim-1",
                             extra_headers={"X-Sim-Faults": fault}))
    assert result.attempts == 3
    assert client.retries == 2


def test_exhausted_retries_raise_a_clear_error(passline_sim_url: str) -> None:
    client = ModelClient(settings(passline_sim_url, max_retries=2))
    with pytest.raises(RetriesExhausted, match=r"HTTP 503.*after 3 attempts.*max_retries"):
        run(client.chat([{"role": "user", "content": "down"}], model="sim-1",
                        extra_headers={"X-Sim-Faults": "503"}))


def test_retry_after_is_honoured() -> None:
    with SimServer(SimConfig(retry_after_s=0.4)) as sim:
        client = ModelClient(settings(sim.base_url))
        start = time.perf_counter()
        result = run(client.chat([{"role": "user", "content": "slow down"}], model="sim-1",
                                 extra_headers={"X-Sim-Faults": "429#1"}))
        assert time.perf_counter() - start >= 0.4
        assert result.attempts == 2


def test_hanging_endpoint_times_out_with_a_clear_error(passline_sim_url: str) -> None:
    client = ModelClient(settings(passline_sim_url, timeout_s=0.3, max_retries=1))
    with pytest.raises(ModelTimeout, match=r"within 0.3s in 2 attempts"):
        run(client.chat([{"role": "user", "content": "hang"}], model="sim-1",
                        extra_headers={"X-Sim-Faults": "hang"}))


def test_hang_then_success_is_retried(passline_sim_url: str) -> None:
    client = ModelClient(settings(passline_sim_url, timeout_s=0.3))
    result = run(client.chat([{"role": "user", "content": "hang once"}], model="sim-1",
                             extra_headers={"X-Sim-Faults": "hang#1"}))
    assert result.attempts == 2


@pytest.mark.parametrize("fault", ["malformed#1", "truncated#1"])
def test_malformed_or_truncated_tool_arguments_are_retried(passline_sim_url: str,
                                                           fault: str) -> None:
    client = ModelClient(settings(passline_sim_url))
    result = run(client.chat(ASK, model="sim-2", tools=TOOLS,
                             extra_headers={"X-Sim-Faults": fault}))
    assert result.attempts == 2
    assert result.tool_calls[0].arguments() == {"order_id": "ORD-10042"}


def test_always_malformed_json_raises_with_the_raw_text(passline_sim_url: str) -> None:
    client = ModelClient(settings(passline_sim_url, max_retries=1))
    with pytest.raises(MalformedOutput, match="raw"):
        run(client.chat([{"role": "user", "content": "Reply in JSON with `answer`."}],
                        model="sim-2", response_format=JSON,
                        extra_headers={"X-Sim-Faults": "malformed"}))
    plain = ModelClient(settings(passline_sim_url))
    bad = run(plain.chat(ASK, model="sim-2", tools=TOOLS, retry_malformed=False,
                         extra_headers={"X-Sim-Faults": "malformed"}))
    with pytest.raises(MalformedOutput, match="get_order"):
        bad.tool_calls[0].arguments()


def test_concurrency_is_bounded_and_real() -> None:
    with SimServer(SimConfig(latency_ms=60)) as sim:
        async def burst(limit: int) -> None:
            client = ModelClient(settings(sim.base_url, model_concurrency={"*": limit}))
            await asyncio.gather(*[client.chat([{"role": "user", "content": f"q{limit}-{i}"}],
                                               model="sim-1") for i in range(24)])

        sim.reset_stats()
        run(burst(4))
        assert sim.stats()["max_in_flight"] == 4
        sim.reset_stats()
        run(burst(24))
        assert sim.stats()["max_in_flight"] == 24


def test_per_model_limit(passline_sim_url: str) -> None:
    with SimServer(SimConfig(latency_ms=40)) as sim:
        client = ModelClient(settings(sim.base_url, model_concurrency={"sim-1": 2}))

        async def go() -> None:
            await asyncio.gather(*[client.chat([{"role": "user", "content": f"m{i}"}],
                                               model="sim-1") for i in range(8)])
        run(go())
        assert sim.stats()["max_in_flight"] == 2


def test_cache_read_write_hit_and_miss(passline_sim: SimServer, tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    s = settings(passline_sim.base_url, cache="rw", cache_path=str(path))
    first = run(ModelClient(s).chat(ASK, model="sim-2", tools=TOOLS))
    before = passline_sim.stats()["completions"]
    client = ModelClient(s)
    second = run(client.chat(ASK, model="sim-2", tools=TOOLS))
    assert passline_sim.stats()["completions"] == before  # served from the cache
    assert (first.cached, second.cached) == (False, True)
    assert second.tool_calls == first.tool_calls and second.usage.cost_usd == first.usage.cost_usd
    assert client.cache.hits == 1
    other = run(client.chat(ASK, model="sim-1", tools=TOOLS))
    assert not other.cached and client.cache.misses == 1


def test_trials_are_separate_cache_entries_when_sampling(passline_sim_url: str,
                                                         tmp_path: Path) -> None:
    s = settings(passline_sim_url, cache="rw", cache_path=str(tmp_path / "c.sqlite"),
                 temperature=1.0)
    client = ModelClient(s)
    run(client.chat(ASK, model="sim-2", tools=TOOLS, trial=0))
    again = run(client.chat(ASK, model="sim-2", tools=TOOLS, trial=1))
    assert not again.cached and len(client.cache) == 2


def test_replay_only_miss_names_the_request(passline_sim_url: str, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    run(ModelClient(settings(passline_sim_url, cache="rw", cache_path=str(path))).chat(
        ASK, model="sim-2"))
    replay = ModelClient(settings(passline_sim_url, cache="replay", cache_path=str(path)))
    assert run(replay.chat(ASK, model="sim-2")).cached
    with pytest.raises(CacheMiss, match=r"no response for request .*'never recorded'.*rw"):
        run(replay.chat([{"role": "user", "content": "never recorded"}], model="sim-2"))
    with pytest.raises(CacheMiss, match="does not exist"):
        ModelClient(settings(passline_sim_url, cache="replay",
                             cache_path=str(tmp_path / "missing.sqlite")))


def _writer(path: str, worker: int, n: int) -> None:
    cache = ResponseCache(path, "rw")
    for i in range(n):
        req = {"model": "sim-1", "messages": [{"role": "user", "content": f"{worker}-{i}"}]}
        cache.put(request_key(req), req, {"choices": [], "worker": worker})
        shared = {"model": "sim-1", "messages": [{"role": "user", "content": f"shared-{i}"}]}
        cache.put(request_key(shared), shared, {"choices": [], "worker": worker})
    cache.close()


def test_concurrent_cache_writers_from_several_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 60)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    cache = ResponseCache(path, "rw")
    assert len(cache) == 4 * 60 + 60
    journal = cache._conn().execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"


def test_api_keys_never_reach_cache_logs_or_reprs(passline_sim_url: str, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-test-DO-NOT-STORE-1234567890"
    s = Settings.resolve({"base_url": passline_sim_url, "cache": "rw",
                          "cache_path": str(tmp_path / "c.sqlite"), "api_key_env": "MY_KEY"},
                         env={"MY_KEY": secret})
    caplog.set_level(logging.DEBUG)
    import os
    os.environ["MY_KEY"] = secret
    try:
        client = ModelClient(s)
        run(client.chat(ASK, model="sim-2", tools=TOOLS))
        assert client.endpoint("sim-2").api_key == secret  # it was really used...
    finally:
        del os.environ["MY_KEY"]
    client.cache.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret.encode() not in stored  # ...but stored nowhere
    assert secret not in caplog.text
    assert secret not in repr(client) + repr(client.endpoint("sim-2")) + repr(s)


def test_endpoint_presets_and_missing_key_error() -> None:
    s = Settings.resolve({"model": "gpt-4o-mini"}, env={})
    with pytest.raises(ConfigError, match=r"OPENAI_API_KEY is not set.*sim-2"):
        resolve_endpoint(s, "gpt-4o-mini", env={})
    assert resolve_endpoint(s, "gpt-4o-mini", env={"OPENAI_API_KEY": "k"}).base_url == \
        "https://api.openai.com/v1"
    ollama = Settings.resolve({"base_url": "ollama"}, env={})
    assert resolve_endpoint(ollama, "llama3", env={}).base_url == "http://127.0.0.1:11434/v1"
    custom = Settings.resolve({"base_url": "http://127.0.0.1:9/v1/"}, env={})
    assert resolve_endpoint(custom, "m", env={}).base_url == "http://127.0.0.1:9/v1"
    sim = resolve_endpoint(Settings.resolve({}, env={}), "sim-1", env={})
    assert sim.is_sim and sim.base_url.startswith("http://127.0.0.1:")
