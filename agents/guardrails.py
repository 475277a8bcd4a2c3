"""Guardrails as circuit breakers: each check either lets the run go on or trips and ends it.

A tripped guardrail raises :class:`passline.errors.GuardrailTripped`; the orchestrator turns
it into an ``AgentRun`` with status ``guardrail`` and the guardrail's name -- a clear, reported
stop, never a hang and never a silently wrong answer.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from passline._types import Usage
from passline.errors import GuardrailTripped

# PII redaction lives in the package (one set of rules for agents, traces and imported
# traffic); re-exported here for the agent's own modules.
from passline.redaction import contains_pii, redact

__all__ = ["Guardrails", "Limits", "contains_pii", "redact"]


@dataclasses.dataclass(frozen=True)
class Limits:
    """Circuit-breaker limits for one run (override per run through ``AgentContext.params``)."""

    max_steps: int = 24  # model calls + tool calls
    max_cost_usd: float = 0.05
    max_repeats: int = 2  # identical tool call (name + arguments) allowed this many times
    disallowed_tools: frozenset[str] = frozenset({"delete_customer", "export_customers"})
    max_refund_usd: float = 5_000.0

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Limits:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in params.items() if k in fields}
        if "disallowed_tools" in values:
            values["disallowed_tools"] = frozenset(values["disallowed_tools"])
        return cls(**values)


class Guardrails:
    """Counts steps and cost, remembers tool calls, and trips when a limit is crossed."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.steps = 0
        self.usage = Usage()
        self._calls: Counter[str] = Counter()

    def step(self, what: str) -> None:
        self.steps += 1
        if self.steps > self.limits.max_steps:
            raise GuardrailTripped("max_steps", f"more than {self.limits.max_steps} steps "
                                   f"(last: {what}); the run was stopped")

    def spend(self, usage: Usage) -> None:
        self.usage = self.usage + usage
        if self.usage.cost_usd > self.limits.max_cost_usd:
            raise GuardrailTripped("max_cost", f"cost ${self.usage.cost_usd:.4f} exceeds the "
                                   f"budget of ${self.limits.max_cost_usd:.4f}")

    def check_tool(self, name: str, arguments: Mapping[str, Any],
                   order_total: float | None = None) -> None:
        """Before a tool runs: disallowed actions, loops, out-of-bounds refunds."""
        if name in self.limits.disallowed_tools:
            raise GuardrailTripped("disallowed_action", f"tool {name!r} is not allowed")
        key = name + json.dumps(arguments, sort_keys=True, default=str)
        self._calls[key] += 1
        if self._calls[key] > self.limits.max_repeats:
            raise GuardrailTripped("loop", f"{name} called {self._calls[key]} times with the "
                                   f"same arguments {dict(arguments)}")
        if name == "issue_refund":
            amount = _number(arguments.get("amount_usd"))
            if amount is not None and amount > self.limits.max_refund_usd:
                raise GuardrailTripped("out_of_bounds", f"refund of {amount:.2f} USD exceeds the "
                                       f"hard limit of {self.limits.max_refund_usd:.2f} USD")
            if amount is not None and order_total is not None and amount > order_total + 1e-9:
                raise GuardrailTripped("out_of_bounds", f"refund of {amount:.2f} USD is larger "
                                       f"than the {order_total:.2f} USD still refundable on "
                                       "this order")


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
