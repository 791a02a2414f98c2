"""A client's outbox: replay without duplicates, held live events, slow and idle clients."""

from __future__ import annotations

import asyncio

from push.client import Client
from push.frames import PING, Event


def event(stream_id: str) -> Event:
    return Event(b'{"event_id":"' + stream_id.encode() + b'","published_at":1.5,"id":"x"}')


class Socket:
    """What the ASGI server would have written; `block` makes writes hang like a full socket."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.block = asyncio.Event()
        self.block.set()

    async def send(self, message: dict) -> None:
        await self.block.wait()
        self.bodies.append(message.get("body", b""))

    async def receive(self) -> dict:
        await asyncio.Event().wait()  # the browser never hangs up in these tests
        return {"type": "http.disconnect"}


def written_ids(socket: Socket) -> list[bytes]:
    """The `id:` lines of every frame written so far, in order."""
    written = b"".join(socket.bodies)
    return [line for line in written.split(b"\n") if line.startswith(b"id: ")]


async def run(client: Client, socket: Socket) -> asyncio.Task[None]:
    task = asyncio.create_task(client.run(socket.receive, socket.send))
    await asyncio.sleep(0)
    return task


async def test_replay_then_held_live_events_each_once_in_order() -> None:
    client, socket = Client("s.myshopify.com", limit=8), Socket()
    task = await run(client, socket)
    client.deliver(event("5-0"))  # live, arrived while the backlog was being read
    client.deliver(event("6-0"))
    assert socket.bodies == []
    assert client.replay([event("4-0"), event("5-0")]) == 3
    client.deliver(event("7-0"))
    await asyncio.sleep(0.01)
    assert written_ids(socket) == [
        b"id: 4-0",
        b"id: 5-0",
        b"id: 6-0",
        b"id: 7-0",
    ]
    client.close()
    await task


async def test_a_live_event_the_replay_already_wrote_is_not_written_again() -> None:
    client, socket = Client("s.myshopify.com", limit=8), Socket()
    task = await run(client, socket)
    # The backlog, read after subscribing, already holds 5-0; its channel message comes later.
    assert client.replay([event("4-0"), event("5-0")]) == 2
    client.deliver(event("5-0"))
    client.deliver(event("6-0"))
    await asyncio.sleep(0.01)
    assert written_ids(socket) == [
        b"id: 4-0",
        b"id: 5-0",
        b"id: 6-0",
    ]
    client.close()
    await task


async def test_a_client_whose_socket_stops_draining_is_dropped_not_waited_for() -> None:
    client, socket = Client("s.myshopify.com", limit=4), Socket()
    client.replay([])
    task = await run(client, socket)
    socket.block.clear()  # the socket buffer is full from now on
    assert client.deliver(event("1-0"))
    await asyncio.sleep(0.01)  # the writer is now stuck in its write
    delivered = [client.deliver(event(f"{i}-0")) for i in range(2, 10)]
    assert delivered[:4] == [True] * 4 and not all(delivered)
    assert client.closed and client.drop_reason == "slow"
    await asyncio.wait_for(task, 1)  # the blocked write was aborted


async def test_idle_clients_are_pinged_and_blocked_ones_dropped() -> None:
    client, socket = Client("s.myshopify.com", limit=8), Socket()
    client.replay([])
    task = await run(client, socket)
    client.keep_alive()
    await asyncio.sleep(0.01)
    assert socket.bodies == [PING]
    client.deliver(event("1-0"))
    await asyncio.sleep(0.01)
    client.keep_alive()  # an event went out: no ping needed
    await asyncio.sleep(0.01)
    assert len(socket.bodies) == 2
    socket.block.clear()
    client.keep_alive()  # pings: the write blocks
    await asyncio.sleep(0.01)
    client.keep_alive()  # still blocked a whole interval later
    assert client.drop_reason == "stalled"
    await asyncio.wait_for(task, 1)
