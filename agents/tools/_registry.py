"""The tool registry: each tool is a plain function over a World plus its argument schema."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal

Worker = Literal["finance", "policy", "support"]
WORKERS: tuple[str, ...] = ("finance", "policy", "support")


class ToolInputError(Exception):
    """Raised inside a tool for input that is well-formed but wrong (unknown id, out of bounds).

    ``call_tool`` turns it into ``{"error": message}`` for the model; the message must say
    what was wrong and how to fix it.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class ToolImpl:
    """A registered tool: ``fn(world, **arguments) -> dict``.

    ``parameters`` is the canonical JSON schema the arguments are validated against; the
    model-facing descriptions live in the versioned spec files (agents/prompts/tools/).
    """

    name: str
    worker: Worker
    fn: Callable[..., dict[str, Any]]
    side_effect: bool
    parameters: Mapping[str, Any]


REGISTRY: dict[str, ToolImpl] = {}


def tool(name: str, *, worker: Worker, parameters: Mapping[str, Any],
         side_effect: bool = False) -> Callable[[Callable[..., dict[str, Any]]],
                                                Callable[..., dict[str, Any]]]:
    """Register a tool function under ``name`` (checked at import: no duplicates)."""
    if worker not in WORKERS:
        raise ValueError(f"tool {name!r}: worker {worker!r} is not one of {WORKERS}")

    def register(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        if name in REGISTRY:
            raise ValueError(f"tool {name!r} registered twice ({fn.__module__})")
        schema = {"type": "object", "additionalProperties": False, "required": [], **parameters}
        REGISTRY[name] = ToolImpl(name, worker, fn, side_effect, schema)
        return fn

    return register


def money(value: float) -> float:
    """USD rounded to cents, as every tool reports amounts."""
    return round(float(value) + 0.0, 2)
