"""Fail fast on a dead endpoint: count consecutive connection failures and timeouts per server.

Every model call made in a session -- through :class:`~passline.models.ModelClient`, or by an
agent's own OpenAI / LangChain / LiteLLM client seen by the capture layer -- reports each
attempt here. After ``fail_after`` consecutive connection failures or timeouts to one server
(any success in between resets the count), the server is *down* for the rest of the session:
:meth:`EndpointHealth.check` raises :class:`~passline.errors.EndpointDown` naming the server
and the cause, calls waiting on it are woken and fail too, and runs not yet started end at
once. Without this, a dead endpoint cost every case its full timeouts and retries (a silent
one: 304 s per case). HTTP errors (429, 5xx) are answers, not outages: retries handle them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import urllib.parse

from passline.errors import EndpointDown

# what counts towards "down": the server could not be reached, or did not answer in time
DOWN_KINDS = frozenset({"connection error", "timeout"})
# part of every EndpointDown message: how records tell "never ran: endpoint down" rows apart
DOWN_MARKER = "no further calls are made to it in this session"


def endpoint_key(url: str) -> str:
    """``scheme://host:port`` of a URL, without credentials or path: one key per server.

    >>> endpoint_key("https://user:secret@api.example.com/v1/chat/completions")
    'https://api.example.com:443'
    """
    parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    scheme = parts.scheme or "http"
    try:
        port = parts.port
    except ValueError:  # a malformed port: keep the text, it is only a key
        port = None
    port = port or (443 if scheme == "https" else 80)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


class EndpointHealth:
    """Consecutive-failure counters per endpoint, shared by every client of a session.

    Thread-safe: agents' own clients may report from their threads.

    >>> health = EndpointHealth(fail_after=2)
    >>> health.record_failure("http://127.0.0.1:9", "connection error", "refused")
    >>> health.record_failure("http://127.0.0.1:9", "connection error", "refused")
    >>> health.is_down("http://127.0.0.1:9")
    True
    """

    def __init__(self, fail_after: int = 8) -> None:
        self.fail_after = int(fail_after)
        self._lock = threading.Lock()
        self._streak: dict[str, int] = {}
        self._down: dict[str, EndpointDown] = {}
        self._events: dict[tuple[int, str], tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}

    def __repr__(self) -> str:
        return f"EndpointHealth(fail_after={self.fail_after}, down={sorted(self._down)})"

    def record_success(self, endpoint: str) -> None:
        with self._lock:
            self._streak[endpoint] = 0

    def record_failure(self, endpoint: str, kind: str, message: str) -> None:
        """One failed attempt. Only ``DOWN_KINDS`` count; other kinds reset nothing either."""
        if kind not in DOWN_KINDS or self.fail_after <= 0:
            return
        with self._lock:
            if endpoint in self._down:
                return
            streak = self._streak[endpoint] = self._streak.get(endpoint, 0) + 1
            if streak < self.fail_after:
                return
            error = EndpointDown(
                f"endpoint {endpoint} is down: {streak} consecutive connection failures or "
                f"timeouts (last: {kind}: {message[:200]}); {DOWN_MARKER}. Start or fix the "
                "server (or raise fail_fast_after), then finish the run with "
                "--passline-resume",
                endpoint=endpoint, cause=f"{kind}: {message[:200]}")
            self._down[endpoint] = error
            waiting = [(loop, event) for (_, ep), (loop, event) in self._events.items()
                       if ep == endpoint]
        for loop, event in waiting:  # wake the calls still waiting on this endpoint
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits there
                loop.call_soon_threadsafe(event.set)

    def is_down(self, endpoint: str) -> bool:
        return endpoint in self._down

    def check(self, endpoint: str) -> None:
        """Raise :class:`EndpointDown` if ``endpoint`` is down (call before each attempt)."""
        error = self._down.get(endpoint)
        if error is not None:
            raise EndpointDown(str(error), endpoint=error.endpoint, cause=error.cause)

    @property
    def down(self) -> dict[str, EndpointDown]:
        """The endpoints declared down in this session, with the error that says why."""
        with self._lock:
            return dict(self._down)

    def down_event(self, endpoint: str) -> asyncio.Event:
        """An event on the running loop, set when ``endpoint`` goes down (to race a call)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._events.get((id(loop), endpoint))
            if entry is None or entry[0] is not loop:
                entry = self._events[(id(loop), endpoint)] = (loop, asyncio.Event())
            if endpoint in self._down:
                entry[1].set()
            return entry[1]
