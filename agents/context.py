"""Context engineering: what goes into each model call, within a token budget.

Long tool outputs are trimmed (lists shortened with a count of what was left out, long
strings clipped) before they reach the model; conversation history is cut oldest-first to fit
the budget; only memory relevant to the request is injected (see ``agents.memory``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

CHARS_PER_TOKEN = 4


def approx_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def trim_tool_output(result: Any, max_tokens: int = 600, *, max_items: int = 8) -> str:
    """JSON text of a tool result that fits ``max_tokens``: lists keep their first items
    plus a note of how many were dropped; strings are clipped with a marker."""
    value = _shrink(result, max_items)
    text = json.dumps(value, default=str, separators=(",", ":"))
    while approx_tokens(text) > max_tokens and max_items > 1:
        max_items //= 2
        value = _shrink(result, max_items)
        text = json.dumps(value, default=str, separators=(",", ":"))
    limit = max_tokens * CHARS_PER_TOKEN
    if len(text) > limit:
        text = text[:limit] + f'..."[trimmed {len(text) - limit} chars]"'
    return text


def _shrink(value: Any, max_items: int) -> Any:
    if isinstance(value, Mapping):
        return {k: _shrink(v, max_items) for k, v in value.items()}
    if isinstance(value, list):
        head = [_shrink(v, max_items) for v in value[:max_items]]
        if len(value) > max_items:
            head.append({"_omitted": len(value) - max_items,
                         "_note": "more items omitted to fit the context budget"})
        return head
    if isinstance(value, str) and len(value) > 1200:
        return value[:1200] + f" [... {len(value) - 1200} chars trimmed]"
    return value


def fit_messages(messages: Sequence[Mapping[str, Any]], budget_tokens: int
                 ) -> list[dict[str, Any]]:
    """Keep system messages and the latest turns; drop the oldest others to fit the budget.

    Tool results are never separated from the assistant message that asked for them.
    """
    system = [dict(m) for m in messages if m.get("role") == "system"]
    rest = [dict(m) for m in messages if m.get("role") != "system"]
    used = sum(_tokens(m) for m in system)
    kept: list[dict[str, Any]] = []
    for msg in reversed(rest):
        cost = _tokens(msg)
        if kept and used + cost > budget_tokens:
            break
        kept.append(msg)
        used += cost
    kept.reverse()
    while kept and kept[0].get("role") == "tool":  # an orphaned tool result confuses models
        kept.pop(0)
    return system + kept


def _tokens(message: Mapping[str, Any]) -> int:
    total = 4 + approx_tokens(str(message.get("content") or ""))
    for call in message.get("tool_calls") or ():
        total += approx_tokens(json.dumps(call, default=str))
    return total
