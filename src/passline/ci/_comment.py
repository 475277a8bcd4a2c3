"""One sticky pull-request comment per workflow, updated in place on every push.

The comment starts with a hidden marker (``<!-- passline:comment KEY -->``); each run looks
for the comment that starts with its marker and edits it, or creates it when there is none.
A marker quoted inside someone's reply does not count (it must open the comment), and a
comment that vanished or may not be edited between listing and editing is replaced by a new
one rather than failing the job.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from passline.ci._github import GitHubAPI, PermissionDenied

COMMENT_LIMIT = 65_536  # GitHub refuses longer comment bodies
_KEY = re.compile(r"^[A-Za-z0-9._/-]{1,100}$")


def marker(key: str) -> str:
    """The hidden first line of the comment of ``key`` (one sticky comment per key)."""
    return f"<!-- passline:comment {key} -->"


def valid_key(key: str) -> bool:
    return bool(_KEY.match(key))


def comment_body(summary: str, key: str) -> str:
    """The marker, then the summary, within GitHub's limit (summary.md is built to fit; a
    summary from elsewhere is cut between lines as a last resort)."""
    head = marker(key) + "\n"
    body = head + summary
    if len(body) <= COMMENT_LIMIT:
        return body
    note = "\n\n**Summary cut to fit a pull-request comment**; the full report is linked above.\n"
    room = COMMENT_LIMIT - len(head) - len(note)
    cut = summary[:room]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    return head + cut + note


@dataclasses.dataclass(frozen=True)
class CommentResult:
    """What happened: ``action`` is "created", "updated" or "unchanged"."""

    action: str
    comment_id: int
    url: str
    replaced_stale: int = 0  # marked comments that could not be edited (deleted, not ours)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _opens_with_marker(comment: dict[str, Any], mark: str) -> bool:
    return str(comment.get("body") or "").lstrip().startswith(mark)


def upsert_comment(api: GitHubAPI, repo: str, pr: int, summary: str, *, key: str = "passline",
                   author: str | None = None) -> CommentResult:
    """Create the sticky comment of ``key`` on pull request ``pr``, or edit it in place.

    ``author`` (a login such as ``github-actions[bot]``) restricts which marked comments are
    ours. With several marked comments (two jobs raced once), the oldest is kept up to date.
    Raises :class:`PermissionDenied` when the token may not comment (a fork's read-only
    token) and other :class:`GitHubError` subclasses for API failures.
    """
    mark = marker(key)
    body = comment_body(summary, key)
    ours = [c for c in api.issue_comments(repo, pr)
            if _opens_with_marker(c, mark)
            and (author is None or (c.get("user") or {}).get("login") == author)]
    stale = 0
    for comment in ours:
        if comment.get("body") == body:
            return CommentResult("unchanged", int(comment["id"]),
                                 str(comment.get("html_url") or ""))
        try:
            data = api.update_comment(repo, int(comment["id"]), body)
        except PermissionDenied:
            stale += 1  # deleted since it was listed, or written by someone else
            continue
        return CommentResult("updated", int(data.get("id", comment["id"])),
                             str(data.get("html_url") or ""), stale)
    data = api.create_comment(repo, pr, body)
    return CommentResult("created", int(data["id"]), str(data.get("html_url") or ""), stale)
