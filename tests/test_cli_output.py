"""CLI output that survives CI logs: whole ids in pipes at 80 columns, --json and examples on
every command, one name per kind of directory flag, and pytest option help that says what
each --passline-* option means, takes and defaults to."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from passline.cli import build_parser, main

BASE_ID = "20261202-221530-baseline-with-a-long-variant-name-shard1of4"
CAND_ID = "20261203-091245-candidate-with-a-long-variant-name-shard1of4"


def _run(folder: Path, run_id: str, statuses: list[str]) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({
        "schema_version": 1, "run_id": run_id, "trials": 1, "finished_at": "2026-12-03T09:15:00",
        "created_at": "2026-12-03T09:12:45",
        "variant": {"name": run_id.split("-")[2], "model": "gpt-4o-mini-2024-07-18",
                    "prompts": "v2-tool-descriptions"},
        "totals": {"n": len(statuses), "pass_rate": statuses.count("pass") / len(statuses),
                   "cost_usd": 0.012345, "latency_p95_s": 1.234},
        "datasets": {"tools-unit@v2": {"name": "tools-unit", "version": "v2", "n_cases": 40}}}))
    rows = [{"schema_version": 1, "run_id": run_id, "eval": "evals/test_tools.py::test_choice",
             "case_id": f"refund-status-{i:04d}", "dataset": "tools-unit",
             "dataset_version": "v2", "tags": [], "trial": 0, "status": s,
             "score": float(s == "pass"), "scores": [], "cost_usd": 0.0003, "tokens": 100,
             "latency_s": 0.5, "error": None} for i, s in enumerate(statuses)]
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    base = _run(root / BASE_ID, BASE_ID, ["pass"] * 40)
    cand = _run(root / CAND_ID, CAND_ID, ["pass"] * 30 + ["fail"] * 10)
    return root, base, cand


def _piped(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["COLUMNS"] = "80"
    # capture_output: stdout is a pipe, as in a CI log
    return subprocess.run([sys.executable, "-m", "passline", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_piped_output_at_80_columns_prints_whole_run_ids(runs, tmp_path):
    root, base, cand = runs
    listing = _piped(["runs", "list", "--run-dir", str(root)], tmp_path)
    assert listing.returncode == 0, listing.stderr
    show = _piped(["runs", "show", CAND_ID, "--run-dir", str(root)], tmp_path)
    assert show.returncode == 0, show.stderr
    gate = _piped(["gate", str(base), str(cand), "--n-boot", "200"], tmp_path)
    assert gate.returncode == 1, gate.stderr  # ten cases regressed
    for proc in (listing, gate):
        assert BASE_ID in proc.stdout and CAND_ID in proc.stdout, proc.stdout
    assert CAND_ID in show.stdout and str(cand) in show.stdout
    for proc in (listing, show, gate):
        assert "…" not in proc.stdout and "..." not in proc.stdout.replace("..+", "").replace(
            "..-", ""), proc.stdout
        assert "\x1b[" not in proc.stdout  # no colour codes in a log
    # every figure whole: variant, model and prompts, and the metrics of the gate table
    assert "candidate=gpt-4o-mini-2024-07-18:v2-tool-descriptions" in listing.stdout
    metrics = next(line for line in gate.stdout.splitlines() if line.startswith("pass_rate"))
    assert "100.0%" in metrics and "75.0%" in metrics and "-25.0 pts" in metrics


def test_plain_flag_gives_aligned_columns(runs, capsys):
    root, _, _ = runs
    assert main(["--plain", "runs", "list", "--run-dir", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("run id"))
    assert set(lines[header + 1]) <= {"-", " "}  # the rule under the header
    column = lines[header].index("variant")
    assert all(line[column - 2:column] == "  " for line in lines[header + 2:])


def _commands(parser: argparse.ArgumentParser, prefix: str = "passline"
              ) -> list[tuple[str, argparse.ArgumentParser, bool]]:
    """(command, parser, is_leaf) for every command and subcommand."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = _commands(sub, f"{prefix} {name}")
                found.append((f"{prefix} {name}", sub, not nested))
                found += nested
    return found


NOT_YET: set[str] = set()  # commands not yet following the conventions (none left)
PRINTS_NO_DATA = {"passline demo", "passline init", "passline sim serve",
                  "passline baseline save", "passline baseline promote",
                  "passline baseline rollback", "passline golden new-version",
                  "passline ci summary", "passline runs resume"}
DIRECTORY_FLAGS = {"--root", "--run-dir", "--baselines-dir", "--out", "--traffic-dir"}


def test_every_help_ends_with_examples():
    commands = [c for c in _commands(build_parser()) if c[0] not in NOT_YET]
    assert len(commands) > 25
    for name, parser, _ in commands:
        text = parser.format_help().rstrip()
        tail = text[text.rfind("examples:"):] if "examples:" in text else ""
        assert tail, f"`{name} --help` has no examples"
        lines = tail.splitlines()[1:]
        assert 1 <= len(lines) <= 3 and all(line.lstrip().startswith(("passline ", "PASSLINE_"))
                                            for line in lines), (name, lines)


def test_every_command_that_prints_data_has_json_and_plain():
    for name, parser, leaf in _commands(build_parser()):
        if not leaf or name in PRINTS_NO_DATA:
            continue
        flags = {s for a in parser._actions for s in a.option_strings}
        assert {"--json", "--plain"} <= flags, name


def test_directory_flags_have_one_name_per_kind():
    for name, parser, _ in _commands(build_parser()):
        if name in NOT_YET:
            continue
        for action in parser._actions:
            if action.metavar == "DIR" and action.option_strings:
                primary = action.option_strings[0]
                assert primary in DIRECTORY_FLAGS, (name, action.option_strings)
    # the same kind of folder, the same flag, whatever the command
    parse = build_parser().parse_args
    assert parse(["gate", "a", "b", "--baselines-dir", "x"]).baselines_dir == "x"
    assert parse(["baseline", "list", "--baselines-dir", "x"]).directory == "x"
    assert parse(["baseline", "--dir", "x", "list"]).directory == "x"  # the older spelling
    assert parse(["runs", "show", "r", "--run-dir", "x"]).run_dir == "x"
    assert parse(["report", "a", "b", "--run-dir", "x"]).history == "x"


def test_every_passline_pytest_option_states_meaning_values_and_default(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    text = proc.stdout
    section = text[text.index("passline: evaluate LLM agents"):]
    section = section[: section.index("\n\n")]
    blocks = re.split(r"\n  (?=--passline-)", section)[1:]
    assert len(blocks) >= 20
    for block in blocks:
        flat = " ".join(block.split())
        assert "Values:" in flat and "Default:" in flat, flat
    assert "Values: off | rw | replay. Default: off" in " ".join(section.split())
