"""The acceptance bench in CI size: real simulator runs of the demo's candidate, gated through
the whole gate (must-pass confirmation included). bench/bench_gate_aa.py measures the rates."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_gate_aa.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_gate_aa", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_identical_variants_pass_and_v3_regressed_is_caught(bench, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PASSLINE_RUN_DIR", raising=False)
    monkeypatch.delenv("PASSLINE_CACHE_PATH", raising=False)
    # the bench points PYTHONPATH and sys.path at its project copy: restore both afterwards
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    monkeypatch.setattr(sys, "path", list(sys.path))
    code = bench.main(["--aa-runs", "3", "--detect", "1", "--tool-pairs", "0",
                       "--targets", "evals/test_tools.py", "-k", "refund-status",
                       "--work", str(tmp_path)])
    assert code == 0
    aa = [json.loads(line) for line in (tmp_path / "aa.jsonl").read_text().splitlines()]
    v3 = [json.loads(line) for line in (tmp_path / "v3.jsonl").read_text().splitlines()]
    # seeded runs: these pairs of the identical variant must not fail the gate
    assert [r["status"] for r in aa] == ["pass", "pass", "pass"], aa  # 3 pairs of 3 runs
    (caught,) = v3
    assert caught["status"] == "regressed" and "must_pass" in caught["failing"], caught
    assert "confirmed" in caught["must_pass"].values()
    assert caught["runs"] > 0  # the must-pass failures were confirmed by new trials
    out = capsys.readouterr().out
    assert "A/A false-alarm rate (identical variants, whole gate), all 3 pairs of 3 runs" in out
    assert "0/3 = 0.000" in out
