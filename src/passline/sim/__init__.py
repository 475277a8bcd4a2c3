"""passline.sim: the offline, OpenAI-compatible model simulator (models ``sim-1``, ``sim-2``).

Start it with ``passline sim serve``, ``with SimServer() as sim: ...``, or the pytest fixture
``passline_sim``. See docs/simulator.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["FaultSpec", "SimConfig", "SimServer", "shared_server"]

_LAZY = {
    "FaultSpec": "passline.sim.faults",
    "SimConfig": "passline.sim.app",
    "SimServer": "passline.sim.server",
    "shared_server": "passline.sim.server",
}

if TYPE_CHECKING:
    from passline.sim.app import SimConfig
    from passline.sim.faults import FaultSpec
    from passline.sim.server import SimServer, shared_server


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'passline.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
