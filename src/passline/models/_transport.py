"""The HTTP transport of the harness's own model client: ``httpx2``'s, with a cheaper check of
idle connections.

Before each request, and again when each response is closed, ``httpcore2``'s connection pool
asks every idle connection whether the server has closed it (``has_expired``). Its asyncio
stream answers through ``anyio``'s typed attributes, which rebuild a dict of every socket
attribute (calling ``getpeername`` among them) on every question: with C connections kept
alive that is 2 x C such dicts per call, about a fifth of the client's CPU at C = 64 (profile
in ``bench/bench_floor.py --profile``). The stream here looks the socket up once and asks the
same question of it (``httpcore2``'s own ``is_socket_readable``); everything else -- the
pool, keep-alive, TLS, proxies from the environment, timeouts, error mapping -- is
``httpx2``'s unchanged.

Agents' own SDK clients are not touched: only :class:`passline.models.ModelClient` uses it.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any


def fast_transport(**kwargs: Any) -> Any:
    """An ``httpx2.AsyncHTTPTransport(**kwargs)`` whose pool uses :class:`_Backend`.

    When ``httpx2`` changes its internals so that the backend cannot be set, the plain
    transport is returned (correct, only slower; ``tests/test_models_http.py`` notices).
    """
    import httpx2

    transport = httpx2.AsyncHTTPTransport(**kwargs)
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = _backend_class()()
    return transport


def uses_fast_backend(transport: Any) -> bool:
    pool = getattr(transport, "_pool", None)
    return isinstance(getattr(pool, "_network_backend", None), _backend_class())


@functools.cache
def _backend_class() -> type:
    import anyio.abc
    from httpcore2._backends.anyio import AnyIOBackend, AnyIOStream
    from httpcore2._utils import is_socket_readable

    raw_socket = anyio.abc.SocketAttribute.raw_socket

    class _Stream(AnyIOStream):
        _sock: Any = None

        def get_extra_info(self, info: str) -> Any:
            if info == "is_readable":
                sock = self._sock
                if sock is None:
                    sock = self._sock = self._stream.extra(raw_socket, None)
                return is_socket_readable(sock)
            return super().get_extra_info(info)

        async def start_tls(self, ssl_context: ssl.SSLContext,
                            server_hostname: str | None = None,
                            timeout: float | None = None) -> Any:
            tls = await super().start_tls(ssl_context, server_hostname, timeout)
            return _Stream(tls._stream)  # type: ignore[attr-defined]  # anyio's stream

    class _Backend(AnyIOBackend):
        async def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
            stream = await super().connect_tcp(*args, **kwargs)
            return _Stream(stream._stream)  # type: ignore[attr-defined]  # anyio's stream

    return _Backend
