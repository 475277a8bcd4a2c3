"""The scorer contract: a callable ``(run, case) -> Score``, named, and run by ``evaluate``.

A scorer that raises is a *harness* error (the case ends with status "error"), never a
silently failing score: ``evaluate`` turns any exception into :class:`ScorerError`.
A scorer whose expectation is absent from a case returns a "not applicable" score
(:func:`not_applicable`); ``evaluate`` drops those so they never inflate a mean.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, overload

from passline._types import AgentRun, Case, Score
from passline.errors import ScorerError

NOT_APPLICABLE = "applicable"  # details key: False marks a score that did not apply
#: details key: True marks an *advisory* score -- reported, but never failing its case (and
#: so never failing a must-pass case or the gate) and left out of the case's gated score.
#: The judge scorer sets it for a judge that is not trusted (docs/judges.md, untrusted_judge).
ADVISORY = "advisory"


class Scorer(Protocol):
    """The scorer protocol: ``scorer(run, case) -> Score``; ``__name__`` names its scores."""

    __name__: str

    def __call__(self, run: AgentRun, case: Case, /) -> Score: ...


def scorer_name(fn: Callable[..., Any]) -> str:
    """The name a scorer's scores carry: its ``__name__`` (or its type's name)."""
    return getattr(fn, "__name__", None) or type(fn).__name__


def named(fn: Callable[[AgentRun, Case], Score], name: str) -> Scorer:
    """Give a scorer closure a readable ``__name__`` (used as ``Score.name``)."""
    fn.__name__ = name
    fn.__qualname__ = name
    return fn


def not_applicable(name: str, why: str) -> Score:
    """A score saying "this scorer has nothing to check on this case" (dropped by evaluate)."""
    return Score(name=name, value=1.0, passed=True, explanation=f"not applicable: {why}",
                 details={NOT_APPLICABLE: False})


def is_applicable(score: Score) -> bool:
    """False for scores made by :func:`not_applicable`."""
    return score.details.get(NOT_APPLICABLE, True) is not False


def score_may_fail(score: Score) -> bool:
    """Whether ``score`` may fail its case: every score except an advisory one (see
    :data:`ADVISORY`). The one place the outcome of a case asks this.

    >>> score_may_fail(Score("judge:answer-quality@1", 0.25, False, "2/5",
    ...                      details={"advisory": True}))
    False
    """
    return score.details.get(ADVISORY) is not True


def _where(fn: Callable[..., Any]) -> str:
    code = getattr(fn, "__code__", None)
    module = getattr(fn, "__module__", "?")
    if code is not None:
        return f"{module} ({code.co_filename}:{code.co_firstlineno})"
    return module


def check_signature(fn: Callable[..., Any], *, what: str = "scorer") -> None:
    """Raise ScorerError unless ``fn`` can be called as ``fn(run, case)`` synchronously."""
    label = getattr(fn, "__qualname__", None) or repr(fn)
    if not callable(fn):
        raise ScorerError(f"{what} {label!r} is not callable; a {what} is a function "
                          "`def my_scorer(run, case) -> Score`", scorer=str(label))
    if inspect.iscoroutinefunction(fn):
        raise ScorerError(
            f"{what} {label} in {_where(fn)} is async; scorers are plain functions "
            "`def my_scorer(run, case) -> Score` (run async work in the agent, not the scorer)",
            scorer=label,
        )
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without signature: trust them
        return
    try:
        sig.bind(object(), object())
    except TypeError as exc:
        raise ScorerError(
            f"{what} {label}{sig} in {_where(fn)} cannot be called as {label}(run, case): "
            f"{exc}; define it as `def {getattr(fn, '__name__', 'my_scorer')}"
            "(run: AgentRun, case: Case) -> Score`",
            scorer=label,
        ) from None


@overload
def scorer(fn: Callable[..., Any], /) -> Scorer: ...
@overload
def scorer(*, name: str | None = None) -> Callable[[Callable[..., Any]], Scorer]: ...


def scorer(fn: Callable[..., Any] | None = None, /, *,
           name: str | None = None) -> Scorer | Callable[[Callable[..., Any]], Scorer]:
    """Declare a custom scorer; its signature is checked now, not at the first case.

    The function receives ``(run, case)`` and returns a :class:`Score` or a ``bool``
    (``True`` -> value 1, passed). Its scores are named ``name`` (default: the function name).

    >>> @scorer(name="polite")
    ... def polite(run, case):
    ...     return "please" in run.answer.lower()
    """

    def decorate(f: Callable[..., Any]) -> Scorer:
        check_signature(f)
        score_name: str = name or getattr(f, "__name__", None) or "scorer"

        @functools.wraps(f)
        def wrapper(run: AgentRun, case: Case) -> Score:
            result = f(run, case)
            if isinstance(result, bool):
                return Score(score_name, float(result), result,
                             "" if result else f"{score_name} returned False")
            if isinstance(result, Score):
                if result.name != score_name:
                    result = dataclasses.replace(result, name=score_name)
                return result
            raise ScorerError(
                f"scorer {score_name!r} returned {type(result).__name__}, expected a Score "
                "or a bool; return Score(name, value, passed, explanation)",
                scorer=score_name, case_ref=case.ref,
            )

        return named(wrapper, score_name)

    if fn is not None:
        return decorate(fn)
    return decorate


def call_scorer(fn: Callable[..., Any], run: AgentRun, case: Case) -> Score:
    """Run one scorer; any exception or a non-Score result becomes a ScorerError."""
    label = scorer_name(fn)
    try:
        result = fn(run, case)
    except ScorerError as exc:
        if exc.case_ref is None:
            exc.case_ref = case.ref
        raise
    except Exception as exc:
        raise ScorerError(
            f"scorer {label!r} raised {type(exc).__name__}: {exc} (case {case.ref}); "
            "this is a bug in the scorer or a malformed expectation in the case, "
            "not a failing score",
            scorer=label, case_ref=case.ref,
        ) from exc
    if not isinstance(result, Score):
        raise ScorerError(
            f"scorer {label!r} returned {type(result).__name__} for case {case.ref}, "
            "expected a passline Score",
            scorer=label, case_ref=case.ref,
        )
    return result


def evaluate(run: AgentRun, case: Case, scorers: Iterable[Callable[..., Any]], *,
             keep_not_applicable: bool = False) -> list[Score]:
    """Score one run with every scorer, in order.

    Scores marked not applicable are dropped (unless ``keep_not_applicable``); if
    scorers were given but none applies, the eval is misconfigured and ScorerError says
    so. No scorers at all gives an empty list. An exception
    inside a scorer is re-raised as ScorerError naming the scorer and the case.

    >>> evaluate(run, case, [tool_call_match(), status_is("ok")])
    [Score(name='tool_call_match', ...), Score(name='status_is', ...)]
    """
    scorers = list(scorers)
    if not scorers:
        return []  # an eval may assert on the run itself instead of using scorers
    scores = [call_scorer(fn, run, case) for fn in scorers]
    kept = scores if keep_not_applicable else [s for s in scores if is_applicable(s)]
    if not kept:
        names = ", ".join(scorer_name(fn) for fn in scorers)
        keys = ", ".join(sorted(case.expected)) or "none"
        raise ScorerError(
            f"no scorer applied to case {case.ref}: scorers [{names}] found nothing to check "
            f"(its expected keys: {keys}); add the expectation to the case or choose scorers "
            "that match it",
            case_ref=case.ref,
        )
    return kept


def expected_value(case: Case, key: str, given: Any) -> Any:
    """The expectation a factory was given, else ``case.expected[key]`` (None if absent)."""
    if given is not None:
        return given
    return case.expected.get(key)


def ensure_list(value: Any, *, what: str, scorer: str, case: Case) -> Sequence[Any]:
    """Check an expectation is a list; a malformed case is a ScorerError, not a fail."""
    if isinstance(value, (list, tuple)):
        return value
    raise ScorerError(
        f"case {case.ref}: {what} must be a list, got {type(value).__name__}; "
        "fix the case (run `passline golden validate`)",
        scorer=scorer, case_ref=case.ref,
    )
