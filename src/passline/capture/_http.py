"""The HTTP hooks: every request an ``httpx``/``httpx2`` client sends to a model endpoint.

The ``openai`` SDK (sync and async, streaming or not), LangChain's ``ChatOpenAI``, the
OpenAI Agents SDK and LiteLLM all send through ``Client.send`` / ``AsyncClient.send`` of
httpx2 (what the current ``openai`` SDK uses) or httpx (what LiteLLM and older SDKs use).
Wrapping those two methods -- once, for the whole process, inert outside a capture session
-- sees every model call whatever framework made it, and is the one place that can answer
from the record/replay cache instead of the network. See docs/agents.md ("How capture
works") for why this seam was chosen over SDK-level or OpenTelemetry instrumentation.

Only ``POST .../chat/completions`` and ``POST .../responses`` are touched; everything else
passes through unchanged.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from passline._types import Usage
from passline.capture._calls import (
    CapturedCall,
    StreamAccumulator,
    content_text,
    estimate_tokens,
    response_text,
    response_tool_calls,
    usage_numbers,
)
from passline.capture._state import (
    MANAGED,
    SENTINEL_HOST,
    CaptureSession,
    CaseCapture,
    active_session,
    current_case,
)

log = logging.getLogger(__name__)

MODEL_PATHS = ("/chat/completions", "/responses")
SSE_KEY = "__passline_sse__"  # how a recorded stream is kept in the cache
PREVIEW_CHARS = 500
_ORIGINALS: dict[tuple[type, str], Any] = {}
_INSTALL_LOCK = threading.Lock()
_TEES: dict[str, tuple[type, type]] = {}


# -- installing ------------------------------------------------------------------------
def install() -> list[str]:
    """Wrap ``send`` of httpx2's and httpx's clients (whichever are installed); idempotent.
    Returns the modules hooked."""
    hooked = []
    with _INSTALL_LOCK:
        for name in ("httpx2", "httpx"):
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            for cls, make in ((module.Client, _sync_send), (module.AsyncClient, _async_send)):
                if (cls, "send") not in _ORIGINALS:
                    _ORIGINALS[(cls, "send")] = cls.send
                    cls.send = make(cls.send, module)
            hooked.append(name)
    return hooked


def uninstall() -> None:
    with _INSTALL_LOCK:
        for (cls, attr), original in _ORIGINALS.items():
            setattr(cls, attr, original)
        _ORIGINALS.clear()


def installed() -> bool:
    return bool(_ORIGINALS)


def _is_model_request(request: Any) -> bool:
    return request.method == "POST" and request.url.path.endswith(MODEL_PATHS)


def _sync_send(original: Callable[..., Any], module: Any) -> Callable[..., Any]:
    @functools.wraps(original)
    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        session = active_session()
        if session is None or MANAGED.get() or not _is_model_request(request):
            return original(self, request, **kwargs)
        exchange = Exchange.begin(session, request, module, bool(kwargs.get("stream")))
        if exchange is None:
            return original(self, request, **kwargs)
        if exchange.answer is not None:
            return exchange.answer
        try:
            response = original(self, exchange.request, **kwargs)
        except BaseException as exc:
            exchange.failed(exc)
            raise
        return exchange.received(response)

    return send


def _async_send(original: Callable[..., Any], module: Any) -> Callable[..., Any]:
    @functools.wraps(original)
    async def send(self: Any, request: Any, **kwargs: Any) -> Any:
        session = active_session()
        if session is None or MANAGED.get() or not _is_model_request(request):
            return await original(self, request, **kwargs)
        exchange = Exchange.begin(session, request, module, bool(kwargs.get("stream")))
        if exchange is None:
            return await original(self, request, **kwargs)
        if exchange.answer is not None:
            return exchange.answer
        try:
            response = await original(self, exchange.request, **kwargs)
        except BaseException as exc:
            exchange.failed(exc)
            raise
        return exchange.received(response)

    return send


# -- one exchange ----------------------------------------------------------------------
class Exchange:
    """One request on its way: routed, looked up in the cache, then recorded when the
    response (or the end of its stream) arrives."""

    def __init__(self, session: CaptureSession, case: CaseCapture | None, request: Any,
                 module: Any, body: dict[str, Any], stream: bool) -> None:
        self.session = session
        self.case = case
        self.request = request
        self.module = module
        self.body = body
        self.stream = stream
        self.model = str(body.get("model") or "")
        self.path = "/responses" if request.url.path.endswith("/responses") else \
            "/chat/completions"
        self.answer: Any = None
        self.started = time.perf_counter()
        tracer = case.tracer if case is not None else None
        self.parent_span = tracer.current_id() if tracer is not None else None
        self.start_s = tracer.now() if tracer is not None else 0.0
        self.base_key = ""
        self.key = ""
        self.occurrence = 0
        self.endpoint = ""
        self.server = ""  # scheme://host:port the request goes to (endpoint health key)
        self._done = False

    @classmethod
    def begin(cls, session: CaptureSession, request: Any, module: Any,
              stream: bool) -> Exchange | None:
        try:
            body = json.loads(request.content)
        except Exception:  # a streamed upload or a non-JSON body: not a call we can read
            return None
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return None
        exchange = cls(session, current_case(), request, module, body, stream)
        exchange._prepare()
        return exchange

    # -- before the network -----------------------------------------------------------
    def _prepare(self) -> None:
        from passline.errors import CacheMiss, PasslineError
        from passline.models._cache import EXCLUDED_FIELDS, describe_request, request_key

        routed = self.request.url.host == SENTINEL_HOST
        self.endpoint = self.session.identity(self.model) if routed else \
            self.session.identity_of_url(_base_of(self.request.url))
        material = {k: v for k, v in self.body.items() if k not in EXCLUDED_FIELDS}
        self.material = material
        cache = self.session.cache
        client = self.session.client
        journal = getattr(client, "journal", None)  # the crash journal of an eval session
        if cache.mode != "off" or journal is not None:  # keys cost a canonical JSON dump
            # trials are independent samples unless sampling is explicitly off
            trial = self.case.trial if self.case is not None and \
                self.body.get("temperature") != 0 else 0
            self.base_key = request_key(material, trial=trial, cache_tag=(
                f"capture|{self.endpoint}|{self.path}|stream={self.stream}"))
            self.occurrence = self.case.occurrence(self.base_key) if self.case is not None \
                else 0
            self.key = self.base_key if not self.occurrence else hashlib.sha256(
                f"{self.base_key}|{self.occurrence}".encode()).hexdigest()
        else:  # still tell a retry from a new request (for the retry count)
            self.base_key = hashlib.sha256(self.request.content).hexdigest()
        if journal is not None:  # answered before a crash: not sent (nor paid) again
            hit = journal.get(self.key, material)
            if hit is not None:
                self._reply_cached(hit)
                return
        if cache.mode != "off":
            try:
                hit = cache.get(self.key, material)
            except CacheMiss:
                where = (f"case {self.case.case_ref} (trial {self.case.trial}, variant "
                         f"{self.case.variant})" if self.case is not None else
                         "a call made outside any case")
                message = (f"replay miss: {where} made a model request the cache "
                           f"{cache.path} never recorded ({describe_request(material)}, "
                           f"request {self.key[:12]}); re-record with --passline-cache rw")
                if self.case is not None:
                    self.case.miss(message)
                self._reply_error(message, "passline_replay_miss")
                return
            if hit is not None:
                self._reply_cached(hit)
                return
        if routed:
            try:
                endpoint = self.session.endpoint(self.model)
            except PasslineError as exc:
                self._reply_error(str(exc), "passline_config_error")
                return
            self.request = _routed(self.module, self.request, endpoint.base_url,
                                   endpoint.api_key)
        health = getattr(client, "health", None)  # fail fast on a dead endpoint
        if health is not None:
            from passline.errors import EndpointDown
            from passline.models._health import endpoint_key

            self.server = endpoint_key(str(self.request.url))
            try:
                health.check(self.server)
            except EndpointDown as exc:
                self._reply_error(str(exc), "passline_endpoint_down")

    def _reply_cached(self, data: Mapping[str, Any]) -> None:
        if SSE_KEY in data:
            raw = str(data[SSE_KEY]).encode("utf-8")
            self.answer = _response(self.module, self.request, 200, raw, "text/event-stream")
            completion = _fold_stream(raw)
        else:
            self.answer = _response(self.module, self.request, 200,
                                    json.dumps(data).encode("utf-8"), "application/json")
            completion = dict(data)
        self._record(200, completion, cached=True, retries=0)

    def _reply_error(self, message: str, kind: str) -> None:
        """Answer with an API-shaped error the SDK will not retry (its message names what to
        do), instead of letting the request reach the network."""
        payload = json.dumps({"error": {"message": f"passline: {message}", "type": kind,
                                        "code": kind}}).encode("utf-8")
        self.answer = _response(self.module, self.request, 400, payload, "application/json",
                                extra={"x-should-retry": "false"})
        self._record(400, None, cached=False, retries=0, error=message)

    # -- after the network ------------------------------------------------------------
    def failed(self, exc: BaseException) -> None:
        if self.case is not None:
            self.case.attempt_failed(self.base_key, self.occurrence)
        self._health(exc)
        self._record(0, None, cached=False, retries=0,
                     error=f"{type(exc).__name__}: {exc}"[:500])

    def received(self, response: Any) -> Any:
        status = int(response.status_code)
        self._health(None)  # an HTTP answer, even an error: the server is there
        if status >= 400:
            if self.case is not None:
                self.case.attempt_failed(self.base_key, self.occurrence)
            message = ""
            if not self.stream:
                message = _error_message(response.content)
            self._record(status, None, cached=False, retries=0,
                         error=f"HTTP {status}" + (f": {message}" if message else ""))
            return response
        if self.stream:
            response.stream = _tee(self.module, response.stream, self._stream_done)
            return response
        try:
            data = json.loads(response.content)
        except ValueError:
            self._record(status, None, cached=False, retries=0,
                         error="response body is not JSON")
            return response
        retries = self.case.attempt_succeeded(self.base_key) if self.case is not None else 0
        self._record(status, data, cached=False, retries=retries)
        if self.session.cache.mode == "rw":
            self.session.cache.put(self.key, self.material, data)
        self._journal(data)
        return response

    def _stream_done(self, raw: bytes, complete: bool) -> None:
        completion = _fold_stream(raw)
        # finished when the model said so: SDKs may close the stream right after "[DONE]"
        # without draining it, so how the iteration ended says little
        finished = any(c.get("finish_reason") for c in completion.get("choices") or ())
        retries = self.case.attempt_succeeded(self.base_key) if self.case is not None else 0
        self._record(200, completion, cached=False, retries=retries,
                     error=None if finished else "stream ended before the model finished")
        if finished and self.session.cache.mode == "rw":
            self.session.cache.put(self.key, self.material, {SSE_KEY: raw.decode("utf-8")})
        if finished:
            self._journal({SSE_KEY: raw.decode("utf-8")})

    def _journal(self, data: Mapping[str, Any]) -> None:
        journal = getattr(self.session.client, "journal", None)
        if journal is not None and self.key:
            journal.put(self.key, self.material, data)

    def _health(self, exc: BaseException | None) -> None:
        """Report the attempt to the session's endpoint health (models._health): connection
        failures and timeouts count towards declaring the endpoint down."""
        health = getattr(self.session.client, "health", None)
        if health is None or not self.server:
            return
        if exc is None:
            health.record_success(self.server)
        elif isinstance(exc, getattr(self.module, "TimeoutException", ())):
            health.record_failure(self.server, "timeout", type(exc).__name__)
        elif isinstance(exc, getattr(self.module, "TransportError", ())):
            health.record_failure(self.server, "connection error", str(exc) or type(exc).__name__)

    def _record(self, status: int, completion: Mapping[str, Any] | None, *, cached: bool,
                retries: int, error: str | None = None) -> None:
        if self._done:
            return
        self._done = True
        from passline.models._pricing import usage_for  # (not at import: models imports us)

        latency = 0.0 if cached else time.perf_counter() - self.started
        estimated = False
        usage = Usage()
        if error is None:
            numbers = usage_numbers(completion)
            if numbers is None:
                numbers, estimated = estimate_tokens(self.body, completion), True
            usage = usage_for(self.model, numbers[0], numbers[1],
                              overrides=self.session.settings.pricing, cached=cached)
        case = self.case
        if case is None:
            if error is None:
                self.session.note_loose(usage)
            return
        span_id = _span(case, self, status, completion, usage, error, cached, retries)
        case.add(CapturedCall(
            seq=case.next_seq(), source="http", endpoint=self.endpoint, path=self.path,
            model=self.model, request=self.material, response=completion, status_code=status,
            usage=usage, latency_s=latency, start_s=self.start_s, retries=retries,
            cached=cached, stream=self.stream, error=error, usage_estimated=estimated,
            span_id=span_id))


def record_client_call(request: Mapping[str, Any], response: Mapping[str, Any] | None, *,
                       usage: Usage, latency_s: float, cached: bool, attempts: int,
                       endpoint: str, error: str | None = None) -> None:
    """Called by passline's own ``ModelClient`` (``ctx.client``): the same record and span
    as a call seen on the wire, attributed to the case in whose context it was made."""
    case = current_case()
    if case is None:
        return
    tracer = case.tracer
    end = tracer.now()
    start = max(0.0, end - latency_s)
    model = str(request.get("model") or "")
    parent = tracer.current_id()
    attrs = _span_attributes(model, endpoint, request, response, cached, max(0, attempts - 1),
                             usage, error, stream=False)
    span_id = tracer.add("llm", model or "model call", start, end, parent_id=parent,
                         usage=usage, status="error" if error else "ok", attributes=attrs)
    case.add(CapturedCall(
        seq=case.next_seq(), source="ctx.client", endpoint=endpoint, path="/chat/completions",
        model=model, request=dict(request), response=dict(response) if response else None,
        status_code=200 if error is None else 0, usage=usage, latency_s=latency_s,
        start_s=start, retries=max(0, attempts - 1), cached=cached, stream=False, error=error,
        span_id=span_id))


# -- helpers ---------------------------------------------------------------------------
def _span(case: CaseCapture, exchange: Exchange, status: int,
          completion: Mapping[str, Any] | None, usage: Usage, error: str | None, cached: bool,
          retries: int) -> str:
    attrs = _span_attributes(exchange.model, exchange.endpoint, exchange.body, completion,
                             cached, retries, usage, error, stream=exchange.stream)
    if status:
        attrs["http_status"] = status
    return case.tracer.add("llm", exchange.model or "model call", exchange.start_s,
                           case.tracer.now(), parent_id=exchange.parent_span, usage=usage,
                           status="error" if error else "ok", attributes=attrs)


def _span_attributes(model: str, endpoint: str, request: Mapping[str, Any],
                     completion: Mapping[str, Any] | None, cached: bool, retries: int,
                     usage: Usage, error: str | None, *, stream: bool) -> dict[str, Any]:
    messages = request.get("messages") or []
    last = messages[-1] if messages and isinstance(messages[-1], Mapping) else {}
    attrs: dict[str, Any] = {"model": model, "endpoint": endpoint,
                             "input": content_text(last.get("content"))[:PREVIEW_CHARS],
                             "messages": len(messages), "cached": cached, "retries": retries}
    for key in ("temperature", "top_p", "max_tokens", "seed"):
        if request.get(key) is not None:
            attrs[key] = request[key]
    if request.get("tools"):
        attrs["tools_offered"] = len(request["tools"])
    if stream:
        attrs["stream"] = True
    if error:
        attrs["error"] = error
    elif completion is not None:
        calls = response_tool_calls(completion)
        if calls:
            attrs["tool_calls"] = [str((c.get("function") or {}).get("name")) for c in calls]
            attrs["output"] = json.dumps([c.get("function") for c in calls])[:2000]
        else:
            attrs["output"] = response_text(completion)[:2000]
        choices = completion.get("choices") or [{}]
        if isinstance(choices[0], Mapping) and choices[0].get("finish_reason"):
            attrs["finish_reason"] = choices[0]["finish_reason"]
    return attrs


def _base_of(url: Any) -> str:
    """``http://host:port/v1`` of ``http://host:port/v1/chat/completions?x=1``."""
    text = str(url).split("?", 1)[0]
    for suffix in MODEL_PATHS:
        if text.endswith(suffix):
            return text[: -len(suffix)].rstrip("/")
    return text.rstrip("/")


