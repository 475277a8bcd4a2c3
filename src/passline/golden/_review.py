"""Golden drafts from recorded traffic, and the review that must come before a lock.

``draft_from_traces`` turns recorded conversations into a new version of a dataset: each
becomes a row whose expectation is production's answer (and tool calls), tagged
``needs-review``: a candidate expectation, not a confirmed one. ``lock`` refuses a version
holding such rows (naming file:line); ``review`` (or editing the row and deleting the tag)
confirms them, recording who reviewed and when.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from passline._atomic import atomic_write_text
from passline.errors import ConfigError, DatasetError
from passline.golden._layout import (
    CARD_NAME,
    DATA_NAME,
    data_path,
    display,
    golden_dir,
    versions,
)
from passline.golden._schema import ID_RE, Problem, iter_jsonl

NEEDS_REVIEW = "needs-review"
SOURCE_TAG = "source:traffic"


def unreviewed(path: Path, shown: str) -> list[Problem]:
    """A problem (file:line) for every row of ``path`` still tagged ``needs-review``."""
    out = []
    ref = f"{path.parent.parent.name}@{path.parent.name}"
    for lineno, row, _error in iter_jsonl(path):
        if isinstance(row, Mapping) and NEEDS_REVIEW in (row.get("tags") or ()):
            out.append(Problem(shown, lineno, (
                f"case {row.get('id')!r} is a draft (tag {NEEDS_REVIEW!r}): confirm or fix its "
                "expected answer, then remove the tag -- or run `passline golden review "
                f"{ref} --accept {row.get('id')} --reviewer NAME`")))
    return out


def _row_id(record_id: str) -> str:
    return f"traffic-{record_id}"


def draft_row(record: Any, *, flagged: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The golden row a recorded conversation becomes: its input, production's answer (and
    tool calls) as the candidate expectation, tagged ``needs-review``."""
    case_input = {k: v for k, v in record.input.items() if k in ("message", "history",
                                                                 "user_id")}
    if not case_input.get("message"):
        case_input = dict(record.input)
    expected: dict[str, Any] = {"answer": record.answer}
    if record.tool_calls:
        expected["tool_calls"] = [{"name": str(t.get("name")),
                                   "arguments": dict(t.get("arguments") or {})}
                                  for t in record.tool_calls]
    tags = [NEEDS_REVIEW, SOURCE_TAG, *[str(t).replace(" ", "-") for t in record.tags
                                        if str(t).strip()]]
    metadata: dict[str, Any] = {"source": "recorded traffic (redacted at import)",
                                "traffic_id": record.id, "recorded_at": record.recorded_at,
                                "production_model": record.model, "origin": record.origin}
    if flagged:
        metadata["flagged"] = {"reasons": list(flagged.get("reasons") or ()),
                               "why": str(flagged.get("why") or "")[:500]}
    return {"id": _row_id(record.id), "input": case_input, "expected": expected,
            "tags": list(dict.fromkeys(tags)), "metadata": metadata}


def read_flagged(paths: Iterable[str | Path], reasons: Sequence[str] = ()
                 ) -> dict[str, dict[str, Any]]:
    """Flagged conversations of shadow runs (their ``flagged.jsonl`` or report folder), by
    traffic id; ``reasons`` keeps only those flagged for one of them."""
    out: dict[str, dict[str, Any]] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            path = path / "flagged.jsonl"
        if not path.is_file():
            raise ConfigError(f"{path}: no flagged.jsonl here; pass the report folder of a "
                              "`passline shadow` run (or its flagged.jsonl)")
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"not valid JSON ({exc.msg})", path=str(path),
                                   line=lineno) from exc
            if reasons and not set(reasons) & set(entry.get("reasons") or ()):
                continue
            out.setdefault(str(entry["id"]), entry)
    return out


def draft_from_traces(name: str, records: Sequence[Any], *, root: Path | str = ".",
                      flagged: Mapping[str, Mapping[str, Any]] | None = None,
                      today: dt.date | None = None) -> tuple[Path, int, int]:
    """Write a new version of dataset ``name`` (v1 if it does not exist) holding its latest
    version's rows plus one draft row per record not already in it. Returns (the version
    directory, rows added, rows already present)."""
    from passline.golden._versions import card_template, new_version

    root = Path(root)
    if not ID_RE.match(name):
        raise ConfigError(f"dataset name {name!r} must use lowercase letters, digits, '.', "
                          "'_' and '-'")
    if not records:
        raise ConfigError("no recorded conversation selected to draft from")
    date = (today or dt.date.today()).isoformat()
    have = versions(root, name)
    if have:
        target = new_version(name, root=root, today=today)
        existing = target / DATA_NAME
        rows_text = existing.read_text(encoding="utf-8")
        present = {row.get("id") for _, row, _ in iter_jsonl(existing)
                   if isinstance(row, Mapping)}
    else:
        target = golden_dir(root) / name / "v1"
        target.mkdir(parents=True, exist_ok=False)
        atomic_write_text(target / CARD_NAME, card_template(name, "v1", date))
        rows_text, present = "", set()
    drafts = [draft_row(r, flagged=(flagged or {}).get(r.id)) for r in records
              if _row_id(r.id) not in present]
    if rows_text and not rows_text.endswith("\n"):
        rows_text += "\n"
    rows_text += "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in drafts)
    atomic_write_text(target / DATA_NAME, rows_text)
    card = (target / CARD_NAME).read_text(encoding="utf-8")
    note = (f"\n\n<!-- drafts of {date}: {len(drafts)} case(s) from recorded traffic, "
            f"tagged {NEEDS_REVIEW}; each expected.answer is production's answer, to be "
            "confirmed or corrected by a reviewer before `passline golden lock` -->\n")
    atomic_write_text(target / CARD_NAME, card.rstrip("\n") + note)
    return target, len(drafts), len(records) - len(drafts)


def review(name: str, version: str, *, reviewer: str, accept: Sequence[str] = (),
           accept_all: bool = False, root: Path | str = ".",
           today: dt.date | None = None) -> tuple[list[str], list[Problem]]:
    """Confirm draft rows of ``name@version``: remove their ``needs-review`` tag and record
    ``metadata.reviewed = {"by", "on"}``. Returns (ids confirmed, drafts still unreviewed)."""
    root = Path(root)
    if not reviewer.strip():
        raise ConfigError("--reviewer NAME is required: a review records who confirmed it")
    path = data_path(root, name, version)
    if not path.is_file():
        raise DatasetError(f"no dataset {name}@{version}", path=display(path, root))
    wanted = set(accept)
    done: list[str] = []
    lines = []
    for lineno, row, error in iter_jsonl(path):
        if error or not isinstance(row, dict):
            raise DatasetError(error or "not a JSON object; fix the line first",
                               path=display(path, root), line=lineno)
        tags = list(row.get("tags") or ())
        if NEEDS_REVIEW in tags and (accept_all or row.get("id") in wanted):
            row["tags"] = [t for t in tags if t != NEEDS_REVIEW]
            row.setdefault("metadata", {})["reviewed"] = {
                "by": reviewer, "on": (today or dt.date.today()).isoformat()}
            done.append(str(row.get("id")))
        lines.append(json.dumps(row, ensure_ascii=False))
    unknown = sorted(wanted - set(done))
    if unknown:
        raise ConfigError(f"no draft row {', '.join(map(repr, unknown))} in "
                          f"{display(path, root)} (already reviewed, or not there); list the "
                          f"drafts with `passline golden review {name}@{version}`")
    atomic_write_text(path, "\n".join(lines) + "\n")
    return done, unreviewed(path, display(path, root))
