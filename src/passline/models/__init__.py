"""passline.models: the model layer used by agents and judges (see :class:`ModelClient`)."""

from __future__ import annotations

from passline.models._cache import EXCLUDED_FIELDS, ResponseCache, request_key
from passline.models._client import ModelClient
from passline.models._endpoint import PRESETS, Endpoint, resolve_endpoint
from passline.models._health import EndpointHealth, endpoint_key
from passline.models._journal import CallJournal
from passline.models._pricing import DEFAULT_PRICES, price_for, usage_for
from passline.models._result import ChatResult, ToolCallRequest

__all__ = [
    "DEFAULT_PRICES",
    "EXCLUDED_FIELDS",
    "PRESETS",
    "CallJournal",
    "ChatResult",
    "Endpoint",
    "EndpointHealth",
    "ModelClient",
    "ResponseCache",
    "ToolCallRequest",
    "endpoint_key",
    "price_for",
    "request_key",
    "resolve_endpoint",
    "usage_for",
]
