"""Deterministic generator of the shipped golden datasets (golden/<name>/<version>/).

Cases come from the world database and the policy texts (agents/world), never from a
model's output. ``build_all()`` returns every file's text; ``write_all(root)`` writes them.

    python -m golden.generate            # rewrite golden/*/v*/{data.jsonl, card.md}
    python -m golden.generate --check    # exit 1 if the files on disk differ
"""

from __future__ import annotations

from pathlib import Path

from golden.generate._build import DATASETS, build_all, write_all

__all__ = ["DATASETS", "build_all", "write_all"]

GOLDEN_DIR = Path(__file__).resolve().parent.parent
