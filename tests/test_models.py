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


# -- the crash journal ------------------------------------------------------------------------

def test_the_journal_replays_an_earlier_sessions_answers_in_order(tmp_path: Path) -> None:
    from passline.models import CallJournal

    path = tmp_path / "run" / "journal.sqlite"
    first = CallJournal(path)
    first.put("k", {}, {"n": 1})
    first.put("k", {}, {"n": 2})
    assert first.get("k", {}) is None  # a session never replays its own calls
    second = CallJournal(path)  # the resumed session
    assert [second.get("k", {}), second.get("k", {}), second.get("k", {})] == [
        {"n": 1}, {"n": 2}, None]
    assert second.replayed == 2 and len(second) == 2
    second.remove()
    assert list(path.parent.iterdir()) == []


def test_journals_open_at_once_never_answer_each_others_calls(tmp_path: Path) -> None:
    """xdist workers of one session open one journal at the same time: a call one worker
    made is not an answer another may replay (two trials of one request must be two
    samples); only a later session -- a resume -- replays them."""
    from passline.models import CallJournal

    path = tmp_path / "journal.sqlite"
    worker_a, worker_b = CallJournal(path), CallJournal(path)
    worker_a.put("k", {}, {"n": 1})
    assert worker_b.get("k", {}) is None and worker_b.replayed == 0
    worker_b.put("k", {}, {"n": 2})
    resumed = CallJournal(path)
    assert [resumed.get("k", {}), resumed.get("k", {})] == [{"n": 1}, {"n": 2}]


def test_the_journal_is_bounded_and_a_damaged_one_is_set_aside(tmp_path: Path,
                                                               caplog: Any) -> None:
    from passline.models import CallJournal

    small = CallJournal(tmp_path / "j.sqlite", max_bytes=100)
    small.put("a", {}, {"text": "x" * 60})
    small.put("b", {}, {"text": "x" * 60})  # over the bound: not kept
    assert small.written == 1 and "reached" in caplog.text
    (tmp_path / "bad.sqlite").write_bytes(b"garbage" * 100)
    fresh = CallJournal(tmp_path / "bad.sqlite")
    fresh.put("a", {}, {"n": 1})
    assert CallJournal(tmp_path / "bad.sqlite").get("a", {}) == {"n": 1}
    assert list(tmp_path.glob("bad.sqlite.corrupt-*"))


@pytest.mark.parametrize("cache", ["off", "rw"])
def test_the_client_answers_journaled_calls_without_the_network(
        passline_sim: SimServer, tmp_path: Path, cache: str) -> None:
    from passline.models import CallJournal

    path = tmp_path / "journal.sqlite"
    config = settings(passline_sim.base_url, cache=cache, cache_path=str(tmp_path / "c.sqlite"),
                      temperature=0.7)
    asks = [[{"role": "user", "content": f"journal question {i}"}] for i in range(3)]

    async def session() -> list[Any]:
        client = ModelClient(config, journal=CallJournal(path))
        try:
            return [await client.chat(a, model="sim-2", trial=1) for a in asks]
        finally:
            await client.aclose()

    passline_sim.reset_stats()
    crashed = run(session())
    assert passline_sim.stats()["requests"] == 3
    resumed = run(session())
    assert passline_sim.stats()["requests"] == 3  # all three answered from the journal
    assert [r.content for r in resumed] == [r.content for r in crashed]
    assert all(r.cached and r.attempts == 0 and r.usage.cost_usd == c.usage.cost_usd
               for r, c in zip(resumed, crashed, strict=True))


# -- fail fast on a dead endpoint -------------------------------------------------------------

def test_endpoint_health_trips_after_consecutive_failures_only() -> None:
    from passline.errors import EndpointDown
    from passline.models import EndpointHealth, endpoint_key

    assert endpoint_key("https://u:p@api.example.com/v1") == "https://api.example.com:443"
    assert endpoint_key("http://127.0.0.1:8000/v1/chat") == "http://127.0.0.1:8000"
    health = EndpointHealth(fail_after=3)
    where = "http://127.0.0.1:9"
    for _ in range(2):
        health.record_failure(where, "connection error", "Connection refused")
    health.record_success(where)  # a success in between: not consecutive
    for _ in range(2):
        health.record_failure(where, "timeout", "no answer within 5s")
    health.record_failure(where, "HTTP 503", "busy")  # an answer: does not count
    health.check(where)
    health.record_failure(where, "connection error", "Connection refused")
    with pytest.raises(EndpointDown, match=r"endpoint http://127.0.0.1:9 is down: 3 consecutive"
                       r".*\(last: connection error: Connection refused\)"):
        health.check(where)
    health.check("http://127.0.0.1:10")  # other endpoints are not affected
    assert list(health.down) == [where]


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_refused_endpoint_fails_fast_for_every_call() -> None:
    from passline.errors import EndpointDown

    client = ModelClient(settings(f"http://127.0.0.1:{_closed_port()}/v1", max_retries=4,
                                  backoff_base_s=0.2, fail_fast_after=4))

    async def many() -> list[BaseException | Any]:
        try:
            return await asyncio.gather(*(client.chat([{"role": "user", "content": str(i)}],
                                                      model="sim-1") for i in range(30)),
                                        return_exceptions=True)
        finally:
            await client.aclose()

    results = run(many())
    assert all(isinstance(r, EndpointDown) for r in results), results
    assert "Connection refused" in str(results[-1])


def test_calls_waiting_on_a_silent_endpoint_end_when_it_is_declared_down() -> None:
    """A server that accepts connections and never answers: the first timeouts trip the
    breaker and every call still waiting ends at once, not at its own timeout."""
    import socket

    from passline.errors import EndpointDown

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(100)
    port = server.getsockname()[1]
    try:
        client = ModelClient(settings(f"http://127.0.0.1:{port}/v1", timeout_s=1.0,
                                      max_retries=0, fail_fast_after=2))

        async def calls() -> list[Any]:
            async def one(i: int, delay: float) -> Any:
                await asyncio.sleep(delay)
                return await client.chat([{"role": "user", "content": str(i)}], model="sim-1",
                                         timeout_s=1.0 if delay == 0 else 30.0)
            try:
                # two calls time out after 1s; four more wait with a 30 s timeout
                return await asyncio.gather(*(one(i, 0 if i < 2 else 0.2) for i in range(6)),
                                            return_exceptions=True)
            finally:
                await client.aclose()

        results = run(calls())
    finally:
        server.close()
    assert all(isinstance(r, ModelTimeout | EndpointDown) for r in results), results
    # the four waiting calls end with EndpointDown: had they waited for their own 30 s
    # timeout they would have raised ModelTimeout
    assert sum(isinstance(r, EndpointDown) for r in results) >= 4
