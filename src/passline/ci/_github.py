"""A small GitHub REST client for the CI commands: issue comments and Actions artifacts.

Built on ``httpx2`` (the HTTP client the ``openai`` SDK already brings): no hand-written HTTP.
What it adds is GitHub's etiquette: the versioned media type, ``Link``-header pagination,
and rate limits honoured (``Retry-After``, else ``x-ratelimit-reset`` when the quota is
spent), with a cap on the total wait so a CI job never sleeps for an hour. The token goes
only into the ``Authorization`` header of requests to the API's own origin (httpx2 drops it
on a redirect to another origin, such as artifact storage) and into no message or log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from passline.errors import ExitCode, InfrastructureError

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
DEFAULT_API_URL = "https://api.github.com"
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
MAX_ATTEMPTS = 5
PER_PAGE = 100


class GitHubError(InfrastructureError):
    """The GitHub API refused or failed a request. ``status`` is the HTTP status (0: no
    response at all)."""

    def __init__(self, message: str, *, status: int = 0, method: str = "", path: str = "") -> None:
        self.status = status
        self.method = method
        self.path = path
        super().__init__(message)


class PermissionDenied(GitHubError):
    """403/404 on a write: the token may not do this (a pull request from a fork gets a
    read-only token), or the resource is not visible to it."""

    exit_code = ExitCode.INFRASTRUCTURE_ERROR


class RateLimited(GitHubError):
    """Still rate limited after waiting as long as allowed (``max_wait_s``)."""


def _wait_hint(response: Any, now: float) -> float | None:
    """Seconds the server asks us to wait, or None when the response is no rate limit.

    GitHub signals a rate limit with 429, or 403 plus ``Retry-After`` (secondary limits) or
    ``x-ratelimit-remaining: 0`` (the hourly quota, reset at the epoch ``x-ratelimit-reset``).
    A 403 without those headers is a permission problem, not a rate limit.
    """
    headers = response.headers
    if response.status_code not in (403, 429):
        return None
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        try:
            return max(float(retry_after), 0.0)
        except ValueError:
            return 60.0  # an HTTP date: GitHub does not send one; wait a minute
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
        try:
            return max(float(headers["x-ratelimit-reset"]) - now, 0.0) + 1.0
        except ValueError:
            return 60.0
    if response.status_code == 429:
        return 60.0  # GitHub's documented advice when no header says how long
    return None


def _message(response: Any) -> str:
    """GitHub's own error message (JSON ``message``), shortened; never the headers."""
    try:
        data = response.json()
        text = str(data.get("message") or "") if isinstance(data, Mapping) else ""
    except ValueError:
        text = response.text[:200]
    return " ".join(text.split())[:300] or response.reason_phrase or "no message"


