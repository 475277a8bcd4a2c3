"""CI glue: the pull-request loop on GitHub Actions (and the same steps on any CI).

Pipeline position: records -> compare -> report -> **ci**. These functions read what the
earlier stages wrote (run records, summary.md) and talk to the GitHub REST API: one sticky
pull-request comment per workflow, the job summary, baselines from the main branch's
artifacts. The ``passline ci`` commands and the repository's ``action.yml`` are thin shells
around them.

>>> from passline.ci import GitHubAPI, upsert_comment  # doctest: +SKIP
>>> with GitHubAPI(token) as api:                       # doctest: +SKIP
...     upsert_comment(api, "octo/repo", 42, summary_md, key="evals")
"""

from __future__ import annotations

from passline.ci._actions import annotation, append_step_summary, set_outputs
from passline.ci._artifacts import FetchedBaseline, fetch_baseline
from passline.ci._comment import COMMENT_LIMIT, CommentResult, marker, upsert_comment
from passline.ci._context import CIContext
from passline.ci._github import GitHubAPI, GitHubError, PermissionDenied, RateLimited

__all__ = [
    "COMMENT_LIMIT",
    "CIContext",
    "CommentResult",
    "FetchedBaseline",
    "GitHubAPI",
    "GitHubError",
    "PermissionDenied",
    "RateLimited",
    "annotation",
    "append_step_summary",
    "fetch_baseline",
    "marker",
    "set_outputs",
    "upsert_comment",
]
