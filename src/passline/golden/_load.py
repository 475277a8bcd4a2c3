"""Load and validate golden datasets: refs in, Case records (or Problems) out.

Local JSONL is parsed and validated line by line, so every problem names file:line, and
turned into Cases directly (the rows are already in memory; an Arrow round trip would
only cost time). Parquet files and Hub datasets are read through ``datasets`` (Arrow).
``load_arrow`` gives any ref as a ``datasets.Dataset`` for users who want Arrow.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from passline._types import Case
from passline.errors import DatasetError
from passline.golden._input_schema import input_checker
from passline.golden._layout import (
    CARD_NAME,
    DATA_NAME,
    DatasetRef,
    all_versions,
    changed_message,
    data_path,
    dataset_names,
    display,
    golden_dir,
    lock_entry,
    lock_path,
    lock_problems,
    parse_ref,
    read_lock,
    version_number,
    write_lock_file,
)
from passline.golden._schema import ID_RE, Problem, check_rows, iter_jsonl

log = logging.getLogger(__name__)

MAX_LISTED = 20
OBJECT_COLUMNS = ("input", "expected", "metadata")

Ref = str | os.PathLike[str]


def raise_problems(problems: list[Problem], what: str, validate_arg: str | None = None) -> None:
    """Raise one DatasetError listing the first MAX_LISTED problems (no-op when none)."""
    if not problems:
        return
    first = problems[0]
    message = first.message
    if len(problems) > 1:
        rest = [f"  {p}" for p in problems[1:MAX_LISTED]]
        message += f"\n{len(problems) - 1} more problem(s) in {what}:\n" + "\n".join(rest)
        if len(problems) > MAX_LISTED:
            arg = what if validate_arg is None else validate_arg
            command = f"passline golden validate {arg}".strip()
            message += (f"\n  ... and {len(problems) - MAX_LISTED} more; run `{command}` "
                        "to see them all")
    raise DatasetError(message, path=first.path, line=first.line)


# ------------------------------------------------------------------------------ reading rows


def _drop_nulls(value: Any) -> Any:
    # Arrow structs give every row every key, null where a row had none: drop those.
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _arrow_rows(ds: Any) -> Iterator[tuple[int, Any, str | None]]:
    for index, raw in enumerate(ds, start=1):
        row: dict[str, Any] = {}
        error = None
        for key, value in raw.items():
            if key in OBJECT_COLUMNS and isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError as exc:
                    error = f"{key} is a string but not valid JSON ({exc.msg})"
                    break
            elif key in OBJECT_COLUMNS:
                value = _drop_nulls(value)
            if value is None and key != "id":
                continue  # a null column value means "absent"
            row[key] = value
        yield index, (None if error else row), error


def _open_arrow(ref: DatasetRef) -> Any:
    import datasets

    if ref.kind == "hf":
        return datasets.load_dataset(ref.name, revision=ref.version, split=ref.split)
    assert ref.path is not None
    if ref.path.suffix == ".parquet":
        # keep_in_memory + a throwaway cache dir: reading a local file leaves nothing behind.
        with tempfile.TemporaryDirectory(prefix="passline-ds-") as cache:
            return datasets.Dataset.from_parquet(str(ref.path), keep_in_memory=True,
                                                 cache_dir=cache)
    raise DatasetError("not an Arrow-readable file", path=str(ref.path))


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """``iter_jsonl``, tolerating the UTF-8 byte order mark Windows tools put first."""
    for lineno, row, error in iter_jsonl(path):
        if lineno == 1 and error is not None:
            with path.open("rb") as fh:
                first = fh.readline()
            # a real problem on line 1 keeps iter_jsonl's message
            if first.startswith(codecs.BOM_UTF8):
                with contextlib.suppress(UnicodeDecodeError, json.JSONDecodeError):
                    row, error = json.loads(first[len(codecs.BOM_UTF8):].decode("utf-8")), None
        yield lineno, row, error


def _check(ref: DatasetRef, known_tools: set[str] | None) -> tuple[list[dict[str, Any]],
                                                                    list[Problem]]:
    shown = ref.display_path
    check_input, problems = (input_checker(ref.path, shown) if ref.path is not None
                             else (None, []))
    if ref.path is not None and ref.path.suffix == ".jsonl":
        triples: Iterator[tuple[int, Any, str | None]] = _jsonl_rows(ref.path)
    else:
        triples = _arrow_rows(_open_arrow(ref))
    good, row_problems = check_rows(triples, shown, known_tools, check_input)
    return [row for _, row in good], problems + row_problems


def read_rows(ref: Ref, *, root: Path | str = ".", known_tools: set[str] | None = None,
              check_lock: bool = True) -> tuple[DatasetRef, list[dict[str, Any]]]:
    """Validated rows of a dataset (raises DatasetError listing every problem)."""
    resolved = parse_ref(ref, root=root)
    rows, problems = _check(resolved, known_tools)
    if check_lock and resolved.kind == "golden":
        assert resolved.root is not None and resolved.path is not None
        problems += lock_problems(resolved.root, resolved.name, resolved.version, strict=False)
        card = resolved.path.parent / CARD_NAME
        if not card.is_file():  # as `passline golden validate` says: a dataset needs its card
            problems.append(Problem(display(card, resolved.root), None,
                                    f"{CARD_NAME} is missing; describe the dataset (purpose, "
                                    "schema, provenance, license, changelog; template in "
                                    "docs/golden.md)"))
    raise_problems(problems, resolved.key if resolved.kind == "golden" else os.fspath(ref))
    return resolved, rows


def _to_case(row: dict[str, Any], ref: DatasetRef) -> Case:
    return Case(id=row["id"], input=row["input"], expected=row.get("expected") or {},
                tags=tuple(row.get("tags") or ()), dataset=ref.name, version=ref.version,
                metadata=row.get("metadata") or {})


def load_cases(ref: Ref, *, root: Path | str = ".",
               known_tools: set[str] | None = None) -> list[Case]:
    """Load a dataset as Cases, validating it first.

    ``ref``: ``"name@version"`` (``root/golden/name/version/data.jsonl``; also
    ``name@latest``), ``"hf://owner/repo@revision[#split]"`` (through
    ``datasets.load_dataset``, revision required) or a path to a ``.jsonl``/``.parquet``
    file. With ``known_tools``, tool names in expectations are checked too. A golden
    dataset whose data.jsonl no longer matches golden.lock is refused.

    Raises DatasetError (with path and line of the first problem) listing up to 20
    problems.

    >>> cases = load_cases("tools-unit@v2")
    >>> cases[0].ref
    'tools-unit@v2:order-status-001'
    """
    resolved, rows = read_rows(ref, root=root, known_tools=known_tools)
    return [_to_case(row, resolved) for row in rows]


def case_features() -> Any:
    """The ``datasets.Features`` of a golden dataset; free-form objects stored as JSON."""
    import datasets

    json_type = getattr(datasets, "Json", None)
    obj = json_type() if json_type is not None else datasets.Value("string")
    return datasets.Features({
        "id": datasets.Value("string"), "input": obj, "expected": obj,
        "tags": datasets.Sequence(datasets.Value("string")), "metadata": obj,
        "dataset": datasets.Value("string"), "version": datasets.Value("string"),
    })


def load_arrow(ref: Ref, *, root: Path | str = ".", known_tools: set[str] | None = None) -> Any:
    """A validated dataset as an in-memory ``datasets.Dataset`` (one row per case).

    ``input``, ``expected`` and ``metadata`` are JSON-typed columns, so rows with
    different keys survive unchanged (Arrow structs would pad them with nulls).
    """
    import datasets

    features = case_features()
    as_json = not hasattr(datasets, "Json")
    resolved, raw_rows = read_rows(ref, root=root, known_tools=known_tools)
    rows = [_to_case(r, resolved).to_dict() for r in raw_rows]
    if as_json:
        for row in rows:
            for key in OBJECT_COLUMNS:
                row[key] = json.dumps(row[key])
    return datasets.Dataset.from_list(rows, features=features)


# -------------------------------------------------------------------------------- validation


def _validate_ref(ref: DatasetRef, known_tools: set[str] | None) -> list[Problem]:
    _, problems = _check(ref, known_tools)
    if ref.kind == "golden":
        assert ref.root is not None and ref.path is not None
        if version_number(ref.version) is None:
            problems.append(Problem(display(ref.path.parent, ref.root), None,
                                    "version directories are named v1, v2, ...; rename it"))
        problems += lock_problems(ref.root, ref.name, ref.version, strict=True)
    return problems


def _validate_all(root: Path, known_tools: set[str] | None) -> list[Problem]:
    gdir = golden_dir(root)
    if not gdir.is_dir():
        return [Problem(display(gdir, root), None, "no golden/ directory; create "
                        "golden/<name>/v1/data.jsonl and card.md (see docs/golden.md) or run "
                        "`passline init`")]
    problems: list[Problem] = []
    for name in dataset_names(root):
        ddir = gdir / name
        if not ID_RE.match(name):
            problems.append(Problem(display(ddir, root), None, f"dataset name {name!r} must use "
                                    "lowercase letters, digits, '.', '_' and '-'"))
        subdirs = sorted(p for p in ddir.iterdir() if p.is_dir())
        if not subdirs:
            problems.append(Problem(display(ddir, root), None, "dataset has no versions; "
                                    f"create {display(ddir, root)}/v1/{DATA_NAME}"))
        for vdir in subdirs:
            if not (vdir / DATA_NAME).is_file():
                problems.append(Problem(display(vdir, root), None, f"no {DATA_NAME} in this "
                                        "version directory"))
    for name, version in all_versions(root):
        ref = DatasetRef("golden", name, version, data_path(root, name, version), root)
        problems += _validate_ref(ref, known_tools)
    for key in sorted(read_lock(root)):
        name, _, version = key.partition("@")
        if not data_path(root, name, version).is_file():
            problems.append(Problem(display(lock_path(root), root), None,
                                    f"golden.lock pins {key} but "
                                    f"{display(data_path(root, name, version), root)} does not "
                                    "exist; restore it, or run `passline golden lock` to unpin"))
    return problems


def validate(target: Ref | None = None, *, root: Path | str = ".",
             known_tools: set[str] | None = None) -> list[Problem]:
    """Every problem of a dataset (or of all datasets under ``root/golden`` when None).

    ``target``: a ref as for :func:`load_cases`, or a directory (every data.jsonl below
    it). Checks JSON, the row schema, duplicate ids, id format, empty files, unknown tool
    names (with ``known_tools``) and, for golden datasets, golden.lock and card.md.

    >>> [str(p) for p in validate("tools-unit@v2")]
    ["golden/tools-unit/v2/data.jsonl:7: duplicate id 'refund-003' (also on line 2); ..."]
    """
    root = Path(root)
    if target is None:
        return _validate_all(root, known_tools)
    path = Path(target)
    if path.is_dir():
        if path.resolve() == golden_dir(root).resolve():
            return _validate_all(root, known_tools)
        files = sorted(path.rglob(DATA_NAME))
        if not files:
            return [Problem(display(path, root), None, f"no {DATA_NAME} found under this "
                            "directory")]
        return [p for f in files for p in _validate_ref(parse_ref(f, root=root), known_tools)]
    return _validate_ref(parse_ref(target, root=root), known_tools)


# ------------------------------------------------------------------------------------- lock


@dataclasses.dataclass(frozen=True, slots=True)
class LockResult:
    """What ``lock`` did to golden.lock."""

    path: Path
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]


def lock(root: Path | str = ".", *, force: bool = False,
         known_tools: set[str] | None = None) -> LockResult:
    """Pin every dataset version's content hash in golden.lock (written atomically).

    Refuses (DatasetError) to re-pin a version whose data.jsonl changed, because a
    version's content must never change under the same name: make a new version with
    ``new_version``. ``force=True`` re-pins anyway (for a version nobody has used yet).
    Invalid datasets are refused too.
    """
    root = Path(root)
    try:
        old = read_lock(root)
    except DatasetError:
        if lock_path(root).exists() and not force:
            raise
        old = {}
    problems: list[Problem] = []
    new: dict[str, dict[str, Any]] = {}
    for name, version in all_versions(root):
        ref = DatasetRef("golden", name, version, data_path(root, name, version), root)
        rows, row_problems = _check(ref, known_tools)
        problems += row_problems
        if ref.key not in old:  # drafts from traffic are confirmed before a version is pinned
            from passline.golden._review import unreviewed

            assert ref.path is not None
            problems += unreviewed(ref.path, ref.display_path)
        new[ref.key] = lock_entry(root, name, version, len(rows))
    raise_problems(problems, "the golden datasets", validate_arg="")
    changed = [k for k in new if k in old and old[k].get("sha256") != new[k]["sha256"]]
    if changed and not force:
        msgs = [changed_message(root, *k.split("@", 1)) for k in changed]
        raise DatasetError("refusing to re-pin changed dataset version(s):\n  "
                           + "\n  ".join(msgs), path=display(lock_path(root), root))
    path = write_lock_file(root, new)
    return LockResult(
        path=path,
        added=tuple(k for k in new if k not in old),
        updated=tuple(k for k in new if k in old and old[k] != new[k]),
        removed=tuple(k for k in old if k not in new),
        unchanged=tuple(k for k in new if k in old and old[k] == new[k]),
    )
