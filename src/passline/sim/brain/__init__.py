"""The simulator's "model": decides a chat completion from the request alone.

``respond`` reads only what a real model reads -- messages, tools, tool_choice,
response_format, temperature -- and never golden data, so better prompts and tool
descriptions honestly change what it does, and sim-2 is measurably more capable than sim-1.
How it decides is documented for users in docs/simulator-brain.md.

Example::

    >>> msg = respond({"messages": [{"role": "user", "content": "hi"}]},
    ...               model="sim-2", rng_seed=0)
    >>> msg["role"]
    'assistant'
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from passline.sim.brain.profiles import PROFILES, profile_for
from passline.sim.brain.text import count_tokens

__all__ = ["MODELS", "count_tokens", "respond"]

MODELS: tuple[str, ...] = tuple(PROFILES)


def respond(request: dict[str, Any], *, model: str, rng_seed: int | None) -> dict[str, Any]:
    """One choice's assistant message for a chat-completions ``request``.

    Returns ``{"role": "assistant", "content": str | None}`` plus ``"tool_calls"`` (OpenAI
    shape, arguments as compact JSON strings) when it calls tools. A pure function of
    (request, model, rng_seed): at temperature 0 (the default when absent) the seed does not
    matter; above 0 the seed drives bounded variation.
    """
    from passline.sim.brain.compose import compose_answer, refusal
    from passline.sim.brain.conversation import parse_conversation
    from passline.sim.brain.decide import decide_turn, tool_call_message
    from passline.sim.brain.tools import parse_tools

    profile = profile_for(model)
    seed = int(rng_seed or 0)
    temperature = _temperature(request)
    rng = random.Random(seed) if temperature > 0 else None
    messages = [m for m in request.get("messages") or [] if isinstance(m, dict)]
    conv = parse_conversation(messages)
    draw = _injection_draw(request, rng)

    response_format = request.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in (
        "json_object", "json_schema"
    ):
        from passline.sim.brain.schema import structured_output

        content = structured_output(conv, response_format, profile, rng=rng,
                                    temperature=temperature, injection_draw=draw)
        return {"role": "assistant", "content": content}

    refused = refusal(conv, profile)
    if refused is not None:
        return {"role": "assistant", "content": refused}

    tools = parse_tools(request.get("tools"))
    tool_choice = request.get("tool_choice", "auto")
    questions: list[str] = []
    if tools and tool_choice != "none":
        acting_on = conv
        if profile.reads_rules:
            from dataclasses import replace

            from passline.sim.brain.guard import own_words

            # documents pasted into the message are data: sim-2 takes intents from the
            # user's own words only
            acting_on = replace(conv, request=own_words(conv.request))
        decision = decide_turn(
            acting_on, tools, tool_choice, profile, rng, temperature,
            parallel=request.get("parallel_tool_calls", True) is not False,
        )
        if decision.calls and profile.reads_rules:
            from passline.sim.brain.guard import blocked_call

            for name, args in decision.calls:
                why = blocked_call(conv, tools, name, args.values)
                if why is not None:
                    return {"role": "assistant", "content": why}
        if decision.calls:
            salt = str(len(messages))
            return {
                "role": "assistant",
                "content": None,
                # at temperature 0 the seed must not matter, not even in call ids
                "tool_calls": tool_call_message(decision.calls, seed if rng else 0, salt),
            }
        questions = decision.questions
        if questions and not conv.results and profile.asks_clarification:
            return {"role": "assistant", "content": " ".join(questions)}
    content = compose_answer(conv, profile, rng=rng, temperature=temperature,
                             questions=questions, injection_draw=draw)
    return {"role": "assistant", "content": content}


def _temperature(request: dict[str, Any]) -> float:
    raw = request.get("temperature")
    try:
        value = float(raw) if raw is not None else 0.0
    except (TypeError, ValueError):
        value = 0.0
    return min(max(value, 0.0), 2.0)


def _injection_draw(request: dict[str, Any], rng: random.Random | None) -> float:
    """Uniform [0, 1) draw deciding whether an injected instruction is obeyed: a hash of the
    messages at temperature 0 (so the rate holds across cases, yet each case is stable),
    the seeded generator above 0."""
    if rng is not None:
        return rng.random()
    blob = json.dumps(request.get("messages") or [], sort_keys=True, default=str)
    return int(hashlib.sha256(blob.encode()).hexdigest()[:8], 16) / 2**32

