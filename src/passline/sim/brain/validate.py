"""A small JSON-schema checker for the subset the simulator promises to honour.

Supported: type (incl. lists of types), enum, const, properties, required,
additionalProperties, items, minItems/maxItems, minLength/maxLength, pattern,
minimum/maximum/exclusiveMinimum/exclusiveMaximum, oneOf/anyOf/allOf, local $ref
("#/$defs/X", "#/definitions/X"). Unknown keywords are ignored.
"""

from __future__ import annotations

import re
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a dict, else an empty dict (schemas from requests are untrusted)."""
    return value if isinstance(value, dict) else {}


def resolve_ref(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    """The schema a local ``$ref`` points at ({} when it cannot be resolved)."""
    if not ref.startswith("#"):
        return {}
    node: Any = root
    for part in ref[1:].split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return {}
        node = node[part]
    return node if isinstance(node, dict) else {}


def type_matches(value: Any, kind: str) -> bool:
    """JSON-schema type check (booleans are not integers; 3.0 is an integer)."""
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(kind, (object,)))


def validate(value: Any, schema: Any, root: dict[str, Any] | None = None,
             path: str = "$") -> list[str]:
    """Errors of ``value`` against ``schema`` (empty list: valid)."""
    if not isinstance(schema, dict):
        return []
    root = root if root is not None else schema
    if "$ref" in schema:
        return validate(value, resolve_ref(str(schema["$ref"]), root), root, path)
    errors: list[str] = []
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(type_matches(value, str(k)) for k in kinds):
            return [f"{path}: expected {kind}, got {type(value).__name__}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: expected const {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in enum {schema['enum']!r}")
    if isinstance(value, str):
        errors += _check_string(value, schema, path)
    if isinstance(value, int | float) and not isinstance(value, bool):
        errors += _check_number(value, schema, path)
    if isinstance(value, dict):
        errors += _check_object(value, schema, root, path)
    if isinstance(value, list):
        errors += _check_array(value, schema, root, path)
    for key in ("oneOf", "anyOf", "allOf"):
        branches = schema.get(key)
        if not isinstance(branches, list):
            continue
        ok = sum(1 for b in branches if not validate(value, b, root, path))
        if key == "oneOf" and ok != 1:
            errors.append(f"{path}: matches {ok} oneOf branches, expected exactly 1")
        elif key == "anyOf" and ok == 0:
            errors.append(f"{path}: matches no anyOf branch")
        elif key == "allOf" and ok != len(branches):
            errors.append(f"{path}: fails {len(branches) - ok} allOf branches")
    return errors


def _check_string(value: str, schema: dict[str, Any], path: str) -> list[str]:
    errors = []
    if isinstance(schema.get("minLength"), int) and len(value) < schema["minLength"]:
        errors.append(f"{path}: shorter than minLength {schema['minLength']}")
    if isinstance(schema.get("maxLength"), int) and len(value) > schema["maxLength"]:
        errors.append(f"{path}: longer than maxLength {schema['maxLength']}")
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if not re.search(pattern, value):
                errors.append(f"{path}: does not match pattern {pattern!r}")
        except re.error:
            pass
    return errors


def _check_number(value: float, schema: dict[str, Any], path: str) -> list[str]:
    errors = []
    checks = (
        ("minimum", lambda b: value < b), ("maximum", lambda b: value > b),
        ("exclusiveMinimum", lambda b: value <= b), ("exclusiveMaximum", lambda b: value >= b),
    )
    for key, fails in checks:
        bound = schema.get(key)
        if isinstance(bound, int | float) and not isinstance(bound, bool) and fails(bound):
            errors.append(f"{path}: {value} violates {key} {bound}")
    return errors


def _check_object(value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any],
                  path: str) -> list[str]:
    errors = []
    props = as_dict(schema.get("properties"))
    for name in schema.get("required") or []:
        if name not in value:
            errors.append(f"{path}: missing required property {name!r}")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            errors += validate(item, props[key], root, f"{path}.{key}")
        elif extra is False:
            errors.append(f"{path}: additional property {key!r} not allowed")
        elif isinstance(extra, dict):
            errors += validate(item, extra, root, f"{path}.{key}")
    return errors


def _check_array(value: list[Any], schema: dict[str, Any], root: dict[str, Any],
                 path: str) -> list[str]:
    errors = []
    if isinstance(schema.get("minItems"), int) and len(value) < schema["minItems"]:
        errors.append(f"{path}: fewer than minItems {schema['minItems']}")
    if isinstance(schema.get("maxItems"), int) and len(value) > schema["maxItems"]:
        errors.append(f"{path}: more than maxItems {schema['maxItems']}")
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            errors += validate(item, items, root, f"{path}[{i}]")
    return errors
