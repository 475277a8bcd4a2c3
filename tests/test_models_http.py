"""The model client's HTTP transport (passline.models._transport) against a real server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from passline.models import ModelClient
from passline.models._client import _Http
from passline.models._endpoint import resolve_endpoint
from passline.models._transport import uses_fast_backend
from passline.settings import Settings
from passline.sim import SimConfig
from passline.sim.app import create_app


@pytest.fixture
def short_keep_alive_url() -> Iterator[str]:
    """The simulator behind a uvicorn that closes idle keep-alive connections after 0.2 s."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(
        create_app(SimConfig()), host="127.0.0.1", port=0, log_level="warning",
        lifespan="off", access_log=False, timeout_keep_alive=0.2, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(10)


def test_the_client_uses_the_cheaper_idle_connection_check() -> None:
    # if an httpx2 upgrade moves the pool's backend, the client still works but loses about
    # a fifth of its CPU per call at 64 connections: this is where that shows
    settings = Settings.resolve({"base_url": "http://127.0.0.1:9/v1"}, env={})
    http = _Http(resolve_endpoint(settings, "sim-1"))
    assert uses_fast_backend(http._http._transport)


def test_a_connection_the_server_closed_while_idle_is_not_reused(
        short_keep_alive_url: str) -> None:
    # no retries: a request sent on the dead connection would fail outright
    settings = Settings.resolve({"base_url": short_keep_alive_url, "max_retries": 0,
                                 "timeout_s": 5.0}, env={})
    client = ModelClient(settings)

    async def calls() -> list[int]:
        attempts = []
        for i in range(3):
            result = await client.chat([{"role": "user", "content": f"order {i} status"}],
                                       model="sim-1")
            attempts.append(result.attempts)
            await asyncio.sleep(0.6)  # the server closes the kept-alive connection meanwhile
        return attempts

    assert asyncio.run(calls()) == [1, 1, 1]
