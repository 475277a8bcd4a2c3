"""Where golden datasets live, how refs name them, and the golden.lock that pins their content.

Layout: ``golden/<name>/<version>/{data.jsonl, card.md}`` and ``golden/golden.lock``.
A ref is ``name@version`` (or ``name@latest``), ``hf://owner/repo@revision[#split]``,
or a path to a ``.jsonl`` / ``.parquet`` file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from passline._atomic import atomic_write_json
from passline.errors import DatasetError
from passline.golden._schema import ID_RE, Problem

log = logging.getLogger(__name__)

GOLDEN_DIR = "golden"
LOCK_NAME = "golden.lock"
DATA_NAME = "data.jsonl"
CARD_NAME = "card.md"
LOCK_SCHEMA_VERSION = 1
VERSION_RE = re.compile(r"^v(\d+)$")
FILE_SUFFIXES = (".jsonl", ".parquet")
# a card line declaring that the cases' clusters are the sampling unit of comparisons
_SAMPLING_UNIT_RE = re.compile(r"^\W*sampling unit\W*:\W*(cluster|case)\b", re.I | re.M)


def declared_sampling_unit(data_path: str | os.PathLike[str]) -> str | None:
    """"cluster" or "case" when the dataset's card.md (next to its data file) has a line
    ``Sampling unit: cluster`` (or ``case``); None when it says nothing. Comparisons treat
    ``metadata.cluster`` as the sampling unit only for datasets whose card declares it."""
    card = Path(data_path).parent / CARD_NAME
    try:
        text = card.read_text(encoding="utf-8")
    except OSError:
        return None
    found = _SAMPLING_UNIT_RE.search(text)
    return found.group(1).lower() if found else None


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetRef:
    """A resolved dataset reference.

    ``kind`` is "golden" (a versioned dataset under ``root/golden``), "file" (a loose
    .jsonl/.parquet) or "hf" (a Hugging Face Hub dataset pinned to a revision).
    """

    kind: str
    name: str
    version: str
    path: Path | None = None
    root: Path | None = None
    split: str = "train"

    @property
    def key(self) -> str:
        """``name@version``, the key used in golden.lock and run manifests."""
        return f"{self.name}@{self.version}"

    @property
    def display_path(self) -> str:
        if self.path is None:
            return f"hf://{self.name}@{self.version}"
        return display(self.path, self.root or Path.cwd())


def display(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (as users see it in their repo)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def golden_dir(root: Path | str) -> Path:
    return Path(root) / GOLDEN_DIR


def dataset_fingerprint(path: Path | str) -> str:
    """sha256 (hex) of a data file's bytes.

    Text files (.jsonl, .md) are hashed with CRLF normalised to LF so that a Windows
    checkout with ``core.autocrlf`` does not look like a content change.
    """
    data = Path(path).read_bytes()
    if Path(path).suffix in (".jsonl", ".md", ".json"):
        data = data.replace(b"\r\n", b"\n")
    return hashlib.sha256(data).hexdigest()


def version_number(version: str) -> int | None:
    m = VERSION_RE.match(version)
    return int(m.group(1)) if m else None


def dataset_names(root: Path | str) -> list[str]:
    gdir = golden_dir(root)
    if not gdir.is_dir():
        return []
    # code living beside the data (a generator package, __pycache__) is not a dataset
    return sorted(p.name for p in gdir.iterdir() if p.is_dir()
                  and not p.name.startswith((".", "_")) and not (p / "__init__.py").exists())


def versions(root: Path | str, name: str) -> list[str]:
    """Versions of dataset ``name`` that have a data.jsonl, oldest first (v2 before v10)."""
    ddir = golden_dir(root) / name
    if not ddir.is_dir():
        return []
    found = [p.name for p in ddir.iterdir() if p.is_dir() and (p / DATA_NAME).is_file()]
    return sorted(found, key=lambda v: (version_number(v) is None, version_number(v) or 0, v))


def all_versions(root: Path | str) -> list[tuple[str, str]]:
    """Every (name, version) under ``root/golden``."""
    return [(n, v) for n in dataset_names(root) for v in versions(root, n)]


def data_path(root: Path | str, name: str, version: str) -> Path:
    return golden_dir(root) / name / version / DATA_NAME


def parse_ref(ref: str | os.PathLike[str], *, root: Path | str = ".") -> DatasetRef:
    """Resolve a dataset reference; raises DatasetError saying how to fix a bad one."""
    root = Path(root)
    text = os.fspath(ref)
    if text.startswith("hf://"):
        return _parse_hf(text)
    path = Path(text)
    if path.suffix in FILE_SUFFIXES or path.is_file():
        return _parse_file(path, root)
    name, sep, version = text.partition("@")
    if not sep or not name or not version:
        raise DatasetError(
            f"dataset ref {text!r} is not NAME@VERSION, hf://OWNER/REPO@REVISION or a path to "
            f"a .jsonl/.parquet file; e.g. 'tools-unit@v2' (list them with `passline golden "
            "list`)")
    known = dataset_names(root)
    if name not in known:
        raise DatasetError(
            f"no golden dataset {name!r} under {golden_dir(root)} (known: "
            f"{', '.join(known) or 'none'}); create {GOLDEN_DIR}/{name}/v1/{DATA_NAME} and "
            f"{CARD_NAME} (see docs/golden.md)")
    have = versions(root, name)
    if version == "latest":
        if not have:
            raise DatasetError(f"golden dataset {name!r} has no versions with a {DATA_NAME}")
        version = have[-1]
    if version not in have:
        raise DatasetError(f"golden dataset {name!r} has no version {version!r} (versions: "
                           f"{', '.join(have) or 'none'})", path=str(golden_dir(root) / name))
    return DatasetRef("golden", name, version, data_path(root, name, version), root)


def _parse_hf(text: str) -> DatasetRef:
    body = text[len("hf://"):]
    body, _, split = body.partition("#")
    repo, sep, revision = body.partition("@")
    if not sep or not revision or repo.count("/") != 1:
        raise DatasetError(
            f"hub dataset ref {text!r} must pin a revision: hf://OWNER/REPO@REVISION[#SPLIT] "
            "with a commit sha or tag, so every run reads the same rows")
    return DatasetRef("hf", repo, revision, None, None, split or "train")


def _parse_file(path: Path, root: Path) -> DatasetRef:
    if not path.is_file():
        raise DatasetError("no such dataset file; check the path", path=str(path))
    if path.suffix not in FILE_SUFFIXES:
        raise DatasetError(f"unsupported dataset file type {path.suffix!r}; use .jsonl or "
                           ".parquet", path=str(path))
    # A path into the golden layout is the same dataset as its NAME@VERSION ref.
    gdir = golden_dir(root).resolve()
    resolved = path.resolve()
    if path.name == DATA_NAME and resolved.parent.parent.parent == gdir:
        return DatasetRef("golden", resolved.parent.parent.name, resolved.parent.name,
                          path, root)
    if path.name == DATA_NAME and ID_RE.match(resolved.parent.parent.name) and \
            version_number(resolved.parent.name) is not None:
        return DatasetRef("file", resolved.parent.parent.name, resolved.parent.name, path, root)
    return DatasetRef("file", path.stem, dataset_fingerprint(path)[:12], path, root)


# ---------------------------------------------------------------------------- golden.lock


def lock_path(root: Path | str) -> Path:
    return golden_dir(root) / LOCK_NAME


def read_lock(root: Path | str) -> dict[str, dict[str, Any]]:
    """The ``datasets`` table of golden.lock (empty when there is no lock yet)."""
    path = lock_path(root)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"golden.lock is not valid JSON ({exc.msg}); regenerate it with "
                           "`passline golden lock --force`", path=str(path),
                           line=exc.lineno) from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != LOCK_SCHEMA_VERSION:
        raise DatasetError(f"golden.lock has schema_version {version!r}; this passline reads "
                           f"{LOCK_SCHEMA_VERSION} (upgrade passline, or regenerate it with "
                           "`passline golden lock --force`)", path=str(path))
    datasets = data.get("datasets")
    if not isinstance(datasets, dict):
        raise DatasetError('golden.lock has no "datasets" object; regenerate it with '
                           "`passline golden lock --force`", path=str(path))
    return datasets


def lock_entry(root: Path | str, name: str, version: str, n_cases: int) -> dict[str, Any]:
    vdir = golden_dir(root) / name / version
    card = vdir / CARD_NAME
    entry = {
        "sha256": dataset_fingerprint(vdir / DATA_NAME),
        "n_cases": n_cases,
        "card_sha256": dataset_fingerprint(card) if card.is_file() else None,
    }
    from passline.golden._input_schema import schema_path

    schema = schema_path(vdir / DATA_NAME)
    if schema is not None and schema.is_file():  # the schema is part of what a version pins
        entry["input_schema_sha256"] = dataset_fingerprint(schema)
    return entry


def changed_message(root: Path, name: str, version: str) -> str:
    shown = display(data_path(root, name, version), root)
    return (f"{shown} changed but its version was not bumped; run `passline golden "
            f"new-version {name}` to put the change in a new version and restore {version} "
            f"(e.g. `git checkout -- {shown}`); if {version} was never used by a baseline, "
            "`passline golden lock --force` re-pins it")


def lock_problems(root: Path | str, name: str, version: str, *,
                  strict: bool = True) -> list[Problem]:
    """Problems between one dataset version and golden.lock.

    Always: data.jsonl differs from its pinned hash. When ``strict`` (validation): also
    a version missing from the lock, a changed card.md, a missing card.md.
    """
    root = Path(root)
    lock = read_lock(root)
    vdir = golden_dir(root) / name / version
    data = vdir / DATA_NAME
    shown = display(data, root)
    out = []
    entry = lock.get(f"{name}@{version}")
    if entry is None:
        if strict:
            out.append(Problem(shown, None, f"{name}@{version} is not in golden.lock; run "
                                            "`passline golden lock` to pin it"))
        else:
            log.warning("%s@%s is not pinned in golden.lock; run `passline golden lock`",
                        name, version)
    elif entry.get("sha256") != dataset_fingerprint(data):
        out.append(Problem(shown, None, changed_message(root, name, version)))
    card = vdir / CARD_NAME
    if strict:
        if not card.is_file():
            out.append(Problem(display(card, root), None,
                               f"{CARD_NAME} is missing; describe the dataset (purpose, schema, "
                               "provenance, license, changelog; template in docs/golden.md)"))
        elif entry is not None and entry.get("card_sha256") != dataset_fingerprint(card):
            out.append(Problem(display(card, root), None,
                               f"{CARD_NAME} changed since golden.lock was written; run "
                               "`passline golden lock` to record it"))
    if entry is not None:
        from passline.golden._input_schema import schema_path

        schema = schema_path(data)
        pinned = entry.get("input_schema_sha256")
        current = dataset_fingerprint(schema) if schema is not None and schema.is_file() \
            else None
        if pinned != current:
            out.append(Problem(display(schema or vdir / "input.schema.json", root), None,
                               "the input schema changed since golden.lock was written; put "
                               f"the change in a new version (`passline golden new-version "
                               f"{name}`) or, if {version} was never used by a baseline, run "
                               "`passline golden lock --force`"))
    return out


def write_lock_file(root: Path | str, datasets: dict[str, dict[str, Any]]) -> Path:
    """Write golden.lock atomically (temp file + rename) with sorted keys."""
    path = lock_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"schema_version": LOCK_SCHEMA_VERSION,
               "datasets": {k: datasets[k] for k in sorted(datasets)}}
    return atomic_write_json(path, payload, sort_keys=True)
