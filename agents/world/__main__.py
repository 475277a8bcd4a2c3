"""``python -m agents.world build [--out DIR] [--seed N]``: build the world database."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from agents.world import SEED, build
from agents.world._build import content_hash
from agents.world._schema import TABLES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.world",
                                     description="Build the Larkspur Supply Co. world database.")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("build", help="build world.sqlite deterministically from a seed")
    cmd.add_argument("--out", type=Path, default=None,
                     help="output directory (default: agents/world/build)")
    cmd.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    args = parser.parse_args(argv)
    path = build(args.out, seed=args.seed)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        counts = ", ".join(
            f"{conn.execute(f'SELECT COUNT(*) FROM {t}').fetchone()[0]} {t}"
            for t in TABLES)
        digest = content_hash(conn)
    finally:
        conn.close()
    sys.stdout.write(f"{path}: {counts}; content sha256 {digest[:16]}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