def _routed(module: Any, request: Any, base_url: str, api_key: str) -> Any:
    """The same request aimed at ``base_url`` (path after ``/v1`` kept), with the
    endpoint's key; the Host header and content length are recomputed by httpx."""
    path = request.url.path
    tail = path.split("/v1", 1)[1] if "/v1" in path else path
    url = base_url.rstrip("/") + tail
    if request.url.query:
        url += "?" + request.url.query.decode("ascii")
    headers = [(k, v) for k, v in request.headers.items()
               if k.lower() not in ("host", "content-length", "authorization", "api-key")]
    headers.append(("authorization", f"Bearer {api_key}"))
    return module.Request(request.method, url, headers=headers, content=request.content,
                          extensions=request.extensions)


def _response(module: Any, request: Any, status: int, payload: bytes, content_type: str,
              extra: Mapping[str, str] | None = None) -> Any:
    headers = {"content-type": content_type, "x-passline": "replayed" if status == 200 else
               "refused", **(extra or {})}
    response = module.Response(status, headers=headers, content=payload, request=request)
    response.elapsed = dt.timedelta(0)
    return response


def _error_message(content: bytes) -> str:
    try:
        data = json.loads(content)
    except ValueError:
        return content[:200].decode("utf-8", "replace")
    inner = data.get("error", data) if isinstance(data, Mapping) else data
    if isinstance(inner, Mapping) and inner.get("message"):
        return str(inner["message"])[:300]
    return str(data)[:300]


