"""What the merchant app's pages compute before a template draws it: chart geometry, the words
for money and time, and the settings a submitted form stands for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from starlette.datastructures import FormData

from admin import charts, forms, home
from admin.formatting import ago, day, money, number
from shopify.topics import ORDERS_CREATE
from storepulse.contracts import ShopSettings, TierRule


def test_axis_tops_are_round_and_hold_the_largest_value() -> None:
    assert charts.nice_ceiling(0) == (4.0, 1.0)
    assert charts.nice_ceiling(7) == (8.0, 2.0)
    assert charts.nice_ceiling(230) == (400.0, 100.0)
    assert charts.nice_ceiling(1234.5) == (2000.0, 500.0)
    for value in (1, 3, 9, 41, 99.5, 12_345):
        top, step = charts.nice_ceiling(value)
        assert top >= value and top == step * 4


def test_daily_chart_has_a_slot_per_day_scaled_to_its_busiest_day() -> None:
    start = date(2026, 11, 1)
    days = [charts.Day(start + timedelta(days=i), i % 4, Decimal(i * 10)) for i in range(30)]
    chart = charts.daily_chart(days, lambda v: f"${v}", lambda v: f"${v:g}")
    assert len(chart.bars) == len(chart.points) == 30
    plot_bottom = charts.HEIGHT - charts.BOTTOM
    empty, busiest = chart.bars[0], chart.bars[3]
    assert empty.height == 0 and empty.y == plot_bottom
    assert busiest.y + busiest.height == plot_bottom and busiest.y < empty.y
    assert chart.bars[3].title == "Nov 4: 3 orders, $30 net"
    assert [t.label for t in chart.left_ticks] == ["0", "1", "2", "3", "4"]
    assert chart.right_ticks[-1].label == "$400"  # 290 rounds up to 400
    assert [t.label for t in chart.x_ticks] == ["Nov 1", "Nov 8", "Nov 15", "Nov 22", "Nov 29"]
    assert len(chart.line.split()) == 30


def test_segments_keep_their_order_and_scale_to_the_largest() -> None:
    bars = charts.segment_bars({"loyal": 5, "lost": 10}, ["champions", "loyal", "lost"], ["lost"])
    assert [(b.name, b.count, b.width, b.risk) for b in bars] == [
        ("champions", 0, 0.0, False),
        ("loyal", 5, 50.0, False),
        ("lost", 10, 100.0, True),
    ]


def test_money_counts_and_times_read_as_the_admin_writes_them() -> None:
    assert money("1234.5", "USD") == "$1,234.50"
    assert money("12", "EUR") == "€12.00"
    assert money("3.5") == "3.50" and money(None, "USD") == "—"
    assert number(12345) == "12,345" and number(None) == "—"
    assert day("2026-12-02T15:04:05+00:00") == "Dec 2, 2026" and day(date(2026, 1, 9)) == "Jan 9, 2026"
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert ago((now - timedelta(days=3)).isoformat(), now) == "3 days ago"
    assert ago(now.timestamp() - 10, now) == "just now"
    assert ago("not a time", now) == "—"


def test_backfill_in_words() -> None:
    assert home.backfill_view({"state": "running", "done": 250, "total": 1000})["percent"] == 25
    assert home.backfill_view({"state": "done", "done": 0, "total": 0})["text"] == (
        "Shopify had no past orders to import."
    )
    failed = home.backfill_view({"state": "failed", "error": "throttled"})
    assert failed["tone"] == "critical" and "throttled" in failed["text"]
    assert home.backfill_view({})["label"] == "Not imported"


def test_the_sync_card_says_what_the_last_sync_read_repaired_and_found() -> None:
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    success = {"started_at": hour_ago, "orders_fetched": 1200, "subscriptions_repaired": [ORDERS_CREATE]}
    checked = {"started_at": hour_ago, "customers": 5000, "found": 3, "repaired": 2, "unexplained": 1}
    products = {"started_at": hour_ago, "refreshed": 240, "deleted": 2}
    card = home.sync_view(
        {
            "state": "done",
            "last_success": success,
            "last_reconciliation": checked,
            "last_catalog_refresh": products,
        }
    )
    assert (card["label"], card["tone"]) == ("In step", "success")
    assert card["text"].startswith("1,200 orders read from Shopify")
    assert card["repaired"] == "1 webhook subscription re-created"
    assert card["drift"] == (
        "Weekly check 1 hour ago: 5,000 customers compared, 3 differed (2 repaired, 1 unexplained)"
    )
    assert card["catalog"] == (
        "Daily product check 1 hour ago: 240 products read, 2 deleted in Shopify and no longer announced"
    )
    failed = home.sync_view({"state": "failed", "last_run": {"error": "HTTP 401"}})
    assert "HTTP 401" in failed["text"] and failed["drift"] is None and failed["catalog"] is None
    assert home.sync_view({})["label"] == "Not synced yet"


def test_the_theme_editor_link_opens_the_embed_ready_to_switch_on() -> None:
    assert home.theme_editor_link("x.myshopify.com", "key") == (
        "https://x.myshopify.com/admin/themes/current/editor?context=apps&activateAppId=key/app-embed"
    )


def test_api_reasons_land_on_the_field_that_caused_them() -> None:
    errors = forms.field_errors(
        {
            "tiers.1.min_orders": "Input should be a valid integer",
            "trending_thresholds.2": "Input should be a valid integer",
            "max_purchase_age_s": "must be at least 1",
            "templates": "Value error, en: template 'purchase' uses {x}",
        }
    )
    assert errors == {
        "tiers.1.min_orders": "Input should be a valid integer",
        "trending_thresholds": "Input should be a valid integer",
        "max_purchase_age_hours": "must be at least 1",
        "templates": "en: template 'purchase' uses {x}",
    }


def test_a_vip_form_drops_blank_rows_and_numbers_the_rest_in_order() -> None:
    form = FormData(
        [
            ("tiers.0.name", "VIP"),
            ("tiers.0.tag", "VIP"),
            ("tiers.0.min_orders", "3"),
            ("tiers.0.min_spent", ""),
            ("tiers.3.name", ""),  # an added row left empty
            ("tiers.3.tag", ""),
            ("tiers.5.name", "Gold"),
            ("tiers.5.tag", "gold"),
            ("tiers.5.min_orders", ""),
            ("tiers.5.min_spent", "500"),
            ("vip_dropoff_days", " 180 "),
            ("writeback_dry_run", "on"),
        ]
    )
    values = forms.submitted_vip(form)
    assert forms.tier_rows(values) == [0, 1]
    assert forms.vip_body(values) == {
        "tiers": [
            {"name": "VIP", "tag": "VIP", "min_orders": "3", "min_spent": "0"},
            {"name": "Gold", "tag": "gold", "min_orders": "0", "min_spent": "500"},
        ],
        "vip_dropoff_days": "180",
        "writeback_dry_run": True,
    }
    shown = forms.vip_values(
        ShopSettings(shop="x.myshopify.com", tiers=[TierRule(min_spent=Decimal("250.50"))])
    )
    assert shown["tiers.0.min_spent"] == "250.5" and shown["writeback_dry_run"] is False


def _notifications_form(**changes: str) -> FormData:
    values = forms.notification_values(ShopSettings(shop="x.myshopify.com"))
    fields = [(k, v) for k, v in values.items() if k != "enabled_kinds"]
    fields += [("enabled_kinds", k) for k in values["enabled_kinds"]]
    return FormData([(k, changes.get(k, v)) for k, v in fields])


def test_the_notifications_form_is_the_settings_it_shows() -> None:
    current = ShopSettings(shop="x.myshopify.com", templates={"de": {"purchase": "{who} kaufte {product}"}})
    values = forms.submitted_notifications(
        _notifications_form(
            max_purchase_age_hours="1.5",
            excluded_products="7001\n7002, 7003",
            trending_thresholds="3, 10",
            **{"template.purchase": "{who} grabbed {product}", "widget.position": "bottom-right"},
        )
    )
    body, errors = forms.notification_body(values, current)
    assert errors == {}
    assert body["max_purchase_age_s"] == 5400
    assert body["excluded_products"] == ["7001", "7002", "7003"]
    assert body["trending_thresholds"] == ["3", "10"]
    # The form edits its language's overrides; other languages' stay.
    assert body["templates"] == {
        "de": {"purchase": "{who} kaufte {product}"},
        "en": {"purchase": "{who} grabbed {product}"},
    }
    widget = body["widget"]
    assert (widget["position"], widget["gap_s"], widget["max_per_session"]) == ("bottom-right", "8", "10")
    assert widget["exclude_urls"] == [] and widget["colours"]["background"] == "#ffffff"
    assert "languages" not in body  # which languages the shop sells in is the Languages page's
    assert ShopSettings.model_validate({**body, "shop": "x.myshopify.com"}).widget.position == "bottom-right"


def test_what_the_notifications_form_alone_gets_wrong_is_named_by_field() -> None:
    values = forms.submitted_notifications(
        _notifications_form(max_purchase_age_hours="a day", **{"template.trending.title": "Hot {who}"})
    )
    _, errors = forms.notification_body(values, ShopSettings(shop="x.myshopify.com"))
    assert set(errors) == {"max_purchase_age_hours", "template.trending.title"}
    assert "{who}" in errors["template.trending.title"]
