"""Every Kafka topic StorePulse uses, the keys of its records, and creating the topics.

Records about one customer, order or product are keyed `{shop}/{id}` (`item_key`), records about
a shop as a whole `{shop}`; Kafka's default partitioner (murmur2) places them, in ingest and in
the worker alike (`partition_of`), so each table key is only ever written from its own partition.
"""

from __future__ import annotations

import random

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from murmurhash2 import murmurhash2

# Shopify webhooks, as ingest produced them (value: the envelope, storepulse/envelope.py).
TOPIC_ORDERS = "shopify.orders"  # key `{shop}/{customer_id}`, or `{shop}/{order_id}` naming no customer
TOPIC_CUSTOMERS = "shopify.customers"  # key `{shop}/{customer_id}`
TOPIC_PRODUCTS = "shopify.products"  # key `{shop}/{product_id}`
TOPIC_SHOP = "shopify.shop"  # key `{shop}`: app/uninstalled and the compliance topics
# Key `{shop}`: inventory_levels/update (ingest), the products/* envelopes the catalog agent
# forwards and shop/redact (compliance): one shop's stock on one partition.
TOPIC_INVENTORY = "shopify.inventory"
TOPIC_CARTS = "shopify.carts"  # key `{shop}`: carts/create|update, and shop/redact (compliance)
TOPIC_API_EVENTS = "api.events"  # key `{shop}`: envelopes of the events API's accepted events
TOPIC_BEACONS = "widget.beacons"  # key `{shop}`: storepulse.contracts.Beacon
TOPIC_NOTIFICATIONS = "notifications"  # key `{shop}`: the durable record of what was shown
TOPIC_CUSTOMER_CHANGES = "customer.changes"  # key `{shop}/{customer_id}`: tier changes
TOPIC_SHOP_SETTINGS = "shop.settings"  # key `{shop}`, compacted: storepulse.contracts.ShopSettings
# Key `{shop}`: storepulse.audit.AuditEntry, or the envelope of a `shop/redact`; kept for the
# audit retention (STOREPULSE_AUDIT_RETENTION_DAYS).
TOPIC_AUDIT = "admin.audit"
# Internal to streams: events re-keyed to the partition that owns them.
TOPIC_CUSTOMER_EVENTS = "streams.customer-events"  # key `{shop}/{customer_id}`
TOPIC_ORDER_EVENTS = "streams.order-events"  # key `{shop}/{order_id}`
# key `{shop}`: the order facts attribution needs, beside the shop's beacons' partition.
TOPIC_ANALYTICS_ORDERS = "streams.analytics-orders"


def dead_letter_topic(topic: str) -> str:
    """Where the worker puts a record of `topic` it cannot process, with the reason."""
    return f"{topic}.dlq"


# Dead letters of each topic a worker's agent reads (same key as the record). Value: the record
# as text plus `reason`, `failed_at` and where it was; customer.changes.dlq also takes tier
# changes Shopify refused for good, as the change plus `reason` and `failed_at`.
TOPIC_ORDERS_DLQ = dead_letter_topic(TOPIC_ORDERS)
TOPIC_PRODUCTS_DLQ = dead_letter_topic(TOPIC_PRODUCTS)
TOPIC_SHOP_DLQ = dead_letter_topic(TOPIC_SHOP)
TOPIC_INVENTORY_DLQ = dead_letter_topic(TOPIC_INVENTORY)
TOPIC_CARTS_DLQ = dead_letter_topic(TOPIC_CARTS)
TOPIC_API_EVENTS_DLQ = dead_letter_topic(TOPIC_API_EVENTS)
TOPIC_BEACONS_DLQ = dead_letter_topic(TOPIC_BEACONS)
TOPIC_CUSTOMER_CHANGES_DLQ = dead_letter_topic(TOPIC_CUSTOMER_CHANGES)
TOPIC_SHOP_SETTINGS_DLQ = dead_letter_topic(TOPIC_SHOP_SETTINGS)
TOPIC_CUSTOMER_EVENTS_DLQ = dead_letter_topic(TOPIC_CUSTOMER_EVENTS)
TOPIC_ORDER_EVENTS_DLQ = dead_letter_topic(TOPIC_ORDER_EVENTS)
TOPIC_AUDIT_DLQ = dead_letter_topic(TOPIC_AUDIT)
TOPIC_ANALYTICS_ORDERS_DLQ = dead_letter_topic(TOPIC_ANALYTICS_ORDERS)

