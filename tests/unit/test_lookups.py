import pytest
from pydantic import ValidationError

from streams.web.lookups import SettingsUpdate, authorized

SHOP = "demo.myshopify.com"


def test_only_the_configured_bearer_token_is_authorized() -> None:
    assert authorized("Bearer s3cret", "s3cret")
    assert authorized("bearer s3cret", "s3cret")
    assert not authorized("Bearer wrong", "s3cret")
    assert not authorized("s3cret", "s3cret")
    assert not authorized("Basic s3cret", "s3cret")
    assert not authorized(None, "s3cret")


def test_without_a_configured_token_everything_is_refused() -> None:
    assert not authorized("Bearer ", "")
    assert not authorized("Bearer anything", "")


def test_valid_settings_are_normalised() -> None:
    update = SettingsUpdate(shop=SHOP, trending_thresholds=[10, 5, 10], language="he")
    assert update.trending_thresholds == [5, 10]


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ({"trending_thresholds": [0]}, "at least 1"),
        ({"viewing_min_viewers": 0}, "at least 1"),
        ({"min_order_value": "-1"}, "negative"),
        ({"language": "pt"}, "add templates for it"),
        ({"templates": {"de": {"viewing": "{who} schaut"}}}, "{who}"),
        ({"buyer_display": "everything"}, "buyer_display"),
        ({"email": "x"}, "email"),
    ],
)
def test_invalid_settings_are_refused_with_the_reason(rules: dict, problem: str) -> None:
    with pytest.raises(ValidationError) as refused:
        SettingsUpdate(shop=SHOP, **rules)
    assert problem in str(refused.value)


def test_a_language_with_its_own_templates_is_accepted() -> None:
    update = SettingsUpdate(
        shop=SHOP, language="pt", templates={"pt": {"purchase": "{who} comprou {product}"}}
    )
    assert update.language == "pt"
