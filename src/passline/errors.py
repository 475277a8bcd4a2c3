"""The one exception hierarchy of passline: every user-facing failure is a PasslineError.

Each message says what was wrong, where (file:line for data), and how to fix it.
Catch ``PasslineError`` broadly or a subclass precisely, as with httpx.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The gate is the exit code; shared by the pytest plugin and the CLI."""

    OK = 0
    REGRESSION = 1
    USAGE_ERROR = 2
    INFRASTRUCTURE_ERROR = 3


class PasslineError(Exception):
    """Base of every error passline raises on purpose."""

    exit_code: ExitCode = ExitCode.USAGE_ERROR


class ConfigError(PasslineError):
    """A setting is missing, malformed or contradictory."""


class DatasetError(PasslineError):
    """A golden dataset is invalid. ``path`` and ``line`` point at the culprit."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
        super().__init__(f"{where}{message}")


class InfrastructureError(PasslineError):
    """Something passline depends on (a server, a port, a disk) is not working."""

    exit_code = ExitCode.INFRASTRUCTURE_ERROR


class ModelError(PasslineError):
    """A model endpoint failed in a way retries could not cure."""

    exit_code = ExitCode.INFRASTRUCTURE_ERROR


class ModelTimeout(ModelError):
    """A model call exceeded its per-call timeout (after retries)."""


class RetriesExhausted(ModelError):
    """A model call kept failing with retryable errors until the retry budget ran out."""


class EndpointDown(ModelError):
    """An endpoint failed to connect or answer too many times in a row: every further call to
    it fails at once with this error instead of waiting out its timeouts and retries."""

    def __init__(self, message: str, *, endpoint: str = "", cause: str = "") -> None:
        self.endpoint = endpoint
        self.cause = cause
        super().__init__(message)


class MalformedOutput(ModelError):
    """A model returned output that does not parse or does not match the requested schema."""


class CacheMiss(PasslineError):
    """Replay-only mode asked the cache for a request it has never recorded."""

    exit_code = ExitCode.INFRASTRUCTURE_ERROR


class RecordError(PasslineError):
    """A persisted record (run, cache, baseline) is unreadable or of an unknown schema version."""


class AgentError(PasslineError):
    """The agent under test failed outside the model layer (bad tool, bad state)."""


class GuardrailTripped(AgentError):
    """A circuit breaker stopped an agent run (steps, cost, loop, disallowed action...)."""

    def __init__(self, guardrail: str, message: str) -> None:
        self.guardrail = guardrail
        super().__init__(f"guardrail {guardrail!r} tripped: {message}")


class ScorerError(PasslineError):
    """A scorer crashed, returned something other than a Score, or was declared wrongly.

    ``scorer`` names the culprit; ``case_ref`` the case it was scoring (when known).
    """

    def __init__(self, message: str, *, scorer: str | None = None,
                 case_ref: str | None = None) -> None:
        self.scorer = scorer
        self.case_ref = case_ref
        super().__init__(message)


class GateFailed(PasslineError):
    """The regression gate found a regression; carries the reasons."""

    exit_code = ExitCode.REGRESSION
