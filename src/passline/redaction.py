"""PII and credential redaction: one set of rules for agents, traces and imported traffic.

Applied to answers and traces by the reference agent (``agents/guardrails.py``) and to every
recorded conversation by ``passline traces import`` before anything is written, so personal
data and credentials found in production logs never reach the traffic store, golden drafts or
reports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Order matters: cards before phone numbers, secrets before anything that could eat a part.
PII_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("EMAIL", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")),
    ("CARD", re.compile(r"\b(?:\d[ -]?){13,16}\b")),
    ("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("PHONE", re.compile(r"(?<![\w-])\+?\d{1,2}[ .-]?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")),
)
# API keys and bearer tokens as they appear in logged headers or pasted into prompts
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("SECRET", re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}")),
    ("SECRET", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}")),
)
# mapping keys whose values are credentials: dropped whole, whatever they hold
SECRET_KEYS = frozenset({"authorization", "api_key", "api-key", "x-api-key", "apikey",
                         "openai_api_key", "user_api_key", "proxy-authorization", "cookie",
                         "set-cookie"})


def redact(value: Any) -> Any:
    """Replace e-mail addresses, phone, card and social security numbers with placeholders,
    recursively through mappings and lists.

    >>> redact("mail ana@example.com or call +1 415-555-0134")
    'mail [EMAIL] or call [PHONE]'
    """
    if isinstance(value, str):
        for label, pattern in PII_PATTERNS:
            value = pattern.sub(f"[{label}]", value)
        return value
    if isinstance(value, Mapping):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    return value


def redact_all(value: Any) -> Any:
    """:func:`redact` plus credentials: values under credential keys (``authorization``,
    ``api_key``...) are dropped and API keys or bearer tokens inside text become
    ``[SECRET]``. What traffic import applies to every record before it is stored.

    >>> redact_all({"headers": {"Authorization": "Bearer abc"},
    ...             "q": "key sk-TEST-CANARY-not-a-key-0001"})
    {'headers': {}, 'q': 'key [SECRET]'}
    """
    if isinstance(value, str):
        for label, pattern in SECRET_PATTERNS:
            value = pattern.sub(f"[{label}]", value)
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_all(v) for k, v in value.items()
                if not (isinstance(k, str) and k.lower() in SECRET_KEYS)}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_all(v) for v in value)
    return value


def contains_pii(text: str) -> bool:
    """True when ``text`` holds anything :func:`redact` would replace."""
    return any(p.search(text) for _, p in PII_PATTERNS)
