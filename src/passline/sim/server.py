"""Running the simulator: a real uvicorn server on 127.0.0.1 in a background thread.

>>> with SimServer() as sim:                       # doctest: +SKIP
...     client = openai.OpenAI(base_url=sim.base_url, api_key="sim")

The server owns its event loop in its own thread, so it works the same from sync code, from
pytest, and from inside another running event loop.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from types import TracebackType
from typing import Any

from passline.errors import InfrastructureError
from passline.sim.app import SimConfig

log = logging.getLogger(__name__)


class SimServer:
    """The offline model endpoint. ``base_url`` is ready once :meth:`start` returns."""

    def __init__(self, config: SimConfig | None = None, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.config = config or SimConfig()
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: give it to any OpenAI client as its base URL."""
        return f"http://{self.host}:{self.port}/v1"

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"SimServer({self.base_url if self.running else self.host!r}, {state})"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout_s: float = 10.0) -> SimServer:
        import uvicorn

        from passline.sim.app import create_app

        config = uvicorn.Config(
            create_app(self.config), host=self.host, port=self.port, log_level="warning",
            lifespan="off", access_log=False, timeout_graceful_shutdown=1,
            timeout_keep_alive=30, backlog=4096, log_config=None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="passline-sim",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise InfrastructureError(
                    f"the simulator did not start on {self.host}:{self.port} within "
                    f"{timeout_s:g}s (is the port in use?); try another --port or leave it 0")
            time.sleep(0.005)
        sockets = [s for srv in self._server.servers for s in srv.sockets]
        self.port = sockets[0].getsockname()[1]
        with _running_lock:
            _running.add(self.base_url)
        log.debug("simulator listening on %s", self.base_url)
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving; returns within about ``timeout_s`` + 1 s whatever the clients do.

        In-flight requests get uvicorn's graceful second; if the server is still up after
        ``timeout_s``, it is told to drop its connections, and after one more second its
        (daemon) thread is left behind so that the caller can exit.
        """
        with _running_lock:
            _running.discard(self.base_url)
        if self._server is not None:
            self._server.should_exit = True
        thread, self._thread = self._thread, None
        if thread is None:
            return
        thread.join(timeout=timeout_s)
        if thread.is_alive() and self._server is not None:
            self._server.force_exit = True
            thread.join(timeout=1.0)
        if thread.is_alive():
            log.warning("the simulator on %s did not stop within %.0fs; leaving its thread",
                        self.base_url, timeout_s + 1)

    def stats(self) -> dict[str, Any]:
        """Counters from ``GET /sim/stats`` (requests, max_in_flight, faults, tokens...)."""
        with urllib.request.urlopen(f"http://{self.host}:{self.port}/sim/stats", timeout=5) as r:
            return dict(json.load(r))

    def reset_stats(self) -> None:
        req = urllib.request.Request(f"http://{self.host}:{self.port}/sim/stats/reset",
                                     method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=5):
            pass

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


_running: set[str] = set()
_running_lock = threading.Lock()


def running_base_urls() -> frozenset[str]:
    """Base URLs of the simulators running in this process: a request to one of them is a
    request to "sim", whatever port it got (the cache must not depend on the port)."""
    with _running_lock:
        return frozenset(_running)


_shared: dict[SimConfig, SimServer] = {}
_shared_lock = threading.Lock()


def shared_server(config: SimConfig | None = None) -> SimServer:
    """One server per distinct config for the whole process, started on first use.

    The model client uses this when the model is ``sim-*`` and no base URL is configured, so
    that every agent and judge of a session talks to the same simulator.
    """
    config = config or SimConfig()
    with _shared_lock:
        server = _shared.get(config)
        if server is None or not server.running:
            server = _shared[config] = SimServer(config).start()
        return server
