"""``passline init`` gives a new project evals that run offline straight away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from passline.cli import main
from passline.records import list_runs


def test_init_then_pytest_evals_passes_offline(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mine"\n')
    assert main(["init", "--dir", str(tmp_path)]) == 0
    assert "added [tool.passline]" in capsys.readouterr().out
    assert (tmp_path / "golden" / "golden.lock").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSLINE_")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "evals", "-q", "-p",
                           "no:cacheprovider"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "3 passed" in proc.stdout
    (run,) = list_runs(tmp_path / "reports" / "runs")
    assert run["totals"]["pass_rate"] == 1.0 and run["variant"]["model"] == "sim-2"


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--dir", str(tmp_path)]) == 0
    assert main(["init", "--dir", str(tmp_path)]) == 2
    assert "would overwrite" in capsys.readouterr().err


def test_init_in_a_project_with_its_own_pytest_config_runs_as_printed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a project that already configures pytest (no pythonpath): the printed next step,
    # `pytest evals/`, must still import the example agent
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "mine"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    assert main(["init", "--dir", str(tmp_path)]) == 0
    assert "next: pytest evals/" in capsys.readouterr().out
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)
           and not k.startswith("PASSLINE_")}
    pytest_script = Path(sys.executable).parent / "pytest"  # not `python -m`: no cwd on sys.path
    proc = subprocess.run([str(pytest_script), "evals", "-q", "-p", "no:cacheprovider"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "3 passed" in proc.stdout
