"""Harness test fixtures: keep every test away from the user's real passline state."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


# pytest processes the tests start (eval sessions in subprocesses, pytester's subprocess runs,
# the bench's runs) skip two entry-point plugins that installed test dependencies bring and
# that no test is about: hypothesis' and langsmith's (langchain-core's) cost about 2.5 s of
# CPU per pytest start, more than a small eval session itself. passline's own plugin, xdist
# and everything else load as before; this process keeps both.
CHILD_PYTEST_ADDOPTS = "-p no:hypothesispytest -p no:langsmith_plugin"


def _child_addopts() -> str:
    return f"{os.environ.get('PYTEST_ADDOPTS', '')} {CHILD_PYTEST_ADDOPTS}".strip()


@pytest.fixture(scope="session", autouse=True)
def _lean_child_pytest() -> Iterator[None]:
    old = os.environ.get("PYTEST_ADDOPTS")
    os.environ["PYTEST_ADDOPTS"] = _child_addopts()
    yield
    if old is None:
        os.environ.pop("PYTEST_ADDOPTS", None)
    else:
        os.environ["PYTEST_ADDOPTS"] = old


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester clears PYTEST_ADDOPTS; its subprocess runs get the line above back."""
    monkeypatch.setenv("PYTEST_ADDOPTS", CHILD_PYTEST_ADDOPTS)
    return pytester
