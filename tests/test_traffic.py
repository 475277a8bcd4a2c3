"""Traffic import: the three formats, redaction before anything is written, the store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from passline.cli import main
from passline.errors import ConfigError, DatasetError, RecordError
from passline.traffic import (
    Selection,
    TrafficStore,
    detect_format,
    import_files,
    read_file,
)

FIXTURES = Path(__file__).parent / "fixtures" / "traffic"
PROXY = FIXTURES / "openai-proxy.jsonl"
LITELLM = FIXTURES / "litellm.jsonl"
OTLP = FIXTURES / "otlp-genai.json"
PII = ("ana.lopez@example.com", "415-555-0134", "4111 1111 1111 1111", "bo@example.org",
       "sk-proj-TEST-CANARY-not-a-key-0003", "sk-TEST-CANARY-not-a-key-0002")


def test_formats_are_detected():
    assert detect_format(PROXY) == "openai"
    assert detect_format(LITELLM) == "openai"
    assert detect_format(OTLP) == "otlp"


def test_proxy_log_gives_input_answer_tool_calls_tokens_and_time():
    first, second = read_file(PROXY)
    assert first.input["message"].startswith("Hi, this is")
    assert first.answer == ""  # the model asked for a tool
    assert first.tool_calls == ({"name": "get_order", "arguments": {"order_id": "ORD-10001"},
                                 "id": "call_1"},)
    assert (first.prompt_tokens, first.completion_tokens) == (91, 18)
    assert first.model == "gpt-4o-mini-2024-07-18"
    assert first.recorded_at == "2026-11-30T09:15:02+00:00"
    assert first.latency_s == pytest.approx(0.842)
    assert first.request is not None and first.request["tools"][0]["function"]["name"] == \
        "get_order"
    # the {"body": ...} wrapping of gateway logs, and tags
    assert second.answer == "ORD-10001 has shipped; its total is $120.50."
    assert second.tags == ("team:support",)
    assert [m["role"] for m in second.request["messages"]] == ["system", "user", "assistant",
                                                               "tool"]


def test_litellm_payload_gives_cost_user_and_tags():
    (record,) = read_file(LITELLM)
    assert record.cost_usd == pytest.approx(0.000042)
    assert record.input["user_id"] == "CUS-0042"
    assert record.tags == ("team:billing", "env:prod")
    assert record.latency_s == pytest.approx(1.25)
    assert record.request["temperature"] == 0.0


def test_otlp_agent_span_is_one_conversation_with_its_tool_spans():
    agent, call = read_file(OTLP)
    assert agent.source == "otlp"
    assert agent.input == {"message": "Can you refund ORD-10002? Reach me at bo@example.org",
                           "user_id": "CUS-0007"}
    assert agent.answer == "I have started a refund of $42.00 for ORD-10002."
    assert agent.tool_calls[0]["name"] == "issue_refund"
    assert agent.tool_calls[0]["arguments"] == {"order_id": "ORD-10002", "amount_usd": 42.0}
    assert agent.tool_calls[0]["result"] == {"refund_id": "RFD-1", "status": "pending"}
    assert (agent.prompt_tokens, agent.completion_tokens) == (470, 53)  # both chat spans
    assert agent.latency_s == pytest.approx(2.4)
    assert agent.metadata["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert agent.metadata["conversation_id"] == "conv-77"
    # a trace without an agent span: one record per inference span (indexed attributes)
    assert call.answer == "You can return items within 30 days of delivery."
    assert call.request["messages"][0] == {"role": "system",
                                           "content": "You are a helpful assistant."}
    assert call.model == "gpt-4o-mini"


def test_passline_run_records_import(tmp_path):
    from passline.report._synthetic import write_synthetic_runs

    runs = write_synthetic_runs(tmp_path / "runs", n_cases=6)
    results = runs.candidate / "results.jsonl"
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    rows[0]["run_key"] = "k0"  # as the plugin writes it: the key of (case, trial, variant)
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (runs.candidate / "calls.jsonl").write_text("".join(json.dumps(
        {"schema_version": 1, "run_key": "k0", "seq": i, "model": "gpt-4o-mini",
         "error": None}) + "\n" for i in range(2)))
    records = list(read_file(runs.candidate))
    assert records[0].model == "gpt-4o-mini" and records[0].metadata["model_calls"] == 2
    assert detect_format(runs.candidate) == "passline"
    assert len(records) == 6
    assert all(r.source == "passline" and r.input.get("message") for r in records)
    assert any(r.tool_calls for r in records)
    assert {r.metadata["run_id"] for r in records} == {"candidate-run"}


def test_import_redacts_before_writing_and_is_idempotent(tmp_path):
    store = TrafficStore(tmp_path / "traffic")
    result = import_files([PROXY, LITELLM, OTLP], store, tags=["env:test"])
    assert result.added == 5 and result.skipped == 0 and result.redactions >= 4
    raw = b"".join(p.read_bytes() for p in store.folder.iterdir())
    for secret in PII:
        assert secret.encode() not in raw, secret
    texts = json.dumps([r.to_dict() for r in store.select()])
    assert "[EMAIL]" in texts and "[PHONE]" in texts and "[CARD]" in texts
    assert "Authorization" not in texts
    again = import_files([PROXY, LITELLM, OTLP], store)
    assert (again.added, again.skipped) == (0, 5)
    assert store.count() == 5
    # priced from tokens when the log gave no cost (list price of the model family)
    proxy = [r for r in store.select() if r.source == "openai" and r.cost_usd is not None]
    assert len(proxy) == 3


def test_a_bad_line_stores_nothing_and_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(PROXY.read_text() + '{"request": {"messages": []}, "response": {}\n')
    store = TrafficStore(tmp_path / "traffic")
    with pytest.raises(DatasetError) as info:
        import_files([LITELLM, bad], store)
    assert f"{bad}:3" in str(info.value)
    assert store.count() == 0


def test_unknown_file_is_refused_with_the_accepted_formats(tmp_path):
    other = tmp_path / "x.jsonl"
    other.write_text('{"prompt": "hi", "completion": "hello"}\n')
    with pytest.raises(DatasetError, match="unrecognised traffic format"):
        detect_format(other)


def test_selection_by_time_tag_id_and_sample(tmp_path):
    store = TrafficStore(tmp_path / "t")
    import_files([PROXY, LITELLM, OTLP], store)
    assert len(store.select(Selection(since="2026-01-01T00:00:00+00:00"))) == 2
    assert len(store.select(Selection(until="2026-01-01T00:00:00+00:00"))) == 3
    assert [r.source for r in store.select(Selection(tags=("env:prod",)))] == ["openai"]
    one = store.select()[0]
    assert store.select(Selection(ids=(one.id,))) == [one]
    with pytest.raises(ConfigError, match="not in"):
        store.select(Selection(ids=("nope",)))
    sample = store.select(Selection(sample=2, seed=3))
    assert len(sample) == 2 and sample == store.select(Selection(sample=2, seed=3))


def test_store_refuses_an_unknown_schema_version(tmp_path):
    store = TrafficStore(tmp_path / "t")
    import_files([LITELLM], store)
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(RecordError, match="schema_version 99"):
        store.select()


def test_cli_import_list_show(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["traces", "import", str(PROXY), str(OTLP), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["added"] == 4 and Path(out["store"]).is_file()
    assert main(["traces", "list", "--json", "--source", "otlp"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["tool_calls"] for r in listed] == [["issue_refund"], []]
    assert main(["traces", "show", listed[0]["id"]]) == 0
    assert "[EMAIL]" in capsys.readouterr().out
    assert main(["traces", "list", "--since", "yesterday"]) == 2


def test_gateway_calls_of_one_trace_become_one_conversation(tmp_path):
    calls = FIXTURES / "agent-calls.jsonl"
    agent, hello = read_file(calls)
    assert agent.input == {"message": "Where is ORD-10002, and can I still return it?"}
    assert agent.answer.startswith("ORD-10002 was delivered on 2026-11-20")
    assert [t["name"] for t in agent.tool_calls] == ["get_order", "search_policies"]
    assert agent.tool_calls[1]["result"] == "Returns are accepted within 30 days of delivery."
    assert (agent.prompt_tokens, agent.completion_tokens) == (490, 68)
    assert agent.latency_s == pytest.approx(2.7)  # first call's start to last call's end
    assert agent.metadata["calls"] == 3 and agent.tags == ("team:support",)
    assert agent.origin.endswith("agent-calls.jsonl:1..4") and agent.request is None
    assert hello.answer == "Hello! How can I help?"
    assert len(list(read_file(calls, group=False))) == 4
    store = TrafficStore(tmp_path / "t")
    assert import_files([calls], store, group=False).added == 4
