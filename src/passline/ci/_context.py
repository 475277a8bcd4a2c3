"""Where a CI job runs: the repository, pull request, token and output files it was given.

Read from the environment GitHub Actions sets (``GITHUB_REPOSITORY``, ``GITHUB_EVENT_PATH``,
``GITHUB_STEP_SUMMARY``...); every value can also be given on the command line, which is how
other CI systems (or a laptop) use the same commands.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from passline.ci._github import DEFAULT_API_URL


@dataclasses.dataclass(frozen=True)
class CIContext:
    """What the ``passline ci`` commands need to know about the job. ``token`` is held only
    to make API calls: it is excluded from ``repr`` and never written anywhere."""

    repo: str = ""  # owner/name
    pr: int | None = None  # pull request number, None outside a pull request
    fork: bool = False  # the pull request comes from another repository
    api_url: str = DEFAULT_API_URL
    server_url: str = "https://github.com"
    run_id: str = ""
    step_summary: str = ""  # file the job summary is appended to ($GITHUB_STEP_SUMMARY)
    token: str = dataclasses.field(default="", repr=False)

    @property
    def run_url(self) -> str:
        """The workflow run's page (its artifacts are listed there), or "" when unknown."""
        if not (self.repo and self.run_id):
            return ""
        return f"{self.server_url.rstrip('/')}/{self.repo}/actions/runs/{self.run_id}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, token_env: str = "GITHUB_TOKEN",
                 **overrides: Any) -> CIContext:
        """The context of a GitHub Actions job; ``overrides`` (not None) win over it."""
        env = os.environ if env is None else env
        event = _event(env.get("GITHUB_EVENT_PATH", ""))
        pull = event.get("pull_request") if isinstance(event.get("pull_request"), dict) else {}
        number = pull.get("number") if pull else None
        if number is None and isinstance(event.get("issue"), dict) and event["issue"].get(
                "pull_request"):
            number = event["issue"].get("number")  # issue_comment on a pull request
        head = ((pull or {}).get("head") or {}).get("repo") or {}
        base = ((pull or {}).get("base") or {}).get("repo") or {}
        fork = bool(head.get("fork")) or (bool(head.get("full_name")) and bool(
            base.get("full_name")) and head.get("full_name") != base.get("full_name"))
        values: dict[str, Any] = {
            "repo": env.get("GITHUB_REPOSITORY", ""),
            "pr": int(number) if isinstance(number, int | str) and str(number).isdigit() else None,
            "fork": fork,
            "api_url": env.get("GITHUB_API_URL") or DEFAULT_API_URL,
            "server_url": env.get("GITHUB_SERVER_URL") or "https://github.com",
            "run_id": env.get("GITHUB_RUN_ID", ""),
            "step_summary": env.get("GITHUB_STEP_SUMMARY", ""),
            "token": env.get(token_env, ""),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _event(path: str) -> dict[str, Any]:
    """The webhook payload that triggered the run ({} when absent or unreadable)."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
