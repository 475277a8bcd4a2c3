"""The simulator's HTTP surface: an OpenAI-compatible ASGI app (Starlette).

Routes: ``POST /v1/chat/completions`` (JSON or SSE streaming), ``GET /v1/models``,
``GET /sim/stats`` and ``POST /sim/stats/reset`` (request counters, including the maximum
number of requests in flight -- how tests prove that calls really ran concurrently).

What the "model" says is decided by :mod:`passline.sim.brain` from the request alone; this
module adds what a real endpoint adds: validation, OpenAI-shaped errors, token usage, latency,
seeds, ``n`` choices, ``max_tokens`` truncation, streaming, and injected faults.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from passline.errors import ConfigError
from passline.sim import brain
from passline.sim.faults import ERROR_KINDS, FaultSpec

FAULTS_HEADER = "x-sim-faults"
LATENCY_HEADER = "x-sim-latency-ms"
CREATED_AT = 1_780_000_000  # fixed "created" timestamp: responses are reproducible byte for byte


@dataclasses.dataclass(frozen=True)
class SimConfig:
    """How a simulator server behaves. Per-request headers can add faults and latency."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    faults: str = ""
    retry_after_s: float = 0.05
    slow_ms: float = 1500.0
    hang_s: float = 3600.0
    seed: int = 0


@dataclasses.dataclass
class SimStats:
    requests: int = 0
    completions: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    by_model: Counter[str] = dataclasses.field(default_factory=Counter)
    faults: Counter[str] = dataclasses.field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["by_model"] = dict(self.by_model)
        data["faults"] = dict(self.faults)
        return data


class _State:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.faults = FaultSpec.parse(config.faults, where="simulator --faults")
        self.stats = SimStats()
        self.attempts: Counter[str] = Counter()  # request-body hash -> attempts seen
        self.server_attempts = 0


def create_app(config: SimConfig | None = None) -> Starlette:
    """The ASGI app; serve it with any ASGI server (``passline sim serve`` uses uvicorn)."""
    state = _State(config or SimConfig())

    async def chat_completions(request: Request) -> Response:
        stats = state.stats
        stats.requests += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            return await _chat(request, state)
        finally:
            stats.in_flight -= 1

    async def models(request: Request) -> Response:
        return JSONResponse({
            "object": "list",
            "data": [{"id": m, "object": "model", "created": CREATED_AT, "owned_by": "passline-sim"}
                     for m in brain.MODELS],
        })

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats.to_dict())

    async def reset(request: Request) -> Response:
        state.stats = SimStats()
        state.attempts.clear()
        state.server_attempts = 0
        return JSONResponse({"ok": True})

    app = Starlette(routes=[
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/sim/stats", stats, methods=["GET"]),
        Route("/sim/stats/reset", reset, methods=["POST"]),
    ])
    app.state.sim = state
    return app


