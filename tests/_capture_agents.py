"""Agents written the way users write them (own clients, no ctx.client), for test_capture.py.

Each request carries the case's own marker so tests can check attribution by content.
"""

from __future__ import annotations

import asyncio
from typing import Any

import openai

from passline.capture import SENTINEL_BASE_URL

# one client object shared by every case, as an app module would hold it (an async client
# is bound to the event loop it first ran on: one per runner here, as tests make several)
SYNC = openai.OpenAI(base_url=SENTINEL_BASE_URL, api_key="unused", max_retries=2)
_ASYNC: dict[int, openai.AsyncOpenAI] = {}


def _client() -> openai.AsyncOpenAI:
    loop = id(asyncio.get_running_loop())
    if loop not in _ASYNC:
        _ASYNC[loop] = openai.AsyncOpenAI(base_url=SENTINEL_BASE_URL, api_key="unused",
                                          max_retries=2)
    return _ASYNC[loop]


def _ask(case_input: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "Repeat the code you are given."},
            {"role": "user", "content": f"The code is {case_input['marker']}. Say it back."}]


async def two_calls(case_input: dict[str, Any], ctx: Any) -> str:
    messages = _ask(case_input)
    with ctx.tracer.span("step", "first"):
        first = await _client().chat.completions.create(model=ctx.model, messages=messages)
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "user", "content": f"Once more, the code {case_input['marker']}."}]
    second = await _client().chat.completions.create(model=ctx.model, messages=messages)
    return second.choices[0].message.content or ""


def two_calls_sync(case_input: dict[str, Any], ctx: Any) -> str:
    messages = _ask(case_input)
    first = SYNC.chat.completions.create(model=ctx.model, messages=messages)
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "user", "content": f"Once more, the code {case_input['marker']}."}]
    second = SYNC.chat.completions.create(model=ctx.model, messages=messages)
    return second.choices[0].message.content or ""


async def streamed(case_input: dict[str, Any], ctx: Any) -> str:
    options = {"include_usage": True} if case_input.get("usage") else None
    stream = await _client().chat.completions.create(
        model=ctx.model, messages=_ask(case_input), stream=True, stream_options=options)
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    return "".join(parts)


def streamed_sync(case_input: dict[str, Any], ctx: Any) -> str:
    stream = SYNC.chat.completions.create(model=ctx.model, messages=_ask(case_input),
                                          stream=True, stream_options={"include_usage": True})
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


async def flaky(case_input: dict[str, Any], ctx: Any) -> str:
    """The simulator fails this request's first attempt with a 429; the SDK retries."""
    reply = await _client().chat.completions.create(
        model=ctx.model, messages=_ask(case_input),
        extra_headers={"x-sim-faults": "429#1"})
    return reply.choices[0].message.content or ""


async def misreports(case_input: dict[str, Any], ctx: Any) -> Any:
    from passline import AgentRun, Usage

    await two_calls(case_input, ctx)
    return AgentRun(answer="done", usage=Usage(prompt_tokens=1, completion_tokens=1, calls=1))


def answer_only(case_input: dict[str, Any]) -> dict[str, Any]:
    return {"answer": f"no model needed for {case_input['marker']}", "steps": 1}


def wrong_type(case_input: dict[str, Any], ctx: Any) -> int:
    return 42
