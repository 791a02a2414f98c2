"""Staff roles: who may look (`viewer`), who may change the program (`editor`), who may also
give roles (`owner`), enforced on every request of the app's API that changes something.

A staff member is the session token's `sub`. The first time the app sees one, it exchanges
their token for an online access token, whose answer names the user (`associated_user`): their
name and whether they own the shop's account. The account owner is always `owner`; anyone else
holds the role the owner gave them on the Roles page, else the shop's default (`editor` until
the owner changes it). Profiles live in `staff:{shop}`, roles in `staff-roles:{shop}`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

import httpx
import orjson
import redis.asyncio as redis
import structlog
from cachetools import TTLCache
from pydantic import BaseModel, ConfigDict
from shopify_app import IdTokenDetails
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from admin.api import by_method
from admin.params import parse_body
from admin.session import Refused, Session
from shopify.oauth import OAuthError, SessionTokens
from storepulse import redis_keys
from storepulse.audit import Change
from storepulse.redis_client import Hash

if TYPE_CHECKING:
    from admin.context import AdminContext

log = structlog.get_logger(__name__)

Role = Literal["viewer", "editor", "owner"]
ROLES: tuple[Role, ...] = get_args(Role)
DEFAULT_ROLE: Role = "editor"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# API paths (under /api/) whose changes only an owner may make.
OWNER_PATHS = ("/api/roles",)
# A profile is asked of Shopify again after this long (a name or the account's owner may change).
PROFILE_MAX_AGE_S = 24 * 3600
# After a failed exchange, a member is not asked about again for this long (in this process).
RETRY_AFTER_S = 60.0
# The user of `admin.session.dev_session_token`: the dev stack has no Shopify to ask.
DEV_USER = "dev"


@dataclass(frozen=True)
class Member:
    """A staff member as one request sees them."""

    user_id: str | None
    name: str | None
    role: Role
    account_owner: bool = False


@dataclass(frozen=True)
class Profile:
    """What Shopify's online token exchange said of a staff member."""

    name: str | None
    account_owner: bool
    checked_at: float


# (access token details of a verified session token) -> the profile, or None when Shopify refused.
Exchange = Callable[[IdTokenDetails], Awaitable[Profile | None]]


def member_of(request: Request) -> Member:
    """The staff member `StaffRoles.admit` found for this request."""
    member: Member = request.state.member
    return member


def may(role: Role, method: str, path: str) -> str | None:
    """Why `role` may not make this request, or None when it may."""
    if method in SAFE_METHODS:
        return None
    if any(path == p or path.startswith(p + "/") for p in OWNER_PATHS):
        return None if role == "owner" else f"only the shop's owner may change roles (your role: {role})"
    if role == "viewer":
        return "your role is viewer: viewers may look but not change anything (ask the shop's owner)"
    return None


def api_path(request: Request) -> str:
    """The request's path inside the app (`/api/settings`), wherever the app is mounted."""
    return request.url.path.removeprefix(request.scope.get("root_path", ""))


