"""Rubrics: versioned judge prompts (jinja2) with the JSON schema their verdicts must match.

A rubric lives in ``rubrics/<id>/<version>.j2`` (blocks ``system`` and ``user``),
``<version>.schema.json`` (the verdict: ``{"reasoning", "score"}`` with an integer range, or
``{"reasoning", "label"}`` with an enum listed worst to best) and ``<version>.md`` (a short
front matter -- kind, reference mode, pass level, calibration field -- and the description a
reviewer reads). ``load_rubric("answer-quality@1")`` finds it in the package, or in a project
directory given as ``search``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from passline.errors import ConfigError

RUBRICS_DIR = Path(__file__).parent / "rubrics"
PAIRWISE_ID = "_pairwise"
REFERENCE_MODES = ("required", "optional", "none")
KINDS = ("score", "label")
_REF_RE = re.compile(r"^(?P<id>[a-z0-9][a-z0-9_-]*)@v?(?P<version>\d+)$")


@dataclasses.dataclass(frozen=True)
class Rubric:
    """One rubric version: its prompt template, verdict schema and how to read the verdict.

    >>> rubric = load_rubric("answer-quality@1")
    >>> rubric.kind, rubric.levels
    ('score', (1, 2, 3, 4, 5))
    """

    id: str
    version: int
    template: str  # jinja2 source
    schema: Mapping[str, Any]
    kind: str  # "score" (integer range) | "label" (enum, worst to best)
    reference: str  # "required" | "optional" | "none"
    description: str = ""
    pass_level: Any = None  # the default pass threshold: a score or a label
    calibration_field: str = ""  # the case.expected key holding the calibration label
    path: str = ""

    @property
    def key(self) -> str:
        """``id@version``: what results, caches and calibration files are keyed by."""
        return f"{self.id}@{self.version}"

    def __repr__(self) -> str:
        return f"Rubric({self.key!r}, kind={self.kind!r}, levels={list(self.levels)!r})"

    @property
    def verdict_field(self) -> str:
        return "score" if self.kind == "score" else "label"

    @property
    def levels(self) -> tuple[Any, ...]:
        """The possible verdicts, worst to best (scores ascending, labels as listed)."""
        sub = self.schema["properties"][self.verdict_field]
        if self.kind == "score":
            return tuple(range(int(sub["minimum"]), int(sub["maximum"]) + 1))
        return tuple(sub["enum"])

    def normalise(self, value: Any) -> float:
        """A verdict (or a mean score) mapped onto 0..1 (worst level 0, best 1)."""
        levels = self.levels
        if self.kind == "score":
            lo, hi = levels[0], levels[-1]
            return max(0.0, min(1.0, (float(value) - lo) / (hi - lo))) if hi > lo else 1.0
        return self.level_index(value) / (len(levels) - 1) if len(levels) > 1 else 1.0

    def level_index(self, value: Any) -> int:
        """Position of a verdict among :attr:`levels` (ordinal distance for agreement)."""
        levels = self.levels
        if self.kind == "score":
            return round(float(value)) - levels[0]
        try:
            return levels.index(value)
        except ValueError:
            raise ConfigError(f"rubric {self.key}: {value!r} is not one of its labels "
                              f"{', '.join(map(str, levels))}") from None

    def response_format(self) -> dict[str, Any]:
        """The ``response_format`` asking a model for this rubric's verdict."""
        name = re.sub(r"[^A-Za-z0-9_-]", "_", f"{self.id}_v{self.version}_judge")
        return {"type": "json_schema",
                "json_schema": {"name": name, "schema": dict(self.schema)}}

    def render(self, **variables: Any) -> list[dict[str, str]]:
        """The chat messages for one verdict. Undefined variables are errors (StrictUndefined).

        >>> load_rubric("answer-quality@1").render(question="Q?", answer="A.", reference=None,
        ...                                        context=None, rules=None)[1]["role"]
        'user'
        """
        return render_messages(self.template, variables, where=self.path or self.key)

    def validate(self, verdict: Any) -> list[str]:
        """Problems of a parsed verdict against the schema (empty: it conforms)."""
        return validate_json(verdict, self.schema)

    def criteria(self) -> str:
        """The description without front matter and changelog (used in pairwise prompts)."""
        text = self.description.split("\nChangelog", 1)[0]
        lines = [ln for ln in text.splitlines() if not ln.startswith("# ")]
        return "\n".join(lines).strip()


def parse_ref(ref: str) -> tuple[str, int]:
    """``"answer-quality@1"`` (or ``@v1``) -> ``("answer-quality", 1)``."""
    m = _REF_RE.match(ref.strip())
    if not m:
        raise ConfigError(f"rubric {ref!r} is not ID@VERSION (e.g. 'answer-quality@1'); "
                          f"available: {', '.join(list_rubrics()) or 'none'}")
    return m["id"], int(m["version"])


def list_rubrics(search: Sequence[str | Path] = ()) -> list[str]:
    """Every rubric ``id@version`` found in ``search`` directories and the package."""
    found: set[str] = set()
    for base in (*map(Path, search), RUBRICS_DIR):
        if not base.is_dir():
            continue
        for schema in base.glob("*/*.schema.json"):
            rid = schema.parent.name
            version = schema.name.split(".", 1)[0]
            if rid != PAIRWISE_ID and version.isdigit():
                found.add(f"{rid}@{int(version)}")
    return sorted(found)


def load_rubric(ref: str | Rubric, *, search: Sequence[str | Path] = ()) -> Rubric:
    """Load ``id@version`` from the ``search`` directories (first) or the package rubrics.

    >>> load_rubric("groundedness@1").levels
    ('ungrounded', 'partially', 'grounded')
    """
    if isinstance(ref, Rubric):
        return ref
    rid, version = parse_ref(ref)
    return _load(rid, version, tuple(str(s) for s in search))


