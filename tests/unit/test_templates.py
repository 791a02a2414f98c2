import pytest

from streams.domain import templates

# Shopify admin's languages, plus Arabic and Hebrew; tags as `Shopify.locale` gives them.
LANGS = (
    "zh-CN", "zh-TW", "cs", "da", "nl", "en", "fi", "fr", "de", "it", "ja",
    "ko", "nb", "pl", "pt-BR", "pt-PT", "es", "sv", "th", "tr", "ar", "he",
)  # fmt: skip


def test_the_22_languages_are_built_in() -> None:
    assert sorted(templates.BUILT_IN) == sorted(LANGS)


@pytest.mark.parametrize("lang", LANGS)
def test_every_language_renders_every_kind_with_its_values(lang: str) -> None:
    for kind, fields in templates.FIELDS.items():
        values = {
            "who": "Maya",
            "count": 7,
            "product": "Cloud Hoodie",
            "stars": "★★★★",
            "author": "Ola N.",
            "excerpt": "Softest thing I own",
        }
        title, message = templates.render(kind, lang, {}, **{f: values[f] for f in fields})
        assert title and "{" not in title and "{" not in message
        for field, value in values.items():
            assert (str(value) in message) == (field in fields), (kind, field)


@pytest.mark.parametrize("lang", LANGS)
def test_every_language_has_every_template_with_a_form_for_each_of_its_plural_categories(lang: str) -> None:
    own = templates.BUILT_IN[lang].templates
    assert set(own) == templates.TEMPLATE_NAMES
    categories = {*templates.locale(lang).plural_form.tags, "other"}
    for name, template in own.items():
        # One text for every count, or one per category the language has: no more, no fewer.
        assert isinstance(template, str) or set(template) == categories, (name, sorted(categories))


def _trending(lang: str, count: int) -> str:
    return templates.render("trending", lang, {}, count=count, product="Tote")[1]


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (1, "1 person bought Tote in the last 24 hours"),
        (2, "2 people bought Tote in the last 24 hours"),
        (1200, "1,200 people bought Tote in the last 24 hours"),
    ],
)
def test_english_counts_one_person_and_more_people(count: int, message: str) -> None:
    assert _trending("en", count) == message


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (1, "1 osoba kupiła Tote w ciągu ostatnich 24 godzin"),
        (2, "2 osoby kupiły Tote w ciągu ostatnich 24 godzin"),
        (5, "5 osób kupiło Tote w ciągu ostatnich 24 godzin"),
        (22, "22 osoby kupiły Tote w ciągu ostatnich 24 godzin"),
    ],
)
def test_polish_counts_one_few_and_many(count: int, message: str) -> None:
    assert _trending("pl", count) == message


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (0, "لم يشترِ أحد Tote خلال آخر 24 ساعة"),  # zero: no one
        (1, "اشترى شخص واحد Tote خلال آخر 24 ساعة"),  # one: one person
        (2, "اشترى شخصان Tote خلال آخر 24 ساعة"),  # two: the dual
        (3, "اشترى 3 أشخاص Tote خلال آخر 24 ساعة"),  # few: the plural
        (11, "اشترى 11 شخصًا Tote خلال آخر 24 ساعة"),  # many: singular, accusative
        (100, "اشترى 100 شخص Tote خلال آخر 24 ساعة"),  # other: singular, genitive
    ],
)
def test_arabic_counts_each_of_its_six_categories(count: int, message: str) -> None:
    assert _trending("ar", count) == message


def test_a_shop_may_override_one_plural_form_and_keeps_the_built_in_others() -> None:
    overrides = {"pl": {"viewing#few": "{count} osoby patrzą na {product}"}}
    view = lambda count: templates.render("viewing", "pl", overrides, count=count, product="Tote")[1]  # noqa: E731
    assert view(3) == "3 osoby patrzą na Tote"
    assert view(5) == "5 osób ogląda teraz Tote"
    # Its template for every count stands in for each form it did not write.
    overrides["pl"]["viewing"] = "Oglądają: {count}"
    assert (view(3), view(5)) == ("3 osoby patrzą na Tote", "Oglądają: 5")


