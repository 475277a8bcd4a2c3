"""Argument extraction: fill a tool's JSON-schema parameters from the request text.

Per property type: ``enum`` -> the value (or a synonym) mentioned; ``pattern`` -> first
regex match; id-like strings -> an id of the right shape; numbers -> the number next to a
keyword of the parameter; booleans -> whether the concept is asked for; dates -> ISO or
relative dates; free strings -> the relevant words of the clause. Missing required values are
reported, so sim-2 can ask and sim-1 can fill blanks.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from passline.sim.brain.amounts import is_quantity, money_amount
from passline.sim.brain.ids import find_id, is_id_like, schema_type
from passline.sim.brain.parsing import arithmetic_expression, date_range, regex_example, word_number
from passline.sim.brain.profiles import Profile
from passline.sim.brain.text import (
    BM25,
    ID_RE,
    STOPWORDS,
    choice_descriptions,
    numbers_in,
    split_identifier,
    stem,
    terms,
    words,
)
from passline.sim.brain.tools import ToolSpec

#: Phrases that also select an enum value (keys are stemmed enum words).
ENUM_SYNONYMS: dict[str, tuple[str, ...]] = {
    "open": ("unpaid", "outstanding", "not paid", "pending payment"),
    "overdue": ("late", "past due", "past-due", "delinquent"),
    "paid": ("settled",),
    "ship": ("dispatched", "sent out", "on its way", "in transit"),
    "deliver": ("arrived", "received"),
    "cancel": ("canceled", "cancelled"),
    "high": ("urgent", "asap", "critical", "important"),
    "urgent": ("asap", "critical", "emergency"),
    "low": ("not urgent", "whenever", "minor"),
    "clos": ("resolved", "done", "finished"),
    "pend": ("waiting", "on hold"),
    "revenu": ("sales", "income"),
    "travel": ("trip", "flight", "hotel"),
    "office": ("supplies", "stationery"),
}
_QUERY_NAMES = {"query", "q", "search", "search_query", "keywords", "terms", "topic", "question"}
_TEXT_NAMES = {
    "task", "request", "instructions", "instruction", "message", "prompt", "text", "input",
    "body", "note", "notes", "subject", "summary", "description", "details", "comment", "content",
}
_GENERIC_VERBS = {"search", "find", "look", "lookup", "check", "show", "tell", "get", "give",
                  "list", "fetch", "pull", "retrieve", "read", "what", "whats", "please"}
_CATEGORY_NAMES = {"status", "priority", "type", "category", "account", "level", "severity",
                   "kind", "mode", "tier", "region", "channel", "state"}
_BOOL_FILLER = {"include", "is", "has", "with", "should", "flag", "enable", "show", "use", "only"}


@dataclass(frozen=True)
class Arguments:
    """Extracted arguments of one call and the required parameters that were not found."""

    values: dict[str, Any]
    missing: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps(self.values, separators=(",", ":"))


def extract_arguments(
    tool: ToolSpec,
    clause: str,
    user_texts: list[str],
    result_texts: list[str],
    profile: Profile,
    *,
    fill_missing: bool,
) -> Arguments:
    """Arguments for ``tool`` from ``clause``, falling back to the user's messages and (for
    required parameters) tool results. With ``fill_missing`` a missing required value becomes
    an empty one ("" / 0 / false / first enum value), as a careless model would send."""
    values: dict[str, Any] = {}
    missing: list[str] = []
    derived: list[str] = []
    required = set(tool.required)
    slotted: dict[str, Any] = {}
    if profile.fills_slots:
        from passline.sim.brain.slots import fill

        # sim-2 reads the clause as a whole (slots.py); a required value the clause lacks may
        # come from the rest of what the user said
        slotted = fill(tool.properties, clause, frozenset(required))
        for text in user_texts:
            if all(r in slotted for r in required):
                break
            more = fill(tool.properties, text, frozenset(required))
            slotted.update({k: v for k, v in more.items()
                            if k in required and k not in slotted})
    for name, schema in tool.properties.items():
        if not isinstance(schema, dict):
            continue
        if _is_idempotency(name, schema):
            derived.append(name)
            continue
        sources = [clause, *user_texts]
        if name in required:
            sources += result_texts
        elif profile.fills_slots:
            # an optional value comes from what this intent asks, not from an aside elsewhere
            sources = [clause]
        value = slotted.get(name)
        if value is None and profile.fills_slots and name not in required and (
                schema.get("enum") or _slot_only(name, schema)):
            continue  # the slot reader found nothing: a careful model leaves it out
        for i, text in enumerate(sources if value is None else []):
            if i < len(user_texts) + 1 and profile.fills_slots and _slot_only(name,
                                                                                    schema):
                continue  # names, dates and units come from slots.py, not keyword guesses
            value = extract_value(name, schema, text, profile, tool, primary=(i == 0))
            if value is not None:
                break
        if value is None and name in required and "default" in schema:
            value = schema["default"]
        if value is None and name in required and profile.reads_parameters:
            value = catch_all_value(schema)
        if value is None:
            if name in required:
                missing.append(name)
                if fill_missing:
                    values[name] = empty_value(schema)
            continue
        values[name] = value
    if profile.reads_parameters:
        _drop_filters_on_lookup(tool, values, required, clause)
    for name in derived:
        # a deterministic key from the other arguments: a retried call repeats it exactly
        seed = json.dumps(values, sort_keys=True) + tool.name
        digest = hashlib.sha256(seed.encode()).hexdigest()[:16]
        values[name] = f"{tool.name.split('_')[0]}-{digest}"
    ordered = {k: values[k] for k in tool.properties if k in values}
    return Arguments(ordered, tuple(missing))


def _slot_only(name: str, schema: dict[str, Any]) -> bool:
    """sim-2 parameters whose value only slots.py may give: proper names, dates with a format,
    numbers with a quantity, e-mail lists."""
    from passline.sim.brain.slots import is_name_param, param_quantity

    kind = schema_type(schema)
    if kind == "string" and not schema.get("enum") and not schema.get("pattern"):
        return bool(schema.get("format") in ("date", "date-time") or (
            is_name_param(name, schema) and not _TEXT_NAMES & {name.lower()}))
    if kind in ("number", "integer"):
        return param_quantity(name, schema, False) not in (None, "money", "any")
    return False


def _drop_filters_on_lookup(tool: ToolSpec, values: dict[str, Any], required: set[str],
                            clause: str) -> None:
    """Looking one record up by its own id, optional filters only hide it ("is invoice
    INV-20042 paid?" must not filter on status=paid, nor on a customer id another clause
    named): sim-2 leaves them out."""
    tool_terms = set(terms(split_identifier(tool.name)))
    own_id = any(
        is_id_like(k, tool.properties.get(k) or {})
        and set(terms(split_identifier(k))) & tool_terms
        for k in values
    )
    if not own_id:
        return
    for key in list(values):
        schema = tool.properties.get(key) or {}
        if key in required or set(terms(split_identifier(key))) & tool_terms:
            continue
        if schema.get("enum") or (is_id_like(key, schema) and str(values[key]) not in clause):
            del values[key]


def empty_value(schema: dict[str, Any]) -> Any:
    """What a careless model sends for a value it does not have."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema_type(schema)
    return {"integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}.get(kind, "")


def _is_idempotency(name: str, schema: dict[str, Any]) -> bool:
    desc = str(schema.get("description") or "").lower()
    return "idempotency" in name.lower() or "idempotency" in desc or "unique key" in desc


def extract_value(
    name: str, schema: dict[str, Any], text: str, profile: Profile, tool: ToolSpec, *,
    primary: bool,
) -> Any:
    """One parameter's value from one text, or None when the text does not give it."""
    if not text:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        found = match_enum(schema["enum"], text)
        if found is None and primary and profile.reads_parameters:
            found = _enum_by_meaning(schema, text)
        return found
    kind = schema_type(schema)
    if kind in ("number", "integer"):
        return _number(name, schema, text, tool, primary=primary, integer=kind == "integer",
                       careful=profile.reads_parameters)
    if kind == "boolean":
        return _boolean(name, text) if primary else None
    if kind == "array":
        return _array(name, schema, text, profile, tool) if primary else None
    if kind != "string":
        return None
    fmt = str(schema.get("format") or "")
    desc = str(schema.get("description") or "")
    if fmt in ("date", "date-time") or _is_date_param(name, desc):
        return _date(name, text, fmt)
    if is_id_like(name, schema) or isinstance(schema.get("pattern"), str):
        return find_id(name, schema, text, profile, tool.name)
    if not primary:
        return None
    return _free_string(name, desc, text, tool, required=name in tool.required)


def _enum_by_meaning(schema: dict[str, Any], text: str) -> Any:
    """sim-2: the enum value whose meaning in the description ("high: gold tier, amounts
    above 500 USD; ...") fits the text best, or None when nothing fits."""
    values = list(schema["enum"])
    meanings = choice_descriptions(str(schema.get("description") or ""), values)
    if not meanings:
        return None
    bm25 = BM25([terms(meanings.get(str(v), "")) for v in values])
    scores = bm25.scores(terms(text))
    best = max(range(len(values)), key=lambda i: (scores[i], -i))
    return values[best] if scores[best] > 0 else None


_CATCH_ALL_RE = re.compile(
    r"\b(?:other|otherwise|everything else|anything else|all else|the rest|default|"
    r"general|standard|regular|usual)\b", re.I)
_ORDINARY_VALUES = ("normal", "medium", "standard", "default", "regular", "general", "other")


def catch_all_value(schema: dict[str, Any]) -> Any:
    """sim-2, for a required enum nothing in the request selects: the value the description
    gives for everything else ("normal: other issues"), else an ordinary-sounding value
    (normal, medium, standard ...); None when there is none."""
    values = schema.get("enum")
    if not values:
        return None
    meanings = choice_descriptions(str(schema.get("description") or ""), list(values))
    for value in values:
        if _CATCH_ALL_RE.search(meanings.get(str(value), "").split(";")[0]):
            return value
    return next((v for v in values if str(v).lower() in _ORDINARY_VALUES), None)


def match_enum(values: list[Any], text: str) -> Any:
    """The enum value the text mentions (by its words or a synonym); the most specific, then
    the earliest. None when no value is mentioned."""
    low = " " + " ".join(w.lower() for w in words(text)) + " "
    text_terms = terms(text, keep_stopwords=True)
    best: tuple[int, int, int, Any] | None = None
    for value in values:
        value_terms = terms(split_identifier(str(value)), keep_stopwords=True)
        pos = -1
        exact = bool(value_terms) and all(t in text_terms for t in value_terms)
        if exact:
            pos = text_terms.index(value_terms[0])
        else:
            for syn in ENUM_SYNONYMS.get("".join(value_terms), ()) if value_terms else ():
                idx = low.find(" " + syn + " ")
                if idx >= 0:
                    pos = len(low[:idx].split())
                    break
        if pos < 0:
            continue
        key = (0 if exact else 1, -len(value_terms), pos, value)
        if best is None or key[:3] < best[:3]:
            best = key
    return best[3] if best else None


def _is_date_param(name: str, desc: str) -> bool:
    low = name.lower()
    return ("date" in low or low in ("since", "until", "from", "to", "start", "end")) and (
        "date" in low or "yyyy" in desc.lower() or "date" in desc.lower()
    )


def _date(name: str, text: str, fmt: str) -> str | None:
    found = date_range(text)
    if found is None:
        return None
    low = name.lower()
    end = any(k in low for k in ("end", "to", "until", "before", "last")) and "start" not in low
    day = found[1] if end else found[0]
    return day.isoformat() + ("T00:00:00Z" if fmt == "date-time" else "")


def _keywords(name: str, schema: dict[str, Any]) -> set[str]:
    desc = str(schema.get("description") or "")
    keys = set(terms(split_identifier(name))) - {"num", "number", "value", "max", "min"}
    low = (name + " " + desc).lower()
    if "usd" in low or "dollar" in low or "$" in desc or "amount" in low:
        keys |= {"$", "usd", "dollar", "amount"}
    if "day" in low:
        keys.add("day")
    if "percent" in low or "%" in desc:
        keys |= {"%", "percent"}
    return keys


def _number(
    name: str, schema: dict[str, Any], text: str, tool: ToolSpec, *, primary: bool,
    integer: bool, careful: bool,
) -> float | int | None:
    keys = _keywords(name, schema)
    money = "usd" in keys
    if careful and not primary and text.lstrip()[:1] == "{":
        # a tool result: the field that the parameter's description points at
        found = _number_from_record(name, schema, text)
        if found is not None:
            return _bounded(found, schema, integer=integer)
    if careful and money:
        # sim-2: a money parameter takes a number marked as money, never a quantity
        amount = money_amount(text)
        if amount is not None:
            return _bounded(amount, schema, integer=integer)
    tokens = [(m.start(), m.group()) for m in re.finditer(r"\$|%|[A-Za-z]+|\d[\d,]*(?:\.\d+)?",
                                                           text)]
    key_pos = [i for i, (_, tok) in enumerate(tokens)
               if tok in keys or stem(tok) in keys or tok.lower() in keys]
    candidates: list[tuple[int, float]] = []
    offsets = {off: i for i, (off, _) in enumerate(tokens)}
    for off, raw, value in numbers_in(text):
        idx = offsets.get(off + (1 if raw.startswith("$") else 0), offsets.get(off))
        if idx is None:
            continue
        if careful and money and is_quantity(text, off, raw):
            continue
        dist = min((abs(idx - k) for k in key_pos), default=99)
        candidates.append((dist, value))
    if integer and primary:
        for i, (_, tok) in enumerate(tokens):
            n = word_number(tok)
            if n is not None:
                dist = min((abs(i - k) for k in key_pos), default=99)
                candidates.append((dist, float(n)))
    near = [c for c in candidates if c[0] <= 4]
    chosen: float | None = None
    if near:
        chosen = min(near, key=lambda c: c[0])[1]
    elif primary and len(candidates) == 1 and name in tool.required:
        numeric_params = [p for p, s in tool.properties.items()
                          if isinstance(s, dict) and schema_type(s) in ("number", "integer")]
        if len(numeric_params) == 1:
            chosen = candidates[0][1]
    if chosen is None:
        return None
    return _bounded(chosen, schema, integer=integer)


_POINTER_RE = re.compile(r"([\w\s-]{0,40}?)\s*\b(?:shown|returned|given|listed|reported)\s+by\b",
                         re.I)


def _number_from_record(name: str, schema: dict[str, Any], text: str) -> float | None:
    """sim-2: the numeric field of a JSON tool result that best matches what the parameter
    asks for -- "at most the refundable amount shown by get_order" -> ``refundable_usd``."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or "error" in data:
        return None
    desc = str(schema.get("description") or "")
    pointer = _POINTER_RE.search(desc)
    strong = set(terms(pointer.group(1))) if pointer else set()
    weak = set(terms(split_identifier(name))) | set(terms(desc))
    best: tuple[float, float] | None = None
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        key_terms = set(terms(split_identifier(key)))
        score = 3 * len(key_terms & strong) + len(key_terms & weak)
        if score and (best is None or score > best[0]):
            best = (score, float(value))
    return best[1] if best else None


def _bounded(chosen: float, schema: dict[str, Any], *, integer: bool) -> float | int:
    if isinstance(schema.get("minimum"), int | float):
        chosen = max(chosen, float(schema["minimum"]))
    if isinstance(schema.get("maximum"), int | float):
        chosen = min(chosen, float(schema["maximum"]))
    if integer:
        return round(chosen)
    return int(chosen) if chosen == int(chosen) else chosen


def _boolean(name: str, text: str) -> bool | None:
    concept = [t for t in terms(split_identifier(name)) if t not in _BOOL_FILLER]
    if not concept:
        return None
    text_terms = terms(text)
    if not all(c in text_terms for c in concept):
        return None
    low = text.lower()
    first = split_identifier(name).split()[-1]
    negated = rf"\b(?:without|no|not|don't|do not|exclude|excluding)\s+(?:\w+\s+)?{first[:4]}"
    return not re.search(negated, low)


def _array(name: str, schema: dict[str, Any], text: str, profile: Profile,
           tool: ToolSpec) -> list[Any] | None:
    raw_items = schema.get("items")
    items: dict[str, Any] = raw_items if isinstance(raw_items, dict) else {}
    if items.get("enum"):
        found = [v for v in items["enum"] if match_enum([v], text) is not None]
        return found or None
    if schema_type(items) == "string" and (is_id_like(name.rstrip("s"), items) or "ids" in name):
        pattern = items.get("pattern")
        if isinstance(pattern, str):
            body = pattern.strip("^$")
            try:
                found = re.findall(rf"(?:{body})", text)
            except re.error:
                found = []
        else:
            found = ID_RE.findall(text)
        return list(dict.fromkeys(found)) or None
    return None


def _free_string(
    name: str, desc: str, text: str, tool: ToolSpec, *, required: bool
) -> str | None:
    low = name.lower()
    if low in ("expression", "expr", "formula") or "arithmetic" in desc.lower():
        return arithmetic_expression(text)
    is_query = low in _QUERY_NAMES or "search" in desc.lower() or "query" in desc.lower()
    if not (required or is_query or low in _TEXT_NAMES or "reason" in low):
        # an optional free-form value nobody asked for: a careful model leaves it out
        return None
    if "email" in low:
        m = re.search(r"[\w.+-]+@[\w-]+\.[\w.-]+", text)
        return m.group(0) if m else None
    if low in _TEXT_NAMES:
        return text.strip()
    if "reason" in low:
        m = re.search(r"\b(?:because|due to|since|as|reason:?)\s+(.+)$", text, re.I)
        return (m.group(1) if m else text).strip(" .")
    tool_words = set(split_identifier(tool.name).split())
    kept = [
        w for w in words(ID_RE.sub(" ", text))
        if w.lower() not in STOPWORDS and w.lower() not in _GENERIC_VERBS
        and w.lower() not in tool_words and not w[0].isdigit()
    ]
    if is_query:
        return " ".join(w.lower() for w in kept) or None
    if low in _CATEGORY_NAMES or low.endswith(("_type", "_status", "_category")):
        # categorical without an enum: the model guesses one word (an enum would tell it)
        return max(kept, key=len).lower() if kept else None
    return " ".join(kept) or None


def clarifying_question(tool: ToolSpec, param: str) -> str:
    """sim-2's question for a missing required parameter ("Which invoice is it? ...")."""
    schema = tool.properties.get(param, {})
    desc = str(schema.get("description") or "") if isinstance(schema, dict) else ""
    example = None
    m = re.search(r"(?:like|e\.g\.?,?|for example|such as)\s*['\"`]?([A-Za-z0-9][\w-]*\d)", desc)
    if m:
        example = m.group(1)
    elif isinstance(schema, dict) and isinstance(schema.get("pattern"), str):
        example = regex_example(schema["pattern"])
    words_ = split_identifier(param).split()
    if words_[-1:] in (["id"], ["identifier"]):
        thing = " ".join(words_[:-1]) or "item"
        # the shape, not a made-up id: an example id would read as a claim about a record
        prefix = re.match(r"([A-Za-z]{2,5}-)\d", example or "")
        hint = f" (it starts with {prefix.group(1)})" if prefix else ""
        return f"Which {thing} do you mean? Could you give me the {thing} id{hint}?"
    hint = f" ({desc.rstrip('.')})" if desc else ""
    action = split_identifier(tool.name)
    return f"To {action} I need the {' '.join(words_)}{hint}. Could you tell me?"
