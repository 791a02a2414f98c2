"""The shops' events-API keys: made, rotated and revoked in the merchant app, checked by ingest.

A key is 32 random bytes shown once; Redis keeps only its SHA-256 (a random key needs no slow
hash). Ingest finds the shop by the digest and believes it only while the shop's own list still
holds that digest, so a revoked or rotated key, or a redacted shop's, is refused at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import redis.asyncio as redis

from storepulse import redis_keys

PREFIX = "spk_"


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyOwner:
    shop: str
    key_id: str


class EventKeys:
    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    async def create(self, shop: str, name: str) -> tuple[str, str]:
        """A new key named `name`: its id and the key itself (not kept)."""
        key_id = secrets.token_hex(8)
        return key_id, await self._issue(shop, key_id, name, datetime.now(UTC).isoformat())

    async def rotate(self, shop: str, key_id: str) -> str | None:
        """A new secret for the key (the old one stops working), or None for an unknown id."""
        held = await self._held(shop, key_id)
        if held is None:
            return None
        await self._client.delete(redis_keys.event_key_owner(held["digest"]))
        return await self._issue(shop, key_id, held["name"], held["created_at"])

    async def revoke(self, shop: str, key_id: str) -> bool:
        held = await self._held(shop, key_id)
        if held is None:
            return False
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hdel(redis_keys.event_keys(shop), key_id)
            pipe.delete(redis_keys.event_key_owner(held["digest"]))
            await pipe.execute()
        return True

    async def listed(self, shop: str) -> list[dict[str, str]]:
        """The shop's keys (id, name, created_at), never a secret or digest."""
        rows = cast(dict[bytes, bytes], await self._client.hgetall(redis_keys.event_keys(shop)))
        keys = [{"id": k.decode(), **orjson.loads(v)} for k, v in rows.items()]
        return sorted(
            ({"id": k["id"], "name": k["name"], "created_at": k["created_at"]} for k in keys),
            key=lambda k: k["created_at"],
        )

    async def owner(self, key: str) -> KeyOwner | None:
        """The shop and key id of a live key; None for an unknown, rotated or revoked one."""
        if not key.startswith(PREFIX):
            return None
        digest = digest_of(key)
        found = cast(bytes | None, await self._client.get(redis_keys.event_key_owner(digest)))
        if found is None:
            return None
        shop, key_id = found.decode().split(" ", 1)
        held = await self._held(shop, key_id)
        return KeyOwner(shop, key_id) if held is not None and held["digest"] == digest else None

    async def forget(self, shop: str) -> None:
        """Every key of the shop gone, with the digest → shop entries that name it (shop/redact)."""
        rows = cast(dict[bytes, bytes], await self._client.hgetall(redis_keys.event_keys(shop)))
        owners = [redis_keys.event_key_owner(orjson.loads(v)["digest"]) for v in rows.values()]
        await self._client.delete(redis_keys.event_keys(shop), *owners)

    async def _held(self, shop: str, key_id: str) -> dict[str, Any] | None:
        raw = await self._client.hget(redis_keys.event_keys(shop), key_id)
        return orjson.loads(raw) if raw else None

    async def _issue(self, shop: str, key_id: str, name: str, created_at: str) -> str:
        key = PREFIX + secrets.token_urlsafe(32)
        digest = digest_of(key)
        record = {"name": name, "digest": digest, "created_at": created_at}
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(redis_keys.event_keys(shop), key_id, orjson.dumps(record))
            pipe.set(redis_keys.event_key_owner(digest), f"{shop} {key_id}")
            await pipe.execute()
        return key
