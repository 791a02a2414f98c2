"""Locust: Shopify delivering signed webhooks to ingest, redeliveries included.

    locust -f loadtests/locust_webhooks.py --headless -u 100 -r 100 -t 60s \\
        --host http://127.0.0.1:8000 --csv results/webhooks

Each user sends STOREPULSE_LOAD_RATE webhooks/s (default 5: 100 users = 500/s) for the shop
STOREPULSE_LOAD_SHOP (default the dev stack's demo shop, which `storepulse dev` registers),
signed with SHOPIFY_API_SECRET (default the dev secret). The mix is mostly orders, and about
3 % of deliveries repeat an earlier one unchanged, as Shopify's retries do.
"""

from __future__ import annotations

import os
import random
from collections import deque

from locust import constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

from loadtests.payloads import CATALOG, Webhook, customer, order, product, webhook
from shopify.topics import CUSTOMERS_UPDATE, ORDERS_CREATE, ORDERS_UPDATED, PRODUCTS_UPDATE

SECRET = os.environ.get("SHOPIFY_API_SECRET", "storepulse-dev-secret").split(",")[0].encode()
SHOP = os.environ.get("STOREPULSE_LOAD_SHOP", "demo-store.myshopify.com")
RATE = float(os.environ.get("STOREPULSE_LOAD_RATE", "5"))
DUPLICATE_SHARE = float(os.environ.get("STOREPULSE_LOAD_DUPLICATES", "0.03"))


class ShopifyWebhooks(FastHttpUser):
    wait_time = constant_throughput(RATE)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.customers = [self.rng.randint(10**12, 10**13) for _ in range(50)]
        self.sent: deque[Webhook] = deque(maxlen=100)

    def deliver(self, hook: Webhook) -> None:
        if self.sent and self.rng.random() < DUPLICATE_SHARE:
            hook = self.rng.choice(self.sent)  # a redelivery: same id, same body
        else:
            self.sent.append(hook)
        with self.client.post(
            "/webhooks/shopify",
            data=hook.body,  # type: ignore[arg-type]  # sent as is; the hint lists only str and dict
            headers=hook.headers(SECRET),
            name="/webhooks/shopify",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"{hook.topic}: HTTP {answer.status_code}")

    @task(5)
    def order_created(self) -> None:
        self.deliver(webhook(ORDERS_CREATE, SHOP, order(customer_id=self.rng.choice(self.customers))))

    @task(3)
    def order_updated(self) -> None:
        self.deliver(webhook(ORDERS_UPDATED, SHOP, order(customer_id=self.rng.choice(self.customers))))

    @task(1)
    def customer_updated(self) -> None:
        self.deliver(webhook(CUSTOMERS_UPDATE, SHOP, customer(customer_id=self.rng.choice(self.customers))))

    @task(1)
    def product_updated(self) -> None:
        self.deliver(webhook(PRODUCTS_UPDATE, SHOP, product(self.rng.choice(CATALOG))))
