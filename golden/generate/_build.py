"""Assemble every dataset version and its card into ``{relative path: text}``."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

from golden.generate import _cards, _journeys, _journeys_hard, _redteam, _tools_unit
from golden.generate._policy_qs import check_topics
from golden.generate._rows import dumps, write_text
from golden.generate._world import WorldFacts

DATASETS: tuple[tuple[str, str], ...] = (
    ("tools-unit", "v1"),
    ("tools-unit", "v2"),
    ("journeys-e2e", "v1"),
    ("journeys-e2e", "v2"),
    ("guardrails-redteam", "v1"),
)


def _check_unique(name: str, rows: list[dict[str, Any]]) -> None:
    for key, what in ((lambda r: r["id"], "id"), (lambda r: r["input"]["message"], "message")):
        dupes = [k for k, n in collections.Counter(map(key, rows)).items() if n > 1]
        if dupes:
            raise RuntimeError(f"{name}: duplicate {what}s {dupes[:3]}; change the generator")


def build_all(world_path: Path | None = None) -> dict[str, str]:
    """Every generated file as ``{"tools-unit/v1/data.jsonl": text, ...}``."""
    check_topics()
    world = WorldFacts(world_path)
    try:
        tu = _tools_unit.generate(world)
        journeys = _journeys.generate(world)
        hard = _journeys_hard.generate(world)
        redteam = _redteam.generate(world)
        seed = world.seed
    finally:
        world.close()
    fixes = [r for r in tu["v2"] if "review_note" in r["metadata"]]
    data = {("tools-unit", "v1"): (tu["v1"], _cards.tools_unit("v1", tu["v1"], seed)),
            ("tools-unit", "v2"): (tu["v2"], _cards.tools_unit("v2", tu["v2"], seed, fixes)),
            ("journeys-e2e", "v1"): (journeys, _cards.journeys(journeys, seed)),
            ("journeys-e2e", "v2"): (journeys + hard,
                                     _cards.journeys(journeys + hard, seed, n_hard=len(hard))),
            ("guardrails-redteam", "v1"): (redteam, _cards.redteam(redteam, seed))}
    out = {}
    for (name, version), (rows, card) in data.items():
        _check_unique(f"{name}@{version}", rows)
        out[f"{name}/{version}/data.jsonl"] = dumps(rows)
        out[f"{name}/{version}/card.md"] = card
    return out


def write_all(golden_dir: Path, world_path: Path | None = None) -> list[Path]:
    """Write every generated file under ``golden_dir``; returns the paths written."""
    written = []
    for rel, text in build_all(world_path).items():
        path = Path(golden_dir) / rel
        write_text(path, text)
        written.append(path)
    return written
