"""Locust storefront visitor: POST /beacons as the widget sends them (page views, impressions,
clicks, dismissals).

    locust -f loadtests/locust_beacons.py --headless -u 500 -r 50 -t 2m --csv out/beacons \
        [--host http://ingest:8000]

Env: STOREPULSE_INGEST_URL (default host, else http://127.0.0.1:8000 as `storepulse dev` runs
it), STOREPULSE_LOAD_SHOP (comma-separated shop domains; each visitor picks one). Ingest rate
limits beacons: expect 429s when many users share one address.
"""

from __future__ import annotations

import random
import uuid

from locust import FastHttpUser, between, task

from loadtests.payloads import BEACON_MIX, CATALOG, beacon
from loadtests.targets import base_url, shops


class VisitorUser(FastHttpUser):
    host = base_url("STOREPULSE_INGEST_URL", 8000)
    wait_time = between(1, 5)  # a visitor reading a product page

    def on_start(self) -> None:
        self.shop = random.choice(shops())
        self.visitor = uuid.uuid4().hex  # the widget's random per-browser id

    @task
    def send_beacon(self) -> None:
        [kind] = random.choices(list(BEACON_MIX), weights=list(BEACON_MIX.values()))
        product = str(random.choice(CATALOG)[0])
        self.client.post(
            "/beacons", json=beacon(self.shop, kind, self.visitor, product), name=f"/beacons {kind}"
        )
