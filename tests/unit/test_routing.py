from ingest.routing import ROUTES, SUBSCRIBED_TOPICS, route
from storepulse.contracts import TOPIC_CUSTOMERS, TOPIC_ORDERS, TOPIC_PRODUCTS, TOPIC_SHOP

SHOP = "a.myshopify.com"


def test_orders_key_by_customer_else_by_order() -> None:
    assert route("orders/updated", SHOP, {"id": 5, "customer": {"id": 9}}) == (TOPIC_ORDERS, f"{SHOP}/9")
    assert route("orders/paid", SHOP, {"id": 5, "customer": None}) == (TOPIC_ORDERS, f"{SHOP}/5")
    assert route("orders/delete", SHOP, {"id": 5}) == (TOPIC_ORDERS, f"{SHOP}/5")


def test_refunds_key_by_their_order() -> None:
    assert route("refunds/create", SHOP, {"id": 1, "order_id": 5}) == (TOPIC_ORDERS, f"{SHOP}/5")


def test_customers_products_and_shop_topics() -> None:
    assert route("customers/delete", SHOP, {"id": 9}) == (TOPIC_CUSTOMERS, f"{SHOP}/9")
    assert route("products/delete", SHOP, {"id": 7}) == (TOPIC_PRODUCTS, f"{SHOP}/7")
    for topic in ("app/uninstalled", "customers/data_request", "customers/redact", "shop/redact"):
        assert route(topic, SHOP, {"customer": {"id": 9}}) == (TOPIC_SHOP, SHOP)


def test_unknown_topic_is_not_routed() -> None:
    assert route("carts/update", SHOP, {"id": 1}) is None


def test_odd_ids_never_make_odd_keys() -> None:
    # Signed payloads are trusted, but a key must stay `{shop}/{scalar}` whatever they hold.
    assert route("orders/create", SHOP, {"id": {"x": 1}, "customer": {"id": [1]}}) == (
        TOPIC_ORDERS,
        f"{SHOP}/",
    )
    assert route("customers/update", SHOP, {"id": True}) == (TOPIC_CUSTOMERS, f"{SHOP}/")
    assert (
        route("products/update", SHOP, {"id": "gid://shopify/Product/7"})[1]
        == f"{SHOP}/gid://shopify/Product/7"
    )


def test_install_subscribes_every_routed_topic_but_the_compliance_ones() -> None:
    compliance = {"customers/data_request", "customers/redact", "shop/redact"}
    assert set(SUBSCRIBED_TOPICS) == set(ROUTES) - compliance
    assert "app/uninstalled" in SUBSCRIBED_TOPICS
