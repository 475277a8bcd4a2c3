"""General vocabulary from the Unicode CLDR (through Babel): currencies, units, countries.

A model knows that "yen" is JPY, that "pounds" is GBP when the choices are currencies and lb
when they are weights, that "millilitres" is ml and that Germany is DE. sim-2 reads enum
values and country codes with this vocabulary; sim-1 reads enum values word for word. Nothing
here is written by hand for a dataset: every name comes from CLDR's English locales.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_LOCALES = ("en", "en_GB")
#: Approximate value of one unit of a currency in USD, the order of magnitude any reader
#: knows; used only to compare an amount with a limit stated in another currency.
USD_VALUE = {"USD": 1.0, "EUR": 1.1, "GBP": 1.3, "CHF": 1.1, "CAD": 0.73, "AUD": 0.66,
             "JPY": 0.0067, "CNY": 0.14, "INR": 0.012, "SEK": 0.095, "NOK": 0.094,
             "DKK": 0.15, "PLN": 0.25, "MXN": 0.055, "BRL": 0.18, "NZD": 0.6, "SGD": 0.75,
             "HKD": 0.13, "ZAR": 0.055, "KRW": 0.00073}


@dataclass(frozen=True)
class Unit:
    key: str  # CLDR key, e.g. "mass-pound"
    kind: str  # "mass", "length", "duration", "temperature", "volume", ...
    forms: frozenset[str]  # lowercase names and symbols ("lb", "pound", "pounds")
    symbol: str  # short symbol, lowercase ("lb")
    exact: frozenset[str]  # symbols as CLDR writes them ("mL", "ML", "g", "G")


def _strip(pattern: str) -> str:
    return " ".join(pattern.replace("{0}", " ").split()).lower()


@functools.lru_cache(maxsize=1)
def units() -> tuple[Unit, ...]:
    """Every CLDR unit with its English names and symbols."""
    from babel import Locale

    found: dict[str, set[str]] = {}
    exact: dict[str, set[str]] = {}
    symbols: dict[str, str] = {}
    for name in _LOCALES:
        data = Locale.parse(name)._data["unit_patterns"]
        for key in data:
            forms = found.setdefault(key, set())
            lengths = data[key]
            for length in ("long", "short", "narrow"):
                if length not in lengths:
                    continue
                for count in ("one", "other"):
                    pattern = lengths[length].get(count)
                    if not pattern:
                        continue
                    form = _strip(pattern)
                    if length != "long":
                        exact.setdefault(key, set()).add(" ".join(
                            pattern.replace("{0}", " ").split()))
                    if (form and re.search(r"[a-z]", form)) or form in ("%", "°f", "°c"):
                        forms.add(form)
                    if length == "short" and count == "other" and form:
                        symbols.setdefault(key, form)
            for form in list(forms):
                # "degrees fahrenheit" is also just "fahrenheit"
                m = re.match(r"degrees? (\w+)$", form)
                if m:
                    forms.add(m.group(1))
    out = []
    for key, forms in found.items():
        kind = key.split("-", 1)[0]
        out.append(Unit(key, kind, frozenset(forms), symbols.get(key, ""),
                        frozenset(exact.get(key, ()))))
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def unit_of(word: str) -> Unit | None:
    """The unit a name or symbol stands for ("kilometres" -> length-kilometer), or None.
    Ambiguous short symbols go to the unit whose own symbol it is."""
    word = word.strip()
    hits = [u for u in units() if word in u.exact]
    if len(hits) == 1:
        return hits[0]
    low = word.lower()
    hits = hits or [u for u in units() if low in u.forms]
    if not hits:
        return None
    own = [u for u in hits if u.symbol == low] or hits
    return sorted(own, key=lambda u: (_KIND_RANK.get(u.kind, 9), len(u.key)))[0]


#: When a name is shared, the everyday kinds of quantity come first.
_KIND_RANK = {"mass": 0, "length": 1, "volume": 2, "duration": 3, "temperature": 4,
              "concentr": 5, "speed": 6}


@dataclass(frozen=True)
class Currency:
    code: str
    forms: frozenset[str]  # lowercase names and symbols ("euro", "euros", "€", "eur")
    weak: frozenset[str]  # bare last words ("dollars") shared with other currencies


@functools.lru_cache(maxsize=512)
def currency(code: str) -> Currency | None:
    """Names and symbols of an ISO 4217 currency code, or None when CLDR does not know it."""
    from babel import Locale
    from babel.numbers import get_currency_name

    code = code.upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        return None
    locale = Locale.parse("en")
    if code not in locale.currencies:
        return None
    forms = {code.lower()}
    weak: set[str] = set()
    for count in (1, 2):
        name = get_currency_name(code, count=count, locale="en").lower()
        forms.add(name)
        last = name.split()[-1]
        if last != name:
            weak.add(last)
    symbol = locale.currency_symbols.get(code)
    if symbol and symbol.upper() != code:
        forms.add(symbol.lower())
    return Currency(code, frozenset(forms), frozenset(weak))


def home_currency() -> str:
    """The currency of the English locale's own territory (a bare "dollars" means it)."""
    return "USD"


@functools.lru_cache(maxsize=1)
def countries() -> dict[str, str]:
    """Lowercase English country name -> ISO 3166-1 alpha-2 code."""
    from babel import Locale

    out: dict[str, str] = {}
    for name in _LOCALES:
        for code, title in Locale.parse(name).territories.items():
            if re.fullmatch(r"[A-Z]{2}", code):
                out.setdefault(title.lower(), code)
    for alias, code in (("uk", "GB"), ("usa", "US"), ("america", "US"), ("britain", "GB"),
                        ("great britain", "GB"), ("holland", "NL")):
        out.setdefault(alias, code)
    return out


def is_currency_code(value: str) -> bool:
    return currency(value) is not None


def value_forms(value: str) -> tuple[frozenset[str], frozenset[str]]:
    """(names, weak names) by which a reader recognises an enum ``value`` that is a currency
    code or a unit: ``"JPY"`` -> yen, ¥ ...; ``"lb"`` -> pound, pounds; nothing otherwise."""
    cur = currency(value) if re.fullmatch(r"[A-Za-z]{3}", value) and value.isupper() else None
    if cur is not None:
        return cur.forms, cur.weak
    unit = unit_of(value)
    if unit is not None and (value.lower() == unit.symbol or value.lower() in unit.forms):
        return unit.forms, frozenset()
    return frozenset(), frozenset()
