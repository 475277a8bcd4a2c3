"""Prerequisite guidance: tools whose descriptions say another tool must come first.

"Open one manual page by its page_id, after search_manuals found it"; "amount to credit
... at most the balance shown by get_invoice". A capable model
(sim-2) reads such sentences: it calls the named tool first when the information it provides
is not yet in the conversation. sim-1 does not read them.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass

from passline.sim.brain.tools import ToolSpec, split_guidance

#: A bound on a value ("at most", "no more than" ...): the other tool shows the limit.
_BOUND_RE = re.compile(
    r"\b(?:at most|at least|no more than|not more than|up to|must not exceed|cannot exceed|"
    r"less than|more than|within|maximum|minimum)\b", re.I)
#: Ordering words: the other tool must have run before this one.
_ORDER_RE = re.compile(r"\b(?:after|first|before calling|once|requires?|needs?)\b", re.I)


@dataclass(frozen=True)
class Reference:
    """``tool`` provides what ``param`` needs (``param`` None: what the whole tool needs)."""

    tool: str
    param: str | None
    #: the parameter's value is bounded by what ``tool`` shows (check it when it is given)
    bound: bool
    #: the words naming what ``tool`` provides ("refundable amount"), for reading its result
    phrase: str = ""


def references(tool: ToolSpec, names: set[str]) -> list[Reference]:
    """The other tools ``tool``'s guidance says must come first (negative sentences like
    "Do not use for lookups; get_order shows past refunds" are not guidance to call them)."""
    return list(_references(tool.name, tool.description, tool.key, frozenset(names)))


@functools.lru_cache(maxsize=512)
def _references(name_: str, description: str, key: str,
                names: frozenset[str]) -> tuple[Reference, ...]:
    tool = ToolSpec(name_, description, json.loads(key), 0)
    return tuple(_find_references(tool, names))


def _find_references(tool: ToolSpec, names: frozenset[str]) -> list[Reference]:
    out: list[Reference] = []
    others = sorted((n for n in names if n != tool.name), key=len, reverse=True)
    if not others:
        return out
    plain, _, _ = split_guidance(tool.description)
    for sentence in re.split(r"(?<=[.;])\s+", plain):
        for name in others:
            if re.search(rf"\b{re.escape(name)}\b", sentence) and _ORDER_RE.search(sentence):
                out.append(Reference(name, None, False))
    for pname, schema in tool.properties.items():
        desc = str(schema.get("description") or "") if isinstance(schema, dict) else ""
        for name in others:
            m = re.search(rf"([\w\s-]{{0,40}}?)\s*\b(?:shown|returned|given|listed|found|"
                          rf"reported)\s+by\s+{re.escape(name)}\b|\bfrom\s+{re.escape(name)}\b",
                          desc)
            if m:
                phrase = (m.group(1) or "").strip()
                out.append(Reference(name, pname, bool(_BOUND_RE.search(desc)), phrase))
    return out
