"""Versioned, model-facing tool specs: agents/prompts/tools/<version>.json.

Each file is ``{"version", "_changelog", "tools": [OpenAI tool specs]}``. Versions differ
only in descriptions (and schema hints like ``pattern``); the tools' behaviour and their
canonical argument schemas do not change between versions.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from passline.errors import ConfigError

SPEC_DIR = Path(__file__).resolve().parent.parent / "prompts" / "tools"
TOOL_SPEC_VERSIONS: tuple[str, ...] = ("v1", "v2", "v3-regressed")


@functools.cache
def _load(version: str) -> dict[str, Any]:
    path = SPEC_DIR / f"{version}.json"
    if version not in TOOL_SPEC_VERSIONS or not path.is_file():
        raise ConfigError(f"unknown tool spec version {version!r}; available: "
                          f"{', '.join(TOOL_SPEC_VERSIONS)} (files in {SPEC_DIR})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); fix the file") from exc
    if data.get("version") != version or not isinstance(data.get("tools"), list):
        raise ConfigError(f"{path}: needs \"version\": {version!r} and a \"tools\" list")
    return data


def tool_specs(version: str, worker: str | None = None) -> list[dict[str, Any]]:
    """OpenAI tool specs of ``version``, optionally only the tools of one ``worker``.

    >>> [t["function"]["name"] for t in tool_specs("v2", "policy")]  # doctest: +SKIP
    ['search_policies', 'read_policy']
    """
    from agents.tools._registry import REGISTRY, WORKERS

    if worker is not None and worker not in WORKERS:
        raise ConfigError(f"unknown worker {worker!r}; workers: {', '.join(WORKERS)}")
    tools = _load(version)["tools"]
    if worker is not None:
        tools = [t for t in tools if REGISTRY[t["function"]["name"]].worker == worker]
    return copy.deepcopy(tools)
