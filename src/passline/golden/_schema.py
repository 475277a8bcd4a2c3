"""The golden row schema and its line-by-line validation (every problem carries file:line)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from passline.golden._labels import check_label_fields

ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
ROW_KEYS = ("id", "input", "expected", "tags", "metadata")
INPUT_KEYS = ("message", "user_id", "history")  # conventions, not a closed list
EXPECTED_KEYS = ("tool_calls", "trajectory", "final_state", "facts", "forbidden", "budget",
                 "status", "answer")
BUDGET_KEYS = ("max_steps", "max_cost_usd", "max_latency_s")
RUN_STATUSES = ("ok", "guardrail", "refused", "error", "timeout")
EXTENSION_PREFIX = "x_"  # expected keys for custom scorers: "x_tone", "x_language"...


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a dataset: where (path, line; line None = whole file) and what."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else \
            f"{self.path}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _unknown_keys(obj: Mapping[str, Any], allowed: Iterable[str], where: str,
                  extension: bool = False) -> list[str]:
    allowed = tuple(allowed)
    out = []
    for key in obj:
        if key in allowed or (extension and str(key).startswith(EXTENSION_PREFIX)):
            continue
        hint = f"; allowed: {', '.join(allowed)}"
        if extension:
            hint += f" (or a custom key starting with {EXTENSION_PREFIX!r})"
        out.append(f"unknown field {where}{key!r}{hint}")
    return out


def _check_tool_name(name: Any, where: str, known_tools: set[str] | None) -> list[str]:
    if not isinstance(name, str) or not name:
        return [f"{where} must be a tool name (string), got {_type_name(name)}"]
    if known_tools is not None and name not in known_tools:
        return [f"{where}: unknown tool {name!r}; known tools: {', '.join(sorted(known_tools))}"]
    return []


def _check_calls(value: Any, key: str, known_tools: set[str] | None,
                 names_allowed: bool) -> list[str]:
    if not isinstance(value, list):
        return [f"expected.{key} must be an array, got {_type_name(value)}"]
    out = []
    for i, item in enumerate(value):
        where = f"expected.{key}[{i}]"
        if names_allowed and isinstance(item, str):
            out += _check_tool_name(item, where, known_tools)
            continue
        if not isinstance(item, dict):
            shape = 'a tool name or {"name", "arguments"}' if names_allowed else \
                '{"name": ..., "arguments": {...}}'
            out.append(f"{where} must be {shape}, got {_type_name(item)}")
            continue
        out += _unknown_keys(item, ("name", "arguments"), f"in {where}: ")
        out += _check_tool_name(item.get("name"), f"{where}.name", known_tools)
        if "arguments" in item and not isinstance(item["arguments"], dict):
            out.append(f"{where}.arguments must be an object, got "
                       f"{_type_name(item['arguments'])}")
    return out


def _check_final_state(value: Any) -> list[str]:
    if isinstance(value, dict):
        if value == {"no_changes": True}:
            return []
        return ['expected.final_state as an object must be {"no_changes": true}; '
                'otherwise give an array of {"table", "id"?, "op"?, "fields"}']
    if not isinstance(value, list):
        return [f"expected.final_state must be an array, got {_type_name(value)}"]
    out = []
    for i, item in enumerate(value):
        where = f"expected.final_state[{i}]"
        if not isinstance(item, dict):
            out.append(f"{where} must be an object, got {_type_name(item)}")
            continue
        out += _unknown_keys(item, ("table", "id", "op", "fields"), f"in {where}: ")
        if not isinstance(item.get("table"), str) or not item.get("table"):
            out.append(f"{where}.table must be a table name (string)")
        if "id" in item and not isinstance(item["id"], (str, int)):
            out.append(f"{where}.id must be a string or integer")
        if "op" in item and not isinstance(item["op"], str):
            out.append(f"{where}.op must be a string (insert, update, delete)")
        if not isinstance(item.get("fields", {}), dict):
            out.append(f"{where}.fields must be an object")
    return out


def _check_expected(exp: Any, known_tools: set[str] | None) -> list[str]:
    if not isinstance(exp, dict):
        return [f"expected must be an object, got {_type_name(exp)}"]
    out = _unknown_keys(exp, EXPECTED_KEYS, "expected.", extension=True)
    if "tool_calls" in exp:
        out += _check_calls(exp["tool_calls"], "tool_calls", known_tools, names_allowed=False)
    if "forbidden" in exp:
        out += _check_calls(exp["forbidden"], "forbidden", known_tools, names_allowed=True)
    if "trajectory" in exp:
        traj = exp["trajectory"]
        if not isinstance(traj, list):
            out.append(f"expected.trajectory must be an array of tool names, got "
                       f"{_type_name(traj)}")
        else:
            for i, name in enumerate(traj):
                out += _check_tool_name(name, f"expected.trajectory[{i}]", known_tools)
    if "final_state" in exp:
        out += _check_final_state(exp["final_state"])
    if "facts" in exp:
        facts = exp["facts"]
        if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip()
                                                  for f in facts):
            out.append("expected.facts must be an array of non-empty strings")
    if "budget" in exp:
        bud = exp["budget"]
        if not isinstance(bud, dict):
            out.append(f"expected.budget must be an object, got {_type_name(bud)}")
        else:
            out += _unknown_keys(bud, BUDGET_KEYS, "expected.budget.")
            for key in BUDGET_KEYS:
                if key in bud and (not _is_number(bud[key]) or bud[key] < 0):
                    out.append(f"expected.budget.{key} must be a non-negative number")
    if "status" in exp:
        status = exp["status"]
        values = [status] if isinstance(status, str) else status
        if not isinstance(values, list) or not values or \
                not all(isinstance(s, str) and s in RUN_STATUSES for s in values):
            out.append(f"expected.status must be a run status or an array of them "
                       f"({', '.join(RUN_STATUSES)}), got {json.dumps(status)}")
    if "answer" in exp and not isinstance(exp["answer"], str):
        out.append("expected.answer must be a string")
    out += check_label_fields(exp)  # calibration rows: who made the label, and why
    return out


def check_row(row: Any, known_tools: set[str] | None = None,
              check_input: Callable[[Any], list[str]] | None = None) -> list[str]:
    """Every schema problem of one parsed row, as messages (empty list: valid);
    ``check_input`` adds the dataset's own input-schema checks."""
    if not isinstance(row, dict):
        return [f"a row must be a JSON object, got {_type_name(row)}"]
    out = _unknown_keys(row, ROW_KEYS, "")
    case_id = row.get("id")
    if "id" not in row:
        out.append('missing required field "id"')
    elif not isinstance(case_id, str):
        out.append(f"id must be a string, got {_type_name(case_id)}")
    elif not ID_RE.match(case_id):
        out.append(f"id {case_id!r} is not a valid case id: use lowercase letters, digits, "
                   "'.', '_' and '-', starting with a letter or digit (e.g. 'refund-017')")
    inp = row.get("input")
    if "input" not in row:
        out.append('missing required field "input" (a JSON object, e.g. {"message": "..."})')
    elif not isinstance(inp, dict):
        out.append(f"input must be an object, got {_type_name(inp)}")
    else:
        # inputs are open objects; the conventional keys keep their shapes, and a dataset
        # can declare the rest in an input schema (see _input_schema)
        msg = inp.get("message")
        if "message" in inp and (not isinstance(msg, str) or not msg.strip()):
            out.append("input.message must be a non-empty string")
        if not inp:
            out.append('input is empty; give the agent something, e.g. {"message": "..."}')
        if "user_id" in inp and not isinstance(inp["user_id"], str):
            out.append("input.user_id must be a string")
        if "history" in inp:
            hist = inp["history"]
            if not isinstance(hist, list) or not all(
                    isinstance(m, dict) and isinstance(m.get("role"), str)
                    and isinstance(m.get("content"), str) for m in hist):
                out.append('input.history must be an array of {"role": str, "content": str}')
    if check_input is not None and isinstance(inp, dict):
        out += check_input(inp)
    if "expected" in row:
        out += _check_expected(row["expected"], known_tools)
    if "tags" in row:
        tags = row["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) and t and not any(
                c.isspace() for c in t) for t in tags):
            out.append('tags must be an array of non-empty strings without spaces '
                       '(e.g. "worker:support", "must-pass")')
    if "metadata" in row and not isinstance(row["metadata"], dict):
        out.append(f"metadata must be an object, got {_type_name(row['metadata'])}")
    return out


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """Yield (line number, parsed value or None, JSON error or None); blank lines skipped."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield lineno, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
                continue
            if not text.strip():
                continue
            try:
                yield lineno, json.loads(text), None
            except json.JSONDecodeError as exc:
                yield lineno, None, f"invalid JSON: {exc.msg} (column {exc.colno})"


def check_rows(rows: Iterable[tuple[int, Any, str | None]], display_path: str,
               known_tools: set[str] | None = None,
               check_input: Callable[[Any], list[str]] | None = None,
               ) -> tuple[list[tuple[int, Any]], list[Problem]]:
    """Validate (line, row, parse error) triples: schema, duplicate ids, empty file.

    Returns the valid rows with their line numbers and every problem found.
    """
    good: list[tuple[int, Any]] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    n = 0
    for lineno, row, error in rows:
        n += 1
        if error is not None:
            problems.append(Problem(display_path, lineno, error))
            continue
        messages = check_row(row, known_tools, check_input)
        case_id = row.get("id") if isinstance(row, dict) else None
        if isinstance(case_id, str):
            if case_id in first_line:
                messages.append(f"duplicate id {case_id!r} (also on line {first_line[case_id]}); "
                                "ids must be unique within a dataset")
            else:
                first_line[case_id] = lineno
        problems.extend(Problem(display_path, lineno, m) for m in messages)
        if not messages:
            good.append((lineno, row))
    if n == 0:
        problems.append(Problem(display_path, None, "file has no cases (it is empty); add one "
                                "JSON object per line (row schema: docs/golden.md)"))
    return good, problems