def _fold_stream(raw: bytes) -> dict[str, Any]:
    """Decode server-sent events with httpx2's SSE reader and fold the chunks."""
    import httpx2

    acc = StreamAccumulator()
    response = httpx2.Response(200, headers={"content-type": "text/event-stream"},
                               content=raw, request=httpx2.Request("GET", "http://sse.local"))
    for event in httpx2.EventSource(response):
        if event.data.strip() == "[DONE]":
            acc.done = True
            continue
        try:
            chunk = json.loads(event.data)
        except ValueError:
            continue
        if isinstance(chunk, Mapping):
            acc.add(chunk)
    return acc.completion()


def _tee(module: Any, stream: Any, done: Callable[[bytes, bool], None]) -> Any:
    sync_cls, async_cls = _tee_classes(module)
    if hasattr(stream, "__aiter__"):
        return async_cls(stream, done)
    return sync_cls(stream, done)


def _tee_classes(module: Any) -> tuple[type, type]:
    """Byte streams that pass chunks through and keep a copy, built on the module's own
    base classes (httpx checks ``isinstance`` against them)."""
    cached = _TEES.get(module.__name__)
    if cached is not None:
        return cached

    class SyncTee(module.SyncByteStream):
        def __init__(self, inner: Any, done: Callable[[bytes, bool], None]) -> None:
            self._inner, self._done = inner, done
            self._parts: list[bytes] = []
            self._complete = self._closed = False

        def __iter__(self) -> Any:
            for chunk in self._inner:
                self._parts.append(chunk)
                yield chunk
            self._complete = True

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                if not self._closed:
                    self._closed = True
                    self._done(b"".join(self._parts), self._complete)

    class AsyncTee(module.AsyncByteStream):
        def __init__(self, inner: Any, done: Callable[[bytes, bool], None]) -> None:
            self._inner, self._done = inner, done
            self._parts: list[bytes] = []
            self._complete = self._closed = False

        async def __aiter__(self) -> Any:
            async for chunk in self._inner:
                self._parts.append(chunk)
                yield chunk
            self._complete = True

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                if not self._closed:
                    self._closed = True
                    self._done(b"".join(self._parts), self._complete)

    _TEES[module.__name__] = (SyncTee, AsyncTee)
    return SyncTee, AsyncTee
