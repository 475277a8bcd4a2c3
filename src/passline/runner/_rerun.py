"""Confirmation trials: new trials of chosen cases, run by a child pytest session.

The gate asks for them (``passline.compare.confirm``) when a must-pass case newly fails or
a drop is borderline. A child ``pytest`` session collects the same eval functions, so the new
trials are scored exactly as the first ones (scorers, threshold, and the eval's own
assertions), whatever started the gate: the end of a pytest session, ``passline gate
--confirm``, or a benchmark. Trial numbers start at ``CONFIRM_TRIAL_BASE`` so the model
calls are fresh samples (the trial is part of the seed and of the cache key).

A side can be re-run only with the agent code it was recorded with: a record whose git
commit differs from this checkout's is not re-run (its recorded trials are all there is).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from passline.errors import InfrastructureError

log = logging.getLogger(__name__)

RERUN_OPTION = "--passline-rerun"
Outcomes = dict[tuple[str, str, str], list[tuple[str, float]]]  # (side, eval, case) -> trials
# settings that change what a model samples; every other setting is this project's own
SAMPLING_SETTINGS = ("temperature", "seed", "judge_model")


@dataclasses.dataclass(frozen=True)
class SideSpec:
    """How to run one side again: its variant and the settings it sampled with."""

    variant: Mapping[str, Any]  # {"name", "model", "prompts", "params"}
    settings: Mapping[str, Any]  # values of SAMPLING_SETTINGS

    @property
    def group(self) -> str:
        """Sides with the same settings share one child session."""
        return json.dumps(self.settings, sort_keys=True, default=str)


def side_from_manifest(manifest: Mapping[str, Any]) -> SideSpec | None:
    variant = manifest.get("variant")
    if not isinstance(variant, Mapping) or not variant.get("model") or not variant.get(
            "prompts"):
        return None
    raw = manifest.get("settings")
    settings: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    return SideSpec(dict(variant), {k: settings.get(k) for k in SAMPLING_SETTINGS
                                    if settings.get(k) not in (None, "")})


def same_code(manifest: Mapping[str, Any], root: Path) -> tuple[bool, str]:
    """Whether this checkout runs the agent code ``manifest`` was recorded with."""
    from passline.records._write import git_sha

    here, there = git_sha(root), manifest.get("git_sha")
    if not there:
        return False, f"run {manifest.get('run_id')} recorded no git commit"
    if here != there:
        return False, (f"run {manifest.get('run_id')} was recorded at commit {str(there)[:10]}, "
                       f"this checkout is at {str(here)[:10] if here else 'no commit'}")
    return True, ""


class SessionRerun:
    """A :class:`passline.compare.Rerun` that runs each batch in child pytest sessions
    (one per distinct sampling settings, in parallel), from ``root``."""

    def __init__(self, root: Path, *, baseline: SideSpec | None, candidate: SideSpec,
                 extra_args: Sequence[str] = (), timeout_s: float = 3600.0) -> None:
        self.root = Path(root)
        self.sides = {"candidate": candidate}
        if baseline is not None:
            self.sides["baseline"] = baseline
        if baseline is not None and baseline.variant.get("name") == candidate.variant.get(
                "name") and baseline.group == candidate.group:
            # one child session cannot hold two variants of one name: rename the baseline's
            baseline = dataclasses.replace(baseline, variant={
                **baseline.variant, "name": f"{baseline.variant.get('name')}-baseline"})
            self.sides["baseline"] = baseline
        self.extra_args = list(extra_args)
        self.timeout_s = timeout_s
        self.runs = 0

    @property
    def baseline_available(self) -> bool:
        return "baseline" in self.sides

    def __call__(self, requests: Sequence[Any]) -> Outcomes:
        groups: dict[str, list[Any]] = {}
        for r in requests:
            if r.side in self.sides:
                groups.setdefault(self.sides[r.side].group, []).append(r)
        out: Outcomes = {}
        with ThreadPoolExecutor(max_workers=max(len(groups), 1)) as pool:
            for part in pool.map(self._run_group, groups.values()):
                out.update(part)
        self.runs += sum(r.trials for r in requests if r.side in self.sides)
        return out

    def _run_group(self, requests: list[Any]) -> Outcomes:
        sides = {r.side for r in requests}
        specs = {s: self.sides[s] for s in sides}
        first = next(iter(specs.values()))
        by_name = {str(spec.variant["name"]): side for side, spec in specs.items()}
        plan = [{"variant": str(specs[r.side].variant["name"]), "eval": r.eval,
                 "case_id": r.case_id, "first_trial": r.first_trial, "trials": r.trials}
                for r in requests]
        nodeids = sorted({r.eval for r in requests})
        with tempfile.TemporaryDirectory(prefix="passline-rerun-") as tmp:
            plan_path = Path(tmp) / "plan.json"
            plan_path.write_text(json.dumps({"schema_version": 1, "items": plan}),
                                 encoding="utf-8")
            cmd = [sys.executable, "-m", "pytest", *nodeids, "-q", "--tb=no", "-o", "addopts=",
                   "-p", "no:cacheprovider", "-p", "no:randomly",
                   f"{RERUN_OPTION}={plan_path}", f"--passline-run-dir={Path(tmp) / 'runs'}"]
            for spec in specs.values():
                v = spec.variant
                cmd += ["--passline-variant", f"{v['name']}={v['model']}:{v['prompts']}"]
            for key, value in first.settings.items():
                cmd.append(f"--passline-{key.replace('_', '-')}={value}")
            cmd += self.extra_args
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("PYTEST_", "PASSLINE_RUN_DIR"))}
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(self.root), os.environ.get("PYTHONPATH", "")) if p)
            log.info("confirmation runs: %s", " ".join(cmd))
            try:
                proc = subprocess.run(cmd, cwd=self.root, env=env, capture_output=True,
                                      text=True, timeout=self.timeout_s, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise InfrastructureError(f"confirmation runs could not complete: {exc}") from exc
            if proc.returncode not in (0, 1):
                tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
                raise InfrastructureError(
                    f"confirmation runs failed (pytest exit code {proc.returncode}) in "
                    f"{self.root}:\n" + "\n".join(tail))
            return _collect(Path(tmp) / "runs", by_name)


def _collect(run_root: Path, by_name: Mapping[str, str]) -> Outcomes:
    from passline.records import read_rows

    rows: dict[tuple[str, str, str], list[tuple[int, str, float]]] = {}
    for run_dir in sorted(run_root.glob("*")) if run_root.is_dir() else ():
        for row in read_rows(run_dir):
            side = by_name.get(str(row.get("variant")))
            if side is None:
                continue
            rows.setdefault((side, str(row["eval"]), str(row["case_id"])), []).append(
                (int(row.get("trial") or 0), str(row["status"]),
                 float(row.get("score") or 0.0)))
    return {k: [(status, score) for _, status, score in sorted(v)] for k, v in rows.items()}


def read_plan(path: str | os.PathLike[str]) -> dict[tuple[str, str], list[tuple[str, int, int]]]:
    """The child session's plan: (variant name, eval) -> [(case_id, first_trial, trials)]."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        items = doc["items"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        from passline.errors import ConfigError

        raise ConfigError(f"{RERUN_OPTION} {path}: unreadable plan ({exc})") from exc
    plan: dict[tuple[str, str], list[tuple[str, int, int]]] = {}
    for it in items:
        plan.setdefault((str(it["variant"]), str(it["eval"])), []).append(
            (str(it["case_id"]), int(it["first_trial"]), int(it["trials"])))
    return plan


def rerun_params(normal: Sequence[tuple[str, Any]], eval_id: str,
                 plan: Mapping[tuple[str, str], list[tuple[str, int, int]]]
                 ) -> list[tuple[str, Any]]:
    """The child session's items for one eval: the planned trials of the planned cases, built
    from the eval's ordinary ``(test id, Param)`` list (which fixes agent, case and variant)."""
    out: list[tuple[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for _, param in normal:
        job = param.job
        key = (job.variant.name, job.case.id)
        if key in seen:
            continue
        seen.add(key)
        for case_id, first, n in plan.get((job.variant.name, eval_id), ()):
            if case_id != job.case.id:
                continue
            for trial in range(first, first + n):
                new = dataclasses.replace(param, job=dataclasses.replace(job, trial=trial))
                out.append((f"{job.variant.name}:{new.id}", new))
    return out
