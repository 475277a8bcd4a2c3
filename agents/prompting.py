"""Versioned prompts: jinja2 templates ``agents/prompts/<role>/<version>.j2``.

A prompt change is a reviewable diff; ``prompt_files(version)`` lists what a version is made
of so reports can show the diff between the variants' versions.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

PROMPTS_DIR = Path(__file__).parent / "prompts"
ROLES = ("router", "planner", "worker", "composer", "critic")


def versions() -> list[str]:
    return sorted(p.stem for p in (PROMPTS_DIR / "planner").glob("*.j2"))


@functools.cache
def _env() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(PROMPTS_DIR),
                              undefined=jinja2.StrictUndefined, autoescape=False,
                              keep_trailing_newline=False, trim_blocks=False)


def render(role: str, version: str, **variables: Any) -> str:
    """The prompt text for ``role`` at ``version``; a clear error for an unknown version."""
    path = PROMPTS_DIR / role / f"{version}.j2"
    if not path.exists():
        from passline.errors import ConfigError

        raise ConfigError(f"no prompt {role}/{version}.j2 in {PROMPTS_DIR}; known versions: "
                          f"{', '.join(versions())} (set --passline-prompts)")
    return str(_env().get_template(f"{role}/{version}.j2").render(**variables)).strip()


def worker_descriptions(version: str) -> dict[str, str]:
    data = json.loads((PROMPTS_DIR / "workers.json").read_text(encoding="utf-8"))
    return dict(data.get(version) or data["v2"])


def rules() -> str:
    return (PROMPTS_DIR / "rules.md").read_text(encoding="utf-8").strip()


def prompt_files(version: str) -> dict[str, str]:
    """``{relative path: text}`` of everything that makes up a prompt version."""
    files = {f"{role}/{version}.j2": (PROMPTS_DIR / role / f"{version}.j2").read_text("utf-8")
             for role in ROLES if (PROMPTS_DIR / role / f"{version}.j2").exists()}
    tools = PROMPTS_DIR / "tools" / f"{version}.json"
    if tools.exists():
        files[f"tools/{version}.json"] = tools.read_text(encoding="utf-8")
    files["workers.json#" + version] = json.dumps(worker_descriptions(version), indent=2)
    return files
