from ingest.routing import ROUTES, SUBSCRIBED_TOPICS, route
from shopify.topics import (
    APP_UNINSTALLED,
    CUSTOMERS_DATA_REQUEST,
    CUSTOMERS_DELETE,
    CUSTOMERS_REDACT,
    CUSTOMERS_UPDATE,
    ORDERS_CREATE,
    ORDERS_DELETE,
    ORDERS_PAID,
    ORDERS_UPDATED,
    PRODUCTS_DELETE,
    PRODUCTS_UPDATE,
    REFUNDS_CREATE,
    SHOP_REDACT,
)
from storepulse.kafka_topics import TOPIC_CUSTOMERS, TOPIC_ORDERS, TOPIC_PRODUCTS, TOPIC_SHOP

SHOP = "a.myshopify.com"


def test_orders_key_by_customer_else_by_order() -> None:
    assert route(ORDERS_UPDATED, SHOP, {"id": 5, "customer": {"id": 9}}) == (
        TOPIC_ORDERS,
        f"{SHOP}/9".encode(),
    )
    assert route(ORDERS_PAID, SHOP, {"id": 5, "customer": None}) == (TOPIC_ORDERS, f"{SHOP}/5".encode())
    assert route(ORDERS_DELETE, SHOP, {"id": 5}) == (TOPIC_ORDERS, f"{SHOP}/5".encode())


def test_refunds_key_by_their_order() -> None:
    assert route(REFUNDS_CREATE, SHOP, {"id": 1, "order_id": 5}) == (TOPIC_ORDERS, f"{SHOP}/5".encode())


def test_customers_products_and_shop_topics() -> None:
    assert route(CUSTOMERS_DELETE, SHOP, {"id": 9}) == (TOPIC_CUSTOMERS, f"{SHOP}/9".encode())
    assert route(PRODUCTS_DELETE, SHOP, {"id": 7}) == (TOPIC_PRODUCTS, f"{SHOP}/7".encode())
    for topic in (APP_UNINSTALLED, CUSTOMERS_DATA_REQUEST, CUSTOMERS_REDACT, SHOP_REDACT):
        assert route(topic, SHOP, {"customer": {"id": 9}}) == (TOPIC_SHOP, SHOP.encode())


def test_unknown_topic_is_not_routed() -> None:
    assert route("collections/update", SHOP, {"id": 1}) is None


def test_odd_ids_never_make_odd_keys() -> None:
    # Signed payloads are trusted, but a key must stay `{shop}/{scalar}` whatever they hold.
    assert route(ORDERS_CREATE, SHOP, {"id": {"x": 1}, "customer": {"id": [1]}}) == (
        TOPIC_ORDERS,
        f"{SHOP}/".encode(),
    )
    assert route(CUSTOMERS_UPDATE, SHOP, {"id": True}) == (TOPIC_CUSTOMERS, f"{SHOP}/".encode())
    assert (
        route(PRODUCTS_UPDATE, SHOP, {"id": "gid://shopify/Product/7"})[1]
        == f"{SHOP}/gid://shopify/Product/7".encode()
    )


def test_install_subscribes_every_routed_topic_but_the_compliance_ones() -> None:
    compliance = {CUSTOMERS_DATA_REQUEST, CUSTOMERS_REDACT, SHOP_REDACT}
    assert set(SUBSCRIBED_TOPICS) == set(ROUTES) - compliance
    assert APP_UNINSTALLED in SUBSCRIBED_TOPICS
