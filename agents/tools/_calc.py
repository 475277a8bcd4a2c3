"""A safe arithmetic evaluator over Python's ``ast``: numbers and a few functions, nothing else."""

from __future__ import annotations

import ast
import decimal
import math
import operator
from collections.abc import Callable
from typing import Any

MAX_EXPRESSION_CHARS = 200
MAX_NODES = 120
MAX_EXPONENT = 100
MAX_MAGNITUDE = 1e15

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.USub: operator.neg,
                                                        ast.UAdd: operator.pos}


def _round_half_up(value: float, digits: int = 0) -> int | float:
    """Round like a person does with money (2.675 -> 2.68), not banker's rounding on binary."""
    quantum = decimal.Decimal(1).scaleb(-digits)
    result = decimal.Decimal(repr(value)).quantize(quantum, rounding=decimal.ROUND_HALF_UP)
    return int(result) if digits <= 0 else float(result)


_FUNCS: dict[str, Callable[..., Any]] = {"round": _round_half_up, "min": min, "max": max,
                                         "abs": abs}
ALLOWED = "numbers, + - * / // % **, parentheses, round(), min(), max(), abs()"


class CalcError(ValueError):
    """The expression is not plain arithmetic or cannot be computed; message says why."""


def _check(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise CalcError("the result is not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise CalcError(f"an intermediate result exceeds {MAX_MAGNITUDE:g}; use smaller numbers")
    return value


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise CalcError(f"only numbers are allowed, not {node.value!r:.30}")
        return _check(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(_UNARY[type(node.op)](_eval(node.operand)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise CalcError(f"exponent {right} is too large (at most {MAX_EXPONENT})")
        try:
            return _check(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError as exc:
            raise CalcError("division by zero") from exc
        except OverflowError as exc:
            raise CalcError("the result is too large") from exc
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
            raise CalcError(f"only the functions {', '.join(_FUNCS)} are allowed")
        if node.keywords or not node.args:
            raise CalcError(f"{node.func.id}() takes positional numbers only")
        args = [_eval(a) for a in node.args]
        if node.func.id == "round":
            if len(args) > 2 or (len(args) == 2 and (not isinstance(args[1], int)
                                                     or abs(args[1]) > 10)):
                raise CalcError("round() takes a number and optional whole number of digits")
        elif node.func.id == "abs" and len(args) != 1:
            raise CalcError("abs() takes one number")
        return _check(_FUNCS[node.func.id](*args))
    what = type(node).__name__
    if isinstance(node, ast.Tuple):
        what = "a comma outside a function call (write numbers without thousands separators)"
    elif isinstance(node, ast.Attribute | ast.Name | ast.Subscript):
        what = "names and attribute access"
    raise CalcError(f"{what} is not allowed; use only {ALLOWED}")


def evaluate(expression: str) -> int | float:
    """Evaluate plain arithmetic; raises CalcError with a fix-it message otherwise.

    >>> evaluate("round(1200.5 * 0.15, 2)")
    180.08
    """
    text = expression.strip()
    if not text:
        raise CalcError("expression is empty; write arithmetic like (120 + 80) * 1.5")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalcError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        hint = " (write numbers without $ or thousands separators)" if any(
            c in text for c in "$,") else ""
        raise CalcError(f"expression is not valid arithmetic{hint}: {exc.msg}") from exc
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalcError(f"expression is too complex (more than {MAX_NODES} parts)")
    result = _eval(tree)
    if isinstance(result, float):
        result = round(result, 10)
        if result.is_integer() and abs(result) < 2**53:
            return result
    return result
