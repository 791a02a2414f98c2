"""The widget's display rules as a shop sets them: defaults, what the widget receives, and the
reasons a bad value is refused with (the settings API answers them as its 422)."""

import pytest
from pydantic import ValidationError

from admin import forms
from storepulse.contracts import ShopSettings, WidgetSettings

SHOP = "x.myshopify.com"


def reasons(widget: dict) -> dict[str, str]:
    """What the settings API says, by field path, for these widget settings."""
    with pytest.raises(ValidationError) as refused:
        ShopSettings.model_validate({"shop": SHOP, "widget": widget})
    return forms.field_errors({".".join(map(str, e["loc"])): e["msg"] for e in refused.value.errors()})


def test_defaults_keep_todays_pacing_and_wait_three_seconds() -> None:
    d = WidgetSettings().display()
    assert (d.position, d.gap_ms, d.max, d.duration_ms, d.delay_ms) == ("bottom-left", 8000, 10, 6000, 3000)
    assert (d.devices, d.pages, d.include, d.exclude, d.theme, d.font) == (
        "both",
        "all",
        [],
        [],
        "light",
        "theme",
    )
    assert d.colours is None  # sent only for the custom theme


def test_the_widget_receives_every_rule_in_milliseconds() -> None:
    widget = WidgetSettings(
        exclude_urls=["/pages/*"],
        gap_s=5,
        gap_jitter_s=2,
        dismiss_pause_s=60,
        priority={"review": 5},
        max_age_s={"purchase": 3600},
        theme="custom",
        colours={"background": "#102A43", "text": "#fff", "accent": "#f7c948"},
    )
    d = widget.display()
    assert (d.gap_ms, d.jitter_ms, d.dismiss_pause_ms) == (5000, 2000, 60000)
    assert d.exclude == ["/pages/*"] and d.priority == {"review": 5} and d.max_age_s == {"purchase": 3600}
    assert d.colours is not None and d.colours.background == "#102a43"  # normalised


def test_bad_url_patterns_are_named() -> None:
    assert "not a URL path pattern" in reasons({"exclude_urls": ["collections/sale"]})["widget.exclude_urls"]
    assert "not a URL path pattern" in reasons({"include_urls": ["/a b"]})["widget.include_urls"]
    assert "at most 20" in reasons({"exclude_urls": [f"/p{i}" for i in range(21)]})["widget.exclude_urls"]


def test_bad_colours_priorities_ages_and_choices_are_named() -> None:
    assert "#rrggbb" in reasons({"colours": {"accent": "red"}})["widget.colours.accent"]
    assert "0 to 10" in reasons({"priority": {"review": 11}})["widget.priority"]
    assert "60 s to 30 days" in reasons({"max_age_s": {"cart": 5}})["widget.max_age_s"]
    assert "widget.priority.selfie.[key]" in reasons({"priority": {"selfie": 1}})
    assert "widget.devices" in reasons({"devices": "tv"})
    assert "widget.delay_s" in reasons({"delay_s": -1})
    assert "widget.blink" in reasons({"blink": True})  # an unknown rule, not silently dropped


def test_a_bad_minute_count_is_caught_by_the_form() -> None:
    values = forms.notification_values(ShopSettings(shop=SHOP))
    values["widget.max_age_min.purchase"] = "an hour"
    _, errors = forms.notification_body(values, ShopSettings(shop=SHOP))
    assert errors == {"widget.max_age_min.purchase": "enter a number of minutes, e.g. 30"}
