"""The Languages page: which languages the storefront sells in (`ShopSettings.languages`, the
default first), and each one's notifications side by side as the worker words them.

The samples are rendered by the worker's own `streams.domain.templates` with the shop's
overrides, so the page shows exactly what visitors will read, right to left where the language is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from babel import Locale
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from admin.context import AdminContext
from admin.forms import field_errors
from admin.page_view import Pages, View
from storepulse.contracts import MAX_LANGUAGES, ShopSettings
from streams.domain import templates

# A sample of each kind, with counts whose plural forms differ in many languages.
SAMPLE_NAME, SAMPLE_CITY, SAMPLE_COUNTRY = "Maya", "Austin", "US"
SAMPLE_COUNTS = {"trending": 14, "viewing": 2, "low_stock": 3, "cart": 4, "visitors": 128}
SAMPLE_PRODUCT = "Cloud Hoodie"


@dataclass(frozen=True)
class Language:
    tag: str
    name: str  # in English
    native: str  # in itself
    right_to_left: bool


def language(tag: str) -> Language:
    known = templates.locale(tag)
    if known is None:
        return Language(tag, tag, tag, False)
    return Language(
        tag,
        known.get_display_name(Locale("en")) or tag,
        known.get_display_name() or tag,
        templates.right_to_left(tag),
    )


def samples(lang: str, settings: ShopSettings) -> list[dict[str, str]]:
    """`{kind, title, message}` of each kind the shop shows, in `lang` as the worker renders it."""
    who = templates.who(SAMPLE_NAME, templates.place(SAMPLE_CITY, None, SAMPLE_COUNTRY, lang), lang)
    shown = []
    for kind in settings.enabled_kinds:
        fields: dict[str, Any] = {"product": SAMPLE_PRODUCT}
        if "who" in templates.FIELDS[kind]:
            fields["who"] = who
        if "count" in templates.FIELDS[kind]:
            fields["count"] = SAMPLE_COUNTS.get(kind, 3)
        # A review's own fields (stars, author, excerpt): the sample the templates are checked with.
        own = templates.FIELDS[kind] - {"who", "count", "product"}
        fields |= {f: templates.SAMPLE_VALUES[f] for f in own}
        title, message = templates.render(kind, lang, settings.templates, **fields)
        shown.append({"kind": kind, "title": title, "message": message})
    return shown


def chosen(default: str, enabled: list[str]) -> list[str]:
    """The form's languages as the settings list them: the default first, then the others."""
    return [default, *(lang for lang in enabled if lang != default)] if default else enabled


def language_routes(ctx: AdminContext) -> list[Route]:
    page = Pages(ctx)

    async def languages_page(view: View) -> Response:
        current = await view.api.settings()
        enabled, errors = current.languages, {}
        if view.posted:
            form = await view.request.form()
            enabled = chosen(str(form.get("default", "")), [str(v) for v in form.getlist("languages")])
            answer = await view.api.put("/api/settings", {"languages": enabled}, ok=(422,))
            if "errors" not in answer:
                return RedirectResponse(view.url("languages", saved=1), status_code=303)
            errors = field_errors(answer["errors"])
        offered = sorted({*templates.BUILT_IN, *current.templates, *enabled}, key=lambda t: language(t).name)
        return view.render(
            "languages.html",
            title="Languages",
            languages=[language(tag) for tag in offered],
            enabled=enabled,
            most=MAX_LANGUAGES,
            previews=[(language(lang), samples(lang, current)) for lang in enabled if lang in offered],
            errors=errors,
            saved=view.request.query_params.get("saved") == "1" and not view.posted,
        )

    return [Route("/languages", page("languages", languages_page), methods=["GET", "POST"], name="languages")]
