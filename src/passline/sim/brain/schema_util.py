"""JSON-schema helpers for structured output: types, $ref, choices, allOf, fitting values.

Small functions shared by the schema filler (schema.py); they read schemas, never the
conversation.
"""

from __future__ import annotations

import re
from typing import Any

from passline.sim.brain.ids import schema_type
from passline.sim.brain.parsing import regex_example
from passline.sim.brain.text import choice_descriptions
from passline.sim.brain.validate import resolve_ref, validate

MAX_DEPTH = 12


def kind_of(schema: dict[str, Any]) -> str:
    if "type" not in schema:
        if isinstance(schema.get("properties"), dict):
            return "object"
        if isinstance(schema.get("items"), dict):
            return "array"
    return schema_type(schema)


def deref(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < MAX_DEPTH:
        schema = resolve_ref(str(schema["$ref"]), root)
        seen += 1
    return schema if isinstance(schema, dict) else {}


def choices_of(schema: dict[str, Any], root: dict[str, Any]) -> tuple[list[Any], dict[str, str]]:
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return list(schema["enum"]), enum_descriptions(schema)
    for key in ("oneOf", "anyOf"):
        branches = [deref(b, root) for b in schema.get(key) or []]
        if branches and all("const" in b for b in branches):
            return [b["const"] for b in branches], {
                str(b["const"]): f"{b.get('title') or ''} {b.get('description') or ''}"
                for b in branches
            }
    return [], {}


def choice_field(items: dict[str, Any], root: dict[str, Any]) -> str | None:
    """The property of a plan item that picks among choices (e.g. ``worker``)."""
    if kind_of(items) != "object" or not isinstance(items.get("properties"), dict):
        return None
    for key, sub in items["properties"].items():
        values, _ = choices_of(deref(sub, root), root)
        if len(values) >= 2:
            return key
    return None


def enum_descriptions(schema: dict[str, Any]) -> dict[str, str]:
    return choice_descriptions(str(schema.get("description") or ""), schema.get("enum") or [])


def merge_all_of(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    props: dict[str, Any] = dict(merged.get("properties") or {})
    required: list[str] = list(merged.get("required") or [])
    for branch in schema["allOf"]:
        branch = deref(branch, root)
        props.update(branch.get("properties") or {})
        required += [r for r in branch.get("required") or [] if r not in required]
        for key, value in branch.items():
            if key not in ("properties", "required"):
                merged.setdefault(key, value)
    if props:
        merged["properties"] = props
    if required:
        merged["required"] = required
    return merged


def fit_string(value: str, schema: dict[str, Any]) -> str:
    if schema.get("enum"):
        return schema["enum"][0]
    hi = schema.get("maxLength")
    lo = schema.get("minLength")
    if isinstance(hi, int) and len(value) > hi:
        value = value[:hi]
    if isinstance(lo, int) and len(value) < lo:
        value = value + "." * (lo - len(value))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if not re.search(pattern, value):
                value = regex_example(pattern) or value
        except re.error:
            pass
    return value


def clamp(value: float, schema: dict[str, Any], *, integer: bool) -> float | int:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    step = 1 if integer else 0.01
    if isinstance(lo, int | float):
        value = max(value, lo)
    if isinstance(xlo, int | float) and value <= xlo:
        value = xlo + step
    if isinstance(hi, int | float):
        value = min(value, hi)
    if isinstance(xhi, int | float) and value >= xhi:
        value = xhi - step
    if integer:
        whole = round(value)
        if isinstance(lo, int | float) and whole < lo:
            whole += 1
        if isinstance(hi, int | float) and whole > hi:
            whole -= 1
        return int(whole)
    if float(value).is_integer():
        return int(value)
    rounded = round(value, 4)
    return rounded if not validate(rounded, schema) else value


def minimal(schema: dict[str, Any], kind: str) -> Any:
    return {"object": {}, "array": [], "string": "", "integer": 0, "number": 0,
            "boolean": False}.get(kind)
