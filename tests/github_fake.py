"""A local fake of the GitHub REST endpoints passline's CI commands use, served for real.

A starlette app on 127.0.0.1 (uvicorn in a thread): issue comments (list with ``Link``
pagination, create, update), Actions workflow runs and artifacts (the zip download
redirects to a "storage" origin, as GitHub's does), a read-only mode (the token of a fork's
pull request), rate-limit responses queued on demand, and a log of every request.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

TOKEN = "ghs_fake-token-never-printed"


@dataclasses.dataclass
class Seen:
    method: str
    path: str
    query: str
    authorization: str | None


class FakeGitHub:
    def __init__(self) -> None:
        self.comments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.next_id = 1000
        self.read_only = False
        self.login = "github-actions[bot]"
        self.vanish_on_update: set[int] = set()  # deleted after being listed
        self.faults: list[tuple[str, int, dict[str, str]]] = []  # (method, status, headers)
        self.requests: list[Seen] = []
        self.runs: list[dict[str, Any]] = []  # newest first
        self.artifacts: dict[int, list[dict[str, Any]]] = {}
        self.blobs: dict[int, bytes] = {}
        self.port = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- state helpers --------------------------------------------------------------------

    def add_comment(self, repo: str, pr: int, body: str, login: str | None = None) -> int:
        self.next_id += 1
        self.comments.setdefault((repo, pr), []).append(
            {"id": self.next_id, "body": body, "user": {"login": login or self.login},
             "html_url": f"https://github.example/{repo}/pull/{pr}#issuecomment-{self.next_id}"})
        return self.next_id

    def thread(self, repo: str, pr: int) -> list[dict[str, Any]]:
        return self.comments.get((repo, pr), [])

    # -- the app --------------------------------------------------------------------------

    def _fault(self, method: str) -> Response | None:
        for i, (m, status, headers) in enumerate(self.faults):
            if m == method:
                del self.faults[i]
                return JSONResponse({"message": "API rate limit exceeded",
                                     "documentation_url": "https://docs.github.com/rest"},
                                    status_code=status, headers=headers)
        return None

    def _guard(self, request: Request) -> Response | None:
        self.requests.append(Seen(request.method, request.url.path, request.url.query,
                                  request.headers.get("authorization")))
        if request.url.path.startswith("/storage/"):
            return None
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        if request.headers.get("x-github-api-version") != "2022-11-28":
            return JSONResponse({"message": "missing API version"}, status_code=400)
        return self._fault(request.method)

    async def list_comments(self, request: Request) -> Response:
        if (denied := self._guard(request)) is not None:
            return denied
        p = request.path_params
        items = self.thread(f"{p['owner']}/{p['repo']}", int(p["number"]))
        per_page = int(request.query_params.get("per_page", 30))
        page = int(request.query_params.get("page", 1))
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(items):
            base = str(request.url).split("?")[0]
            headers["link"] = (f'<{base}?per_page={per_page}&page={page + 1}>; rel="next", '
                               f'<{base}?per_page={per_page}&page=1>; rel="first"')
        return JSONResponse(chunk, headers=headers)

    async def create_comment(self, request: Request) -> Response:
        if (denied := self._guard(request)) is not None:
            return denied
        if self.read_only:
            return JSONResponse({"message": "Resource not accessible by integration"},
                                status_code=403)
        p = request.path_params
        repo, pr = f"{p['owner']}/{p['repo']}", int(p["number"])
        body = (await request.json())["body"]
        if len(body) > 65_536:
            return JSONResponse({"message": "Validation Failed: body is too long (maximum is "
                                 "65536 characters)"}, status_code=422)
        cid = self.add_comment(repo, pr, body)
        return JSONResponse(self.thread(repo, pr)[-1] | {"id": cid}, status_code=201)

    async def update_comment(self, request: Request) -> Response:
        if (denied := self._guard(request)) is not None:
            return denied
        if self.read_only:
            return JSONResponse({"message": "Resource not accessible by integration"},
                                status_code=403)
        cid = int(request.path_params["comment_id"])
        body = (await request.json())["body"]
        for thread in self.comments.values():
            for comment in thread:
                if comment["id"] == cid:
                    if cid in self.vanish_on_update:
                        thread.remove(comment)
                        return JSONResponse({"message": "Not Found"}, status_code=404)
                    if comment["user"]["login"] != self.login:
                        return JSONResponse({"message": "Forbidden"}, status_code=403)
                    comment["body"] = body
                    return JSONResponse(comment)
        return JSONResponse({"message": "Not Found"}, status_code=404)

    async def workflow_runs(self, request: Request) -> Response:
        if (denied := self._guard(request)) is not None:
            return denied
        branch = request.query_params.get("branch")
        runs = [r for r in self.runs if r["head_branch"] == branch
                and r["conclusion"] == request.query_params.get("status")]
        return JSONResponse({"total_count": len(runs), "workflow_runs": runs})

    async def run_artifacts(self, request: Request) -> Response:
        if (denied := self._guard(request)) is not None:
            return denied
        items = self.artifacts.get(int(request.path_params["run_id"]), [])
        return JSONResponse({"total_count": len(items), "artifacts": items})

    async def artifact_zip(self, request: Request) -> Response:
        if (denied := self._guard(request)) is not None:
            return denied
        aid = int(request.path_params["artifact_id"])
        # GitHub redirects to blob storage on another origin ("localhost" is not 127.0.0.1)
        return RedirectResponse(f"http://localhost:{self.port}/storage/{aid}", status_code=302)

    async def storage(self, request: Request) -> Response:
        self._guard(request)
        return Response(self.blobs[int(request.path_params["artifact_id"])],
                        media_type="application/zip")

    def app(self) -> Starlette:
        r = "/repos/{owner}/{repo}"
        return Starlette(routes=[
            Route(r + "/issues/{number:int}/comments", self.list_comments, methods=["GET"]),
            Route(r + "/issues/{number:int}/comments", self.create_comment, methods=["POST"]),
            Route(r + "/issues/comments/{comment_id:int}", self.update_comment,
                  methods=["PATCH"]),
            Route(r + "/actions/workflows/{workflow}/runs", self.workflow_runs),
            Route(r + "/actions/runs/{run_id:int}/artifacts", self.run_artifacts),
            Route(r + "/actions/artifacts/{artifact_id:int}/zip", self.artifact_zip),
            Route("/storage/{artifact_id:int}", self.storage),
        ])

    # -- serving --------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        import uvicorn

        config = uvicorn.Config(self.app(), host="127.0.0.1", port=0, log_level="warning",
                                lifespan="off", access_log=False, log_config=None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "fake did not start"
            time.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