class StaffRoles:
    def __init__(self, client: redis.Redis, exchange: Exchange | None, *, dev: bool = False) -> None:
        """`exchange`: how Shopify is asked who a member is (None: it cannot be); `dev`: the dev
        stack, whose `DEV_USER` owns every shop."""
        self._client = client
        self._exchange = exchange
        self._dev = dev
        self._failed: TTLCache[tuple[str, str], bool] = TTLCache(maxsize=10_000, ttl=RETRY_AFTER_S)

    async def admit(self, request: Request, session: Session) -> Member:
        """The request's staff member, kept on the request; raises `Refused` (403, with the
        reason) when their role may not make it."""
        member = await self.member(session)
        request.state.member = member
        reason = may(member.role, request.method, api_path(request))
        if reason:
            raise Refused(403, reason)
        return member

    async def member(self, session: Session) -> Member:
        shop, user = session.shop, session.user_id
        if user is None:  # a token without `sub`: no one to give a role to
            return Member(None, None, await self.default_role(shop))
        profile = await self._profile(session)
        explicit, default = await self._client.hmget(redis_keys.staff_roles(shop), f"user:{user}", "default")
        if profile is not None and profile.account_owner:
            role: Role = "owner"
        else:
            role = _role(explicit) or _role(default) or DEFAULT_ROLE
        return Member(user, profile.name if profile else None, role, bool(profile and profile.account_owner))

    async def default_role(self, shop: str) -> Role:
        return _role(await self._client.hget(redis_keys.staff_roles(shop), "default")) or DEFAULT_ROLE

    async def staff(self, shop: str) -> dict[str, Any]:
        """Everyone the app has seen in the shop, with their role, and the default role."""
        profiles = cast(Hash, await self._client.hgetall(redis_keys.staff(shop)))
        roles = cast(Hash, await self._client.hgetall(redis_keys.staff_roles(shop)))
        default = _role(roles.get(b"default")) or DEFAULT_ROLE
        people = []
        for user, raw in sorted(profiles.items()):
            profile = orjson.loads(raw)
            explicit = _role(roles.get(b"user:" + user))
            owner = bool(profile.get("account_owner"))
            people.append(
                {
                    "user_id": user.decode(),
                    "name": profile.get("name"),
                    "account_owner": owner,
                    "role": "owner" if owner else explicit or default,
                    "explicit_role": explicit,
                    "last_seen": profile.get("last_seen"),
                }
            )
        return {"default_role": default, "staff": people}

    async def set_role(self, shop: str, user: str, role: Role | None) -> Role | None:
        """Give `user` a role (None: back to the default); the role they had explicitly."""
        key = redis_keys.staff_roles(shop)
        before = _role(await self._client.hget(key, f"user:{user}"))
        if role is None:
            await self._client.hdel(key, f"user:{user}")
        else:
            await self._client.hset(key, f"user:{user}", role)
        return before

    async def set_default(self, shop: str, role: Role) -> Role:
        before = await self.default_role(shop)
        await self._client.hset(redis_keys.staff_roles(shop), "default", role)
        return before

    async def _profile(self, session: Session) -> Profile | None:
        """The member's profile: as held while fresh, else as Shopify tells it now (as held, or
        None, when Shopify cannot tell)."""
        shop, user = session.shop, str(session.user_id)
        raw = await self._client.hget(redis_keys.staff(shop), user)
        held = _profile(orjson.loads(raw)) if raw else None
        if held is not None and time.time() - held.checked_at < PROFILE_MAX_AGE_S:
            return held
        if (shop, user) in self._failed:
            return held
        profile = await self._ask(session)
        if profile is None:
            self._failed[(shop, user)] = True
            return held
        record = {**asdict(profile), "last_seen": datetime.now(UTC).isoformat()}
        await self._client.hset(redis_keys.staff(shop), user, orjson.dumps(record))
        return profile

    async def _ask(self, session: Session) -> Profile | None:
        if self._dev and session.user_id == DEV_USER:
            return Profile("Developer", True, time.time())
        if self._exchange is None or session.id_token is None:
            return None
        return await self._exchange(session.id_token)


def _profile(record: dict[str, Any]) -> Profile:
    return Profile(record.get("name"), bool(record.get("account_owner")), float(record.get("checked_at", 0)))


def _role(raw: bytes | str | None) -> Role | None:
    value = raw.decode() if isinstance(raw, bytes) else raw
    return next((role for role in ROLES if role == value), None)


def shopify_exchange(tokens: SessionTokens) -> Exchange:
    """Profiles from Shopify's online token exchange (None when Shopify refuses or is away)."""

    async def exchange(id_token: IdTokenDetails) -> Profile | None:
        try:
            user = await tokens.staff_member(id_token)
        except (OAuthError, httpx.HTTPError) as exc:
            log.warning("staff_profile_unavailable", reason=str(exc))
            return None
        name = " ".join(part for part in (user.first_name, user.last_name) if part) or None
        return Profile(name, user.account_owner, time.time())

    return exchange


class RoleChange(BaseModel):
    """`PUT /app/api/roles`: the shop's default role, and/or roles by user id (null: the default)."""

    model_config = ConfigDict(extra="forbid")

    default_role: Literal["viewer", "editor"] | None = None
    staff: dict[str, Role | None] = {}


def role_routes(ctx: AdminContext) -> list[Route]:
    async def get_roles(request: Request, session: Session) -> Response:
        me = member_of(request)
        answer: dict[str, Any] = {"me": asdict(me)}
        if me.role == "owner":
            answer |= await ctx.staff.staff(session.shop)
        return JSONResponse(answer)

    async def put_roles(request: Request, session: Session) -> Response:
        change = parse_body(RoleChange, await request.body())
        shop = session.shop
        if change.default_role is not None:
            before = await ctx.staff.set_default(shop, change.default_role)
            if before != change.default_role:
                changes = [Change(field="default_role", before=before, after=change.default_role)]
                await ctx.audit.record(request, shop, "default_role.changed", changes=changes)
        for user, role in change.staff.items():
            before_role = await ctx.staff.set_role(shop, user, role)
            if before_role != role:
                changes = [Change(field=f"staff.{user}", before=before_role, after=role)]
                await ctx.audit.record(
                    request, shop, "role.changed", changes=changes, details={"user_id": user}
                )
        return JSONResponse(await ctx.staff.staff(shop))

    return [
        Route("/api/roles", by_method(ctx, get=get_roles, put=put_roles), methods=["GET", "PUT"]),
    ]