def error_response(status: int, message: str, *, type_: str, code: str | None = None,
                   param: str | None = None, headers: Mapping[str, str] | None = None) -> Response:
    """An error body shaped like OpenAI's, so the openai client raises the usual exceptions."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


async def _chat(request: Request, state: _State) -> Response:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        return error_response(400, f"request body is not valid JSON: {exc}",
                              type_="invalid_request_error")
    problem = _validate(body)
    if problem:
        param, message = problem
        return error_response(400, message, type_="invalid_request_error", param=param)
    model = body["model"]
    if model not in brain.MODELS:
        return error_response(
            404, f"The model `{model}` does not exist; the simulator serves "
            f"{', '.join(brain.MODELS)}", type_="invalid_request_error", param="model",
            code="model_not_found")

    key = hashlib.sha256(raw).hexdigest()
    # attempts are counted per (body, X-Sim-Faults): "503#2" fails the first two attempts of
    # this request made with this header, whatever was sent before without it
    attempt_key = f"{key}|{request.headers.get(FAULTS_HEADER, '')}"
    attempt = state.attempts[attempt_key]
    state.attempts[attempt_key] += 1
    server_attempt = state.server_attempts
    state.server_attempts += 1
    try:
        header_faults = FaultSpec.parse(request.headers.get(FAULTS_HEADER), where="X-Sim-Faults")
        latency_ms = float(request.headers.get(LATENCY_HEADER, state.config.latency_ms))
    except (ConfigError, ValueError) as exc:
        return error_response(400, str(exc), type_="invalid_request_error")
    fired = state.faults.triggered(key=key, attempt=server_attempt)
    fired |= header_faults.triggered(key=key, attempt=attempt)
    for kind in fired:
        state.stats.faults[kind] += 1

    delay = latency_ms + state.config.jitter_ms * _unit(f"jitter|{key}|{attempt}")
    if "slow" in fired:
        delay += state.config.slow_ms
    if delay > 0:
        await asyncio.sleep(delay / 1000)
    if "hang" in fired:
        await asyncio.sleep(state.config.hang_s)
    for kind in ERROR_KINDS:
        if kind in fired:
            return _fault_error(kind, state.config)

    state.stats.completions += 1
    state.stats.by_model[model] += 1
    completion = _complete(body, fired, state)
    state.stats.prompt_tokens += completion["usage"]["prompt_tokens"]
    state.stats.completion_tokens += completion["usage"]["completion_tokens"]
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(_sse(completion, include_usage), media_type="text/event-stream")
    return JSONResponse(completion)


def _fault_error(kind: str, config: SimConfig) -> Response:
    if kind == "429":
        retry = config.retry_after_s
        return error_response(
            429, "Rate limit reached for requests (injected by the simulator). "
            f"Please try again in {retry:g}s.", type_="requests", code="rate_limit_exceeded",
            headers={"retry-after": f"{max(retry, 0):g}",
                     "retry-after-ms": str(int(retry * 1000))})
    if kind == "503":
        return error_response(503, "The server is overloaded (injected by the simulator).",
                              type_="server_error", code="service_unavailable")
    return error_response(500, "The server had an error while processing your request "
                          "(injected by the simulator).", type_="server_error")


def _validate(body: Any) -> tuple[str | None, str] | None:
    if not isinstance(body, dict):
        return None, "request body must be a JSON object"
    if not isinstance(body.get("model"), str):
        return "model", "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages", "'messages' must be a non-empty array"
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in (
                "system", "developer", "user", "assistant", "tool"):
            return f"messages[{i}]", f"messages[{i}] needs a role of system/user/assistant/tool"
        if msg["role"] == "tool" and not msg.get("tool_call_id"):
            return f"messages[{i}].tool_call_id", f"messages[{i}] (tool) needs tool_call_id"
    n = body.get("n", 1)
    if not isinstance(n, int) or not 1 <= n <= 16:
        return "n", "'n' must be an integer between 1 and 16"
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return "tools", "'tools' must be an array"
        for i, tool in enumerate(tools):
            fn = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                return f"tools[{i}]", (f"tools[{i}] must be "
                                       "{'type': 'function', 'function': {'name': ...}}")
    rf = body.get("response_format")
    if rf is not None and (not isinstance(rf, dict) or rf.get("type") not in (
            "text", "json_object", "json_schema")):
        return "response_format", "response_format.type must be text, json_object or json_schema"
    if isinstance(rf, dict) and rf.get("type") == "json_schema" and not isinstance(
            (rf.get("json_schema") or {}).get("schema"), dict):
        return "response_format.json_schema", "json_schema needs a 'schema' object"
    return None


def _complete(body: dict[str, Any], fired: set[str], state: _State) -> dict[str, Any]:
    model = body["model"]
    temperature = float(body.get("temperature") or 0.0)
    seed = body.get("seed")
    canonical = json.dumps({k: v for k, v in body.items() if k not in ("stream", "stream_options",
                                                                          "n", "seed")},
                           sort_keys=True, separators=(",", ":"))
    if seed is None and temperature > 0:
        # like a real model: no seed and t > 0 means a fresh sample every time
        seed = random.SystemRandom().randrange(2**31)
    choices = []
    completion_tokens = 0
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    for index in range(int(body.get("n", 1))):
        material = f"{canonical}|{seed if temperature > 0 else ''}|{index}"
        rng_seed = int(hashlib.sha256(material.encode()).hexdigest()[:15], 16)
        message = dict(brain.respond(body, model=model, rng_seed=rng_seed))
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        if "truncated" in fired:
            message, finish = _truncate(message, 0.5), "length"
        elif max_tokens and _message_tokens(message) > int(max_tokens):
            fraction = int(max_tokens) / _message_tokens(message)
            message, finish = _truncate(message, fraction), "length"
        if "malformed" in fired:
            message = _malform(message)
        completion_tokens += _message_tokens(message)
        message.setdefault("content", None)
        message.setdefault("refusal", None)
        choices.append({"index": index, "message": message, "finish_reason": finish,
                        "logprobs": None})
    prompt_tokens = _prompt_tokens(body)
    # at t=0 the seed changes nothing, so it must not change the response id either
    digest = hashlib.sha256(f"{canonical}|{seed if temperature > 0 else ''}".encode()).hexdigest()
    return {
        "id": f"chatcmpl-sim-{digest[:24]}",
        "object": "chat.completion",
        "created": CREATED_AT,
        "model": model,
        "system_fingerprint": f"fp_passline_{model.replace('-', '')}",
        "choices": choices,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def count_tokens(text: str) -> int:
    return int(brain.count_tokens(text))


def _prompt_tokens(body: Mapping[str, Any]) -> int:
    total = 3  # every reply is primed with <|start|>assistant<|message|>
    for msg in body["messages"]:
        total += 4 + count_tokens(_text_of(msg.get("content")))
        for call in msg.get("tool_calls") or ():
            fn = call.get("function") or {}
            total += 3 + count_tokens(str(fn.get("name", ""))) + count_tokens(
                str(fn.get("arguments", "")))
    if body.get("tools"):
        total += 10 + count_tokens(json.dumps(body["tools"], separators=(",", ":")))
    rf = body.get("response_format") or {}
    if rf.get("type") == "json_schema":
        total += count_tokens(json.dumps(rf.get("json_schema"), separators=(",", ":")))
    return total


def _text_of(content: Any) -> str:
    if isinstance(content, list):  # content parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def _message_tokens(message: Mapping[str, Any]) -> int:
    total = count_tokens(message.get("content") or "")
    for call in message.get("tool_calls") or ():
        total += 3 + count_tokens(call["function"]["name"]) + count_tokens(
            call["function"]["arguments"])
    return max(total, 1)


def _truncate(message: dict[str, Any], fraction: float) -> dict[str, Any]:
    fraction = max(0.0, min(fraction, 1.0))
    out = dict(message)
    if out.get("content"):
        text = out["content"]
        out["content"] = text[: int(len(text) * fraction)]
    if out.get("tool_calls"):
        calls = []
        for call in out["tool_calls"]:
            args = call["function"]["arguments"]
            calls.append({**call, "function": {**call["function"],
                                               "arguments": args[: int(len(args) * fraction)]}})
        out["tool_calls"] = calls
    return out


def _malform(message: dict[str, Any]) -> dict[str, Any]:
    out = dict(message)
    if out.get("tool_calls"):
        out["tool_calls"] = [
            {**c, "function": {**c["function"],
                               "arguments": c["function"]["arguments"].rstrip("}") + ', "'}}
            for c in out["tool_calls"]]
    elif out.get("content"):
        out["content"] = "{" + out["content"].lstrip("{")[:-1] + ",,"
    return out


async def _sse(completion: dict[str, Any], include_usage: bool) -> AsyncIterator[bytes]:
    base = {"id": completion["id"], "object": "chat.completion.chunk",
            "created": completion["created"], "model": completion["model"],
            "system_fingerprint": completion["system_fingerprint"]}

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return f"data: {json.dumps({**base, 'choices': choices, **extra})}\n\n".encode()

    for choice in completion["choices"]:
        i, msg = choice["index"], choice["message"]
        yield event([{"index": i, "delta": {"role": "assistant", "content": ""},
                      "finish_reason": None}])
        for piece in _pieces(msg.get("content") or ""):
            yield event([{"index": i, "delta": {"content": piece}, "finish_reason": None}])
        for t, call in enumerate(msg.get("tool_calls") or ()):
            yield event([{"index": i, "delta": {"tool_calls": [{
                "index": t, "id": call["id"], "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""}}]},
                "finish_reason": None}])
            for piece in _pieces(call["function"]["arguments"]):
                yield event([{"index": i, "delta": {"tool_calls": [{
                    "index": t, "function": {"arguments": piece}}]}, "finish_reason": None}])
        yield event([{"index": i, "delta": {}, "finish_reason": choice["finish_reason"]}])
        await asyncio.sleep(0)
    if include_usage:
        yield event([], usage=completion["usage"])
    yield b"data: [DONE]\n\n"


def _pieces(text: str, size: int = 16) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def _unit(text: str) -> float:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64

