"""`storepulse dev` (what `make run` runs): comes up, shows simulated orders, stops clean, and its
console reads like a developer server's on a terminal and stays JSON elsewhere."""

import asyncio
import json
import re
import signal
import time
import uuid
from pathlib import Path

import httpx

from loadtests.payloads import order, webhook
from shopify.topics import ORDERS_CREATE
from tests.dev_launcher import UP, DevLauncher, running_dev, wait_until
from tests.sse import listening

DEMO_SHOP = "demo-store.myshopify.com"
ADMIN_TOKEN = "dev-test-admin-token"
# Colours and the like: what a terminal shows, not what it prints.
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A console line: the process's name, then one event (`ingest | 12:01:02 webhook_rejected …`).
LABELLED = re.compile(r"^(\w+) +\| ")
EVENT = re.compile(r"^(\w+) +\| \d\d:\d\d:\d\d (\w+)")


def _lines(log: Path) -> list[str]:
    text = ESCAPES.sub("", log.read_bytes().decode(errors="replace"))
    return text.replace("\r", "").splitlines()


def _events(log: Path) -> set[tuple[str, str]]:
    """(process, event) of every console line so far."""
    return {(m[1], m[2]) for line in _lines(log) if (m := EVENT.match(line))}


def _badly_signed_webhook(ingest_port: int) -> None:
    hook = webhook(ORDERS_CREATE, DEMO_SHOP, order())
    answer = httpx.post(
        f"http://127.0.0.1:{ingest_port}/webhooks/shopify",
        content=hook.body,
        headers=hook.headers(b"not-the-secret"),
    )
    assert answer.status_code == 401


def _admin(dev: DevLauncher, path: str) -> dict:
    answer = httpx.get(
        f"http://127.0.0.1:{dev.ports['STOREPULSE_WORKER_PORT']}/shops/{DEMO_SHOP}{path}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert answer.status_code == 200
    return answer.json()


async def _first_notification(port: int, shop: str):
    async with listening(f"http://127.0.0.1:{port}/sse/{shop}") as sse:
        # The simulator sends one every few seconds; a late listener gets a backlog of several.
        events = await sse.wait_for(1, timeout=30)
    return events[0]


async def _any_shop_round_trip(ingest_port: int, push_port: int) -> float:
    """A signed order for a shop nobody registered reaches that shop's SSE client."""
    shop = f"any-{uuid.uuid4().hex[:8]}.myshopify.com"
    hook = webhook(ORDERS_CREATE, shop, order())
    async with listening(f"http://127.0.0.1:{push_port}/sse/{shop}") as sse:
        started = time.monotonic()
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"http://127.0.0.1:{ingest_port}/webhooks/shopify",
                content=hook.body,
                headers=hook.headers(b"dev-test-secret"),
            )
        assert answer.status_code == 200
        await sse.wait_for(1, timeout=10)
        return time.monotonic() - started


def test_dev_runs_everything_and_sigterm_leaves_nothing(dev: DevLauncher) -> None:
    # ingest, worker, push, broker and Redis all listen, each on its own port.
    assert set(dev.ports.values()) <= dev.listening_ports()
    assert len(dev.listening_ports()) >= 5

    event = asyncio.run(_first_notification(dev.ports["PUSH_PORT"], DEMO_SHOP))
    assert '"kind":"purchase"' in event.data
    took = asyncio.run(_any_shop_round_trip(dev.ports["INGEST_PORT"], dev.ports["PUSH_PORT"]))
    assert took < 5, f"webhook→SSE took {took:.2f}s"

    started = time.monotonic()
    dev.proc.send_signal(signal.SIGTERM)
    assert dev.proc.wait(30) == 0
    assert time.monotonic() - started < 30
    assert not dev.alive()
    assert b"demo store: http://127.0.0.1:" in dev.log.read_bytes()
    # Not a terminal: the services' and the simulator's JSON lines as they are, nothing labelled.
    lines = _lines(dev.log)
    assert not [line for line in lines if LABELLED.match(line)]
    assert "simulated_order" in {json.loads(line)["event"] for line in lines if line.startswith("{")}
    assert not [line for line in lines if "HTTP Request" in line]


def test_on_a_terminal_every_event_is_one_line_under_its_process_name(tmp_path: Path) -> None:
    log = tmp_path / "dev.log"
    with running_dev(log, terminal=True, STOREPULSE_ADMIN_TOKEN=ADMIN_TOKEN) as dev:
        _badly_signed_webhook(dev.ports["INGEST_PORT"])
        wanted = {("ingest", "webhook_rejected"), ("dev", "simulated_order"), ("worker", "writeback_done")}
        assert wait_until(lambda: wanted <= _events(log), 30), _events(log)

        # The demo's customers came back: VIPs, and customers who stopped buying are at risk.
        def story() -> bool:
            return bool(_admin(dev, "/vips")["vips"]) and "at risk" in _admin(dev, "/segments")["segments"]

        assert wait_until(story, 30), _admin(dev, "/segments")
    lines = _lines(log)
    assert lines[-1] == "stopped"
    after_up = lines[lines.index(UP.decode()) + 1 : -1]
    assert after_up and all(LABELLED.match(line) for line in after_up), after_up
    assert not [line for line in lines if "HTTP Request" in line]
    rejected = next(line for line in lines if "webhook_rejected" in line)
    assert re.match(r"^ingest +\| \d\d:\d\d:\d\d webhook_rejected reason=bad_signature status=401 ", rejected)


def test_log_format_json_keeps_json_lines_on_a_terminal(tmp_path: Path) -> None:
    log = tmp_path / "dev.log"
    with running_dev(log, terminal=True, LOG_FORMAT="json"):

        def simulated() -> bool:
            return any(line.startswith("{") and "simulated_order" in line for line in _lines(log))

        assert wait_until(simulated, 30)
    lines = _lines(log)
    records = [json.loads(line) for line in lines if line.startswith("{")]
    events = {r["event"] for r in records}
    assert "simulated_order" in events  # the launcher's own
    assert "Application startup complete." in events  # the services'
    assert not [line for line in lines if LABELLED.match(line) or "HTTP Request" in line]
