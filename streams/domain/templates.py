"""Notification wording per language: built-in templates, per-shop overrides, buyer phrases.

Templates are `str.format` strings whose placeholders are bare field names: no attribute or
index access (a shop's template must not reach into Python objects), no format spec or
conversion (`{product:d}` raises on a string, `{count:>100000}` pads to any width). Country
names come from CLDR via Babel, so "Someone in Troms, Norway" reads "Jemand aus Troms,
Norwegen" in German.

The built-in languages are the files in `wording/`, one per language (`wording/en.toml`). A
template with a `{count}` may give one text per CLDR plural category of its language, which
Babel picks for the count ("1 person", "2 people"; Polish 1 osoba, 2 osoby, 5 osób). A shop
overrides a template by its name, or one plural form of it as `trending#few`.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal

from storepulse.contracts import NotificationKind

# The fields each kind's templates may use (titles and messages alike).
FIELDS: dict[str, frozenset[str]] = {
    "purchase": frozenset({"who", "product"}),
    "trending": frozenset({"count", "product"}),
    "viewing": frozenset({"count", "product"}),
    "signup": frozenset({"who"}),
    "low_stock": frozenset({"count", "product"}),
    "back_in_stock": frozenset({"product"}),
    "cart": frozenset({"count", "product"}),
    "visitors": frozenset({"count"}),
    "review": frozenset({"stars", "author", "product", "excerpt"}),
}
# Template names a shop may override: "purchase" (the message) or "purchase.title".
TEMPLATE_NAMES = frozenset(FIELDS) | {f"{kind}.title" for kind in FIELDS}
# CLDR's plural categories; a language uses "other" and some of the rest.
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
MAX_TEMPLATE_CHARS = 200
# What a template is rendered with to prove it renders before a shop may store it.
SAMPLE_VALUES: dict[str, Any] = {
    "who": "Maya in Austin",
    "product": "Cloud Hoodie",
    "count": 7,
    "stars": "★★★★★",
    "author": "Maya K.",
    "excerpt": "Softest thing I own",
}
WORDING_DIR = Path(__file__).parent / "wording"
DEFAULT_LANGUAGE = "en"

# A template, or a counted one's text per plural category.
Template = str | dict[str, str]
# A shop's own templates: {lang: {name: template}}.
Overrides = dict[str, dict[str, str]]


@dataclass(frozen=True)
class Wording:
    """How one language names a buyer and an unnamed product, and its templates."""

    named: str  # "{name}", or with the language's honorific ("{name}さん")
    named_place: str  # "{name} in {place}"
    someone_place: str
    someone: str
    this_product: str
    templates: dict[str, Template]


def _load(path: Path) -> Wording:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return Wording(
        named=data["named"],
        named_place=data["named_place"],
        someone_place=data["someone_place"],
        someone=data["someone"],
        this_product=data["this_product"],
        templates=data["templates"],
    )


# Keyed by the language's BCP 47 tag as Shopify's storefront names it ("pt-BR", "zh-TW").
BUILT_IN: dict[str, Wording] = {path.stem: _load(path) for path in sorted(WORDING_DIR.glob("*.toml"))}


@lru_cache(maxsize=256)
def locale(lang: str) -> Locale | None:
    """Babel's locale for a BCP 47 tag, or None when CLDR does not know it."""
    try:
        return Locale.parse(lang, sep="-")
    except (ValueError, TypeError, UnknownLocaleError):
        return None


def plural_category(lang: str, count: int) -> str:
    """The CLDR plural category of `count` in `lang` ("other" for a language CLDR lacks)."""
    known = locale(lang)
    return str(known.plural_form(count)) if known else "other"


def right_to_left(lang: str) -> bool:
    known = locale(lang)
    return known is not None and known.character_order == "right-to-left"


def _split(name: str) -> tuple[str, str | None]:
    """("trending", "few") for "trending#few"; (name, None) for a name without a plural form."""
    base, _, category = name.partition("#")
    return base, category or None


