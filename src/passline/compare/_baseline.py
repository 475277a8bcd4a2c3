"""Baselines: a run's per-case summaries saved under a name, with history and rollback.

A baseline file (reports/baselines/NAME.json) holds what compare needs — per (eval, case)
trial outcomes and mean score, cost and latency, tags and cluster — and a manifest
summary, but no traces or answers, so it is small enough to check in. Every write is
atomic (temp file + os.replace); replaced versions go to NAME.history/<timestamp>.json.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from passline._atomic import atomic_write_text
from passline._paths import check_name, inside
from passline.compare._cases import CaseKey, CaseSummary, summarize_rows
from passline.compare._io import check_schema_version, iter_results, read_manifest
from passline.errors import ConfigError, RecordError

BASELINE_KIND = "passline-baseline"
DEFAULT_DIR = "reports/baselines"
_MANIFEST_KEYS = ("run_id", "created_at", "finished_at", "variant", "passline_version", "git_sha",
                  "datasets", "trials", "totals", "cache", "completion", "shard", "settings")


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A loaded baseline file."""

    name: str
    path: Path | None
    saved_at: str
    source_run: str | None
    manifest: dict[str, Any]
    cases: dict[CaseKey, CaseSummary]


@dataclasses.dataclass(frozen=True, slots=True)
class BaselineInfo:
    """One line of ``passline baseline list``."""

    name: str
    path: Path
    run_id: str
    saved_at: str
    variant: str
    n_cases: int
    n_history: int


def _check_name(name: str) -> None:
    if name.endswith(".json"):
        raise ConfigError(f"baseline name {name!r} is not valid; give it without the .json "
                          "suffix (e.g. main or sim-2.v1)")
    check_name(name, "baseline name")  # the rule every name that becomes a path follows


def baseline_path(name: str, directory: str | Path = DEFAULT_DIR) -> Path:
    _check_name(name)
    return inside(directory, f"{name}.json")


def history_dir(name: str, directory: str | Path = DEFAULT_DIR) -> Path:
    _check_name(name)
    return inside(directory, f"{name}.history")


def _timestamp() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _atomic_write(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def build_baseline(name: str, run_dir: str | Path) -> dict[str, Any]:
    """The JSON document of a baseline made from a run directory."""
    _check_name(name)
    manifest = read_manifest(run_dir)
    cases = summarize_rows(iter_results(run_dir), where=str(run_dir))
    return {
        "schema_version": 1,
        "kind": BASELINE_KIND,
        "name": name,
        "saved_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "source_run": str(run_dir),
        "manifest": {k: manifest.get(k) for k in _MANIFEST_KEYS},
        "cases": [cases[k].to_dict() for k in sorted(cases)],
    }


def _dump(doc: Mapping[str, Any]) -> str:
    """Readable header, then one compact line per case: small files and line-per-case diffs."""
    head = {k: v for k, v in doc.items() if k != "cases"}
    lines = [json.dumps(c, separators=(",", ":")) for c in doc.get("cases") or ()]
    text = json.dumps(head, indent=1)[:-2]  # reopen the object to append "cases"
    return text + ',\n "cases": [\n' + ",\n".join(lines) + "\n ]\n}\n"


def save_baseline(
    name: str, run_dir: str | Path, *, directory: str | Path = DEFAULT_DIR
) -> Path:
    """Save a run as baseline NAME; refuses to overwrite (use ``promote_baseline``)."""
    path = baseline_path(name, directory)
    if path.exists():
        raise ConfigError(
            f"baseline {name!r} already exists at {path}; replace it with "
            f"`passline baseline promote {name} RUN_DIR` (keeps the old one in history)"
        )
    _atomic_write(path, _dump(build_baseline(name, run_dir)))
    return path


def promote_baseline(
    name: str, run_dir: str | Path, *, directory: str | Path = DEFAULT_DIR
) -> Path:
    """Make a run the new baseline NAME, keeping the current one in NAME.history/."""
    path = baseline_path(name, directory)
    doc = build_baseline(name, run_dir)  # read the run first: a bad run must not touch history
    if path.exists():
        _atomic_write(history_dir(name, directory) / f"{_timestamp()}.json",
                      path.read_text(encoding="utf-8"))
    _atomic_write(path, _dump(doc))
    return path


def history(name: str, directory: str | Path = DEFAULT_DIR) -> list[Path]:
    """Earlier versions of baseline NAME, oldest first."""
    folder = history_dir(name, directory)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def rollback_baseline(name: str, *, directory: str | Path = DEFAULT_DIR) -> Path:
    """Restore the most recent earlier version of NAME; the replaced one is kept in
    NAME.history/discarded/ so a rollback can itself be undone by hand."""
    path = baseline_path(name, directory)
    entries = history(name, directory)
    if not entries:
        raise RecordError(
            f"baseline {name!r} has no history in {history_dir(name, directory)}; "
            "nothing to roll back to (history is kept by `passline baseline promote`)"
        )
    latest = entries[-1]
    load_baseline(latest)  # refuse to restore something unreadable
    if path.exists():
        _atomic_write(history_dir(name, directory) / "discarded" / f"{_timestamp()}.json",
                      path.read_text(encoding="utf-8"))
    os.replace(latest, path)
    return path


def load_baseline(path: str | Path) -> Baseline:
    """Read a baseline file, checking its kind and schema version."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RecordError(f"{path}: unreadable baseline file ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("kind") != BASELINE_KIND:
        raise RecordError(
            f"{path}: not a passline baseline file (no \"kind\": \"{BASELINE_KIND}\"); "
            "make one with `passline baseline save NAME RUN_DIR`"
        )
    check_schema_version(doc.get("schema_version"), where=str(path))
    cases: dict[CaseKey, CaseSummary] = {}
    for item in doc.get("cases") or ():
        summary = CaseSummary.from_dict(item)
        cases[summary.key] = summary
    return Baseline(
        name=str(doc.get("name") or path.stem),
        path=path,
        saved_at=str(doc.get("saved_at") or ""),
        source_run=doc.get("source_run"),
        manifest=dict(doc.get("manifest") or {}),
        cases=cases,
    )


def list_baselines(directory: str | Path = DEFAULT_DIR) -> list[BaselineInfo]:
    """Every baseline in ``directory``, by name."""
    folder = Path(directory)
    out: list[BaselineInfo] = []
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        base = load_baseline(path)
        variant = base.manifest.get("variant") or {}
        label = (f"{variant.get('name', '?')}={variant.get('model', '?')}:"
                 f"{variant.get('prompts', '?')}") if variant else "?"
        out.append(BaselineInfo(
            name=path.stem,
            path=path,
            run_id=str(base.manifest.get("run_id") or ""),
            saved_at=base.saved_at,
            variant=label,
            n_cases=len(base.cases),
            n_history=len(history(path.stem, folder)),
        ))
    return out
