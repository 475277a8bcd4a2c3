"""``python -m golden.generate [--out DIR] [--check]``: (re)generate the golden datasets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from golden.generate import GOLDEN_DIR, build_all, write_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m golden.generate", description=(
        "Generate golden/<name>/<version>/{data.jsonl, card.md} from the world database."))
    parser.add_argument("--out", type=Path, default=GOLDEN_DIR,
                        help="golden directory to write (default: the repository's golden/)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if any file under --out differs")
    args = parser.parse_args(argv)
    if args.check:
        stale = [rel for rel, text in build_all().items()
                 if not (args.out / rel).is_file()
                 or (args.out / rel).read_bytes() != text.encode("utf-8")]
        for rel in stale:
            sys.stderr.write(f"{args.out / rel}: differs from the generator's output\n")
        return 1 if stale else 0
    for path in write_all(args.out):
        sys.stdout.write(f"wrote {path}\n")
    sys.stdout.write("next: passline golden lock && passline golden validate\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