ALL_TOPICS = (
    TOPIC_ORDERS,
    TOPIC_CUSTOMERS,
    TOPIC_PRODUCTS,
    TOPIC_SHOP,
    TOPIC_INVENTORY,
    TOPIC_CARTS,
    TOPIC_API_EVENTS,
    TOPIC_BEACONS,
    TOPIC_NOTIFICATIONS,
    TOPIC_CUSTOMER_CHANGES,
    TOPIC_SHOP_SETTINGS,
    TOPIC_CUSTOMER_EVENTS,
    TOPIC_ORDER_EVENTS,
    TOPIC_ANALYTICS_ORDERS,
    TOPIC_ORDERS_DLQ,
    TOPIC_PRODUCTS_DLQ,
    TOPIC_SHOP_DLQ,
    TOPIC_INVENTORY_DLQ,
    TOPIC_CARTS_DLQ,
    TOPIC_API_EVENTS_DLQ,
    TOPIC_BEACONS_DLQ,
    TOPIC_CUSTOMER_CHANGES_DLQ,
    TOPIC_SHOP_SETTINGS_DLQ,
    TOPIC_CUSTOMER_EVENTS_DLQ,
    TOPIC_ORDER_EVENTS_DLQ,
    TOPIC_ANALYTICS_ORDERS_DLQ,
    TOPIC_AUDIT,
    TOPIC_AUDIT_DLQ,
)
COMPACTED_TOPICS = frozenset({TOPIC_SHOP_SETTINGS})


def item_key(shop: str, item_id: object) -> bytes:
    """`{shop}/{id}`: the key of a record (and table entry) about one customer, order or product."""
    return f"{shop}/{item_id}".encode()


def shop_key(shop: str) -> bytes:
    """`{shop}`: the key of a record about the shop as a whole."""
    return shop.encode()


# Kafka's murmur2 (the Java client's Utils.murmur2) is MurmurHash2 with this seed. Hashed in C:
# aiokafka's pure-Python murmur2 took 9 µs a key, 4 % of the worker's time.
_KAFKA_MURMUR2_SEED = 0x9747B28C


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (and so ingest) gives `key`."""
    partition: int = (murmurhash2(key, _KAFKA_MURMUR2_SEED) & 0x7FFFFFFF) % partitions
    return partition


def default_partitioner(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's DefaultPartitioner hashing in C: the worker's producer places keys as ingest does."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[partition_of(key, len(all_partitions))]


_DAY_MS = 24 * 3600 * 1000
DEFAULT_AUDIT_RETENTION_DAYS = 365


def topic_configs(name: str, audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS) -> dict[str, str]:
    # Tansu reports only configs that were set explicitly, so set what clients read.
    if name in COMPACTED_TOPICS:
        return {"cleanup.policy": "compact", "retention.ms": "-1"}
    days = audit_retention_days if name == TOPIC_AUDIT else 7
    return {"cleanup.policy": "delete", "retention.ms": str(days * _DAY_MS)}


async def ensure_topics(
    bootstrap: str, partitions: int, audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS
) -> list[str]:
    """Create every missing contract topic; returns the names it created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in ALL_TOPICS if t not in existing]
        if missing:
            new = [
                NewTopic(t, partitions, 1, topic_configs=topic_configs(t, audit_retention_days))
                for t in missing
            ]
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass  # another process won the race; the topics exist either way
        return missing
    finally:
        await admin.close()
