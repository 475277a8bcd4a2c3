"""Dataset versions: list them, diff two of them, cut a new one (with a changelog stub)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
from pathlib import Path
from typing import Any

from passline.errors import DatasetError
from passline.golden._layout import (
    CARD_NAME,
    DATA_NAME,
    all_versions,
    data_path,
    dataset_fingerprint,
    dataset_names,
    display,
    golden_dir,
    read_lock,
    version_number,
    versions,
)
from passline.golden._load import Ref, read_rows

CARD_TEMPLATE = """\
# {name}

Version: {version}

## Purpose

What this dataset checks, for which agent or worker, and what a failure on it means.

## Schema

One JSON object per line in `data.jsonl`: `id`, `input` (`message`, optional `user_id`,
`history`), `expected` (any of `tool_calls`, `trajectory`, `final_state`, `facts`,
`forbidden`, `budget`, `status`, `answer`), `tags`, `metadata` (e.g. `cluster`).
Tags used here: `worker:...`, `intent:...`, `difficulty:...`, `must-pass`.

## Provenance

Where the cases come from (hand-written, sampled from production logs and redacted,
generated then reviewed), who reviewed them, and what was left out.

## License

The license of the data (and of any source it was derived from).

## Changelog

- **{version}** ({date}): first version.
"""


def card_template(name: str, version: str = "v1", date: str | None = None) -> str:
    """A card.md skeleton: purpose, schema, provenance, license, changelog."""
    return CARD_TEMPLATE.format(name=name, version=version,
                                date=date or dt.date.today().isoformat())


# ------------------------------------------------------------------------------------- list


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetInfo:
    """One dataset version as ``passline golden list`` shows it."""

    name: str
    version: str
    path: str
    n_cases: int
    fingerprint: str
    lock: str  # "locked" | "changed" | "unlocked"

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def list_datasets(root: Path | str = ".") -> list[DatasetInfo]:
    """Every dataset version under ``root/golden`` with its size and lock status."""
    root = Path(root)
    lock = read_lock(root)
    out = []
    for name, version in all_versions(root):
        path = data_path(root, name, version)
        fp = dataset_fingerprint(path)
        with path.open("rb") as fh:
            n = sum(1 for line in fh if line.strip())
        entry = lock.get(f"{name}@{version}")
        status = "unlocked" if entry is None else (
            "locked" if entry.get("sha256") == fp else "changed")
        out.append(DatasetInfo(name, version, display(path, root), n, fp, status))
    return out


# ------------------------------------------------------------------------------------- diff


@dataclasses.dataclass(frozen=True, slots=True)
class CaseChange:
    """A case present in both versions whose content differs; ``fields`` says where."""

    id: str
    fields: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetDiff:
    """Cases added, removed and changed going from dataset ``a`` to dataset ``b``."""

    a: str
    b: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[CaseChange, ...]
    unchanged: int

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "added": list(self.added),
                "removed": list(self.removed),
                "changed": [{"id": c.id, "fields": list(c.fields)} for c in self.changed],
                "unchanged": self.unchanged}


_DEFAULTS: dict[str, Any] = {"input": {}, "expected": {}, "tags": [], "metadata": {}}


def _changed_fields(ra: dict[str, Any], rb: dict[str, Any]) -> list[str]:
    out = []
    for key, default in _DEFAULTS.items():
        va, vb = ra.get(key, default), rb.get(key, default)
        if va == vb:
            continue
        if key == "tags":
            plus = [t for t in vb if t not in va]
            minus = [t for t in va if t not in vb]
            signs = [f"+{t}" for t in plus] + [f"-{t}" for t in minus]
            out.append(f"tags ({', '.join(signs)})" if signs else "tags (order)")
        elif isinstance(va, dict) and isinstance(vb, dict):
            subkeys = list(dict.fromkeys([*va, *vb]))
            out += [f"{key}.{k}" for k in subkeys if va.get(k) != vb.get(k)]
        else:
            out.append(key)
    return out


def diff(a: Ref, b: Ref, *, root: Path | str = ".") -> DatasetDiff:
    """Compare two datasets (usually two versions of one) case by case, by id.

    >>> d = diff("tools-unit@v1", "tools-unit@v2")
    >>> d.added, [(c.id, c.fields) for c in d.changed]
    (('refund-031',), [('refund-004', ('expected.tool_calls',))])
    """
    ref_a, rows_a = read_rows(a, root=root, check_lock=False)
    ref_b, rows_b = read_rows(b, root=root, check_lock=False)
    by_a = {r["id"]: r for r in rows_a}
    by_b = {r["id"]: r for r in rows_b}
    changed = []
    unchanged = 0
    for case_id, ra in by_a.items():
        if case_id not in by_b:
            continue
        fields = _changed_fields(ra, by_b[case_id])
        if fields:
            changed.append(CaseChange(case_id, tuple(fields)))
        else:
            unchanged += 1
    return DatasetDiff(
        a=ref_a.key, b=ref_b.key,
        added=tuple(i for i in by_b if i not in by_a),
        removed=tuple(i for i in by_a if i not in by_b),
        changed=tuple(changed), unchanged=unchanged,
    )


# ------------------------------------------------------------------------------ new version

_VERSION_LINE = re.compile(r"^(\**Version\**:\**\s*)v\d+", re.IGNORECASE | re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def _add_changelog(card: str, version: str, source: str, date: str) -> str:
    stub = (f"- **{version}** ({date}): TODO: what changed since {source} and why "
            "(cases added, removed or corrected; who reviewed).")
    card = _VERSION_LINE.sub(lambda m: f"{m.group(1)}{version}", card, count=1)
    lines = card.rstrip("\n").split("\n")
    start = None
    for i, line in enumerate(lines):
        m = _HEADING.match(line)
        if m and m.group(2).strip().lower() == "changelog":
            start, level = i, len(m.group(1))
    if start is None:
        return "\n".join([*lines, "", "## Changelog", "", stub]) + "\n"
    end = len(lines)
    for j in range(start + 1, len(lines)):
        m = _HEADING.match(lines[j])
        if m and len(m.group(1)) <= level:
            end = j
            break
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    lines.insert(end, stub)
    return "\n".join(lines) + "\n"


def new_version(name: str, *, root: Path | str = ".", from_version: str | None = None,
                today: dt.date | None = None) -> Path:
    """Copy the latest version (or ``from_version``) of ``name`` to the next ``vN+1``.

    The copy gets a changelog stub in card.md; edit data.jsonl, fill in the stub, then
    validate and lock. Returns the new version directory. The new directory appears
    atomically (built aside, then renamed).
    """
    root = Path(root)
    have = versions(root, name)
    if not have:
        known = ", ".join(dataset_names(root)) or "none"
        raise DatasetError(f"no golden dataset {name!r} with a version to copy (known: "
                           f"{known}); create {golden_dir(root).name}/{name}/v1/{DATA_NAME} "
                           f"and {CARD_NAME} first (template in docs/golden.md)")
    source = from_version or have[-1]
    if source not in have:
        raise DatasetError(f"golden dataset {name!r} has no version {source!r} (versions: "
                           f"{', '.join(have)})")
    numbers = [n for n in (version_number(v) for v in have) if n is not None]
    target = f"v{max(numbers, default=0) + 1}"
    ddir = golden_dir(root) / name
    dst = ddir / target
    if dst.exists():
        raise DatasetError(f"{display(dst, root)} already exists; remove it or edit it "
                           "instead", path=str(dst))
    src = ddir / source
    date = (today or dt.date.today()).isoformat()
    card_src = src / CARD_NAME
    card = card_src.read_text(encoding="utf-8") if card_src.is_file() else \
        card_template(name, source, date)
    tmp = ddir / f".{target}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        shutil.copyfile(src / DATA_NAME, tmp / DATA_NAME)
        (tmp / CARD_NAME).write_text(_add_changelog(card, target, source, date),
                                     encoding="utf-8")
        os.replace(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dst
