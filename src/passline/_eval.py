"""``@passline.eval``: bind a test function to a golden dataset, an agent and scorers."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def eval(  # the public name users write: @passline.eval(...)
    dataset: str,
    *,
    agent: str | Callable[..., Any] | None = None,
    trials: int | None = None,
    scorers: Sequence[Callable[..., Any]] = (),
    threshold: float | None = None,
    allow_errors: bool = False,
) -> Callable[[F], F]:
    """Make a test an eval: one pytest item per case x trial x variant of ``dataset``.

    The test takes ``case`` and/or ``run`` (the finished :class:`~passline.AgentRun`),
    optionally ``scores`` and ``variant``. Each scorer must pass (or their mean reach
    ``threshold``) and the test body must not fail.

    >>> @passline.eval("tools-unit@v2", scorers=[tool_call_match(args="subset")])
    ... def test_tool_choice(run):
    ...     assert run.status == "ok"
    """
    from passline.errors import ConfigError

    for s in scorers:
        if not callable(s):
            raise ConfigError(f"passline.eval: scorer {s!r} is not callable")
    if trials is not None and trials < 1:
        raise ConfigError(f"passline.eval: trials must be >= 1, got {trials}")

    def decorate(fn: F) -> F:
        import pytest

        params = inspect.signature(fn).parameters
        if not {"case", "run", "scores"} & set(params):
            raise ConfigError(f"passline.eval: {fn.__qualname__} must take `case`, `run` or "
                              "`scores` as an argument")
        mark = pytest.mark.passline(dataset, agent=agent, trials=trials, scorers=tuple(scorers),
                                    threshold=threshold, allow_errors=allow_errors)
        return mark(fn)

    return decorate