@lru_cache(maxsize=4096)  # rendering checks every shop override it uses, once
def template_error(name: str, template: str) -> str | None:
    """Why `template` cannot be used as template `name`, or None when it can."""
    base, category = _split(name)
    if base not in TEMPLATE_NAMES:
        return f"unknown template {base!r}; use one of {sorted(TEMPLATE_NAMES)}"
    allowed = FIELDS[base.split(".")[0]]
    if category is not None and (category not in PLURAL_CATEGORIES or "count" not in allowed):
        return f"template {name!r}: only templates with {{count}} have plural forms, {PLURAL_CATEGORIES}"
    if len(template) > MAX_TEMPLATE_CHARS:
        return f"template {name!r} is longer than {MAX_TEMPLATE_CHARS} characters"
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"template {name!r} is malformed: {exc}"
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in allowed:
            return f"template {name!r} uses {{{field}}}; allowed fields: {sorted(allowed)}"
        if spec or conversion:
            return f"template {name!r}: write {{{field}}} bare, without a format spec or conversion"
    try:
        template.format_map(SAMPLE_VALUES)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return f"template {name!r} does not render: {exc}"
    return None


def renderable(lang: str, overrides: Overrides) -> bool:
    """True when notifications can be written in `lang`: built in, or the shop wrote templates."""
    return lang in BUILT_IN or bool(overrides.get(lang))


def languages(requested: list[str], overrides: Overrides) -> list[str]:
    """The languages notifications are rendered in, the default first: the requested ones we
    can render (English when none can be)."""
    return [lang for lang in requested if renderable(lang, overrides)] or [DEFAULT_LANGUAGE]


@lru_cache(maxsize=4096)
def country_name(code: str, lang: str) -> str:
    """The country's name in `lang` (CLDR), or the code when unknown."""
    known = locale(lang)
    return str(known.territories.get(code.upper(), code)) if known else code


def _wording(lang: str) -> Wording:
    return BUILT_IN.get(lang, BUILT_IN[DEFAULT_LANGUAGE])


def place(city: str | None, region: str | None, country_code: str | None, lang: str) -> str | None:
    """ "Austin, United States"; without a city the region ("Troms, Norway"); else the country."""
    country = country_name(country_code, lang) if country_code else None
    parts = [p for p in (city or region, country) if p]
    return ", ".join(parts) or None


def who(first_name: str | None, where: str | None, lang: str) -> str:
    """The buyer phrase, falling back to "Someone" for whatever is blank."""
    words = _wording(lang)
    if first_name and where:
        return words.named_place.format(name=first_name, place=where)
    if first_name:
        return words.named.format(name=first_name)
    if where:
        return words.someone_place.format(place=where)
    return words.someone


def this_product(lang: str) -> str:
    """What to call a product whose title we do not know."""
    return _wording(lang).this_product


def render(kind: NotificationKind, lang: str, overrides: Overrides, **fields: object) -> tuple[str, str]:
    """(title, message) for `kind` in `lang`, a shop's override first, then the built-in."""
    count = fields.get("count")
    category = plural_category(lang, count) if isinstance(count, int) else None
    if isinstance(count, int):
        known = locale(lang)
        # Digits grouped as the language groups them ("12.345" in German), in Latin digits.
        fields = {**fields, "count": format_decimal(count, locale=known) if known else str(count)}
    return (
        _fill(f"{kind}.title", lang, category, overrides, fields),
        _fill(kind, lang, category, overrides, fields),
    )


def _fill(name: str, lang: str, category: str | None, overrides: Overrides, fields: dict[str, object]) -> str:
    own = overrides.get(lang, {})
    # The shop's form for this count, then its template for every count, then the built-in.
    for candidate in (f"{name}#{category}", name) if category else (name,):
        custom = own.get(candidate)
        # An override that slipped past validation (e.g. produced straight to the topic) is ignored.
        if custom is not None and template_error(candidate, custom) is None:
            return custom.format_map(fields)
    return built_in(name, lang, category).format_map(fields)


def built_in(name: str, lang: str, category: str | None = None) -> str:
    """The built-in template `name` in `lang` (English where the language lacks it), in the
    plural form of `category` when it has forms ("other" without one)."""
    template = _wording(lang).templates.get(name) or BUILT_IN[DEFAULT_LANGUAGE].templates[name]
    if isinstance(template, str):
        return template
    return template.get(category or "other") or template["other"]
