"""``passline golden``: validate, lock, diff, version and list golden datasets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from passline.cli._output import add_output_flags, examples
from passline.errors import ConfigError, ExitCode


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("golden", help="validate, lock, diff and version golden datasets",
                       description="Golden datasets live in golden/<name>/<version>/"
                                   "{data.jsonl, card.md}; golden/golden.lock pins their "
                                   "content. See docs/golden.md.",
                       **examples("passline golden validate", "passline golden list --json"))
    gsub = p.add_subparsers(dest="golden_command", metavar="ACTION")
    p.set_defaults(func=lambda args: _help(p))

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--root", default=None,
                       help="project root holding golden/ (default: the current directory, "
                            "else the nearest directory with pyproject.toml and golden/)")

    v = gsub.add_parser("validate", help="check datasets; exit 0 if valid, 2 with problems",
                        **examples("passline golden validate",
                                   "passline golden validate tools-unit@v2 --json"))
    v.add_argument("refs", nargs="*", metavar="REF",
                   help="NAME@VERSION, a .jsonl/.parquet path or a directory (default: all)")
    v.add_argument("--known-tools", action="append", default=[], metavar="A,B,...",
                   help="tool names expectations may use (comma-separated; repeatable)")
    v.add_argument("--tool-specs", action="append", default=[], metavar="FILE",
                   help="JSON file of OpenAI tool specs whose names are the known tools")
    add_output_flags(v)
    common(v)
    v.set_defaults(func=run_validate)

    lk = gsub.add_parser("lock", help="pin every dataset version's content hash in golden.lock",
                         **examples("passline golden lock", "passline golden lock --json"))
    lk.add_argument("--force", action="store_true",
                    help="re-pin versions whose data changed (only for unreleased versions)")
    add_output_flags(lk)
    common(lk)
    lk.set_defaults(func=run_lock)

    d = gsub.add_parser("diff", help="cases added, removed and changed between two datasets",
                        **examples("passline golden diff tools-unit@v1 v2",
                                   "passline golden diff tools-unit@v1 tools-unit@v2 --json"))
    d.add_argument("a", metavar="A", help="e.g. tools-unit@v1")
    d.add_argument("b", metavar="B", help="e.g. tools-unit@v2 (or just v2: same name as A)")
    add_output_flags(d)
    common(d)
    d.set_defaults(func=run_diff)

    nv = gsub.add_parser("new-version", help="copy the latest version of NAME to the next vN",
                         **examples("passline golden new-version tools-unit",
                                    "passline golden new-version tools-unit --from v1"))
    nv.add_argument("name", metavar="NAME")
    nv.add_argument("--from", dest="from_version", metavar="VERSION",
                    help="copy this version instead of the latest")
    common(nv)
    nv.set_defaults(func=run_new_version)

    from passline.cli.golden_drafts import register_drafts

    register_drafts(gsub, common)

    ls = gsub.add_parser("list", help="list dataset versions with size and lock status",
                         **examples("passline golden list", "passline golden list --json"))
    add_output_flags(ls)
    common(ls)
    ls.set_defaults(func=run_list)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return int(ExitCode.USAGE_ERROR)


def _root(args: argparse.Namespace) -> Path:
    if args.root:
        return Path(args.root)
    cwd = Path.cwd()
    if (cwd / "golden").is_dir():
        return cwd
    from passline.settings import find_pyproject

    pyproject = find_pyproject(cwd)
    if pyproject is not None and (pyproject.parent / "golden").is_dir():
        return pyproject.parent
    return cwd


def _known_tools(args: argparse.Namespace) -> set[str] | None:
    names: set[str] = set()
    for chunk in args.known_tools:
        names.update(n.strip() for n in chunk.split(",") if n.strip())
    for spec_file in args.tool_specs:
        names.update(_tool_names_from_specs(Path(spec_file)))
    return names if (args.known_tools or args.tool_specs) else None


def _tool_names_from_specs(path: Path) -> set[str]:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"--tool-specs {path}: cannot read JSON ({exc})") from None
    specs = data.get("tools") if isinstance(data, dict) else data
    if not isinstance(specs, list):
        raise ConfigError(f"--tool-specs {path}: expected a list of tool specs or "
                          '{"tools": [...]}')
    names = set()
    for spec in specs:
        fn = spec.get("function", spec) if isinstance(spec, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise ConfigError(f"--tool-specs {path}: every spec needs a function name, got "
                              f"{json.dumps(spec)[:80]}")
        names.add(fn["name"])
    return names


def run_validate(args: argparse.Namespace) -> int:
    from passline.golden import validate

    root = _root(args)
    known = _known_tools(args)
    targets = args.refs or [None]
    problems = [p for t in targets for p in validate(t, root=root, known_tools=known)]
    if args.json:
        print(json.dumps({"ok": not problems, "problems": [p.to_dict() for p in problems]},
                         indent=2))
    else:
        for problem in problems:
            print(problem)
        if problems:
            print(f"{len(problems)} problem(s) found")
        else:
            print("golden datasets are valid" if not args.refs
                  else f"valid: {', '.join(args.refs)}")
    return int(ExitCode.USAGE_ERROR) if problems else 0


def run_lock(args: argparse.Namespace) -> int:
    from passline.golden import lock
    from passline.golden._layout import display

    root = _root(args)
    result = lock(root, force=args.force)
    if args.json:
        print(json.dumps({"path": str(result.path), "added": list(result.added),
                          "updated": list(result.updated), "removed": list(result.removed),
                          "unchanged": list(result.unchanged)}, indent=2))
        return 0
    for label, keys in (("added", result.added), ("updated", result.updated),
                        ("removed", result.removed)):
        for key in keys:
            print(f"{label}: {key}")
    pinned = len(result.added) + len(result.updated)
    print(f"wrote {display(result.path, root)} ({pinned} pinned or updated, "
          f"{len(result.unchanged)} unchanged, {len(result.removed)} removed)")
    return 0


def run_diff(args: argparse.Namespace) -> int:
    from passline.golden import diff

    b = args.b
    if "@" not in b and "@" in args.a and not Path(b).suffix and not b.startswith("hf://"):
        b = f"{args.a.split('@', 1)[0]}@{b}"
    result = diff(args.a, b, root=_root(args))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"{result.a} -> {result.b}: {len(result.added)} added, {len(result.removed)} "
          f"removed, {len(result.changed)} changed, {result.unchanged} unchanged")
    for case_id in result.added:
        print(f"  + {case_id}")
    for case_id in result.removed:
        print(f"  - {case_id}")
    for change in result.changed:
        print(f"  ~ {change.id}: {', '.join(change.fields)}")
    return 0


def run_new_version(args: argparse.Namespace) -> int:
    from passline.golden import new_version
    from passline.golden._layout import display, versions

    root = _root(args)
    existing = versions(root, args.name)
    new_dir = new_version(args.name, root=root, from_version=args.from_version)
    source = args.from_version or existing[-1]
    shown = display(new_dir, root)
    version = new_dir.name
    print(f"created {shown} (copied from {args.name}@{source})")
    print("next:")
    print(f"  1. edit {shown}/data.jsonl (add, fix or remove cases)")
    print(f"  2. describe the change in the changelog of {shown}/card.md (a TODO stub is there)")
    print(f"  3. passline golden diff {args.name}@{source} {args.name}@{version}"
          "   # review what changed")
    print(f"  4. passline golden lock && passline golden validate {args.name}@{version}")
    print(f"  5. point your evals at {args.name}@{version} and re-baseline")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from passline.golden import list_datasets

    infos = list_datasets(_root(args))
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=2))
        return 0
    if not infos:
        print("no golden datasets (create golden/<name>/v1/data.jsonl; see docs/golden.md)")
        return 0
    width = max(len(i.key) for i in infos)
    for info in infos:
        print(f"{info.key:<{width}}  {info.n_cases:>6} cases  {info.lock:<8}  "
              f"sha256:{info.fingerprint[:12]}  {info.path}")
    return 0
