"""Harness test fixtures: keep every test away from the user's real passline state."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _isolated_passline_home(tmp_path_factory: pytest.TempPathFactory,
                            monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point caches and run dirs at a temp dir so tests never touch a real cache."""
    home = tmp_path_factory.mktemp("passline-home")
    monkeypatch.setenv("PASSLINE_CACHE_PATH", str(home / "cache.sqlite"))
    monkeypatch.setenv("PASSLINE_RUN_DIR", str(home / "runs"))
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PASSLINE_BASE_URL", "PASSLINE_MODEL"):
        monkeypatch.delenv(var, raising=False)
    return home
