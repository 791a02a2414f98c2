"""The ceiling for one worker: the worker's Faust app (transport, batch size and wait, topics, uvloop)
with one agent that takes the orders in batches and does nothing but acknowledge them.

    python -m loadtests.ceiling_worker   (KAFKA_URL, STOREPULSE_APP_ID, STOREPULSE_WORKER_PORT)

`loadtests.bench_worker --ceiling` runs it on the same records as the real worker: what Faust's
own per-event machinery costs, which no change to StorePulse's steps can go below. Serves /ready
and /metrics (`storepulse_worker_orders_processed_total`: records acknowledged) like the worker.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import uvloop
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from storepulse.kafka_topics import TOPIC_CUSTOMER_EVENTS, TOPIC_ORDERS
from storepulse.settings import get_settings
from streams.app import streams_app
from streams.runtime.batches import batches
from streams.runtime.metrics import ORDERS_PROCESSED


def ceiling_app() -> faust.App:
    app = streams_app(get_settings())
    topic = app.topic(TOPIC_ORDERS, TOPIC_CUSTOMER_EVENTS, key_type=bytes, value_type=bytes)

    @app.agent(topic, name="orders")
    async def orders(stream: faust.StreamT[bytes]) -> None:
        async for batch in batches(stream):
            ORDERS_PROCESSED.inc(len(batch))

    @app.page("/ready")
    async def ready(web: Any, request: Any) -> Any:
        ok = bool(app.consumer.assignment()) and not app.rebalancing
        return web.json({"ready": ok}, status=200 if ok else 503)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return app


def main() -> None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())  # as `storepulse worker` does
    worker = faust.Worker(ceiling_app(), loglevel="WARNING", quiet=True, override_logging=False)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
