"""Fixtures for the reference agents' tests: a model client on the simulator, a world."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from passline._types import AgentContext
from passline.models import ModelClient
from passline.settings import Settings


@pytest.fixture()
def client(passline_sim_url: str) -> ModelClient:
    return ModelClient(Settings.resolve({"base_url": passline_sim_url, "backoff_base_s": 0.01},
                                        env={}))


@pytest.fixture()
def make_ctx(client: ModelClient, tmp_path: Path) -> Callable[..., AgentContext]:
    def make(model: str = "sim-2", prompts: str = "v2", *, workdir: Path | None = None,
             run_key: str = "case-1", **params: Any) -> AgentContext:
        return AgentContext(model=model, prompts=prompts, client=client, params=params,
                            workdir=str(workdir or tmp_path / "run"), run_key=run_key)
    return make

