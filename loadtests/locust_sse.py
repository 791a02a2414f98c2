"""Locust storefront: holds an SSE connection on push and reports publish → receive latency.

    locust -f loadtests/locust_sse.py --headless -u 1000 -r 100 -t 2m --csv out/sse \
        [--host http://push:8001]

Env: STOREPULSE_PUSH_URL (default host, else http://127.0.0.1:8001 as `storepulse dev` runs
it), STOREPULSE_LOAD_SHOP (comma-separated shop domains; each user picks one), STOREPULSE_SSE_HOLD_S
(seconds each connection is held before a reconnect with Last-Event-ID, default 60).

Each notification carries `published_at` (epoch ms, set by streams when it published), so
the latency is publish → receive and is reported as request type "SSE", name
"publish→receive". Run the load client on a machine whose clock agrees with the workers'.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator

import orjson
import requests
from locust import HttpUser, constant, task

from loadtests.targets import base_url, shops

HOLD_S = float(os.environ.get("STOREPULSE_SSE_HOLD_S", "60"))
# Push pings every 15 s; silence for longer than this means the connection is dead.
READ_TIMEOUT_S = 45.0
LATENCY_NAME = "publish→receive"


def _lines(response: requests.Response) -> Iterator[bytes]:
    """Lines as each chunk arrives (`iter_lines` waits for 512 bytes, delaying small events)."""
    pending = b""
    for chunk in response.iter_content(chunk_size=None):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r")


class StorefrontUser(HttpUser):
    host = base_url("STOREPULSE_PUSH_URL", 8001)
    wait_time = constant(1)  # before reconnecting, as the widget backs off

    def on_start(self) -> None:
        self.shop = random.choice(shops())
        self.last_event_id: str | None = None

    def _received(self, data: bytes) -> None:
        published = orjson.loads(data).get("published_at")
        if published is None:
            return
        self.environment.events.request.fire(
            request_type="SSE",
            name=LATENCY_NAME,
            response_time=time.time() * 1000 - published,
            response_length=len(data),
            exception=None,
            context={},
        )

    @task
    def hold_connection(self) -> None:
        event = b""
        headers = {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}
        until = time.monotonic() + HOLD_S
        # Not a `with` block: locust would count the request only when the hold ends.
        response = self.client.get(
            f"/sse/{self.shop}", name="/sse/[shop]", headers=headers, stream=True, timeout=(5, READ_TIMEOUT_S)
        )
        try:
            if response.status_code != 200:
                return  # locust has counted the failure
            for line in _lines(response):
                if line.startswith(b"id:"):
                    self.last_event_id = line[3:].strip().decode()
                elif line.startswith(b"event:"):
                    event = line[6:].strip()
                elif line.startswith(b"data:") and event == b"notification":
                    self._received(line[5:])
                elif not line:
                    event = b""
                if time.monotonic() > until:
                    break
        except requests.RequestException as exc:
            self.environment.events.request.fire(
                request_type="SSE",
                name="disconnected",
                response_time=0,
                response_length=0,
                exception=exc,
                context={},
            )
        finally:
            response.close()
