from datetime import UTC, datetime, timedelta

from loadtests.payloads import CATALOG, order
from streams.notifications import notification_id, purchase_notification

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SHOP = "demo.myshopify.com"
FORBIDDEN = ("buyer@example.com", "Secret-Lastname", "Private Street", "555-0100")


def _order(**kw):
    o = order(product=CATALOG[0], **kw)
    o["created_at"] = (NOW - timedelta(seconds=30)).isoformat()
    return o


def test_purchase_shows_first_name_city_country_and_product() -> None:
    o = _order()
    n = purchase_notification(
        SHOP,
        o,
        now=NOW,
        max_age_s=3600,
        catalog={"title": "Cloud Hoodie", "handle": "cloud-hoodie", "image": "https://cdn/x.jpg"},
    )
    assert n is not None
    assert n.kind == "purchase"
    assert n.actor.first_name == o["customer"]["first_name"]
    assert n.actor.city == o["shipping_address"]["city"]
    assert n.actor.country_code == o["shipping_address"]["country_code"]
    assert n.product.title == "Cloud Hoodie"
    assert n.product.url == f"https://{SHOP}/products/cloud-hoodie"
    assert n.product.image == "https://cdn/x.jpg"
    assert n.message.startswith(f"{o['customer']['first_name']} in ")


def test_never_exposes_personal_data_or_ids() -> None:
    o = _order()
    text = purchase_notification(SHOP, o, now=NOW, max_age_s=3600).model_dump_json()
    for secret in (*FORBIDDEN, str(o["id"]), str(o["customer"]["id"])):
        assert secret not in text


def test_without_protected_data_falls_back_to_someone() -> None:
    o = _order(protected_data=False)
    n = purchase_notification(SHOP, o, now=NOW, max_age_s=3600)
    assert n.actor.first_name is None and n.actor.city is None
    assert n.message == f"Someone in {o['shipping_address']['country_code']} just bought Cloud Hoodie"


def test_old_orders_are_not_shown_as_just_bought() -> None:
    o = _order()
    o["created_at"] = (NOW - timedelta(hours=2)).isoformat()
    assert purchase_notification(SHOP, o, now=NOW, max_age_s=3600) is None


def test_id_is_stable_per_cause_and_differs_across_causes() -> None:
    assert notification_id(SHOP, "purchase", "1") == notification_id(SHOP, "purchase", "1")
    assert notification_id(SHOP, "purchase", "1") != notification_id(SHOP, "purchase", "2")
    assert notification_id(SHOP, "purchase", "1", b"k") != notification_id(SHOP, "purchase", "1")
