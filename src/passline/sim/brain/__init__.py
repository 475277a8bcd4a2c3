"""The simulator's "model": decides a chat completion from the request alone.

STUB (interface only) -- replaced by the sim-brain work. Contract:

    respond(request: dict, *, model: str, rng_seed: int | None) -> dict

``request`` is the parsed JSON body of POST /v1/chat/completions. The return value is one
choice's assistant message: {"role": "assistant", "content": str | None,
"tool_calls": [{"id", "type": "function", "function": {"name", "arguments": str}}] | absent}.
Must be a pure function of (request, model, rng_seed): no I/O, no global state.
"""

from __future__ import annotations

from typing import Any

MODELS = ("sim-1", "sim-2")


def respond(request: dict[str, Any], *, model: str, rng_seed: int | None) -> dict[str, Any]:
    last_user = next(
        (m.get("content") or "" for m in reversed(request.get("messages", [])) if m.get("role") == "user"),
        "",
    )
    return {"role": "assistant", "content": f"(sim stub) You said: {last_user}"}
