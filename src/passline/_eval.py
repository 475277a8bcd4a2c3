"""``@passline.eval``: bind a test function to a golden dataset, an agent and scorers."""

from __future__ import annotations

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
    # the arguments are checked when pytest collects the eval, so a mistake is reported as
    # one line naming the test's file and line, not as a traceback from importing the module
    def decorate(fn: F) -> F:
        import pytest

        mark = pytest.mark.passline(dataset, agent=agent, trials=trials, scorers=tuple(scorers),
                                    threshold=threshold, allow_errors=allow_errors)
        return mark(fn)

    return decorate
