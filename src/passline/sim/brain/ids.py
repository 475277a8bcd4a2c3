"""Identifiers: which id in the text belongs to which parameter.

A parameter's ``pattern`` is the clearest signal; an example in its description ("like
ORD-12345") the next; sim-2 can also tell ORD from INV by the parameter's name. sim-1 takes the
first id-shaped token whatever its prefix -- the classic ORD/INV mix-up.
"""

from __future__ import annotations

import re
from typing import Any

from passline.sim.brain.profiles import Profile
from passline.sim.brain.text import ID_RE, split_identifier

#: Nouns whose ids have a recognisable prefix; an id abbreviating one of them is not taken
#: for a parameter about another (sim-2).
KNOWN_ENTITIES = ("order", "invoice", "ticket", "customer", "refund", "policy", "user",
                  "account", "product", "shipment", "payment")


def schema_type(schema: dict[str, Any]) -> str:
    """The JSON-schema type of ``schema`` (first non-null of a list; string by default)."""
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return str(kind)


def is_id_like(name: str, schema: dict[str, Any]) -> bool:
    """Whether a string parameter holds an identifier (``order_id``, "ticket identifier")."""
    if schema_type(schema) != "string" or schema.get("enum"):
        return False
    low = name.lower()
    if low == "id" or low.endswith("_id") or name.endswith("Id"):
        return True
    desc = str(schema.get("description") or "")
    return bool(re.match(r"^(?:the\s+)?\w+\s+(?:id|identifier)\b", desc, re.I)
                or id_regex_from_description(desc))


def search_pattern(pattern: str, text: str) -> str | None:
    """First match of a JSON-schema ``pattern`` in free text (anchors stripped), or None."""
    body = pattern
    if body.startswith("^"):
        body = body[1:]
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    try:
        m = re.search(rf"(?<![\w-])(?:{body})(?![\w])", text)
    except re.error:
        return None
    return m.group(0) if m and m.group(0) else None


def id_regex_from_description(description: str) -> re.Pattern[str] | None:
    """A regex for ids shaped like the example in a description ("like ORD-12345")."""
    m = re.search(
        r"(?:like|e\.g\.?,?|for example|such as|example:?|format:?)\s*['\"`]?"
        r"([A-Z]{2,5}(?:-[A-Z]{2,5})?-\d+)",
        description,
        re.I,
    )
    if not m:
        return None
    prefix, digits = re.match(r"(.*-)(\d+)$", m.group(1)).groups()  # type: ignore[union-attr]
    return re.compile(rf"\b{re.escape(prefix)}\d{{{len(digits)}}}\b")


def abbreviates(prefix: str, word: str) -> bool:
    """``ord``/order, ``tck``/ticket, ``rfd``/refund: same first letter, letters in order."""
    if not prefix or not word or prefix[0] != word[0]:
        return False
    it = iter(word)
    return all(ch in it for ch in prefix)


def find_id(
    name: str, schema: dict[str, Any], text: str, profile: Profile, tool_name: str = ""
) -> str | None:
    """The identifier for parameter ``name`` in ``text``, or None.

    ``pattern`` first (both models). Without one, sim-1 takes the first id-shaped token;
    sim-2 uses the example in the description ("like ORD-12345"), else an id whose prefix
    abbreviates a word of the parameter or tool name, and never an id that plainly belongs
    to another kind of record.
    """
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        return search_pattern(pattern, text)
    ids = ID_RE.findall(text)
    if not ids:
        return None
    if not profile.ids_from_examples:
        return ids[0]
    shaped = id_regex_from_description(str(schema.get("description") or ""))
    if shaped is not None:
        m = shaped.search(text)
        return m.group(0) if m else None
    own = [w for w in split_identifier(name).split() if w not in ("id", "identifier")]
    if not own:  # a bare "id": the tool's name says what it identifies
        own = [w for w in split_identifier(tool_name).split() if len(w) > 2]
    for ident in ids:
        if any(abbreviates(ident.split("-")[0].lower(), w) for w in own):
            return ident
    for ident in ids:
        prefix = ident.split("-")[0].lower()
        if not any(abbreviates(prefix, w) for w in KNOWN_ENTITIES):
            return ident
    return None


def id_affinity(name: str, schema: dict[str, Any], text: str, profile: Profile) -> bool:
    """Whether ``text`` holds an id that fits parameter ``name`` -- used as a tool-choice
    signal. sim-1 only sees the name (ORD fits order_id); sim-2 also patterns and examples."""
    if not profile.reads_parameters:
        own = [w for w in split_identifier(name).split() if w not in ("id", "identifier")]
        return any(
            abbreviates(i.split("-")[0].lower(), w) for i in ID_RE.findall(text) for w in own
        )
    return find_id(name, schema, text, profile) is not None and (
        isinstance(schema.get("pattern"), str)
        or id_regex_from_description(str(schema.get("description") or "")) is not None
        or any(abbreviates(i.split("-")[0].lower(), w) for i in ID_RE.findall(text)
               for w in split_identifier(name).split() if w not in ("id", "identifier"))
    )
