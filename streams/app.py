"""The Faust application: topics, tables and the agents that fill them.

Orders arrive keyed `{shop}/{customer}` (ingest chooses the key), so the customer table
is co-partitioned with its source topic and no repartitioning hop is needed.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
import redis.asyncio as redis
import structlog
from faust.types import TransportT

from storepulse.contracts import TOPIC_ORDERS, TOPIC_PRODUCTS, Notification
from storepulse.settings import Settings
from streams.customer_metrics import apply_order
from streams.notifications import purchase_notification
from streams.publisher import NotificationPublisher
from streams.transport import LowLatencyTransport

log = structlog.get_logger(__name__)

BATCH = 500
BATCH_WITHIN_S = 0.005


class StreamsApp(faust.App):
    """faust.App with the low-latency consumer transport."""

    fetch_wait_ms: int = 100

    def _new_transport(self) -> TransportT:
        return LowLatencyTransport(self.conf.broker_consumer, self)


def _decode(value: bytes) -> dict[str, Any] | None:
    try:
        envelope = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return envelope if isinstance(envelope, dict) else None


def create_app(settings: Settings) -> StreamsApp:
    app = StreamsApp(
        settings.app_id,
        broker=settings.faust_broker,
        store="memory://",
        datadir=settings.worker_datadir or tempfile.mkdtemp(prefix="storepulse-worker-"),
        topic_partitions=settings.kafka_partitions,
        topic_allow_declare=True,
        broker_session_timeout=settings.broker_session_timeout,
        broker_heartbeat_interval=settings.broker_heartbeat_interval,
        broker_rebalance_timeout=settings.broker_session_timeout * 2,
        broker_commit_interval=settings.broker_commit_interval,
        producer_linger_ms=1,
        web_host=settings.host,
        web_bind=settings.host,
        web_port=settings.worker_port,
        web_in_thread=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    app.fetch_wait_ms = settings.consumer_fetch_wait_ms
    id_key = settings.api_secrets[0] if settings.api_secrets else b""

    orders_topic = app.topic(TOPIC_ORDERS, key_type=bytes, value_type=bytes)
    products_topic = app.topic(TOPIC_PRODUCTS, key_type=bytes, value_type=bytes)
    schema = faust.Schema(key_type=bytes, key_serializer="raw", value_serializer="json")
    customers = app.Table("customer-metrics", partitions=settings.kafka_partitions, schema=schema)
    # Every worker needs every product to describe any order: a global table.
    products = app.GlobalTable("products", partitions=settings.kafka_partitions, schema=schema)
    redis_client = redis.Redis.from_url(settings.redis_url)
    publisher = NotificationPublisher(
        redis_client, ttl_s=settings.notification_ttl_s, maxlen=settings.recent_maxlen
    )

    @app.agent(products_topic)
    async def catalog(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            envelope = _decode(event.value)
            if envelope is None:
                continue
            product = envelope.get("payload") or {}
            images = product.get("images") or []
            image = (product.get("image") or (images[0] if images else None)) or {}
            key = f"{envelope.get('shop')}/{product.get('id')}".encode()
            if envelope.get("topic") == "products/delete":
                products.pop(key, None)
                continue
            products[key] = {
                "title": product.get("title"),
                "handle": product.get("handle"),
                "image": image.get("src") if isinstance(image, dict) else None,
            }

    @app.agent(orders_topic)
    async def orders(stream: faust.StreamT[bytes]) -> None:
        # take_events batches for one Redis pipeline per batch and may still write tables.
        async for events in stream.take_events(BATCH, within=BATCH_WITHIN_S):
            now = datetime.now(UTC)
            out: list[Notification] = []
            for event in events:
                # Table writes find their changelog partition through the current event.
                stream._set_current_event(event)
                envelope = _decode(event.value)
                if envelope is None or envelope.get("topic") != "orders/create":
                    continue
                shop, order = envelope["shop"], envelope.get("payload") or {}
                key = event.key
                updated = apply_order(customers.get(key), order)
                if updated is None:
                    continue  # a re-delivery already counted
                customers[key] = updated
                items = order.get("line_items") or [{}]
                first = items[0] if isinstance(items[0], dict) else {}
                catalog_entry = products.get(f"{shop}/{first.get('product_id')}".encode())
                note = purchase_notification(
                    shop,
                    order,
                    now=now,
                    max_age_s=settings.max_purchase_age_s,
                    catalog=catalog_entry,
                    id_key=id_key,
                )
                if note is not None:
                    out.append(note)
            await publisher.publish(out)

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    @app.page("/ready")
    async def ready(web: Any, request: Any) -> Any:
        try:
            redis_ok = bool(await redis_client.ping())
        except (redis.RedisError, OSError):
            redis_ok = False
        assigned = bool(app.consumer.assignment()) if app.consumer else False
        kafka_ok = assigned and not app.rebalancing and app.tables.recovery.completed.is_set()
        ok = redis_ok and kafka_ok
        return web.json({"ready": ok, "kafka": kafka_ok, "redis": redis_ok}, status=200 if ok else 503)

    return app
