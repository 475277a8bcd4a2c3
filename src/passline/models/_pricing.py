"""Prices per million tokens, used to turn token usage into dollars.

Real providers' list prices change; override or extend them in ``[tool.passline.pricing]``
(``"my-model" = {input = 0.5, output = 1.5}``). The simulator's models carry notional prices
in the range of small real models so that cost comparisons in reports mean something.
"""

from __future__ import annotations

from collections.abc import Mapping

from passline._types import Usage

# USD per 1M tokens: (input, output)
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "sim-1": (0.15, 0.60),
    "sim-2": (0.40, 1.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o4-mini": (1.10, 4.40),
}


def price_for(model: str, overrides: Mapping[str, Mapping[str, float]] | None = None
              ) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens for ``model``; ``None`` when unknown (cost 0)."""
    if overrides and model in overrides:
        entry = overrides[model]
        return float(entry.get("input", 0.0)), float(entry.get("output", 0.0))
    if model in DEFAULT_PRICES:
        return DEFAULT_PRICES[model]
    # dated snapshots ("gpt-4o-2024-08-06") are priced like their family
    for name in sorted(DEFAULT_PRICES, key=len, reverse=True):
        if model.startswith(name + "-"):
            return DEFAULT_PRICES[name]
    return None


def usage_for(model: str, prompt_tokens: int, completion_tokens: int, *,
              overrides: Mapping[str, Mapping[str, float]] | None = None,
              cached: bool = False) -> Usage:
    price = price_for(model, overrides)
    cost = 0.0
    if price is not None:
        cost = (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
    return Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                 cost_usd=cost, calls=1, cached_calls=1 if cached else 0)
