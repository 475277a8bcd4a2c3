"""The five agent styles of docs/agents.md ("Wrap any agent"), run as a newcomer would.

Each example is taken verbatim from the docs into a project made by ``passline init``; its
agent body imports nothing from passline. Two variants (prompts v1 and v2) run on the
simulator with the cache recording; every row must carry tokens, cost, latency and one
``llm`` span per captured call; the report must show the changed system prompt. Then the
same suite runs from the replay cache with the simulator unable to start, and must give
identical scores.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from passline.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "agents.md"
STYLES = ["passline's client", "your own openai client (a plain synchronous function)",
          "LangChain", "OpenAI Agents SDK", "LiteLLM"]
# replay must work with no simulator: make starting one fail loudly
NO_SIM = '''
import passline.sim.server as server


def _refuse(self, *args, **kwargs):
    raise RuntimeError("replay mode must not start the simulator")


server.SimServer.start = _refuse
'''


def doc_blocks() -> dict[str, str]:
    """``{"shop": code, "<style>": code}`` from the python blocks of "## Wrap any agent"."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Wrap any agent", 1)[1].split("\n## ", 1)[0]
    out: dict[str, str] = {}
    for block in re.findall(r"```python\n(.*?)```", section, re.S):
        first = block.splitlines()[0]
        if first.startswith("# shop.py"):
            out["shop"] = block
        elif first.startswith("# my_agent.py -- "):
            out[first.removeprefix("# my_agent.py -- ")] = block
    return out


def test_docs_have_the_five_styles() -> None:
    blocks = doc_blocks()
    assert "shop" in blocks
    assert sorted(k for k in blocks if k != "shop") == sorted(STYLES)
    for style in STYLES:  # the promise: no passline import in the agent
        assert "passline" not in re.sub(r"#.*", "", blocks[style])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PASSLINE_", "OPENAI_", "LITELLM_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "evals", "-q", "-p", "no:cacheprovider",
         "--passline-variant", "base=sim-2:v1", "--passline-variant", "cand=sim-2:v2",
         "--passline-cache-path", str(project / "cache.sqlite"), *args],
        cwd=project, env=_env(), capture_output=True, text=True, timeout=300)


def _rows(run_dir: Path) -> Iterator[dict[str, Any]]:
    with open(run_dir / "results.jsonl", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def _runs(project: Path, session: str | None = None) -> dict[str, Path]:
    runs = sorted((project / "reports" / "runs").iterdir())
    sessions = sorted({p.name.rsplit("-", 1)[0] for p in runs})
    chosen = session or sessions[-1]
    return {p.name.rsplit("-", 1)[1]: p for p in runs if p.name.rsplit("-", 1)[0] == chosen}


@pytest.mark.parametrize("style", STYLES)
def test_any_agent_style_is_captured_reported_and_replayed(style: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    blocks = doc_blocks()
    project = tmp_path / "shop"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    assert main(["init", "--dir", str(project)]) == 0
    capsys.readouterr()
    (project / "shop.py").write_text(blocks["shop"])
    (project / "my_agent.py").write_text(blocks[style])
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace('agent = "example_agent:run"',
                                                 'agent = "my_agent:run"'))

    recorded = _pytest(project, "--passline-cache", "rw")
    assert recorded.returncode == 0, recorded.stdout[-3000:] + recorded.stderr[-2000:]
    runs = _runs(project)
    assert sorted(runs) == ["base", "cand"]
    scores: dict[tuple[str, str, int, str], float] = {}
    for variant, run_dir in runs.items():
        rows = list(_rows(run_dir))
        assert rows
        for row in rows:
            run = row["run"]
            assert row["tokens"] > 0 and row["cost_usd"] > 0 and row["latency_s"] > 0, row
            capture = run["capture"]
            assert capture["calls"] >= 1 and capture["cached_calls"] == 0
            llm_spans = [s for s in run["trace"] if s["kind"] == "llm"]
            assert len(llm_spans) == capture["calls"] + capture["failed_attempts"]
            assert sum(s["usage"]["total_tokens"] if "total_tokens" in s["usage"] else
                       s["usage"]["prompt_tokens"] + s["usage"]["completion_tokens"]
                       for s in llm_spans) == row["tokens"]
            scores[(variant, row["eval"], row["trial"], row["case_id"])] = row["score"]
        calls = (run_dir / "calls.jsonl").read_text().splitlines()
        assert len(calls) == sum(r["run"]["capture"]["calls"] for r in _rows(run_dir))
        ledger = json.loads((run_dir / "manifest.json").read_text())["captured_prompts"]
        assert [e["name"] for e in ledger["tools"]] == ["get_order"]

    out = project / "report"
    assert main(["report", str(runs["base"]), str(runs["cand"]), "--out", str(out)]) in (0, 1)
    capsys.readouterr()
    html = (out / "index.html").read_text()
    assert "What the agents sent" in html
    assert "system prompt" in html and "Look every order up with get_order." in html

    (project / "conftest.py").write_text(NO_SIM)
    replayed = _pytest(project, "--passline-cache", "replay")
    assert replayed.returncode == 0, replayed.stdout[-3000:] + replayed.stderr[-2000:]
    again = _runs(project)
    assert again != runs
    for variant, run_dir in again.items():
        for row in _rows(run_dir):
            capture = row["run"]["capture"]
            assert capture["cached_calls"] == capture["calls"] >= 1
            assert row["score"] == scores[(variant, row["eval"], row["trial"], row["case_id"])]
