"""A dataset's own input schema: ``input.schema.json`` next to ``data.jsonl`` (or named in
the card's front matter, ``input_schema: FILE``), enforced row by row with file:line errors.

Case inputs are open JSON objects; a dataset that wants more than "an object" declares a
JSON Schema, validated with the ``jsonschema`` library (the schema's own ``$schema`` picks
the draft; 2020-12 when absent).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from passline.golden._schema import Problem

SCHEMA_FILE = "input.schema.json"
InputCheck = Callable[[Any], list[str]]


def schema_path(data_path: Path) -> Path | None:
    """The input schema declared for the dataset at ``data_path``, if any."""
    card = data_path.parent / "card.md"
    named = card_front_matter(card).get("input_schema") if card.is_file() else None
    if isinstance(named, str) and named:
        return data_path.parent / named
    candidate = data_path.parent / SCHEMA_FILE
    return candidate if candidate.is_file() else None


def card_front_matter(card: Path) -> dict[str, Any]:
    """The YAML front matter of a card (``---`` ... ``---`` at the top), or ``{}``."""
    text = card.read_text(encoding="utf-8-sig")
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    import yaml

    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def input_checker(data_path: Path, display: str) -> tuple[InputCheck | None, list[Problem]]:
    """A function listing the schema violations of one row's ``input`` (``None`` when the
    dataset declares no schema), and the problems of the schema file itself."""
    path = schema_path(data_path)
    if path is None:
        return None, []
    shown = str(Path(display).parent / path.name)
    if not path.is_file():
        return None, [Problem(shown, None, "the card names this input schema but the file does "
                              "not exist; create it or remove input_schema from the card")]
    try:
        schema = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        return None, [Problem(shown, exc.lineno, f"input schema is not valid JSON: {exc.msg}")]
    import jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(top)"
        return None, [Problem(shown, None, f"not a valid JSON Schema at {where}: "
                              f"{exc.message}")]
    validator = cls(schema)

    def check(value: Any) -> list[str]:
        out = []
        for err in sorted(validator.iter_errors(value), key=lambda e: list(e.path)):
            where = "input" + "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}"
                                      for p in err.path)
            out.append(f"{where} does not match {path.name}: {err.message}")
        return out

    return check, []
