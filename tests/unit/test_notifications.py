from datetime import UTC, datetime, timedelta

from loadtests.payloads import CATALOG, order
from storepulse.contracts import ShopSettings, WidgetSettings
from storepulse.kafka_topics import item_key
from streams.domain.notifications import (
    notification_id,
    product_activity_notification,
    purchase_notification,
    review_notification,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SHOP = "demo.myshopify.com"
FORBIDDEN = ("buyer@example.com", "Secret-Lastname", "Private Street", "555-0100")
HOODIE, RUNNER = CATALOG[0], CATALOG[1]
CATALOG_TABLE = {
    item_key(SHOP, HOODIE[0]): {
        "title": "Cloud Hoodie",
        "handle": "cloud-hoodie",
        "image": "https://cdn/x.jpg",
    }
}


def _order(product=HOODIE, **kw):
    o = order(product=product, **kw)
    o["created_at"] = (NOW - timedelta(seconds=30)).isoformat()
    return o


def _purchase(o, **rules):
    return purchase_notification(
        SHOP, o, now=NOW, rules=ShopSettings(shop=SHOP, **rules), catalog=CATALOG_TABLE
    )


def test_purchase_shows_first_name_city_country_and_product() -> None:
    o = _order()
    n = _purchase(o)
    assert n is not None
    assert n.kind == "purchase" and n.lang == "en"
    assert n.actor.first_name == o["customer"]["first_name"]
    assert n.actor.city == o["shipping_address"]["city"]
    assert n.actor.country_code == o["shipping_address"]["country_code"]
    assert n.product.title == "Cloud Hoodie"
    assert n.product.url == f"https://{SHOP}/products/cloud-hoodie"
    assert n.product.image == "https://cdn/x.jpg"
    assert n.message.startswith(f"{o['customer']['first_name']} in {o['shipping_address']['city']}, ")
    assert n.message.endswith(" just bought Cloud Hoodie")


def test_never_exposes_personal_data_or_ids() -> None:
    o = _order()
    for display in ("first_name_city", "city", "anonymous"):
        text = _purchase(o, buyer_display=display).model_dump_json()
        for secret in (*FORBIDDEN, str(o["id"]), str(o["customer"]["id"])):
            assert secret not in text


def test_without_protected_data_falls_back_to_someone_in_region_and_country() -> None:
    o = _order(protected_data=False)
    o["shipping_address"].update(province="Troms", country_code="NO")
    n = _purchase(o)
    assert n.actor.first_name is None and n.actor.city is None
    assert n.message == "Someone in Troms, Norway just bought Cloud Hoodie"
    o["shipping_address"]["province"] = ""
    assert _purchase(o, languages=["de"]).message == "Jemand aus Norwegen hat gerade Cloud Hoodie gekauft"


def test_buyer_display_city_hides_the_name_and_anonymous_hides_everyone() -> None:
    o = _order()
    city = _purchase(o, buyer_display="city")
    assert city.actor.first_name is None and city.actor.city == o["shipping_address"]["city"]
    assert city.message.startswith(f"Someone in {o['shipping_address']['city']}, ")
    anonymous = _purchase(o, buyer_display="anonymous")
    assert anonymous.actor is None
    assert anonymous.message == "Someone just bought Cloud Hoodie"


def test_rules_hide_small_orders_excluded_products_disabled_kinds_and_old_orders() -> None:
    assert _purchase(_order(), min_order_value="59.01") is None
    assert _purchase(_order(), min_order_value="59.00") is not None
    assert _purchase(_order(), excluded_products=[str(HOODIE[0])]) is None
    assert _purchase(_order(), enabled_kinds=["trending"]) is None
    old = _order()
    old["created_at"] = (NOW - timedelta(hours=2)).isoformat()
    assert _purchase(old, max_purchase_age_s=3600) is None
    assert _purchase(old, max_purchase_age_s=3 * 3600) is not None


def test_an_excluded_first_item_shows_the_next_product() -> None:
    o = _order(product=RUNNER)
    o["line_items"].append({**o["line_items"][0], "product_id": HOODIE[0], "title": "Cloud Hoodie"})
    n = _purchase(o, excluded_products=[str(RUNNER[0])])
    assert n.product.id == str(HOODIE[0]) and n.product.title == "Cloud Hoodie"


def test_an_unlisted_product_is_never_named_and_an_order_of_only_it_announces_nothing() -> None:
    unlisted = {**CATALOG_TABLE, item_key(SHOP, RUNNER[0]): {"title": "Trail Runner", "listed": False}}
    only = _order(product=RUNNER)
    assert purchase_notification(SHOP, only, now=NOW, rules=ShopSettings(shop=SHOP), catalog=unlisted) is None
    both = _order(product=RUNNER)
    both["line_items"].append({**both["line_items"][0], "product_id": HOODIE[0], "title": "Cloud Hoodie"})
    n = purchase_notification(SHOP, both, now=NOW, rules=ShopSettings(shop=SHOP), catalog=unlisted)
    assert n is not None and n.product.id == str(HOODIE[0])
    args = {"cause": "1", "occurred_at": NOW, "rules": ShopSettings(shop=SHOP), "catalog": unlisted}
    for kind in ("trending", "viewing", "low_stock", "cart"):
        assert product_activity_notification(kind, SHOP, str(RUNNER[0]), 3, **args) is None
    assert product_activity_notification("back_in_stock", SHOP, str(RUNNER[0]), None, **args) is None
    review = {"product_id": str(RUNNER[0]), "rating": 5, "message": "Great", "idempotency_key": "k1"}
    rules = ShopSettings(shop=SHOP, enabled_kinds=["review"])
    assert review_notification(SHOP, review, rules=rules, catalog=unlisted) is None
    assert review_notification(SHOP, review, rules=rules, catalog={}) is not None


def test_product_activity_uses_catalog_or_falls_back_to_this_item() -> None:
    rules = ShopSettings(shop=SHOP, languages=["fr"])
    known = product_activity_notification(
        "trending", SHOP, str(HOODIE[0]), 5, cause="5|1", occurred_at=NOW, rules=rules, catalog=CATALOG_TABLE
    )
    assert known.message == "5 personnes ont acheté Cloud Hoodie au cours des dernières 24 heures"
    assert known.actor is None and known.lang == "fr" and known.title == "Tendance"
    unknown = product_activity_notification(
        "viewing", SHOP, "999", 3, cause="1", occurred_at=NOW, rules=rules, catalog={}
    )
    assert unknown.message == "3 personnes regardent cet article en ce moment"
    hidden = ShopSettings(shop=SHOP, excluded_products=["999"])
    args = {"cause": "1", "occurred_at": NOW, "rules": hidden, "catalog": {}}
    assert product_activity_notification("viewing", SHOP, "999", 3, **args) is None


def test_id_is_stable_per_cause_and_differs_across_causes() -> None:
    assert notification_id(SHOP, "purchase", "1") == notification_id(SHOP, "purchase", "1")
    assert notification_id(SHOP, "purchase", "1") != notification_id(SHOP, "purchase", "2")
    assert notification_id(SHOP, "purchase", "1", b"k") != notification_id(SHOP, "purchase", "1")


def test_each_enabled_language_gets_its_own_words_and_the_first_is_the_default() -> None:
    o = _order(protected_data=False)
    o["shipping_address"].update(province="", country_code="NO")
    n = _purchase(o, languages=["ja", "ar", "en"])
    assert n.lang == "ja" and n.title == "購入されました"
    assert n.message == "ノルウェーのお客様がCloud Hoodieを購入しました"  # noqa: RUF001 (katakana)
    assert list(n.messages) == ["ja", "ar", "en"]
    assert n.messages["ar"].message == "شخص من النرويج اشترى Cloud Hoodie للتو"
    assert n.messages["en"].message == "Someone in Norway just bought Cloud Hoodie"
    assert n.messages["ja"].message == n.message


def test_an_unknown_product_is_this_item_in_each_language() -> None:
    rules = ShopSettings(shop=SHOP, languages=["de", "pl"])
    n = product_activity_notification(
        "viewing", SHOP, "999", 2, cause="1", occurred_at=NOW, rules=rules, catalog={}
    )
    assert n.product.title == "diesen Artikel"
    assert n.messages["de"].message == "2 Personen sehen sich gerade diesen Artikel an"
    assert n.messages["pl"].message == "2 osoby oglądają teraz ten produkt"


def test_notifications_carry_the_shops_display_settings() -> None:
    widget = WidgetSettings(position="bottom-right", gap_s=3, max_per_session=4)
    n = _purchase(_order(), widget=widget)
    assert n.display is not None and n.display == widget.display()
    assert (n.display.position, n.display.gap_ms, n.display.max) == ("bottom-right", 3000, 4)
    default = _purchase(_order())
    assert default.display == WidgetSettings().display()
