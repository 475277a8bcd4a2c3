"""The tools the reference workers call on a World, with versioned model-facing specs.

``call_tool(world, name, arguments)`` validates a model's arguments against the tool's
schema and returns a JSON-able dict; bad model input becomes ``{"error": "...how to fix"}``,
never an exception. ``tool_specs(version)`` returns the OpenAI tool specs of a description
version (agents/prompts/tools/<version>.json).

>>> call_tool(world, "get_order", {"order_id": "ORD-10042"})["status"]  # doctest: +SKIP
'delivered'
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from agents.tools import finance, policy, support  # noqa: F401  (registers the tools)
from agents.tools._registry import REGISTRY, WORKERS, ToolImpl, ToolInputError
from agents.tools._specs import TOOL_SPEC_VERSIONS, tool_specs
from agents.tools._validate import validate_arguments
from agents.tools.support import APPROVAL_THRESHOLD_USD
from agents.world import World
from passline.errors import AgentError

log = logging.getLogger(__name__)

__all__ = [
    "APPROVAL_THRESHOLD_USD",
    "REGISTRY",
    "TOOL_SPEC_VERSIONS",
    "WORKERS",
    "ToolImpl",
    "call_tool",
    "tool_specs",
    "tools_for",
]


def tools_for(worker: str) -> list[str]:
    """Names of the tools a worker may call, in registry order."""
    return [name for name, impl in REGISTRY.items() if impl.worker == worker]


def call_tool(world: World, name: str, arguments: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Run tool ``name`` on ``world`` with a model's ``arguments`` (a dict or JSON text).

    Returns the tool's JSON-able result, or ``{"error": message}`` when the model's call is
    wrong (unknown tool, malformed JSON, bad or missing arguments, unknown ids, amounts out
    of bounds). Raises :class:`AgentError` only when the world itself fails (database error).
    """
    impl = REGISTRY.get(name)
    if impl is None:
        return {"error": f"unknown tool {name!r}; available tools: {', '.join(REGISTRY)}"}
    if arguments is None:
        arguments = {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            return {"error": f"arguments for {name} are not valid JSON ({exc.msg} at "
                             f"character {exc.pos}); send one JSON object, like "
                             f"{_example(impl)}"}
    if not isinstance(arguments, Mapping):
        return {"error": f"arguments for {name} must be a JSON object, like {_example(impl)}; "
                         f"got {type(arguments).__name__}"}
    clean, errors = validate_arguments(arguments, impl.parameters)
    if errors:
        return {"error": f"invalid arguments for {name}: " + "; ".join(errors)}
    try:
        with world.lock:
            return impl.fn(world, **clean)
    except ToolInputError as exc:
        return {"error": f"{name}: {exc}"}
    except sqlite3.Error as exc:
        raise AgentError(f"tool {name} failed on world database {world.path}: {exc}; "
                         "the world copy may be corrupt, start from World.fresh()") from exc


def _example(impl: ToolImpl) -> str:
    props = impl.parameters.get("properties", {})
    example = {key: (props[key].get("examples") or [props[key].get("enum", ["..."])[0]])[0]
               for key in impl.parameters.get("required", [])}
    return json.dumps(example)
