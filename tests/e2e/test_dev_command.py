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
from tests.support.eventually import eventually
from tests.support.launcher import DEV_SECRET, UP, DevLauncher, running_dev
from tests.support.sse import listening
from tests.support.webhooks import post

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


async def _badly_signed_webhook(ingest_port: int) -> None:
    hook = webhook(ORDERS_CREATE, DEMO_SHOP, order())
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ingest_port}") as ingest:
        assert (await post(ingest, hook, b"not-the-secret")).status_code == 401


async def _admin(dev: DevLauncher, path: str) -> dict:
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"http://127.0.0.1:{dev.ports['STOREPULSE_WORKER_PORT']}/shops/{DEMO_SHOP}{path}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    assert answer.status_code == 200
    return answer.json()


def _admin_url(log: Path) -> str | None:
    """The merchant app's URL `make run` printed."""
    found = re.search(rb"admin: +(http://\S+)", log.read_bytes())
    return found[1].decode() if found else None


async def _merchant_app_shows_the_demo_shop(url: str) -> None:
    """The printed URL opens the app's home page; its token lists the demo shop's customers."""
    token = httpx.URL(url).params["id_token"]
    async with httpx.AsyncClient() as http:
        home = await http.get(url)
        assert home.status_code == 200 and DEMO_SHOP in home.text

        async def customers() -> dict | None:
            answer = await http.get(
                httpx.URL(url).join("api/customers"), headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 200, answer.text
            return answer.json() if answer.json()["total"] else None

        listed = await eventually(customers, timeout=30, what="the demo shop's customers in the app")
    assert all(c["name"] is None for c in listed["customers"])  # no Shopify behind the demo shop


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
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ingest_port}") as ingest:
            assert (await post(ingest, hook, DEV_SECRET)).status_code == 200
        await sse.wait_for(1, timeout=10)
        return time.monotonic() - started


async def test_dev_runs_everything_and_sigterm_leaves_nothing(dev: DevLauncher) -> None:
    # ingest, worker, push, broker and Redis all listen, each on its own port.
    assert set(dev.ports.values()) <= dev.listening_ports()
    assert len(dev.listening_ports()) >= 5

    event = await _first_notification(dev.ports["PUSH_PORT"], DEMO_SHOP)
    assert '"kind":"purchase"' in event.data
    took = await _any_shop_round_trip(dev.ports["INGEST_PORT"], dev.ports["PUSH_PORT"])
    assert took < 5, f"webhook→SSE took {took:.2f}s"
    await _merchant_app_shows_the_demo_shop(await eventually(lambda: _admin_url(dev.log)))

    started = time.monotonic()
    dev.proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(dev.proc.wait, 30) == 0
    assert time.monotonic() - started < 30
    assert not dev.alive()
    assert b"demo store: http://127.0.0.1:" in dev.log.read_bytes()
    # Not a terminal: the services' and the simulator's JSON lines as they are, nothing labelled.
    lines = _lines(dev.log)
    assert not [line for line in lines if LABELLED.match(line)]
    assert "simulated_order" in {json.loads(line)["event"] for line in lines if line.startswith("{")}
    # The launcher's own requests are silent; ingest logs its calls to the worker for the app.
    worker = f"127.0.0.1:{dev.ports['STOREPULSE_WORKER_PORT']}/shops/{DEMO_SHOP}/"
    assert not [line for line in lines if "HTTP Request" in line and worker not in line]


async def test_on_a_terminal_every_event_is_one_line_under_its_process_name(tmp_path: Path) -> None:
    log = tmp_path / "dev.log"
    async with running_dev(log, terminal=True, STOREPULSE_ADMIN_TOKEN=ADMIN_TOKEN) as dev:
        await _badly_signed_webhook(dev.ports["INGEST_PORT"])
        wanted = {("ingest", "webhook_rejected"), ("dev", "simulated_order"), ("worker", "writeback_done")}
        await eventually(lambda: wanted <= _events(log), timeout=30, what=lambda: _events(log))

        # The demo's customers came back: VIPs, and customers who stopped buying are at risk.
        async def story() -> bool:
            vips, segments = await _admin(dev, "/vips"), await _admin(dev, "/segments")
            return bool(vips["vips"]) and "at risk" in segments["segments"]

        await eventually(story, timeout=30, what="VIPs and at-risk customers in the demo")
    lines = _lines(log)
    assert lines[-1] == "stopped"
    after_up = lines[lines.index(UP.decode()) + 1 : -1]
    assert after_up and all(LABELLED.match(line) for line in after_up), after_up
    assert not [line for line in lines if "HTTP Request" in line]
    rejected = next(line for line in lines if "webhook_rejected" in line)
    assert re.match(r"^ingest +\| \d\d:\d\d:\d\d webhook_rejected reason=bad_signature status=401 ", rejected)


async def test_log_format_json_keeps_json_lines_on_a_terminal(tmp_path: Path) -> None:
    log = tmp_path / "dev.log"
    async with running_dev(log, terminal=True, LOG_FORMAT="json"):

        def simulated() -> bool:
            return any(line.startswith("{") and "simulated_order" in line for line in _lines(log))

        await eventually(simulated, timeout=30, what="a simulated order logged as JSON")
    lines = _lines(log)
    records = [json.loads(line) for line in lines if line.startswith("{")]
    events = {r["event"] for r in records}
    assert "simulated_order" in events  # the launcher's own
    assert "Application startup complete." in events  # the services'
    assert not [line for line in lines if LABELLED.match(line) or "HTTP Request" in line]
