"""The Lua publish step against a real Redis: idempotent, stream-backed, spliced ids."""

from datetime import UTC, datetime

import orjson
import redis.asyncio as redis

from push.frames import message_from_entry, stream_id_of
from storepulse.redis_keys import notification_channel, notification_days, recent_stream
from streams.runtime.publisher import NotificationPublisher
from tests.support.push import note


async def test_publish_is_idempotent_and_stream_matches_channel(redis_client: redis.Redis, shop: str) -> None:
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(notification_channel(shop))
    publisher = NotificationPublisher(redis_client, ttl_s=60, maxlen=100)

    first = await publisher.publish([note(shop, 1), note(shop, 2)])
    again = await publisher.publish([note(shop, 1), note(shop, 2), note(shop, 3)])

    assert all(first) and again[:2] == [None, None] and again[2]
    # The day's count (the merchant's overview) counts each notification once.
    today = datetime.now(UTC).date().isoformat()
    assert await redis_client.hgetall(notification_days(shop)) == {today.encode(): b"3"}
    entries = await redis_client.xrange(recent_stream(shop))
    assert [e[0].decode() for e in entries] == [*first, again[2]]
    received = []
    while len(received) < 3:
        msg = await pubsub.get_message(timeout=2)
        if msg:
            received.append(msg["data"])
    for (sid, fields), message in zip(entries, received, strict=True):
        assert stream_id_of(message) == sid
        assert message_from_entry(sid, fields[b"n"]) == message
        assert orjson.loads(message)["event_id"] == sid.decode()
    await pubsub.aclose()


async def test_recent_stream_is_bounded(redis_client: redis.Redis, shop: str) -> None:
    publisher = NotificationPublisher(redis_client, ttl_s=60, maxlen=10)
    await publisher.publish([note(shop, i) for i in range(300)])
    # MAXLEN ~ trims whole radix-tree nodes: bounded near maxlen, never the full 300.
    assert await redis_client.xlen(recent_stream(shop)) < 150
