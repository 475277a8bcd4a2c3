"""Value matching shared by the scorers: normalised strings, numbers with tolerance.

Rules (documented in docs/scoring.md):
- strings compare after casefold, strip and whitespace collapse (``normalize_strings``);
- numbers compare with ``math.isclose(abs_tol=tol, rel_tol=rel_tol)``; a numeric string
  ("1,200.50", "$12") compares numerically with a number, and with another numeric string
  when strings are normalised;
- mappings compare key by key (all keys, or only the expected ones in subset mode),
  lists element by element; booleans and None compare exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_WS = re.compile(r"\s+")
_NUMERIC = re.compile(r"^[+-]?\$?(?:\d{1,3}(?:,\d{3})+|\d+|(?=\.\d))(?:\.\d+)?$")


def norm_text(text: str) -> str:
    """Casefold, strip and collapse runs of whitespace to one space."""
    return _WS.sub(" ", text.casefold()).strip()


def as_number(value: Any) -> float | None:
    """A float for ints, floats and numeric strings ("1,200.50", "$12", "-3"); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if _NUMERIC.match(text):
            return float(text.replace("$", "").replace(",", ""))
    return None


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How leniently values compare."""

    tol: float = 1e-6
    rel_tol: float = 0.0
    normalize_strings: bool = True


def values_match(expected: Any, got: Any, tolerance: Tolerance, *, subset: bool = False) -> bool:
    """True when ``got`` matches ``expected`` under ``tolerance`` (see module docstring)."""
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return False
        if not subset and set(expected) != set(got):
            return False
        return all(k in got and values_match(v, got[k], tolerance, subset=subset)
                   for k, v in expected.items())
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(expected) != len(got):
            return False
        return all(values_match(e, g, tolerance, subset=subset)
                   for e, g in zip(expected, got, strict=True))
    if expected is None or isinstance(expected, bool) or isinstance(got, bool):
        return expected == got
    either_number = isinstance(expected, (int, float)) or isinstance(got, (int, float))
    if either_number or tolerance.normalize_strings:
        en, gn = as_number(expected), as_number(got)
        if en is not None and gn is not None:
            return math.isclose(en, gn, rel_tol=tolerance.rel_tol, abs_tol=tolerance.tol)
    if isinstance(expected, str) and isinstance(got, str):
        if tolerance.normalize_strings:
            return norm_text(expected) == norm_text(got)
        return expected == got
    return bool(expected == got)


def short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_call(name: str, arguments: Any) -> str:
    """``get_order(order_id='ORD-10042')`` — how calls appear in explanations."""
    if isinstance(arguments, Mapping):
        inner = ", ".join(f"{k}={short_repr(v)}" for k, v in arguments.items())
    elif arguments in (None, ""):
        inner = ""
    else:
        inner = short_repr(arguments)
    return f"{name}({inner})"


def args_mismatch(expected: Mapping[str, Any], got: Any, tolerance: Tolerance,
                  *, subset: bool, label: str = "argument") -> list[str]:
    """Human-readable differences between expected and actual arguments (empty: match)."""
    if not isinstance(got, Mapping):
        return [f"{label}s are {type(got).__name__} {short_repr(got)}, not an object"]
    out = []
    for key, want in expected.items():
        if key not in got:
            out.append(f"{label} {key} missing")
        elif not values_match(want, got[key], tolerance, subset=subset):
            out.append(f"{label} {key}: expected {short_repr(want)}, got {short_repr(got[key])}")
    if not subset:
        out.extend(f"unexpected {label} {k}={short_repr(got[k])}" for k in got
                   if k not in expected)
    return out


def max_matching(n_left: int, n_right: int, ok: Callable[[int, int], bool]) -> dict[int, int]:
    """Maximum one-to-one matching (left -> right) by augmenting paths (Kuhn's algorithm).

    Unlike a greedy first-fit, an early expectation can never "steal" the only call a
    later expectation could match.
    """
    adj = [[j for j in range(n_right) if ok(i, j)] for i in range(n_left)]
    right_of: dict[int, int] = {}  # right -> left

    def augment(i: int, seen: set[int]) -> bool:
        for j in adj[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in right_of or augment(right_of[j], seen):
                right_of[j] = i
                return True
        return False

    for i in range(n_left):
        augment(i, set())
    return {i: j for j, i in right_of.items()}


def closest(candidates: Sequence[int], cost: Callable[[int], int]) -> int | None:
    """The candidate with the lowest cost (first on ties), or None."""
    return min(candidates, key=cost) if candidates else None