class GitHubAPI:
    """The few REST endpoints passline uses, with pagination and rate-limit waits.

    >>> api = GitHubAPI(token="***", api_url="https://api.github.com")  # doctest: +SKIP
    >>> [c["id"] for c in api.issue_comments("octo/repo", 42)]          # doctest: +SKIP
    """

    def __init__(self, token: str, api_url: str = DEFAULT_API_URL, *, timeout_s: float = 30.0,
                 max_wait_s: float = 120.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, transport: Any = None) -> None:
        import httpx2

        from passline import __version__

        self.api_url = api_url.rstrip("/")
        self.max_wait_s = max_wait_s
        self.waited_s = 0.0
        self._sleep = sleep
        self._clock = clock
        headers = {"Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": API_VERSION,
                   "User-Agent": f"passline/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx2.Client(base_url=self.api_url, headers=headers, timeout=timeout_s,
                                   follow_redirects=True, transport=transport)

    def __enter__(self) -> GitHubAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:  # never the token
        return f"GitHubAPI({self.api_url!r})"

    # -- transport ------------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: Any = None,
                params: Mapping[str, Any] | None = None) -> Any:
        """One API call; waits out rate limits and retries 5xx (capped), raises GitHubError
        (PermissionDenied for 403/404 that are no rate limit) for any other failure."""
        import httpx2

        last = ""
        for attempt in range(MAX_ATTEMPTS):
            try:
                response = self._http.request(method, path, json=json, params=params)
            except httpx2.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                self._pause(min(2.0 ** attempt, 10.0), method, path, last)
                continue
            if response.is_success:
                return response
            wait = _wait_hint(response, self._clock())
            if wait is not None:
                last = f"rate limited ({response.status_code}: {_message(response)})"
                if self.waited_s + wait > self.max_wait_s:
                    raise RateLimited(
                        f"GitHub API {method} {path}: {last}; the limit resets in {wait:.0f} s, "
                        f"more than the {self.max_wait_s:.0f} s this job may wait "
                        "(--max-wait)", status=response.status_code, method=method, path=path)
                self._pause(wait, method, path, last)
                continue
            if response.status_code in RETRYABLE_STATUS:
                last = f"{response.status_code}: {_message(response)}"
                self._pause(min(2.0 ** attempt, 10.0), method, path, last)
                continue
            kind = PermissionDenied if response.status_code in (401, 403, 404) else GitHubError
            raise kind(f"GitHub API {method} {path}: {response.status_code} "
                       f"{_message(response)}", status=response.status_code, method=method,
                       path=path)
        raise GitHubError(f"GitHub API {method} {path}: gave up after {MAX_ATTEMPTS} attempts "
                          f"({last})", method=method, path=path)

    def _pause(self, seconds: float, method: str, path: str, why: str) -> None:
        if self.waited_s + seconds > self.max_wait_s:
            raise GitHubError(f"GitHub API {method} {path}: {why}; not retrying past the "
                              f"{self.max_wait_s:.0f} s wait budget", method=method, path=path)
        log.warning("GitHub API %s %s: %s; retrying in %.1f s", method, path, why, seconds)
        self.waited_s += seconds
        self._sleep(seconds)

    def paginate(self, path: str, params: Mapping[str, Any] | None = None,
                 key: str | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, following ``Link: <...>; rel="next"``. ``key`` names
        the list inside an object response (``workflow_runs``, ``artifacts``)."""
        url: str | None = path
        query: Mapping[str, Any] | None = {"per_page": PER_PAGE, **(params or {})}
        while url:
            response = self.request("GET", url, params=query)
            data = response.json()
            items = data.get(key, []) if key and isinstance(data, Mapping) else data
            yield from items
            url = (response.links.get("next") or {}).get("url")
            query = None  # the next link carries the query

    # -- endpoints ------------------------------------------------------------------------

    def issue_comments(self, repo: str, number: int) -> Iterator[dict[str, Any]]:
        return self.paginate(f"/repos/{repo}/issues/{number}/comments")

    def create_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        data: dict[str, Any] = self.request(
            "POST", f"/repos/{repo}/issues/{number}/comments", json={"body": body}).json()
        return data

    def update_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        data: dict[str, Any] = self.request(
            "PATCH", f"/repos/{repo}/issues/comments/{comment_id}", json={"body": body}).json()
        return data

    def workflow_runs(self, repo: str, workflow: str, *, branch: str,
                      status: str = "success") -> Iterator[dict[str, Any]]:
        return self.paginate(f"/repos/{repo}/actions/workflows/{workflow}/runs",
                             {"branch": branch, "status": status}, key="workflow_runs")

    def run_artifacts(self, repo: str, run_id: int) -> Iterator[dict[str, Any]]:
        return self.paginate(f"/repos/{repo}/actions/runs/{run_id}/artifacts", key="artifacts")

    def download_artifact(self, repo: str, artifact_id: int) -> bytes:
        """The artifact's zip archive (GitHub answers with a redirect to storage)."""
        content: bytes = self.request(
            "GET", f"/repos/{repo}/actions/artifacts/{artifact_id}/zip").content
        return content
