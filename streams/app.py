"""The Faust application: builds the app and its shared resources, then each agent module.

Each agent lives in a module named for what it does and exposes `register(ctx)`; this file
only wires them together, so the layout shows the data flow.
"""

from __future__ import annotations

import socket
import tempfile

import faust

from storepulse.kafka_topics import default_partitioner
from storepulse.redis_client import redis_client
from storepulse.settings import Settings
from storepulse.shops import ShopRegistry, token_cipher
from streams.agents import (
    analytics,
    api_events,
    audit_log,
    carts,
    catalog,
    compliance,
    customers,
    order_owners,
    orders,
    shop_settings,
    signups,
    stock,
    sync_timer,
    trends,
    viewers,
    visitors,
    writeback,
)
from streams.runtime.context import Context
from streams.runtime.faust_seam import StreamsApp
from streams.runtime.publisher import NotificationPublisher
from streams.runtime.stores import store_url
from streams.web import health, lookups

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def canonical_url(settings: Settings) -> str:
    """The URL this worker advertises to the others: its own, never the bind address, which
    every container shares (a lookup forwarded to 0.0.0.0 would be answered by the sender)."""
    if settings.worker_url:
        return settings.worker_url
    host = socket.gethostname() if settings.host in WILDCARD_HOSTS else settings.host
    return f"http://{host}:{settings.worker_port}"


def streams_app(settings: Settings) -> StreamsApp:
    """The Faust app with no agents: its transport, store, producer and web settings."""
    return StreamsApp(
        settings.app_id,
        broker=settings.faust_broker,
        store=store_url(settings.worker_store),
        datadir=settings.worker_datadir or tempfile.mkdtemp(prefix="storepulse-worker-"),
        topic_partitions=settings.kafka_partitions,
        topic_allow_declare=True,
        broker_session_timeout=settings.broker_session_timeout,
        broker_heartbeat_interval=settings.broker_heartbeat_interval,
        broker_rebalance_timeout=settings.broker_session_timeout * 2,
        broker_commit_interval=settings.broker_commit_interval,
        consumer_auto_offset_reset=settings.consumer_auto_offset_reset,
        producer_linger_ms=10,
        producer_max_batch_size=256 * 1024,
        producer_partitioner=default_partitioner,
        web_bind=settings.host,
        web_port=settings.worker_port,
        canonical_url=canonical_url(settings),
        web_in_thread=False,
        # Faust's /table pages would serve every table's data unauthenticated: customers'
        # metrics are read through the admin API (streams/web/lookups.py) only.
        web_tables_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        fetch_wait_ms=settings.consumer_fetch_wait_ms,
    )


def create_app(settings: Settings) -> StreamsApp:
    app = streams_app(settings)
    client = redis_client(settings, socket_timeout=None)
    ctx = Context(
        app=app,
        settings=settings,
        redis=client,
        publisher=NotificationPublisher(
            client, ttl_s=settings.notification_ttl_s, maxlen=settings.recent_maxlen
        ),
        schema=faust.Schema(key_type=bytes, key_serializer="raw", value_serializer="json"),
        id_key=settings.notification_key,
        registry=ShopRegistry(client, token_cipher(settings)),
    )
    settings_table = shop_settings.register(ctx)
    products = catalog.register(ctx, settings_table.settings_for)
    book = customers.register(ctx, settings_table.settings_for)
    purchases = trends.register(ctx, products, settings_table)
    orders.register(ctx, products, settings_table, book, purchases)
    order_owners.register(ctx)
    audit = audit_log.register(ctx)
    compliance.register(ctx, products, settings_table.topic, purchases.topic.get_topic_name(), audit)
    writeback.register(ctx, settings_table.settings_for)
    sync_timer.register(ctx, products)
    viewers.register(ctx, products, settings_table)
    visitors.register(ctx, settings_table)
    signups.register(ctx, settings_table)
    api_events.register(ctx, products, settings_table)
    stock.register(ctx, products, settings_table)
    carts.register(ctx, products, settings_table)
    analytics.register(ctx, settings_table.settings_for)
    lookups.register(ctx, settings_table, book.table, audit)
    health.register(ctx)
    return app
