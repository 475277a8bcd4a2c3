"""``--passline-resume RUN``: continue an interrupted or crashed session into the same records.

A session writes one run record per variant, all named ``<session id>-<variant>``; each
manifest carries a ``session`` block (id, variants, trials, shard, the pytest arguments) so
the session can be rebuilt. Resuming runs only the items without a result row (or whose row
says the endpoint was down: those were never really run), appends to the same
``results.jsonl``, and reuses the session's call journal, so model calls answered before the
crash are not made (nor paid) again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from passline._types import Variant
from passline.errors import ConfigError
from passline.models._health import DOWN_MARKER
from passline.records._write import row_key
from passline.settings import Settings

RowKey = tuple[str, str, str, str, int]


@dataclasses.dataclass(frozen=True)
class ResumePlan:
    """What a resumed session needs to know about the session it continues."""

    session_id: str
    variants: tuple[Variant, ...]
    runs: Mapping[str, Path]  # variant name -> its run dir (present ones)
    finished: Mapping[str, frozenset[RowKey]]  # variant name -> items with a result
    outage_rows: Mapping[str, int]  # variant name -> rows to drop and run again
    planned: Mapping[str, int]  # variant name -> items the session had planned
    trials_override: int | None
    shard: tuple[int, int] | None
    settings: Mapping[str, Any]  # the recorded (public) settings
    args: tuple[str, ...]
    invocation_dir: str | None


def is_outage_row(row: Mapping[str, Any]) -> bool:
    """A row of an item that never really ran: its endpoint had been declared down."""
    run = row.get("run") or {}
    texts = (row.get("error"), run.get("error") if isinstance(run, Mapping) else None)
    return row.get("status") == "error" and any(DOWN_MARKER in str(t) for t in texts if t)


def find_run(target: str, run_root: Path) -> Path:
    """A run directory given as a path or as a run id under ``run_root``."""
    for candidate in (Path(target), run_root / target):
        if (candidate / "manifest.json").is_file():
            return candidate
    raise ConfigError(f"--passline-resume {target}: no run record there (no manifest.json in "
                      f"{target} nor in {run_root / target}); list runs with "
                      "`passline runs list`")


def plan(target: str, run_root: Path) -> ResumePlan:
    """Read the session behind run ``target``; ConfigError if there is nothing to resume."""
    from passline.records._read import iter_results, read_manifest, results_path

    run_dir = find_run(target, run_root)
    manifest = read_manifest(run_dir)
    session = manifest.get("session") or {}
    variant = Variant(**{k: v for k, v in (manifest.get("variant") or {}).items()
                         if k in ("name", "model", "prompts", "params")})
    variants = tuple(Variant(**{k: v for k, v in d.items()
                                if k in ("name", "model", "prompts", "params")})
                     for d in session.get("variants") or []) or (variant,)
    shard_list = session.get("shard") or manifest.get("shard")
    shard = (int(shard_list[0]), int(shard_list[1])) if shard_list else None
    session_id = session.get("id") or _session_id_from(manifest, variant, shard)
    root = run_dir.parent
    runs: dict[str, Path] = {}
    finished: dict[str, frozenset[RowKey]] = {}
    outages: dict[str, int] = {}
    states = []
    planned: dict[str, int] = {}
    for v in variants:
        path = root / run_id(session_id, v.name, shard)
        if not (path / "manifest.json").is_file():
            continue
        runs[v.name] = path
        recorded = read_manifest(path)
        states.append((recorded.get("completion") or {}).get("state"))
        for name, n in ((recorded.get("session") or {}).get("planned_items") or {}).items():
            planned[name] = max(planned.get(name, 0), int(n))
        keys: set[RowKey] = set()
        dropped = 0
        try:
            results_path(path)
        except Exception:  # no row written yet
            rows: list[dict[str, Any]] = []
        else:
            rows = list(iter_results(path))
        for row in rows:
            if is_outage_row(row):
                dropped += 1
            else:
                keys.add(row_key(row))
        finished[v.name] = frozenset(keys)
        outages[v.name] = dropped
    if states and all(s == "complete" for s in states) and not any(outages.values()):
        raise ConfigError(f"--passline-resume {target}: this run is complete; nothing to "
                          "resume (start a new session without --passline-resume)")
    return ResumePlan(session_id=session_id, variants=variants, runs=runs, finished=finished,
                      outage_rows=outages, planned=planned,
                      trials_override=session.get("trials_override"),
                      shard=shard, settings=dict(manifest.get("settings") or {}),
                      args=tuple(session.get("args") or ()),
                      invocation_dir=session.get("invocation_dir"))


# settings that change what a run produces: a resumed session keeps the recorded values
RECORDED_SETTINGS = ("agent", "temperature", "seed", "trials", "judge_model")


def reconcile(settings: Settings, plan: ResumePlan) -> Settings:
    """``settings`` with the recorded values of ``RECORDED_SETTINGS`` (so resumed items are
    sampled as the finished ones were); a different value given on the command line is a
    ConfigError rather than silently mixed results."""
    changes: dict[str, Any] = {}
    for name in RECORDED_SETTINGS:
        if name not in plan.settings or plan.settings[name] == getattr(settings, name):
            continue
        if settings.sources.get(name) == "cli":
            raise ConfigError(
                f"--passline-resume: the run was recorded with {name}={plan.settings[name]!r}, "
                f"this command line asks for {getattr(settings, name)!r}; drop "
                f"--passline-{name.replace('_', '-')} (a resumed run keeps its settings) or "
                "start a new session")
        changes[name] = plan.settings[name]
    if not changes:
        return settings
    sources = {**settings.sources, **{name: "resumed run" for name in changes}}
    return dataclasses.replace(settings, **changes, sources=sources)


def run_id(session_id: str, variant: str, shard: tuple[int, int] | None) -> str:
    suffix = f"-shard{shard[0]}of{shard[1]}" if shard else ""
    return f"{session_id}-{variant}{suffix}"


def _session_id_from(manifest: Mapping[str, Any], variant: Variant,
                     shard: tuple[int, int] | None) -> str:
    """Records written before the ``session`` block: the id is the run id minus the suffix."""
    rid = str(manifest.get("run_id") or "")
    suffix = run_id("", variant.name, shard)
    if not rid.endswith(suffix) or len(rid) == len(suffix):
        raise ConfigError(f"--passline-resume: cannot tell the session of run {rid!r}; resume "
                          "runs written by this passline version")
    return rid[: -len(suffix)]
