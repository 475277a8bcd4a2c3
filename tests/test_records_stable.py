"""What a run records does not change when the runner gets faster (issue 14).

A small project -- one agent calling ``ctx.client``, one calling its own ``AsyncOpenAI`` client,
a scorer, three trials at temperature 0.7 on the simulator -- is run in a fresh process, and
its records (``results.jsonl``, ``calls.jsonl``, ``manifest.json``) are compared, with times,
ids, ports and paths normalised away, to a snapshot written by the code *before* the
performance work (commit 90725a4). A difference means a row, call or manifest field was
added, lost or changed: if that is intended, rewrite the snapshot on purpose::

    PASSLINE_WRITE_RECORDS_SNAPSHOT=1 .venv/bin/python -m pytest tests/test_records_stable.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

SNAPSHOT = Path(__file__).parent / "fixtures" / "records_snapshot.json"

AGENTS = '''
from openai import AsyncOpenAI

from passline import AgentRun


async def through_ctx(case_input, ctx):
    reply = await ctx.client.chat([{"role": "user", "content": case_input["message"]}],
                                  model=ctx.model, trial=ctx.trial)
    return AgentRun(answer=reply.content or "")


async def own_client(case_input):
    client = AsyncOpenAI()
    reply = await client.chat.completions.create(
        model="sim-2", messages=[{"role": "user", "content": case_input["message"]}])
    return reply.choices[0].message.content or ""
'''

EVALS = '''
import passline
from passline.scoring import required_facts


@passline.eval("orders@v1", scorers=[required_facts()])
def test_ctx(run, case, scores):
    assert run.answer


@passline.eval("orders@v1", agent="bot:own_client")
def test_own(run, case):
    assert run.answer
'''

MESSAGES = ["Where is my order ORD-1001? It was due on Monday.",
            "Please cancel order ORD-2002, I ordered the wrong size.",
            "What is your refund policy for damaged items?",
            "Can you change the delivery address of ORD-3003 to 5 Elm Street?"]

# values that differ between any two runs of the same thing
VOLATILE = {"run_id", "created_at", "finished_at", "start_s", "end_s", "latency_s",
            "call_latency_s", "timings", "git_sha", "duration_s", "started_at", "pid",
            "command", "argv", "host", "python", "platform", "passline_version", "cwd",
            "run_dir", "path_run_dir"}


def normalise(value: Any, root: str) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v, root) for k, v in sorted(value.items())
                if k not in VOLATILE and "latency" not in k}
    if isinstance(value, list):
        items = [normalise(v, root) for v in value]
        if items and all(isinstance(v, dict) and "calls" in v for v in items):
            items.sort(key=lambda v: json.dumps(v, sort_keys=True))  # first-seen order varies
        return items
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, str):
        value = value.replace(root, "<root>")
        value = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/(popen-gw\d+/)?[^/]+/", "<tmp>/", value)
        value = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", value)
        return re.sub(r"\d{8}-\d{6}-[0-9a-f]{4}", "<session>", value)
    return value


def records(root: Path) -> dict[str, Any]:
    (run_dir,) = sorted((root / "runs").iterdir())
    out: dict[str, Any] = {}
    for name in ("results.jsonl", "calls.jsonl"):
        lines = [json.loads(line) for line in (run_dir / name).read_text().splitlines()]
        lines.sort(key=lambda r: (r.get("eval", ""), r["case_id"], r["trial"], r.get("seq", 0),
                                  json.dumps(r.get("request"), sort_keys=True)))
        out[name] = lines
    out["manifest.json"] = json.loads((run_dir / "manifest.json").read_text())
    return normalise(out, str(root))


@pytest.mark.parametrize("cases_per_item", [1, 5])
def test_a_runs_records_are_what_they_were_before_the_performance_work(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, cases_per_item: int) -> None:
    """... and the same with several cases per pytest item (the manifest's settings say
    cases_per_item = 5 then; that one value is set back before comparing)."""
    monkeypatch.delenv("PASSLINE_RUN_DIR", raising=False)  # the project's run_dir counts
    root = pytester.path
    data = root / "golden" / "orders" / "v1"
    data.mkdir(parents=True)
    (data / "data.jsonl").write_text("".join(
        json.dumps({"id": f"o-{i}", "input": {"message": m},
                    "expected": {"facts": ["order"]}}) + "\n"
        for i, m in enumerate(MESSAGES)))
    (data / "card.md").write_text("# orders\n\nWritten by hand for this test.\n")
    pytester.makepyprojecttoml(f'''
[tool.passline]
agent = "bot:through_ctx"
model = "sim-2"
trials = 3
temperature = 0.7
concurrency = 4
run_dir = "runs"
cases_per_item = {cases_per_item}

[tool.pytest.ini_options]
pythonpath = ["."]
''')
    pytester.makepyfile(bot=AGENTS)
    (root / "evals").mkdir()
    (root / "evals" / "test_orders.py").write_text(EVALS)
    result = pytester.runpytest_subprocess("evals", "-p", "no:cacheprovider", timeout=300)
    assert result.ret in (0, 1), result.stdout.str()[-3000:]  # a failed fact is a record too
    got = records(root)
    assert got["manifest.json"]["settings"]["cases_per_item"] == cases_per_item
    got["manifest.json"]["settings"]["cases_per_item"] = 1
    if os.environ.get("PASSLINE_WRITE_RECORDS_SNAPSHOT"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"snapshot written to {SNAPSHOT}")
    want = json.loads(SNAPSHOT.read_text())
    differences = diff(want, got)
    assert not differences, "\n".join(differences)


def diff(want: Any, got: Any, where: str = "") -> list[str]:
    """Where two records differ, as readable paths (the first 20)."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{where}.{k}: missing" for k in want.keys() - got.keys()]
        out += [f"{where}.{k}: new" for k in got.keys() - want.keys()]
        for k in want.keys() & got.keys():
            out += diff(want[k], got[k], f"{where}.{k}")
        return sorted(out)[:20]
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [d for i, (a, b) in enumerate(zip(want, got, strict=True))
                for d in diff(a, b, f"{where}[{i}]")][:20]
    return [] if want == got else [f"{where}: {want!r:.80} -> {got!r:.80}"]


def test_usage_records_every_field() -> None:
    # Usage.to_dict is spelled out for speed: a field added to Usage must reach the records
    import dataclasses

    from passline._types import Usage

    usage = Usage(prompt_tokens=3, completion_tokens=5, cost_usd=0.25, calls=2, cached_calls=1)
    assert usage.to_dict() == dataclasses.asdict(usage)
    assert Usage.from_dict(usage.to_dict()) == usage
