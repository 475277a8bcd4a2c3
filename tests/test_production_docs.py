"""docs/production.md: the worked example runs, line by line, in a scratch copy of the repo,
with the exit status each line documents."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from passline.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[tuple[list[str], int]]:
    text = (ROOT / "docs" / "production.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- worked-example -->\n```bash\n(.*?)```", text, re.S)
    assert block, "docs/production.md lost its worked example"
    out = []
    for line in block.group(1).splitlines():
        command, _, comment = line.partition("  # ")
        expected = re.match(r"exit (\d+)", comment.strip())
        args = shlex.split(command)
        assert args[0] == "passline"
        out.append((args[1:], int(expected.group(1)) if expected else 0))
    return out


def test_worked_example_runs_offline(tmp_path, monkeypatch, capsys):
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    (tmp_path / "golden").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PASSLINE_RUN_DIR", str(tmp_path / "reports" / "runs"))
    monkeypatch.syspath_prepend(str(tmp_path))  # examples.traffic.candidates (agents/: ROOT)
    outputs = {}
    for args, status in _commands():
        assert main(args) == status, (args, capsys.readouterr())
        outputs[args[0] + " " + (args[1] if len(args) > 1 else "")] = capsys.readouterr()
    imported = outputs["traces import"].out
    assert "imported 24 conversation(s) (24 otlp)" in imported
    assert "redaction changed 3" in imported
    assert "verdict: REGRESSED" in outputs["shadow --candidate"].out
    assert (tmp_path / "reports" / "shadow" / "broken" / "index.html").is_file()
    assert (tmp_path / "golden" / "golden.lock").is_file()
    data = (tmp_path / "golden" / "orders-from-prod" / "v1" / "data.jsonl").read_text()
    assert "needs-review" not in data and '"reviewed": {"by": "Ana Lopez"' in data
    store = (tmp_path / ".passline" / "traffic" / "traffic.sqlite").read_bytes()
    assert b"maria.keller@example.com" not in store and b"312-555-0199" not in store
