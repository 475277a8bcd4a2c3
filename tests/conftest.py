"""Harness test fixtures: keep every test away from the user's real passline state."""

from __future__ import annotations

from pathlib import Path

# pytester's in-process runs restore sys.modules afterwards: a library first imported inside
# one run is imported afresh in the next, while modules imported here survive. Half of the
# HTTP stack re-imported breaks its exception mapping (a raw httpcore2.ConnectError escaping
# the SDK instead of APIConnectionError), so the whole stack is imported once, up front.
import httpcore2  # noqa: F401
import httpx  # noqa: F401
import httpx2  # noqa: F401
import openai  # noqa: F401
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
