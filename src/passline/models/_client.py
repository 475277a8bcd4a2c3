"""The one model client: every agent and judge call goes through :class:`ModelClient`.

It speaks the OpenAI chat-completions protocol over ``httpx2`` (so any OpenAI-compatible
endpoint works; why not through the ``openai`` SDK: see :class:`_Http`) and adds what an
eval harness needs: bounded concurrency (global and per model), its own retries with
exponential backoff and full jitter that honour ``Retry-After``, separate connect and read
timeouts, fail-fast on a dead endpoint (``health``), token and cost accounting, the
record/replay cache, and the session's crash journal (``journal``). It is safe to use from
several event loops (one client and one set of limits per loop) and never stores or logs
API keys.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from passline._types import Usage

# (the capture modules import nothing heavy; the HTTP hooks themselves load on activation)
from passline.capture._http import record_client_call
from passline.capture._state import MANAGED
from passline.errors import ConfigError, MalformedOutput, ModelError, ModelTimeout, RetriesExhausted
from passline.models._cache import ResponseCache, request_key
from passline.models._endpoint import (
    Endpoint,
    endpoint_identity,
    redact_credentials,
    resolve_endpoint,
    user_environ,
)
from passline.models._health import EndpointHealth, endpoint_key
from passline.models._pricing import usage_for
from passline.models._result import ChatResult
from passline.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_GLOBAL_LIMIT = 64
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class ModelClient:
    """Async chat client with limits, retries, accounting and record/replay.

    >>> client = ModelClient(Settings.resolve())                      # doctest: +SKIP
    >>> result = await client.chat([{"role": "user", "content": "hi"}], model="sim-2")
    """

    def __init__(self, settings: Settings | None = None, *,
                 cache: ResponseCache | None = None, journal: Any = None,
                 health: EndpointHealth | None = None) -> None:
        self.settings = settings or Settings.resolve()
        validate_settings(self.settings)
        self.cache = cache if cache is not None else ResponseCache(
            self.settings.cache_path, self.settings.cache)
        # completed calls of this session, consulted before the network whatever the cache
        # mode (a CallJournal, or None outside eval sessions); shared with the capture layer
        self.journal = journal
        # consecutive connection failures per endpoint; shared with the capture layer
        self.health = health if health is not None else EndpointHealth(
            self.settings.fail_fast_after)
        self._endpoints: dict[str, Endpoint] = {}
        self._identities: dict[str, str] = {}
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary())
        self.usage_by_purpose: dict[str, Usage] = {}
        self.retries = 0

    def __repr__(self) -> str:
        return (f"ModelClient(model={self.settings.model!r}, cache={self.cache.mode!r}, "
                f"usage={ {k: round(v.cost_usd, 6) for k, v in self.usage_by_purpose.items()} })")

    def endpoint(self, model: str) -> Endpoint:
        if model not in self._endpoints:
            self._endpoints[model] = resolve_endpoint(self.settings, model)
        return self._endpoints[model]

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        model: str | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        response_format: Mapping[str, Any] | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        max_tokens: int | None = None,
        n: int = 1,
        trial: int = 0,
        cache_tag: str = "",
        purpose: str = "agent",
        timeout_s: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        retry_malformed: bool = True,
    ) -> ChatResult:
        """One chat completion. Retries transient failures; raises a ``ModelError`` subclass
        when it cannot succeed (never returns a silently broken result).

        ``trial`` goes into the seed and the cache key so repeated trials are independent
        samples; ``cache_tag`` separates otherwise identical requests (e.g. rubric versions).
        """
        model = model or self.settings.model
        temperature = self.settings.temperature if temperature is None else temperature
        base_seed = self.settings.seed if seed is None else seed
        request: dict[str, Any] = {
            "model": model,
            "messages": [dict(m) for m in messages],
            "temperature": temperature,
            # trials differ only when sampling is on; at t=0 they are the same request
            "seed": base_seed + (trial * 1_000_003 if temperature > 0 else 0),
            "n": n if n != 1 else None,
            "max_tokens": max_tokens,
            "tools": [dict(t) for t in tools] if tools else None,
            "tool_choice": tool_choice if tools else None,
            "response_format": dict(response_format) if response_format else None,
        }
        request = {k: v for k, v in request.items() if v is not None}
        where = self._identities.get(model)
        if where is None:  # (resolving reads the environment: once per model, not per call)
            where = self._identities[model] = endpoint_identity(self.settings, model)
        key = request_key(request, trial=trial if temperature > 0 else 0,
                          cache_tag=f"{cache_tag}|{where}")

        journaled = self.journal.get(key, request) if self.journal is not None else None
        if journaled is not None:  # answered before a crash: not sent (nor paid) again
            result = self._result(journaled, model, latency_s=0.0, cached=True, attempts=0,
                                  key=key)
            self._account(purpose, result.usage)
            record_client_call(request, journaled, usage=result.usage, latency_s=0.0,
                               cached=True, attempts=0, endpoint=where)
            return result
        cached = self.cache.get(key, request)
        if cached is not None:
            result = self._result(cached, model, latency_s=0.0, cached=True, attempts=0, key=key)
            self._account(purpose, result.usage)
            record_client_call(request, cached, usage=result.usage, latency_s=0.0, cached=True,
                               attempts=0, endpoint=where)
            return result

        start = time.perf_counter()
        try:
            result, data = await self._call_with_retries(
                request, model, key, timeout_s, extra_headers, retry_malformed,
                json_expected=bool(response_format))
        except ModelError as exc:
            record_client_call(request, None, usage=Usage(),
                               latency_s=time.perf_counter() - start, cached=False,
                               attempts=self.settings.max_retries + 1, endpoint=where,
                               error=str(exc))
            raise
        self._account(purpose, result.usage)
        record_client_call(request, data, usage=result.usage, latency_s=result.latency_s,
                           cached=False, attempts=result.attempts, endpoint=where)
        return result

    async def _call_with_retries(self, request: dict[str, Any], model: str, key: str,
                                 timeout_s: float | None, extra_headers: Mapping[str, str] | None,
                                 retry_malformed: bool, json_expected: bool
                                 ) -> tuple[ChatResult, dict[str, Any]]:
        import httpx2

        settings = self.settings
        timeout = settings.timeout_s if timeout_s is None else timeout_s
        # connecting gets its own short limit: a dead host fails in seconds, while reading a
        # long answer may take the whole (read) timeout
        limits = httpx2.Timeout(timeout, connect=min(settings.connect_timeout_s, timeout))
        state = self._loop_state()
        endpoint = self.endpoint(model)
        http = state.client(endpoint)
        body = json.dumps(request, ensure_ascii=False).encode("utf-8")
        where = endpoint_key(endpoint.base_url)
        health = self.health
        down = health.down_event(where)
        last_error: BaseException | None = None
        last_kind = ""
        for attempt in range(settings.max_retries + 1):
            health.check(where)
            if attempt:
                self.retries += 1
                await _unless_down(asyncio.sleep(_backoff(
                    attempt, settings.backoff_base_s, settings.backoff_max_s, last_error)),
                    down, health, where)
            start = time.perf_counter()
            managed = MANAGED.set(True)  # recorded below, not again by the HTTP hooks
            try:
                async with state.global_limit, state.model_limit(model, settings):
                    health.check(where)  # it may have gone down while this call queued
                    raw = await _unless_down(_within(
                        http.post(body, limits, extra_headers),
                        timeout + settings.connect_timeout_s + 5), down, health, where)
                    data = json.loads(raw)
            except (httpx2.TimeoutException, TimeoutError) as exc:
                last_error, last_kind = exc, "timeout"
                health.record_failure(where, "timeout", f"no answer within {timeout:g}s")
                log.info("model %s timed out after %.1fs (attempt %d)", model, timeout, attempt + 1)
                continue
            except HTTPStatusError as exc:
                health.record_success(where)  # an HTTP answer: the server is there
                if exc.status_code not in RETRYABLE_STATUS:
                    raise ModelError(
                        f"model {model} at {redact_credentials(self.endpoint(model).base_url)} "
                        f"rejected the request with HTTP {exc.status_code}: "
                        f"{_error_message(exc)}") from exc
                last_error, last_kind = exc, f"HTTP {exc.status_code}"
                log.info("model %s: HTTP %s (attempt %d)", model, exc.status_code, attempt + 1)
                continue
            except httpx2.TransportError as exc:
                last_error, last_kind = exc, "connection error"
                health.record_failure(where, "connection error", _connection_cause(exc))
                continue
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # a proxy's HTML page...
                health.record_success(where)
                last_error, last_kind = exc, "unparseable response"
                continue
            finally:
                MANAGED.reset(managed)
            health.record_success(where)
            latency = time.perf_counter() - start
            result = self._result(data, model, latency_s=latency, cached=False,
                                  attempts=attempt + 1, key=key)
            malformed = _malformed_reason(result, json_expected)
            if malformed and retry_malformed:
                last_error, last_kind = MalformedOutput(malformed), "malformed output"
                self._account("retries", result.usage)  # wasted tokens still cost money
                continue
            if not malformed:
                self.cache.put(key, request, data)
                if self.journal is not None:
                    self.journal.put(key, request, data)
            return result, data
        tries = settings.max_retries + 1
        if last_kind == "timeout":
            raise ModelTimeout(
                f"model {model} did not answer within {timeout:g}s in {tries} attempts; raise "
                f"timeout_s (PASSLINE_TIMEOUT_S) or check the endpoint") from last_error
        if isinstance(last_error, MalformedOutput):
            raise MalformedOutput(f"model {model} returned malformed output {tries} times; last: "
                                  f"{last_error}") from last_error
        raise RetriesExhausted(
            f"model {model} kept failing ({last_kind}: {_error_message(last_error)}) after "
            f"{tries} attempts; raise max_retries (PASSLINE_MAX_RETRIES) or check the endpoint"
        ) from last_error

    def _result(self, data: Mapping[str, Any], model: str, *, latency_s: float, cached: bool,
                attempts: int, key: str) -> ChatResult:
        raw_usage = data.get("usage") or {}
        usage = usage_for(model, int(raw_usage.get("prompt_tokens") or 0),
                          int(raw_usage.get("completion_tokens") or 0),
                          overrides=self.settings.pricing, cached=cached)
        return ChatResult.from_completion(data, usage=usage, latency_s=latency_s, cached=cached,
                                          attempts=attempts, request_hash=key)

    def _account(self, purpose: str, usage: Usage) -> None:
        self.usage_by_purpose[purpose] = self.usage_by_purpose.get(purpose, Usage()) + usage

    @property
    def total_usage(self) -> Usage:
        total = Usage()
        for usage in self.usage_by_purpose.values():
            total = total + usage
        return total

    def _loop_state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._per_loop.get(loop)
        if state is None:
            state = self._per_loop[loop] = _LoopState(self.settings)
        return state

    async def aclose(self) -> None:
        state = self._per_loop.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.aclose()


class _LoopState:
    """Clients and semaphores bound to one event loop (asyncio objects cannot be shared)."""

    def __init__(self, settings: Settings) -> None:
        limits = dict(settings.model_concurrency)
        self.global_limit = asyncio.Semaphore(int(limits.pop("*", DEFAULT_GLOBAL_LIMIT)))
        self._limits = {m: asyncio.Semaphore(int(n)) for m, n in limits.items()}
        self._clients: dict[str, Any] = {}

    def model_limit(self, model: str, settings: Settings) -> asyncio.Semaphore | _NoLimit:
        return self._limits.get(model) or _NO_LIMIT

    def client(self, endpoint: Endpoint) -> _Http:
        client = self._clients.get(endpoint.base_url)
        if client is None:
            client = self._clients[endpoint.base_url] = _Http(endpoint)
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


class HTTPStatusError(Exception):
    """An HTTP error answer (status >= 400): what the retry loop and messages read."""

    def __init__(self, status_code: int, body: Any, response: Any) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.body = body  # the parsed JSON error, or the text
        self.response = response  # for Retry-After


class _Http:
    """POST chat completions to one OpenAI-compatible endpoint with ``httpx2`` directly.

    The ``openai`` SDK is not used for our own calls: all it would add here (building typed
    request params, the raw-response wrapper, its retry and auth layers) costs about 1 ms of
    CPU per call and 0.5 s of import at start-up, and the harness wants only the JSON, which
    it parses once. Retries, timeouts and error kinds are the client's own (above). Agents'
    own SDK clients are untouched: the capture layer sees their calls at the same ``httpx2``
    level.
    """

    def __init__(self, endpoint: Endpoint) -> None:
        import httpx2

        from passline import __version__

        headers = {"Authorization": f"Bearer {endpoint.api_key}",
                   "Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": f"passline/{__version__}"}
        # the headers the openai SDK would add from the same variables
        env = user_environ()
        for var, header in (("OPENAI_ORG_ID", "OpenAI-Organization"),
                            ("OPENAI_PROJECT_ID", "OpenAI-Project")):
            if env.get(var):
                headers[header] = env[var]
        self._url = endpoint.base_url.rstrip("/") + "/chat/completions"
        from passline.models._transport import fast_transport

        self._http = httpx2.AsyncClient(headers=headers, transport=fast_transport(
            limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100)))

    async def post(self, body: bytes, timeout: Any, extra_headers: Mapping[str, str] | None
                   ) -> bytes:
        response = await self._http.post(self._url, content=body, timeout=timeout,
                                         headers=dict(extra_headers) if extra_headers else None)
        if response.status_code >= 400:
            try:
                detail: Any = response.json()
            except ValueError:
                detail = response.text[:500]
            raise HTTPStatusError(response.status_code, detail, response)
        return response.content

    async def aclose(self) -> None:
        await self._http.aclose()


class _NoLimit:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


_NO_LIMIT = _NoLimit()


async def _within(awaitable: Any, seconds: float) -> Any:
    """``asyncio.wait_for`` without its extra task per call (the caller is already one)."""
    async with asyncio.timeout(seconds):
        return await awaitable


async def _unless_down(awaitable: Any, down: asyncio.Event, health: EndpointHealth,
                       where: str) -> Any:
    """Await ``awaitable`` unless ``where`` goes down first: then cancel it and raise
    :class:`EndpointDown`, so calls stuck on a dead endpoint end with it, not at timeout."""
    task = asyncio.ensure_future(awaitable)
    if down.is_set():
        task.cancel()
        health.check(where)
    waiter = asyncio.ensure_future(down.wait())
    try:
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()  # it finishes cancelling on its own; nobody needs its outcome
    if task in done:
        return task.result()
    health.check(where)  # raises EndpointDown: that is why the waiter finished first
    raise AssertionError("the down event was set but the endpoint is not down")


def _connection_cause(exc: BaseException) -> str:
    """The innermost cause of a connection error ("Connection refused", "Name or service
    not known"...), which says more than openai's "Connection error."."""
    cause: BaseException | None = exc
    text = str(exc)
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno:
            text = os.strerror(cause.errno)  # "Connection refused", not asyncio's wording
        elif str(cause):
            text = str(cause)
        cause = cause.__cause__ or cause.__context__
    return text[:200]


def _backoff(attempt: int, base: float, cap: float, error: BaseException | None) -> float:
    """Exponential backoff with full jitter, never shorter than the server's Retry-After."""
    delay = random.uniform(0, min(cap, base * 2 ** (attempt - 1)))
    retry_after = _retry_after(error)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def _retry_after(error: BaseException | None) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
        if headers.get("retry-after"):
            return float(headers["retry-after"])
    except ValueError:  # an HTTP date: rare for model APIs; fall back to backoff
        return None
    return None


def _error_message(error: BaseException | None) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])
        if body.get("message"):
            return str(body["message"])
    if isinstance(body, str) and body.strip():
        return body.strip()[:200]
    return str(error) if error else "unknown error"


def _malformed_reason(result: ChatResult, json_expected: bool) -> str:
    for call in result.tool_calls:
        if not call.well_formed:
            return f"tool call {call.name!r} arguments do not parse: {call.arguments_raw[:120]!r}"
    if json_expected and not result.tool_calls:
        try:
            result.json()
        except MalformedOutput as exc:
            return str(exc)
    return ""


def validate_settings(settings: Settings) -> None:
    """Fail early, with a fix, on settings the client cannot work with."""
    if settings.timeout_s <= 0:
        raise ConfigError(f"timeout_s must be > 0, got {settings.timeout_s}")
    if settings.max_retries < 0:
        raise ConfigError(f"max_retries must be >= 0, got {settings.max_retries}")
