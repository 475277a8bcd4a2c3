"""A read-only view of a chat-completions request: who said what, which tools ran, with what.

The brain never looks at anything but the request; this module turns the raw messages into
the few things it decides on (the user's request, tool results since then, system rules).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from passline.sim.brain.text import tag_content

#: Tags whose content is the actual request when a prompt wraps it ("<task>...</task>").
REQUEST_TAGS = ("request", "task", "question", "query", "user_request")
#: Tags whose content is evidence to answer from when no tool ran.
CONTEXT_TAGS = (
    "context", "documents", "results", "reports", "report", "evidence", "worker_results",
    "document", "email", "attachment",
)


def content_text(content: Any) -> str:
    """Text of a message ``content``: a string, None, or a list of OpenAI content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return str(content)


@dataclass(frozen=True)
class ToolResult:
    """One tool message, joined with the assistant call that asked for it."""

    name: str
    arguments: dict[str, Any]
    content: str
    data: Any  # parsed JSON content, or None when the content is not JSON

    @property
    def is_error(self) -> bool:
        return isinstance(self.data, dict) and "error" in self.data and len(self.data) <= 3


@dataclass(frozen=True)
class Conversation:
    """What the brain needs from ``messages``."""

    system: str
    user_message: str  # the last user message, verbatim
    request: str  # the request inside it (a <task>/<request> block if present)
    earlier_user: tuple[str, ...]  # earlier user messages, most recent first
    calls: tuple[tuple[str, str], ...]  # (name, arguments json) called after the last user msg
    results: tuple[ToolResult, ...]  # tool results after the last user message, in order
    earlier_results: tuple[ToolResult, ...]  # tool results before it, most recent first
    rounds: int  # assistant tool-calling turns after the last user message
    context_blocks: tuple[str, ...] = field(default=())

    @property
    def system_facts(self) -> str:
        """System-message lines that state facts, not examples (no "like"/"e.g."): where a
        required argument is looked up last ("Facts from earlier steps: ...")."""
        return "\n".join(
            line for line in self.system.splitlines()
            if not re.search(r"\b(like|e\.g|example|such as|format)\b", line, re.I)
        )

    @property
    def called_names(self) -> set[str]:
        return {name for name, _ in self.calls}

    def fallback_texts(self) -> list[str]:
        """Where missing arguments are looked up, in order: the whole request, earlier user
        messages, tool results of this turn (latest first), earlier tool results."""
        texts = [self.user_message]
        texts.extend(self.earlier_user)
        texts.extend(r.content for r in reversed(self.results))
        texts.extend(r.content for r in self.earlier_results)
        return texts


def parse_conversation(messages: list[dict[str, Any]]) -> Conversation:
    """Build the :class:`Conversation` view of a request's ``messages``."""
    system_parts: list[str] = []
    last_user = -1
    for i, m in enumerate(messages):
        role = m.get("role")
        if role in ("system", "developer"):
            system_parts.append(content_text(m.get("content")))
        elif role == "user":
            last_user = i
    user_message = content_text(messages[last_user].get("content")) if last_user >= 0 else ""
    earlier_user = tuple(
        content_text(m.get("content"))
        for m in reversed(messages[: max(last_user, 0)])
        if m.get("role") == "user"
    )
    call_index: dict[str, tuple[str, dict[str, Any]]] = {}
    calls: list[tuple[str, str]] = []
    results: list[ToolResult] = []
    earlier: list[ToolResult] = []
    rounds = 0
    for i, m in enumerate(messages):
        role = m.get("role")
        if role == "assistant" and m.get("tool_calls"):
            if i > last_user:
                rounds += 1
            for call in m["tool_calls"]:
                fn = call.get("function") or {}
                name = str(fn.get("name", ""))
                raw_args = fn.get("arguments") or "{}"
                try:
                    args = json.loads(raw_args) if isinstance(raw_args, str) else dict(raw_args)
                except (ValueError, TypeError):
                    args = {}
                if not isinstance(args, dict):
                    args = {}
                call_index[str(call.get("id", ""))] = (name, args)
                if i > last_user:
                    calls.append((name, json.dumps(args, sort_keys=True)))
        elif role == "tool":
            text = content_text(m.get("content"))
            name, args = call_index.get(str(m.get("tool_call_id", "")), (m.get("name") or "", {}))
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            result = ToolResult(str(name), args, text, data)
            (results if i > last_user else earlier).append(result)
    request = user_message
    for tag in REQUEST_TAGS:
        inner = tag_content(user_message, tag)
        if inner:
            request = inner
            break
    blocks = []
    for source in (user_message, *system_parts):
        for tag in CONTEXT_TAGS:
            inner = tag_content(source, tag)
            if inner:
                blocks.append(inner)
    return Conversation(
        system="\n".join(p for p in system_parts if p),
        user_message=user_message,
        request=request,
        earlier_user=earlier_user,
        calls=tuple(calls),
        results=tuple(results),
        earlier_results=tuple(reversed(earlier)),
        rounds=rounds,
        context_blocks=tuple(blocks),
    )