def test_right_to_left_are_arabic_and_hebrew() -> None:
    assert [lang for lang in LANGS if templates.right_to_left(lang)] == ["ar", "he"]


def test_buyer_phrase_falls_back_for_each_blank_field() -> None:
    assert templates.who("Maya", "Austin, United States", "en") == "Maya in Austin, United States"
    assert templates.who("Maya", None, "en") == "Maya"
    assert templates.who(None, "Troms, Norway", "en") == "Someone in Troms, Norway"
    assert templates.who(None, None, "de") == "Jemand"
    assert templates.who(None, None, "he") == "מישהו"


def test_place_names_the_country_in_the_language_and_prefers_city_over_region() -> None:
    assert templates.place("Austin", "Texas", "US", "en") == "Austin, United States"
    assert templates.place(None, "Troms", "NO", "en") == "Troms, Norway"
    assert templates.place(None, None, "NO", "de") == "Norwegen"
    assert templates.place(None, None, "NO", "ar") == "النرويج"
    assert templates.place(None, None, None, "en") is None


def test_shop_override_replaces_the_built_in_template_for_its_language_only() -> None:
    overrides = {"en": {"purchase": "{who} grabbed {product}!", "purchase.title": "Hot"}}
    assert templates.render("purchase", "en", overrides, who="Liam", product="Tote") == (
        "Hot",
        "Liam grabbed Tote!",
    )
    assert templates.render("purchase", "es", overrides, who="Liam", product="Tote")[1] == (
        "Liam acaba de comprar Tote"
    )


def test_a_language_with_only_overrides_is_rendered_and_falls_back_to_english_per_template() -> None:
    overrides = {"pt": {"trending": "{count} pessoas compraram {product}"}}
    assert templates.languages(["pt", "vi"], overrides) == ["pt"]
    assert templates.languages(["vi"], {}) == ["en"]
    title, message = templates.render("trending", "pt", overrides, count=4, product="Tote")
    assert message == "4 pessoas compraram Tote" and title == "Trending"


@pytest.mark.parametrize(
    ("name", "template", "problem"),
    [
        ("purchase", "{who} bought {order_id}", "{order_id}"),
        ("purchase", "{who.__class__}", "{who.__class__}"),
        ("trending", "{count[0]} people", "{count[0]}"),
        ("viewing", "{count people", "malformed"),
        ("refund", "{who}", "unknown template"),
        ("purchase", "{product:d}", "bare"),
        ("purchase", "{product!r}", "bare"),
        ("trending", "{count:>100000}", "bare"),
        ("purchase", "{product:{who}}", "bare"),
        ("purchase", "{}", "{}"),
        ("purchase", "{who} " * 50, "longer than 200"),
        ("purchase#one", "{who}", "only templates with {count}"),
        ("trending#several", "{count}", "plural forms"),
        ("refund#one", "{count}", "unknown template"),
    ],
)
def test_template_errors_name_the_problem(name: str, template: str, problem: str) -> None:
    error = templates.template_error(name, template)
    assert error is not None and problem in error


@pytest.mark.parametrize("template", ["{who.__init__.__globals__}", "{product:d}", "{who!r}", "x" * 201])
def test_an_invalid_override_never_breaks_rendering(template: str) -> None:
    """One that reached the settings topic without the admin API's check: the built-in text."""
    overrides = {"en": {"purchase": template}}
    assert (
        templates.render("purchase", "en", overrides, who="Ana", product="Tote")[1] == "Ana just bought Tote"
    )


def test_every_built_in_template_passes_its_own_check() -> None:
    for wording in templates.BUILT_IN.values():
        for name, template in wording.templates.items():
            forms = template.items() if isinstance(template, dict) else [(None, template)]
            for category, text in forms:
                full = f"{name}#{category}" if category else name
                assert templates.template_error(full, text) is None, (full, text)
