"""passline.capture: every model call an agent makes, attributed to its case.

Whatever client the agent uses -- ``ctx.client``, its own ``openai`` client (sync or async,
streaming or not), LangChain's ``ChatOpenAI``, the OpenAI Agents SDK, LiteLLM -- each call is
recorded against the case, trial and variant whose agent made it (tokens, cost, latency,
retries, the prompt as sent), becomes a span in that case's trace, goes through the
record/replay cache, and feeds the report's prompt diff. The agent needs no passline import.
"""

from __future__ import annotations

from passline.capture._calls import CALLS_SCHEMA_VERSION, CapturedCall, ToolSpec, trajectory
from passline.capture._ledger import PromptLedger
from passline.capture._state import (
    PLACEHOLDER_KEY,
    SENTINEL_BASE_URL,
    CaptureSession,
    CaseCapture,
    active_session,
    current_case,
)

__all__ = [
    "CALLS_SCHEMA_VERSION",
    "PLACEHOLDER_KEY",
    "SENTINEL_BASE_URL",
    "CaptureSession",
    "CapturedCall",
    "CaseCapture",
    "PromptLedger",
    "ToolSpec",
    "active_session",
    "current_case",
    "trajectory",
]
