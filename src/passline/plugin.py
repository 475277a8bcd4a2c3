"""pytest plugin entry point (pytest11). Thin: hooks translate pytest events into runner calls.

Importing this module must stay cheap (no datasets/pandas/openai/scipy): pytest loads it in
every session of every project where passline is installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from passline.sim.server import SimServer


@pytest.fixture(scope="session")
def passline_sim() -> Iterator[SimServer]:
    """A simulator server on 127.0.0.1 for this test session (``.base_url``, ``.stats()``)."""
    from passline.sim.server import SimServer

    with SimServer() as server:
        yield server


@pytest.fixture(scope="session")
def passline_sim_url(passline_sim: SimServer) -> str:
    """The simulator's OpenAI base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
    return passline_sim.base_url
