"""Validate a model's tool arguments against a tool's JSON schema (the subset tools use).

Returns messages a model can act on ("order_id must look like ORD-10042"), never raises
for bad input: a model's mistake is data for its next turn, not a crash.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def _hint(spec: Mapping[str, Any]) -> str:
    examples = spec.get("examples")
    return f", like {examples[0]}" if examples else ""


def check_value(name: str, value: Any, spec: Mapping[str, Any]) -> tuple[Any, str | None]:
    """Check one argument; returns (possibly normalised value, error message or None)."""
    kind = spec.get("type", "string")
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) and kind != "boolean":
        return value, f"{name} must be a {kind}, got a boolean{_hint(spec)}"
    if not isinstance(value, _TYPES[kind]):
        return value, (f"{name} must be a {kind}, got {type(value).__name__} "
                       f"{value!r:.40}{_hint(spec)}")
    if "enum" in spec and value not in spec["enum"]:
        choices = ", ".join(str(v) for v in spec["enum"])
        return value, f"{name} must be one of {choices}; got {value!r:.40}"
    if kind == "string":
        if len(value) < spec.get("minLength", 0):
            return value, f"{name} must not be empty{_hint(spec)}"
        if len(value) > spec.get("maxLength", 10_000):
            limit = spec["maxLength"]
            return value, f"{name} is too long ({len(value)} characters, at most {limit})"
        pattern = spec.get("pattern")
        if pattern and not re.search(pattern, value):
            return value, f"{name} {value!r:.40} does not match {pattern}{_hint(spec)}"
        if spec.get("format") == "date" and not _is_iso_date(value):
            return value, f"{name} must be a date as YYYY-MM-DD, got {value!r:.40}"
    if kind in ("integer", "number"):
        if "minimum" in spec and value < spec["minimum"]:
            return value, f"{name} must be >= {spec['minimum']}, got {value}"
        if "maximum" in spec and value > spec["maximum"]:
            return value, f"{name} must be <= {spec['maximum']}, got {value}"
    return value, None


def _is_iso_date(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def validate_arguments(arguments: Mapping[str, Any],
                       schema: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Validate ``arguments`` against an object ``schema``; returns (clean args, errors).

    ``null`` for an optional argument means "not given". Unknown arguments are errors,
    so a model learns the real parameter names.
    """
    props: Mapping[str, Any] = schema.get("properties", {})
    required = list(schema.get("required", []))
    clean: dict[str, Any] = {}
    errors: list[str] = []
    for name, value in arguments.items():
        if name not in props:
            allowed = ", ".join(props) or "no arguments"
            errors.append(f"unknown argument {name!r}; this tool takes: {allowed}")
            continue
        if value is None and name not in required:
            continue
        value, error = check_value(name, value, props[name])
        if error:
            errors.append(error)
        else:
            clean[name] = value
    for name in required:
        if arguments.get(name) is None:
            errors.append(f"missing required argument {name!r}{_hint(props[name])}")
    return clean, errors
