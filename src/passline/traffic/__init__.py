"""passline.traffic: recorded production conversations, imported, redacted and stored.

``import_files`` reads OpenAI chat-completions logs (JSONL, as proxies and gateways write
them), OTLP JSON spans following the OpenTelemetry GenAI conventions, and passline's own run
records; every record is redacted (:mod:`passline.redaction`) before it is written to the
:class:`TrafficStore`. Shadow runs (:mod:`passline.shadow`) and golden drafts read it back.

>>> from passline.traffic import TrafficStore, import_files
>>> result = import_files(["gateway.jsonl"], TrafficStore(".passline/traffic"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from passline.errors import ConfigError, DatasetError
from passline.traffic._record import (
    FORMATS,
    TRAFFIC_SCHEMA_VERSION,
    TrafficRecord,
    case_input,
    redacted,
)
from passline.traffic._store import ImportResult, Selection, TrafficStore, selection_version

__all__ = [
    "FORMATS",
    "TRAFFIC_SCHEMA_VERSION",
    "ImportResult",
    "Selection",
    "TrafficRecord",
    "TrafficStore",
    "case_input",
    "detect_format",
    "import_files",
    "priced",
    "read_file",
    "redacted",
    "selection_version",
    "store_for",
]


def store_for(settings: Any, root: str | Path | None = None) -> TrafficStore:
    """The traffic store of a project (``traffic_dir`` relative to its root)."""
    folder = Path(settings.traffic_dir)
    if not folder.is_absolute() and root is not None:
        folder = Path(root) / folder
    return TrafficStore(folder)


def _first_json(path: Path) -> Any:
    with path.open(encoding="utf-8-sig") as fh:
        head = fh.read(1 << 20)
    try:
        return json.loads(head)
    except json.JSONDecodeError:
        first = next((line for line in head.splitlines() if line.strip()), "")
        try:
            return json.loads(first)
        except json.JSONDecodeError:
            return None


def detect_format(path: str | Path) -> str:
    """``openai``, ``otlp`` or ``passline`` for a file or run directory (ConfigError when it
    is none of them)."""
    from passline.traffic import _openai, _otlp, _runs

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file or directory")
    if _runs.run_dir_of(path) is not None:
        return "passline"
    if path.is_dir():
        raise ConfigError(f"{path}: a directory that is not a passline run record (no "
                          "manifest.json); pass the traffic files themselves")
    first = _first_json(path)
    if _otlp.looks_like(first):
        return "otlp"
    if isinstance(first, dict) and _openai.looks_like(first):
        return "openai"
    raise DatasetError("unrecognised traffic format: expected chat-completions JSONL "
                       '({"request": ..., "response": ...} or a LiteLLM payload), OTLP JSON '
                       '("resourceSpans") or a passline run directory; pass --format to say '
                       "which", path=str(path), line=1)


def read_file(path: str | Path, fmt: str | None = None, *,
              group: bool = True) -> Iterator[TrafficRecord]:
    """The (unredacted) records of one traffic file; :func:`import_files` redacts them.
    ``group``: chat-completions lines sharing a ``trace_id`` are one conversation."""
    from passline.traffic import _openai, _otlp, _runs

    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    display = str(path)
    if fmt == "openai":
        return _openai.read(path, display=display, group=group)
    if fmt == "otlp":
        return _otlp.read(path, display=display)
    run_dir = _runs.run_dir_of(path)
    if run_dir is None:
        raise ConfigError(f"{path}: not a passline run directory (no manifest.json beside "
                          "results.jsonl)")
    return _runs.read(run_dir, display=display)


def priced(record: TrafficRecord,
           pricing: Mapping[str, Mapping[str, float]] | None = None) -> TrafficRecord:
    """The record with a cost from its tokens when the log gave none (list prices, or
    ``[tool.passline.pricing]``); unknown models keep ``cost_usd=None``."""
    from passline.models._pricing import price_for, usage_for

    if record.cost_usd is not None or not (record.prompt_tokens or record.completion_tokens):
        return record
    if price_for(record.model, pricing) is None:
        return record
    usage = usage_for(record.model, record.prompt_tokens, record.completion_tokens,
                      overrides=pricing)
    return dataclasses.replace(record, cost_usd=usage.cost_usd)


def import_files(paths: Sequence[str | Path], store: TrafficStore, *, fmt: str | None = None,
                 tags: Sequence[str] = (), group: bool = True,
                 pricing: Mapping[str, Mapping[str, float]] | None = None) -> ImportResult:
    """Read, redact and store the records of every file in one transaction: an unreadable
    line anywhere stores nothing (DatasetError with file:line). Records without a logged
    cost are priced from their tokens (:func:`priced`)."""
    if not paths:
        raise ConfigError("no traffic files given; pass one or more FILEs")
    bad = [t for t in tags if not t or " " in t]
    if bad:
        raise ConfigError(f"tags must be non-empty and without spaces, got {bad!r}")
    records: list[TrafficRecord] = []
    for path in paths:
        records.extend(priced(r, pricing) for r in read_file(path, fmt, group=group))
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    added, skipped, changed, by_source = store.add(records, imported_at=now, extra_tags=tags)
    return ImportResult(files=tuple(str(p) for p in paths), added=added, skipped=skipped,
                        redactions=changed, by_source=by_source)
