"""Baselines from the main branch: the newest baseline artifact of a workflow, downloaded.

The main-branch workflow saves its run as a baseline file (``passline baseline save``) and
uploads it as an Actions artifact; a pull request's job fetches the newest one with the
workflow token (``actions: read``). Artifacts are zip archives; they are unpacked with the
standard library, which refuses members that would land outside the target folder.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path
from typing import Any

from passline.ci._github import GitHubAPI
from passline.errors import InfrastructureError

MAX_RUNS_SEARCHED = 30


@dataclasses.dataclass(frozen=True)
class FetchedBaseline:
    """Where the baseline landed and which run made it."""

    path: Path  # a baseline file, or a run directory
    run_id: int
    run_url: str
    head_sha: str
    artifact: str

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "path": str(self.path)}


def fetch_baseline(api: GitHubAPI, repo: str, *, workflow: str, branch: str, artifact: str,
                   out_dir: str | Path) -> FetchedBaseline:
    """Download the artifact ``artifact`` of the newest successful run of ``workflow`` on
    ``branch`` into ``out_dir`` and return the baseline in it."""
    out = Path(out_dir)
    searched = 0
    for run in api.workflow_runs(repo, workflow, branch=branch):
        searched += 1
        found = next((a for a in api.run_artifacts(repo, int(run["id"]))
                      if a.get("name") == artifact and not a.get("expired")), None)
        if found is not None:
            data = api.download_artifact(repo, int(found["id"]))
            out.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                _check_members(archive, out)
                archive.extractall(out)
            return FetchedBaseline(_baseline_in(out, artifact), int(run["id"]),
                                   str(run.get("html_url") or ""), str(run.get("head_sha") or ""),
                                   artifact)
        if searched >= MAX_RUNS_SEARCHED:
            break
    raise InfrastructureError(
        f"no successful run of workflow {workflow} on {branch} in {repo} has an unexpired "
        f"artifact named {artifact!r} (searched {searched} run(s)). Run the workflow on "
        f"{branch} first (it saves the baseline), or check a baseline file in and pass its "
        "path instead.")


def _check_members(archive: zipfile.ZipFile, out: Path) -> None:
    root = out.resolve()
    for name in archive.namelist():
        target = (root / name).resolve()
        if root != target and root not in target.parents:
            raise InfrastructureError(f"artifact member {name!r} would unpack outside {out}; "
                                      "refusing the archive")


def _baseline_in(out: Path, artifact: str) -> Path:
    """The one baseline file (``*.json`` that is no manifest) or run directory unpacked."""
    runs = sorted(p.parent for p in out.rglob("manifest.json"))
    files = sorted(p for p in out.rglob("*.json") if p.name != "manifest.json"
                   and not any(p.is_relative_to(r) for r in runs)
                   and ".history" not in p.parent.name)
    found = [*files, *runs]
    if len(found) != 1:
        listing = ", ".join(str(p.relative_to(out)) for p in found) or "nothing usable"
        raise InfrastructureError(f"artifact {artifact!r} should hold one baseline file or one "
                                  f"run directory; it holds {listing}")
    return found[0]
