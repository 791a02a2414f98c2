"""Notification wording per language: built-in templates, per-shop overrides, buyer phrases.

Templates are `str.format` strings whose placeholders are bare field names: no attribute or
index access (a shop's template must not reach into Python objects), no format spec or
conversion (`{product:d}` raises on a string, `{count:>100000}` pads to any width). Country
names come from CLDR via Babel, so "Someone in Troms, Norway" reads "Jemand aus Troms,
Norwegen" in German.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError

from storepulse.contracts import NotificationKind

# The fields each kind's templates may use (titles and messages alike).
FIELDS: dict[str, frozenset[str]] = {
    "purchase": frozenset({"who", "product"}),
    "trending": frozenset({"count", "product"}),
    "viewing": frozenset({"count", "product"}),
}
# Template names a shop may override: "purchase" (the message) or "purchase.title".
TEMPLATE_NAMES = frozenset(FIELDS) | {f"{kind}.title" for kind in FIELDS}
MAX_TEMPLATE_CHARS = 200
# What a template is rendered with to prove it renders before a shop may store it.
SAMPLE_VALUES: dict[str, Any] = {"who": "Maya in Austin", "product": "Cloud Hoodie", "count": 7}


@dataclass(frozen=True)
class Wording:
    """How one language names a buyer and an unnamed product, and its templates."""

    named_place: str  # "{name} in {place}"
    someone_place: str
    someone: str
    this_product: str
    templates: dict[str, str]


BUILT_IN: dict[str, Wording] = {
    "en": Wording(
        "{name} in {place}",
        "Someone in {place}",
        "Someone",
        "this item",
        {
            "purchase": "{who} just bought {product}",
            "purchase.title": "Just bought",
            "trending": "{count} people bought {product} in the last 24 hours",
            "trending.title": "Trending",
            "viewing": "{count} people are viewing {product} now",
            "viewing.title": "Popular right now",
        },
    ),
    "de": Wording(
        "{name} aus {place}",
        "Jemand aus {place}",
        "Jemand",
        "diesen Artikel",
        {
            "purchase": "{who} hat gerade {product} gekauft",
            "purchase.title": "Gerade gekauft",
            "trending": "{count} Personen haben {product} in den letzten 24 Stunden gekauft",
            "trending.title": "Im Trend",
            "viewing": "{count} Personen sehen sich gerade {product} an",
            "viewing.title": "Gerade beliebt",
        },
    ),
    "fr": Wording(
        "{name} de {place}",
        "Quelqu'un de {place}",
        "Quelqu'un",
        "cet article",
        {
            "purchase": "{who} vient d'acheter {product}",
            "purchase.title": "Achat récent",
            "trending": "{count} personnes ont acheté {product} au cours des dernières 24 heures",
            "trending.title": "Tendance",
            "viewing": "{count} personnes regardent {product} en ce moment",
            "viewing.title": "Populaire en ce moment",
        },
    ),
    "es": Wording(
        "{name} de {place}",
        "Alguien de {place}",
        "Alguien",
        "este artículo",
        {
            "purchase": "{who} acaba de comprar {product}",
            "purchase.title": "Compra reciente",
            "trending": "{count} personas compraron {product} en las últimas 24 horas",
            "trending.title": "Tendencia",
            "viewing": "{count} personas están viendo {product} ahora",
            "viewing.title": "Popular ahora",
        },
    ),
    "ar": Wording(
        "{name} من {place}",
        "شخص من {place}",
        "شخص ما",
        "هذا المنتج",
        {
            "purchase": "{who} اشترى {product} للتو",
            "purchase.title": "تم الشراء للتو",
            "trending": "اشترى {count} أشخاص {product} خلال آخر 24 ساعة",
            "trending.title": "رائج",
            "viewing": "{count} أشخاص يشاهدون {product} الآن",
            "viewing.title": "شائع الآن",
        },
    ),
    "he": Wording(
        "{name} מ-{place}",
        "מישהו מ-{place}",
        "מישהו",
        "המוצר הזה",
        {
            "purchase": "{who} קנה עכשיו את {product}",
            "purchase.title": "נקנה עכשיו",
            "trending": "{count} אנשים קנו את {product} ב-24 השעות האחרונות",
            "trending.title": "טרנדי",
            "viewing": "{count} אנשים צופים ב-{product} עכשיו",
            "viewing.title": "פופולרי עכשיו",
        },
    ),
}
DEFAULT_LANGUAGE = "en"


@lru_cache(maxsize=4096)  # rendering checks every shop override it uses, once
def template_error(name: str, template: str) -> str | None:
    """Why `template` cannot be used as template `name`, or None when it can."""
    if name not in TEMPLATE_NAMES:
        return f"unknown template {name!r}; use one of {sorted(TEMPLATE_NAMES)}"
    if len(template) > MAX_TEMPLATE_CHARS:
        return f"template {name!r} is longer than {MAX_TEMPLATE_CHARS} characters"
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"template {name!r} is malformed: {exc}"
    allowed = FIELDS[name.split(".")[0]]
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


def language(requested: str, overrides: dict[str, dict[str, str]]) -> str:
    """The language notifications are rendered in: the requested one when we can render it."""
    return requested if requested in BUILT_IN or requested in overrides else DEFAULT_LANGUAGE


@lru_cache(maxsize=4096)
def country_name(code: str, lang: str) -> str:
    """The country's name in `lang` (CLDR), or the code when unknown."""
    try:
        return str(Locale.parse(lang).territories.get(code.upper(), code))
    except (ValueError, UnknownLocaleError):
        return code


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
        return first_name
    if where:
        return words.someone_place.format(place=where)
    return words.someone


def this_product(lang: str) -> str:
    """What to call a product whose title we do not know."""
    return _wording(lang).this_product


def render(
    kind: NotificationKind, lang: str, overrides: dict[str, dict[str, str]], **fields: object
) -> tuple[str, str]:
    """(title, message) for `kind` in `lang`, a shop's override first, then the built-in."""
    return _fill(f"{kind}.title", lang, overrides, fields), _fill(kind, lang, overrides, fields)


def _fill(name: str, lang: str, overrides: dict[str, dict[str, str]], fields: dict[str, object]) -> str:
    custom = overrides.get(lang, {}).get(name)
    # An override that slipped past validation (e.g. produced straight to the topic) is ignored.
    if custom is not None and template_error(name, custom) is None:
        return custom.format_map(fields)
    return _wording(lang).templates[name].format_map(fields)
