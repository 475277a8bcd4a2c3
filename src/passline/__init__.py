"""passline: offline evaluation and regression harness for LLM agents.

The public surface is small and listed in ``__all__``; heavy submodules load lazily so
that importing passline (or having its pytest plugin installed) costs next to nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from passline._types import AgentContext, AgentRun, Case, Score, ToolCall, Usage, Variant
from passline.errors import ExitCode, PasslineError

__version__ = "0.1.0"

# name -> module that defines it; imported on first attribute access (PEP 562)
_LAZY: dict[str, str] = {
    "ModelClient": "passline.models",
    "RunRecord": "passline.records",
    "Settings": "passline.settings",
    "compare": "passline.compare",
    "eval": "passline._eval",
    "gate": "passline.compare",
    "judge_scorer": "passline.judge",
    "load_cases": "passline.golden",
    "load_run": "passline.records",
}

__all__ = [
    "AgentContext",
    "AgentRun",
    "Case",
    "ExitCode",
    "ModelClient",
    "PasslineError",
    "RunRecord",
    "Score",
    "Settings",
    "ToolCall",
    "Usage",
    "Variant",
    "__version__",
    "compare",
    "eval",
    "gate",
    "judge_scorer",
    "load_cases",
    "load_run",
]

if TYPE_CHECKING:
    from passline._eval import eval
    from passline.compare import compare, gate
    from passline.golden import load_cases
    from passline.judge import judge_scorer
    from passline.models import ModelClient
    from passline.records import RunRecord, load_run
    from passline.settings import Settings


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'passline' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
