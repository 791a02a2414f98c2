"""The shop registry: which shops installed the app, and their Admin API tokens.

Kept in Redis (one hash per shop, `shop:{domain}`, plus the set `shops`); production runs
Redis with AOF persistence. Ingest, streams and push all read it, hence it lives here.
Access tokens are encrypted at rest with Fernet (`STOREPULSE_TOKEN_KEY`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import redis.asyncio as redis
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from storepulse import redis_keys
from storepulse.redis_client import Hash, redis_client
from storepulse.settings import MissingSecret, Settings

INSTALLED = "installed"
UNINSTALLED = "uninstalled"
UNKNOWN = "unknown"

GENERATE_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class UnreadableToken(Exception):
    """A stored access token that STOREPULSE_TOKEN_KEY cannot decrypt."""


def token_cipher(settings: Settings) -> MultiFernet:
    """The keys of STOREPULSE_TOKEN_KEY (the first encrypts, any decrypts); MissingSecret without one.

    Never derived from the API secret: rotating that would make every stored token unreadable.
    """
    keys = [k.strip() for k in settings.token_key.get_secret_value().split(",") if k.strip()]
    if not keys:
        raise MissingSecret(
            "STOREPULSE_TOKEN_KEY is not set: it encrypts shops' access tokens. "
            f"Generate one with `{GENERATE_KEY}`"
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise MissingSecret(
            f"STOREPULSE_TOKEN_KEY holds a key that is not a Fernet key ({exc}). "
            f"Generate one with `{GENERATE_KEY}`"
        ) from exc


@dataclass(frozen=True)
class Shop:
    domain: str
    status: str
    installed_at: str
    scopes: str = ""

    @property
    def installed(self) -> bool:
        return self.status == INSTALLED


class ShopRegistry:
    def __init__(self, client: redis.Redis, cipher: MultiFernet | None) -> None:
        """`cipher` None: a registry that reads statuses only (push holds no token key)."""
        self._client = client
        self._cipher = cipher

    @property
    def _tokens(self) -> MultiFernet:
        if self._cipher is None:
            raise RuntimeError("this shop registry reads statuses only: it holds no token key")
        return self._cipher

    async def install(self, domain: str, access_token: str, scopes: str = "") -> Shop:
        """Record a (re)installation with its fresh access token."""
        shop = Shop(domain, INSTALLED, datetime.now(UTC).isoformat(), scopes)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(
                redis_keys.shop_record(domain),
                mapping={
                    "status": shop.status,
                    "installed_at": shop.installed_at,
                    "scopes": scopes,
                    "token": self._tokens.encrypt(access_token.encode()),
                },
            )
            pipe.sadd(redis_keys.SHOPS, domain)
            await pipe.execute()
        return shop

    async def mark_uninstalled(self, domain: str) -> None:
        """app/uninstalled: the token is dead, so drop it; the record stays until shop/redact."""
        if await self._client.exists(redis_keys.shop_record(domain)):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hset(redis_keys.shop_record(domain), "status", UNINSTALLED)
                pipe.hdel(redis_keys.shop_record(domain), "token")
                await pipe.execute()

    async def remove(self, domain: str) -> bool:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(redis_keys.shop_record(domain))
            pipe.srem(redis_keys.SHOPS, domain)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def get(self, domain: str) -> Shop | None:
        raw = cast(Hash, await self._client.hgetall(redis_keys.shop_record(domain)))
        if not raw:
            return None
        return Shop(
            domain,
            raw[b"status"].decode(),
            raw.get(b"installed_at", b"").decode(),
            raw.get(b"scopes", b"").decode(),
        )

    async def is_installed(self, domain: str) -> bool:
        return await self._client.hget(redis_keys.shop_record(domain), "status") == INSTALLED.encode()

    async def access_token(self, domain: str) -> str | None:
        """The decrypted Admin API token of an installed shop, else None.

        UnreadableToken when the shop has one that no key of STOREPULSE_TOKEN_KEY decrypts.
        """
        token = await self._client.hget(redis_keys.shop_record(domain), "token")
        if token is None:
            return None
        try:
            return self._tokens.decrypt(token).decode()
        except InvalidToken as exc:
            raise UnreadableToken(
                f"{domain}: its stored access token cannot be decrypted with STOREPULSE_TOKEN_KEY "
                "(was the key replaced without re-encrypting the tokens? See docs/operations.md)"
            ) from exc

    async def aclose(self) -> None:
        await self._client.aclose()

    async def all(self) -> list[Shop]:
        members = cast(set[bytes], await self._client.smembers(redis_keys.SHOPS))
        domains = sorted(d.decode() for d in members)
        shops = [await self.get(d) for d in domains]
        return [s for s in shops if s is not None]


class CachedStatus:
    """A shop's status (`installed`, `uninstalled`, `unknown`), cached for `ttl_s` per process.

    Ingest and push ask on every webhook and every page view; `ttl_s` bounds how stale an
    answer gets. When an answer expires under load, the requests of that shop share one Redis
    read instead of each making its own (measured: a stampede of reads and pool waits at
    2,000 webhooks/s). A plain dict of (status, expiry) keeps a hit to one probe and one clock
    read (cachetools' TTLCache was ~4 % of ingest's CPU).
    """

    def __init__(self, registry: ShopRegistry, ttl_s: float, maxsize: int = 100_000) -> None:
        self._registry = registry
        self._ttl_s = ttl_s
        self._maxsize = maxsize
        self._status: dict[str, tuple[str, float]] = {}  # shop → (status, monotonic expiry)
        self._reads: dict[str, asyncio.Future[str]] = {}  # shop → its Redis read in flight

    async def __call__(self, shop: str) -> str:
        """Raises redis errors when the answer is not cached and Redis is unreachable."""
        cached = self._status.get(shop)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        read = self._reads.get(shop)
        if read is None:
            read = self._reads[shop] = asyncio.ensure_future(self._read(shop))
            read.add_done_callback(lambda _: self._reads.pop(shop, None))
        # Shielded: one waiter that is cancelled must not cancel the read the others share.
        return await asyncio.shield(read)

    async def _read(self, shop: str) -> str:
        record = await self._registry.get(shop)
        status = record.status if record else UNKNOWN
        self.remember(shop, status)
        return status

    def remember(self, shop: str, status: str) -> None:
        """This process changed the shop's record: answer with what it wrote."""
        self._status.pop(shop, None)
        if len(self._status) >= self._maxsize:
            del self._status[next(iter(self._status))]  # the oldest answer goes first
        self._status[shop] = (status, time.monotonic() + self._ttl_s)

    def forget(self, shop: str) -> None:
        self._status.pop(shop, None)


def open_registry(settings: Settings) -> ShopRegistry:
    """A registry on `REDIS_URL`; the caller closes it with `aclose()`."""
    return ShopRegistry(redis_client(settings), token_cipher(settings))
