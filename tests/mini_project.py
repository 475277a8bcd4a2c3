"""The small eval project that the plugin's end-to-end tests build with pytester: a golden
dataset, ``[tool.passline]`` settings, an agent module and an eval file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def write_mini_project(pytester: pytest.Pytester, rows: list[dict[str, Any]], *, agent: str,
                       eval_src: str, toml: str = "", dataset: str = "mini",
                       agent_module: str = "myagent", eval_module: str = "test_evals") -> Path:
    """``golden/DATASET/v1`` holding ``rows``, a pyproject whose agent is
    ``AGENT_MODULE:agent`` on ``sim-1`` with runs under ``runs/`` (plus ``toml`` lines), the
    agent's source and the eval file; returns the project root."""
    data = pytester.path / "golden" / dataset / "v1"
    data.mkdir(parents=True)
    (data / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (data / "card.md").write_text(f"# {dataset}\n")
    pytester.makepyprojecttoml(f'''
[tool.passline]
agent = "{agent_module}:agent"
model = "sim-1"
run_dir = "runs"
{toml}
[tool.pytest.ini_options]
pythonpath = ["."]
''')
    pytester.makepyfile(**{agent_module: agent, eval_module: eval_src})
    return pytester.path
