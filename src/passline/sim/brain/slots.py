"""sim-2's slot filling: every value a request states, placed in the parameter it belongs to.

A careful reader does not fill each parameter on its own. It finds every mention of a value
the tool can take -- enum values by their names, synonyms and CLDR vocabulary (lexicon.py),
matches of a ``pattern``, countries for country codes, dates, times, numbers with their units,
proper names, e-mail addresses, lists -- and then decides which mention goes where:

- **roles**: parameters that share an enum, a pattern or a date type (``from_currency`` /
  ``to_currency``, ``origin`` / ``destination``, ``check_in`` / ``check_out``) get distinct
  values, by the words around each mention ("from X", "to X", "X to Y", "N X in Y", "how
  many Y is N X") and by the roles their names and descriptions state;
- **units**: a number goes to the parameter whose quantity its unit measures (a duration in
  minutes, a distance, a weight, a temperature, a percentage, a count of people, money), in
  the parameter's own unit ("2 hours" -> 120 for ``duration_minutes``); a number feeds one
  parameter only;
- **names**: free-text name parameters (city, name, title, location, subject ...) take quoted
  text, the words after "called/titled/named", else a capitalised name (Unicode letters;
  months, weekdays, units, currencies and the tool's enum values are not names);
- a value in a clause that does not ask for it (a past-tense aside, a negation) is not taken:
  optional parameters are filled from the intent's own clause only (args.py).

sim-1 does none of this: it fills each parameter on its own from the first match (args.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from passline.sim.brain.dates import date_mentions, date_time, time_mentions
from passline.sim.brain.ids import schema_type
from passline.sim.brain.lexicon import countries, currency, home_currency, unit_of, value_forms
from passline.sim.brain.parsing import date_range
from passline.sim.brain.text import STOPWORDS, choice_descriptions, split_identifier, stem

#: Synonyms a reader knows for common enum words (keys are stems of the enum value).
ENUM_SYNONYMS: dict[str, tuple[str, ...]] = {
    "open": ("unpaid", "outstanding", "not paid"),
    "overdue": ("late", "past due", "past-due", "delinquent"),
    "paid": ("settled",),
    "ship": ("dispatched", "sent out", "in transit"),
    "deliver": ("arrived",),
    "cancel": ("canceled", "cancelled"),
    "high": ("urgent", "asap", "critical", "important"),
    "urgent": ("asap", "critical", "emergency"),
    "low": ("not urgent", "whenever", "minor"),
    "clos": ("resolved", "done", "finished"),
    "pend": ("waiting", "on hold"),
    "revenu": ("sales", "income"),
    "travel": ("trip", "flight", "hotel"),
    "vacation": ("holiday", "holidays", "annual leave", "time off"),
    "sick": ("ill", "unwell", "sick leave"),
}
#: Values that are everyday little words ("on", "off") count only as a verb's particle.
_PARTICLE_VERBS = re.compile(r"\b(?:turn|switch|power|put|flip|shut|keep|leave|set|lights?)\b",
                             re.I)
_SOURCE_WORDS = {"from", "origin", "source", "departure", "depart", "leaves", "leaving",
                 "sender", "base", "start", "begin", "first", "in", "check_in", "since"}
_TARGET_WORDS = {"to", "destination", "target", "arrival", "arrive", "arrives", "goes",
                 "into", "quote", "end", "until", "last", "out", "return", "through"}
_NAME_PARAMS = {"name", "city", "town", "place", "location", "venue", "title", "subject",
                "person", "company", "hotel", "destination", "origin", "country", "region",
                "neighbourhood", "neighborhood", "street", "address", "label", "topic"}
_PEOPLE = {"people", "person", "persons", "passenger", "passengers", "traveller", "travellers",
           "traveler", "travelers", "guest", "guests", "adult", "adults", "attendee",
           "attendees", "participant", "participants", "seat", "seats", "pax"}
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_WEEKDAY_MONTH = set("monday tuesday wednesday thursday friday saturday sunday january "
                     "february march april may june july august september october november "
                     "december today tomorrow yesterday tonight".split())


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    value: Any


# ---------------------------------------------------------------------------- enums


def _value_phrases(value: str, description: str, values: list[str]) -> tuple[set[str], set[str]]:
    """(strong, weak) lowercase phrases naming an enum value."""
    words = split_identifier(value)
    strong = {words, value.lower()}
    if " " not in words:
        strong |= {words + "s", words + "es"}
    strong |= set(ENUM_SYNONYMS.get(stem(words.replace(" ", "")), ()))
    forms, weak = value_forms(value)
    strong |= set(forms)
    meaning = choice_descriptions(description, values).get(value, "")
    # "metric (Celsius, km/h)": the words a description gives a value are its names too
    m = re.match(r"\s*[:(=-]?\s*\(?([^;.)]*)", meaning)
    if m:
        strong |= {p.strip().lower() for p in re.split(r",|/|\bor\b", m.group(1))
                   if 0 < len(p.split()) <= 3}
    return strong, set(weak)


def enum_mentions(values: list[Any], text: str, description: str = "") -> list[Mention]:
    """Every mention of a value of ``values`` in ``text``: the value's words (any inflection),
    synonyms, CLDR names of currencies and units, the meanings a description lists. Longer
    phrases win; a phrase shared by two values belongs to neither (except a bare currency
    word, which means the home currency)."""
    low = text.lower()
    strs = [str(v) for v in values]
    owners: dict[str, set[str]] = {}
    weak_owners: dict[str, set[str]] = {}
    for value in strs:
        strong, weak = _value_phrases(value, description, strs)
        for phrase in strong:
            owners.setdefault(phrase, set()).add(value)
        for phrase in weak:
            weak_owners.setdefault(phrase, set()).add(value)
    for phrase, who in weak_owners.items():
        if phrase in owners:
            continue
        if len(who) == 1 or home_currency() in who:
            owners[phrase] = {next(iter(who)) if len(who) == 1 else home_currency()}
    taken: list[tuple[int, int]] = []
    out: list[Mention] = []
    for phrase in sorted(owners, key=len, reverse=True):
        if len(owners[phrase]) != 1 or not phrase.strip():
            continue
        value = next(iter(owners[phrase]))
        edge_l = r"(?<![\w$£€¥])" if phrase[0].isalnum() else ""
        edge_r = r"(?![\w])" if phrase[-1].isalnum() else ""
        body = r"[\s_-]+".join(re.escape(w) for w in phrase.split())
        for m in re.finditer(edge_l + body + edge_r, low):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            if phrase in STOPWORDS and not _PARTICLE_VERBS.search(low[max(0, m.start() - 40):
                                                                    m.start()]):
                continue
            taken.append(m.span())
            out.append(Mention(m.start(), m.end(), values[strs.index(value)]))
    # inflections: "ran"/"runs"/"cycled" name "running"/"cycling" (same stem)
    for m in re.finditer(r"[^\W\d_]+", low):
        if any(a < m.end() and m.start() < b for a, b in taken) or m.group() in STOPWORDS:
            continue
        hits = [v for v in strs if " " not in split_identifier(v) and len(v) > 3
                and stem(m.group()) == stem(v.lower())]
        if len(hits) == 1:
            taken.append(m.span())
            out.append(Mention(m.start(), m.end(), values[strs.index(hits[0])]))
    return sorted(out, key=lambda x: x.start)


def negated(text: str, mention: Mention) -> bool:
    before = text[max(0, mention.start - 30):mention.start].lower()
    return bool(re.search(r"\b(?:not|no|never|without|except|excluding|instead of)\s+"
                          r"(?:\w+\s+)?$", before))


# ---------------------------------------------------------------------------- patterns


def pattern_mentions(pattern: str, text: str, description: str = "") -> list[Mention]:
    """Every match of a JSON-schema ``pattern`` in ``text`` (anchors stripped); for a
    two-letter country code, also the countries named in words."""
    body = pattern[1:] if pattern.startswith("^") else pattern
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    out: list[Mention] = []
    try:
        for m in re.finditer(rf"(?<![\w-])(?:{body})(?![\w])", text):
            if m.group(0):
                out.append(Mention(m.start(), m.end(), m.group(0)))
    except re.error:
        return []
    if re.search(r"\bcountr|iso[ -]?3166", description, re.I) and body in (
            "[A-Z]{2}", "[A-Z][A-Z]"):
        low = text.lower()
        for name, code in sorted(countries().items(), key=lambda kv: -len(kv[0])):
            for m in re.finditer(rf"\b{re.escape(name)}\b", low):
                if not any(o.start < m.end() and m.start() < o.end for o in out):
                    out.append(Mention(m.start(), m.end(), code))
    return sorted(out, key=lambda x: x.start)


# ---------------------------------------------------------------------------- roles


def param_role(name: str, schema: dict[str, Any]) -> str | None:
    """"source" or "target" when a parameter's name (or its description's first words) says
    which end of a from-to pair it is."""
    words = set(split_identifier(name).split())
    desc = str(schema.get("description") or "").lower()
    if words & _SOURCE_WORDS or (words & {"check"} and "in" in words):
        return "source"
    if words & _TARGET_WORDS:
        return "target"
    if re.search(r"\b(?:from|leaves|departure|origin|first day|start)\b", desc):
        return "source"
    if re.search(r"\b(?:goes to|to which|destination|arrival|last day|end)\b", desc):
        return "target"
    return None


def mention_role(text: str, mention: Mention, numbers: list[Mention], *,
                 dates: bool = False) -> str | None:
    """What the words around a mention say: "from X" / "X to ..." / "N X" is a source,
    "to X" / "into X" / "in X" / "-> X" a target, "how many X" a target. For dates "in" and
    "for" say nothing ("arriving in", "for 2031-01-05"); "starting"/"since" start a range,
    "until"/"through"/"and"/"out" end it."""
    before = text[:mention.start].lower()
    after = text[mention.end:].lower()
    if re.search(r"(?:\bfrom|\bout of|\bleaving|\bdeparting|\bbetween|\bstarting|\bsince|"
                 r"\bbeginning)\s+(?:on\s+)?(?:the\s+)?$", before):
        return "source"
    ends = (r"(?:\bto|\buntil|\btill|\bthrough|\band|\bout|\bending|-)\s+(?:on\s+)?(?:the\s+)?$"
            if dates else
            r"(?:\bto|\binto|\bin|->|→|\bfor|\buntil|\btill|\bthrough|\band)\s+(?:the\s+)?$")
    if re.search(ends, before):
        return "target"
    if re.search(r"\bhow (?:many|much)\s+(?:\w+\s+)?$", before):
        return "target"
    if re.match(r"\s*(?:to|->|→|into)\b", after):
        return "source"
    if any(0 <= mention.start - n.end <= 2 for n in numbers):
        return "source"  # "250 euros": what the amount is counted in
    return None


def assign(params: list[tuple[str, dict[str, Any]]], mentions: list[Mention], text: str,
           numbers: list[Mention], *, dates: bool = False) -> dict[str, Any]:
    """Give parameters of one kind distinct values by their roles."""
    out: dict[str, Any] = {}
    if not mentions:
        return out
    if len(params) == 1:
        out[params[0][0]] = mentions[0].value
        return out
    roles = {name: param_role(name, schema) for name, schema in params}
    spoken = [(m, mention_role(text, m, numbers, dates=dates)) for m in mentions]
    used: set[int] = set()
    for name, _schema in params:
        want = roles[name]
        pick = next((i for i, (m, r) in enumerate(spoken) if r == want and want
                     and i not in used), None)
        if pick is not None:
            out[name] = spoken[pick][0].value
            used.add(pick)
    for name, _schema in params:
        if name in out:
            continue
        taken = set(out.values())
        pick = next((i for i, (m, _r) in enumerate(spoken)
                     if i not in used and m.value not in taken), None)
        if pick is not None:
            out[name] = spoken[pick][0].value
            used.add(pick)
    return out


# ---------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class Quantity:
    start: int
    end: int
    value: float
    unit_kind: str | None  # CLDR kind ("mass", "duration" ...), "money", "people", "percent"
    unit: str | None  # CLDR key, currency code, or the noun counted


_NUM_RE = re.compile(r"(?<![\w.-])([$£€¥])?\s?(\d[\d,]*(?:\.\d+)?|" + "|".join(_NUMBER_WORDS)
                     + r"|an?)(?![\w.,]*\d)(?:-(?=[a-z]))?", re.I)


def quantities(text: str, currencies: list[str]) -> list[Quantity]:
    """Numbers of ``text`` with what they count: a CLDR unit after them ("12 kg", "68 °F",
    "2 hours", "45-minute"), money (a currency symbol, code or name of ``currencies``), a
    percentage, people, or a plain noun."""
    out: list[Quantity] = []
    low = text.lower()
    for m in _NUM_RE.finditer(text):
        raw = m.group(2).lower()
        if raw in ("a", "an"):
            value = 1.0
        elif raw in _NUMBER_WORDS:
            value = float(_NUMBER_WORDS[raw])
        else:
            if re.search(r"\d{4}-\d\d-\d\d", text[max(0, m.start() - 8):m.end() + 6]) or \
                    re.match(r"\s*(?::\d|am\b|pm\b|a\.m|p\.m)", low[m.end():]):
                continue  # a date or a clock time, not a quantity
            try:
                value = float(raw.replace(",", ""))
            except ValueError:
                continue
        rest = low[m.end():]
        kind, unit, end = None, None, m.end()
        if m.group(1):
            kind, unit = "money", {"$": "USD", "£": "GBP", "€": "EUR", "¥": "JPY"}[m.group(1)]
        words = re.match(r"\s?(°\s?[cf]\b|%|[^\W\d_][\w$]*(?:\s[^\W\d_]+)?(?:\s[^\W\d_]+)?)",
                         rest)
        if kind is None and words:
            phrase = words.group(1).replace("° ", "°")
            for size in (3, 2, 1):
                candidate = " ".join(phrase.split()[:size])
                if candidate in ("degree", "degrees"):
                    # in everyday speech a bare "degrees" is a temperature, not an angle
                    kind, unit = "temperature", None
                    end = m.end() + len(words.group(0).split(candidate)[0]) + len(candidate)
                    break
                code = _currency_named(candidate, currencies)
                if code:
                    kind, unit = "money", code
                    end = m.end() + len(words.group(0).split(candidate)[0]) + len(candidate)
                    break
                found = unit_of(candidate) if (raw not in ("a", "an") or size == 1) else None
                if found is not None and (len(candidate) > 1 or m.group(2)[0].isdigit()):
                    kind, unit = ("percent" if found.kind == "concentr" else found.kind,
                                  found.key)
                    end = m.end() + len(words.group(0).split(candidate)[0]) + len(candidate)
                    break
            if kind is None:
                noun = phrase.split()[0]
                if noun in _PEOPLE:
                    kind, unit = "people", noun
                elif noun in ("degree", "degrees"):
                    kind, unit = "temperature", None
                else:
                    unit = noun
        if raw in ("a", "an") and kind not in ("duration",):
            continue  # "a double room" is no quantity; "an hour" is
        out.append(Quantity(m.start(), end, value, kind, unit))
    return out


def _currency_named(phrase: str, currencies: list[str]) -> str | None:
    phrase = phrase.lower()
    hits = [c for c in currencies if (cur := currency(c)) and phrase in cur.forms]
    if not hits:
        hits = [c for c in currencies if (cur := currency(c)) and phrase in cur.weak]
        if len(hits) > 1:
            hits = [c for c in hits if c == home_currency()]
    return hits[0] if len(hits) == 1 else None


_DURATION_MINUTES = {"duration-second": 1 / 60, "duration-minute": 1, "duration-hour": 60,
                     "duration-day": 1440, "duration-week": 10080}


def param_quantity(name: str, schema: dict[str, Any], tool_has_currency: bool) -> str | None:
    """What a numeric parameter measures: "duration-minute", "duration-hour",
    "duration-day", "percent", "temperature", "mass", "length", "people", "money", or None."""
    text = f"{split_identifier(name)} {schema.get('description') or ''}".lower()
    if re.search(r"\bminutes?\b|\bmins?\b", text):
        return "duration-minute"
    if re.search(r"\bhours?\b", text):
        return "duration-hour"
    if re.search(r"\bdays?\b", text) and not re.search(r"\bdate\b", text):
        return "duration-day"
    if re.search(r"percent|%|brightness|volume level", text):
        return "percent"
    if re.search(r"temperature|\btemp\b|degrees", text):
        return "temperature"
    if re.search(r"weight|mass", text):
        return "mass"
    if re.search(r"distance|length|height|width|depth", text):
        return "length"
    if set(re.findall(r"[a-z]+", text)) & _PEOPLE:
        return "people"
    if re.search(r"\b(?:amount|price|cost|budget|fee|usd|eur|gbp|money|total)\b", text) and (
            tool_has_currency or re.search(r"usd|eur|gbp|\$|currency|money", text)):
        return "money"
    if re.search(r"\b(?:quantity|amount|value|count|number|size)\b", text):
        return "any"
    return None


def number_for(measure: str | None, found: list[Quantity], used: set[int]) -> float | None:
    """The value of the first unused quantity that ``measure`` takes (durations summed and
    converted: "2 h 15 min" -> 135 for minutes)."""
    if measure is None:
        return None
    if measure.startswith("duration-"):
        per = _DURATION_MINUTES[measure.replace("duration-", "duration-")]
        total, picked = 0.0, list[int]()
        for i, q in enumerate(found):
            if i in used or q.unit_kind != "duration" or q.unit not in _DURATION_MINUTES:
                continue
            if picked and q.start - found[picked[-1]].end > 5:
                break
            total += q.value * _DURATION_MINUTES[q.unit]
            picked.append(i)
        if not picked and measure == "duration-day":
            picked = [i for i, q in enumerate(found) if i not in used and q.unit in ("day",
                                                                                  "days")][:1]
            total = found[picked[0]].value * 1440 if picked else 0.0
        if not picked:
            return None
        used.update(picked)
        return round(total / per, 4)
    for i, q in enumerate(found):
        if i in used:
            continue
        if q.unit_kind == measure or (measure == "any" and q.unit_kind is not None
                                      and q.unit_kind != "people"):
            used.add(i)
            return q.value
    return None


# ---------------------------------------------------------------------------- names & lists

_QUOTED_RE = re.compile(r"['\"“‘]([^'\"”’]{1,80})['\"”’]")
_CALLED_RE = re.compile(
    r"\b(?:called|titled|entitled|named|subject(?: line)?(?: of)?:?|headed)\s+"
    r"(?!['\"“‘])(.+?)(?=\s+(?:on|at|in|for|with|from|to|tomorrow|today|next|this|by|"
    r"and|that|saying|which|lasting|starting|about)\b|[,.;:!?]|$)", re.I)
_CAPITAL_RE = re.compile(r"(?<![\w'-])([^\W\d_a-z][^\W\d_]*(?:[-'][^\W\d_]+)?"
                         r"(?:\s+(?:de|da|do|dos|van|von|der|al|la|le|el|of)?\s*"
                         r"[^\W\d_a-z][^\W\d_]*(?:[-'][^\W\d_]+)?)*)")


def is_name_param(name: str, schema: dict[str, Any]) -> bool:
    """A free-text parameter that holds a proper name or a title."""
    words = set(split_identifier(name).split())
    if words & _NAME_PARAMS:
        return True
    desc = str(schema.get("description") or "")
    return bool(re.search(r"\b(?:name|title|city|town)\b", desc, re.I) or re.search(
        r"\b(?:e\.g\.?|like|such as)\s+[A-Z][a-z]+", desc))


def proper_name(name: str, text: str, avoid: set[str]) -> str | None:
    """The name or title ``text`` gives for parameter ``name``: quoted text or the words after
    "called/titled/named" for titles and names; a capitalised name otherwise (a place after
    in/at/for/to/from for places)."""
    low_name = split_identifier(name)
    titled = bool(set(low_name.split()) & {"title", "subject", "name", "label", "topic"})
    if titled or "name" in low_name:
        m = _QUOTED_RE.search(text)
        if m and titled:
            return m.group(1).strip()
        m = _CALLED_RE.search(text)
        if m:
            return m.group(1).strip(" '\"")
    candidates = []
    for m in _CAPITAL_RE.finditer(text):
        words = m.group(1).split()
        # drop leading words that are not names: the sentence's first word, months, units
        start = m.start()
        while words and (_not_a_name(words[0], avoid) or (start == _sentence_start(text, start)
                                                           and _common(words[0]))):
            start += len(words[0]) + 1
            words = words[1:]
        while words and _not_a_name(words[-1], avoid):
            words = words[:-1]
        if words:
            candidates.append((m.start(), " ".join(words)))
    if not candidates:
        return None
    place = set(low_name.split()) & {"city", "town", "place", "location", "venue",
                                     "destination", "country", "region"}
    if place:
        after_prep = [c for c in candidates if re.search(
            r"\b(?:in|at|for|to|from|near|around|of)\s+$", text[:c[0]], re.I)]
        if after_prep:
            return after_prep[0][1]
    if "name" in low_name or "person" in low_name:
        multi = [c for c in candidates if len(c[1].split()) >= 2]
        if multi:
            return multi[0][1]
    return candidates[0][1]


def _sentence_start(text: str, pos: int) -> int:
    ends = [m.end() for m in re.finditer(r"[.!?:;\n]\s*", text[:pos])]
    return ends[-1] if ends else len(text[:pos]) - len(text[:pos].lstrip())


def _common(word: str) -> bool:
    low = word.lower()
    return low in STOPWORDS or low.rstrip("s") in STOPWORDS or len(low) <= 2 or bool(
        re.fullmatch(r"(?:who|what|which|where|when|how|find|look|book|reserve|search|get|"
                     r"set|add|create|put|send|email|schedule|make|turn|switch|track|check|"
                     r"convert|log|record|show|tell|give|is|are|will|can|could|please)",
                     low))


def _not_a_name(word: str, avoid: set[str]) -> bool:
    low = word.lower().strip("'")
    return (low in _WEEKDAY_MONTH or low in avoid or low in ("i", "i'm", "i'd", "i'll")
            or _everyday_unit(low) or low in STOPWORDS
            or (word.isupper() and len(word) <= 4))


def _everyday_unit(word: str) -> bool:
    unit = unit_of(word) if len(word) > 2 else None
    return unit is not None and unit.kind in ("mass", "length", "volume", "duration",
                                              "temperature")


_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LIST_RE = re.compile(
    r"\b(?:with|using|including|containing|from|of|featuring)\s+((?:[a-z][\w-]*\s+){0,2}?"
    r"[a-z][\w-]*(?:\s*,\s*(?:[a-z][\w-]*\s+){0,2}?[a-z][\w-]*)*\s*,?\s*(?:and|or|&)\s+"
    r"(?:[a-z][\w-]*\s+){0,2}?[a-z][\w-]*)", re.I)


def emails(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(0).rstrip(".") for m in _EMAIL_RE.finditer(text)))


def listed_items(text: str, avoid: set[str]) -> list[str]:
    """The items of a coordinated list after with/using/including ("including pens and
    staplers", "using cedar, pine or oak"), minus words that are other parameters' values."""
    for m in _LIST_RE.finditer(text):
        parts = re.split(r"\s*(?:,|\band\b|\bor\b|&)\s*", m.group(1))
        items = []
        for part in parts:
            words = [w for w in part.split() if w.lower() not in STOPWORDS]
            kept = " ".join(w for w in words if w.lower() not in avoid)
            if kept and re.search(r"[a-z]", kept, re.I):
                items.append(kept)
        if len(items) >= 2:
            return items
    return []


# ---------------------------------------------------------------------------- the filler


def fill(properties: dict[str, Any], text: str, required: frozenset[str] = frozenset()
         ) -> dict[str, Any]:
    """Values for the parameters ``text`` states, by the rules in the module docstring.
    Parameters it says nothing about are absent."""
    props = {k: v for k, v in properties.items() if isinstance(v, dict)}
    out: dict[str, Any] = {}
    currency_values = list(dict.fromkeys(
        str(v) for s in props.values() for v in (s.get("enum") or [])
        if currency(str(v)) is not None and str(v).isupper()))
    found = quantities(text, currency_values)
    number_marks = [Mention(q.start, q.end, q.value) for q in found]
    enum_words: set[str] = set()
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, schema in props.items():
        if schema.get("enum"):
            groups.setdefault("enum:" + repr(sorted(map(str, schema["enum"]))), []).append(
                (name, schema))
            for v in schema["enum"]:
                enum_words |= set(split_identifier(str(v)).split())
        elif schema_type(schema) == "string" and isinstance(schema.get("pattern"), str):
            groups.setdefault("pattern:" + schema["pattern"], []).append((name, schema))
        elif schema_type(schema) == "string" and schema.get("format") in ("date", "date-time"):
            groups.setdefault("date", []).append((name, schema))
    for key, params in groups.items():
        if key.startswith("enum:"):
            schema = params[0][1]
            mentions = [m for m in enum_mentions(list(schema["enum"]), text,
                                                 str(schema.get("description") or ""))
                        if not negated(text, m)]
            if len(params) == 1:
                # a unit or currency enum goes with the quantity it qualifies
                mentions = mentions[:1]
            out.update(assign(params, mentions, text, number_marks))
        elif key.startswith("pattern:"):
            desc = " ".join(str(s.get("description") or "") for _, s in params)
            out.update(assign(params, pattern_mentions(key[8:], text, desc), text,
                              number_marks))
        else:
            out.update(_dates(params, text))
    used: set[int] = set()
    has_currency = bool(currency_values)
    for name, schema in props.items():
        kind = schema_type(schema)
        if name in out or schema.get("enum") or schema.get("const") is not None:
            continue
        if kind in ("number", "integer"):
            measure = param_quantity(name, schema, has_currency)
            value = None
            if measure == "money":
                from passline.sim.brain.amounts import money_amount

                # a unit price times the count asked for ("9.50 USD each ... all three")
                value = money_amount(text)
                if value is not None:
                    used.update(i for i, q in enumerate(found) if q.unit_kind == "money")
            if value is None:
                value = number_for(measure, found, used)
            if value is not None:
                out[name] = round(value) if kind == "integer" else value
        elif kind == "array":
            raw_items = schema.get("items")
            items: dict[str, Any] = raw_items if isinstance(raw_items, dict) else {}
            if items.get("format") == "email" or re.search(
                    r"e-?mail|recipient|attendee|invitee|\bto\b|\bcc\b|\bbcc\b",
                    f"{split_identifier(name)} {schema.get('description') or ''}", re.I):
                found_emails = emails(text)
                if found_emails:
                    out[name] = found_emails
            elif schema_type(items) == "string" and not items.get("enum") and not items.get(
                    "pattern"):
                listed = listed_items(text, enum_words)
                if listed:
                    out[name] = listed
        elif kind == "string" and not schema.get("format") and not schema.get("pattern"):
            if _IDENT_NAME_RE.search(name):
                token = identifier(text, str(schema.get("description") or ""), found)
                if token:
                    out[name] = token
            elif "email" in name.lower():
                found_emails = emails(text)
                if found_emails:
                    out[name] = found_emails[0]
            elif is_name_param(name, schema):
                title = proper_name(name, text, enum_words)
                if title:
                    out[name] = title
    for name in sorted(required, key=list(props).index):
        schema = props.get(name) or {}
        if name in out or schema_type(schema) not in ("number", "integer") or param_quantity(
                name, schema, has_currency) == "money":
            continue  # money is never a bare number (a count, a box size ...)
        # a required number the units do not place: the one plain number left ("make it 7")
        plain = [i for i, q in enumerate(found) if i not in used and q.unit_kind is None
                 and q.unit not in _PEOPLE]
        if len(plain) == 1:
            used.add(plain[0])
            value = found[plain[0]].value
            out[name] = round(value) if schema_type(schema) == "integer" else value
    return out


_IDENT_NAME_RE = re.compile(r"(?:^|_)(?:number|no|code|id|key|sku|serial|barcode|tracking)$|"
                            r"(?:Number|Code|Id)$")


def identifier(text: str, description: str, found: list[Quantity]) -> str | None:
    """An identifier token for a parameter without a pattern (a carrier's tracking code, a
    serial number): letters and digits with at least one digit, 6+ characters, not a
    quantity, date or e-mail; the one shaped most like the description's example first."""
    example = re.search(
        r"(?:e\.g\.?|like|such as|for example)\s*[,:]?\s*([A-Za-z0-9][\w-]*\d[\w-]*)",
        description)
    tokens = []
    for m in re.finditer(r"(?<![\w@.-])([A-Za-z0-9][A-Za-z0-9-]{4,}[A-Za-z0-9])(?![\w@-])", text):
        token = m.group(1)
        if not re.search(r"\d", token) or re.fullmatch(r"\d{4}-\d{2}-\d{2}", token):
            continue
        if any(q.start <= m.start() < q.end and q.unit_kind for q in found):
            continue
        tokens.append(token)
    if not tokens:
        return None
    if example:
        shape = _shape(example.group(1))
        same = [t for t in tokens if _shape(t) == shape]
        if same:
            return same[0]
    return max(tokens, key=len)


def _shape(token: str) -> tuple[int, bool, bool]:
    return (len(token) // 4, bool(re.search(r"[A-Za-z]", token)), "-" in token)


def _dates(params: list[tuple[str, dict[str, Any]]], text: str) -> dict[str, Any]:
    days = date_mentions(text)
    times = time_mentions(text)
    out: dict[str, Any] = {}
    if not days:
        period = date_range(text)
        if period is None and times:
            from passline.sim.brain.parsing import EPOCH_DATE

            period = (EPOCH_DATE, EPOCH_DATE)
        if period is None:
            return out
        for name, schema in params:
            role = param_role(name, schema)
            day = period[1] if role == "target" else period[0]
            out[name] = _as(schema, day, times[0] if times else None)
        return out
    marks = [Mention(d.start, d.end, d.day) for d in days]
    chosen = assign(params, marks, text, [], dates=True)
    for name, _schema in params:
        if name not in chosen and len(params) > 1 and len(marks) == 1:
            chosen[name] = marks[0].value
    for name, day in chosen.items():
        schema = dict(params)[name]
        mark = next(d for d in days if d.day == day)
        near = min(times, key=lambda t: abs(t.start - mark.end), default=None)
        out[name] = _as(schema, day, near)
    return out


def _as(schema: dict[str, Any], day: Any, time: Any) -> str:
    if schema.get("format") == "date-time":
        return date_time(day, time)
    return str(day.isoformat())
