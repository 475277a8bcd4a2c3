"""``passline`` exit codes for crashes: never 1 (which means "regression") for a broken disk or
a bug; one readable line, the traceback only with -v."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from passline.cli import main
from passline.errors import ExitCode


def _run(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({
        "schema_version": 1, "run_id": folder.name, "trials": 1,
        "finished_at": "2026-11-27T10:00:00+00:00",
        "variant": {"name": "v", "model": "sim-2", "prompts": "v2", "params": {}},
        "datasets": {"d@v1": {"name": "d", "version": "v1", "n_cases": 2}}}))
    rows = [{"schema_version": 1, "run_id": folder.name, "eval": "evals/t.py::test_x",
             "case_id": f"c{i}", "dataset": "d", "dataset_version": "v1", "tags": [],
             "trial": 0, "status": status, "score": float(status == "pass"), "scores": [],
             "cost_usd": 0.0, "tokens": 0, "latency_s": 0.1, "error": None}
            for i, status in enumerate(["pass", "fail"])]
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


@pytest.mark.parametrize("argv", [
    ["merge", "{run}", "--out", "/proc/nope/x"],
    ["report", "{run}", "{run}", "--out", "/proc/nope/x"],
])
def test_an_unwritable_output_is_an_infrastructure_error_in_one_line(tmp_path, capsys, argv):
    run = _run(tmp_path / "r")
    code = main([a.format(run=run) for a in argv])
    err = capsys.readouterr().err
    assert code == ExitCode.INFRASTRUCTURE_ERROR
    assert err.startswith("passline: error: ") and "/proc/nope" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_unexpected_exception_exits_3_and_shows_the_traceback_only_with_v(
        monkeypatch, capsys, tmp_path):
    import passline.cli.runs as runs_cli

    def broken(args):
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr(runs_cli, "show_cmd", broken)
    assert main(["runs", "show", str(tmp_path)]) == ExitCode.INFRASTRUCTURE_ERROR
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "internal error" in err and "ZeroDivisionError: division by zero second line" in err
    assert "run with -v for the traceback" in err
    assert main(["-v", "runs", "show", str(tmp_path)]) == ExitCode.INFRASTRUCTURE_ERROR
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "run with -v" not in err


def test_a_reader_that_stops_reading_ends_the_command_quietly_and_never_with_0(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`passline golden list | head -1`: the pipe closes early; no traceback, no "internal
    error", and exit 141 (as if killed by SIGPIPE) so `set -o pipefail` still sees it."""
    import os
    import sys

    read, write = os.pipe()
    os.close(read)
    stream = os.fdopen(write, "w", buffering=1)  # line-buffered: the first line hits the pipe
    monkeypatch.setattr(sys, "stdout", stream)
    repo = Path(__file__).resolve().parents[1]
    assert main(["golden", "list", "--root", str(repo)]) == 141
    assert capsys.readouterr().err == ""
    stream.close()