@functools.lru_cache(maxsize=64)
def _load(rid: str, version: int, search: tuple[str, ...]) -> Rubric:
    for base in (*map(Path, search), RUBRICS_DIR):
        folder = base / rid
        template = folder / f"{version}.j2"
        if template.is_file():
            return _read(rid, version, folder)
    raise ConfigError(f"rubric {rid}@{version} not found (looked in "
                      f"{', '.join(str(Path(s) / rid) for s in (*search, str(RUBRICS_DIR)))}); "
                      f"available: {', '.join(list_rubrics(search)) or 'none'}")


def _read(rid: str, version: int, folder: Path) -> Rubric:
    template_path = folder / f"{version}.j2"
    schema_path = folder / f"{version}.schema.json"
    doc_path = folder / f"{version}.md"
    where = str(template_path)
    if not schema_path.is_file():
        raise ConfigError(f"rubric {rid}@{version}: {schema_path} is missing; every rubric "
                          "version needs its verdict schema next to its template")
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{schema_path}: invalid JSON ({exc})") from exc
    meta, description = _front_matter(doc_path.read_text(encoding="utf-8")
                                      if doc_path.is_file() else "")
    props = schema.get("properties") or {}
    kind = meta.get("kind") or ("score" if "score" in props else "label")
    if kind not in KINDS:
        raise ConfigError(f"{doc_path}: kind {kind!r} is not one of {', '.join(KINDS)}")
    field = "score" if kind == "score" else "label"
    sub = props.get(field)
    if not isinstance(sub, dict):
        raise ConfigError(f"{schema_path}: a {kind} rubric's schema needs a {field!r} property")
    if kind == "score" and not (sub.get("type") == "integer" and isinstance(
            sub.get("minimum"), int) and isinstance(sub.get("maximum"), int)):
        raise ConfigError(f"{schema_path}: 'score' must be an integer with minimum and maximum")
    if kind == "label" and not (isinstance(sub.get("enum"), list) and len(sub["enum"]) >= 2):
        raise ConfigError(f"{schema_path}: 'label' needs an enum of at least two labels, "
                          "listed worst to best")
    reference = meta.get("reference", "optional")
    if reference not in REFERENCE_MODES:
        raise ConfigError(f"{doc_path}: reference {reference!r} is not one of "
                          f"{', '.join(REFERENCE_MODES)}")
    pass_level: Any = meta.get("pass")
    if kind == "score" and pass_level is not None:
        pass_level = int(pass_level)
    return Rubric(id=rid, version=version, template=template_path.read_text(encoding="utf-8"),
                  schema=schema, kind=kind, reference=reference, description=description,
                  pass_level=pass_level, calibration_field=meta.get("calibration_field", ""),
                  path=where)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """``---``-fenced ``key: value`` lines at the top of a rubric's .md, and the rest."""
    if not text.startswith("---"):
        return {}, text
    head, sep, body = text[3:].partition("\n---")
    if not sep:
        return {}, text
    meta = {}
    for line in head.strip().splitlines():
        key, _, value = line.partition(":")
        if key.strip():
            meta[key.strip()] = value.split("#", 1)[0].strip()
    return meta, body.lstrip("-\n")


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    # prompts, not HTML: no autoescape; StrictUndefined so a typo is an error, not a blank
    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                              keep_trailing_newline=False, trim_blocks=True,
                              lstrip_blocks=True)


def render_messages(source: str, variables: Mapping[str, Any], *,
                    where: str) -> list[dict[str, str]]:
    """Render a template with ``system``/``user`` blocks into chat messages."""
    import jinja2

    env = _environment()
    try:
        template = env.from_string(source)
        context = template.new_context(dict(variables))
        if "user" in template.blocks:
            messages = []
            for role in ("system", "user"):
                if role in template.blocks:
                    text = "".join(template.blocks[role](context)).strip()
                    if text:
                        messages.append({"role": role, "content": text})
            return messages
        return [{"role": "user", "content": template.render(**variables).strip()}]
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"{where}: the template uses an undefined variable ({exc}); "
                          f"given: {', '.join(sorted(variables))}") from exc
    except jinja2.TemplateError as exc:
        raise ConfigError(f"{where}: template error: {exc}") from exc


def validate_json(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """A small JSON-schema check for verdict schemas: type, required, properties,
    additionalProperties, enum, minimum/maximum, minLength."""
    problems: list[str] = []
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    if kind == "integer":
        if isinstance(value, bool) or not (isinstance(value, int) or (
                isinstance(value, float) and value.is_integer())):
            return [f"{path} must be an integer, got {json.dumps(value)}"]
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{path} must be a number, got {json.dumps(value)}"]
    elif kind in types and not isinstance(value, types[kind]):
        return [f"{path} must be {'an' if kind in ('object', 'array') else 'a'} {kind}, "
                f"got {json.dumps(value)[:80]}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path} must be one of {json.dumps(schema['enum'])}, "
                        f"got {json.dumps(value)[:80]}")
    if kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path} must be >= {schema['minimum']}, got {value}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{path} must be <= {schema['maximum']}, got {value}")
    if kind == "string" and len(value) < int(schema.get("minLength", 0)):
        problems.append(f"{path} must have at least {schema['minLength']} characters")
    if kind == "object":
        props = schema.get("properties") or {}
        for key in schema.get("required") or ():
            if key not in value:
                problems.append(f"{path} is missing required key {key!r}")
        if schema.get("additionalProperties") is False:
            problems += [f"{path} has unexpected key {k!r}" for k in value if k not in props]
        for key, sub in props.items():
            if key in value and isinstance(sub, dict):
                problems += validate_json(value[key], sub, f"{path}.{key}")
    return problems
