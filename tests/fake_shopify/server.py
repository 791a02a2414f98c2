"""The fake's HTTP surface, cost limiter and request log."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn
from graphql import FieldNode, OperationDefinitionNode, parse, value_from_ast_untyped
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from storepulse.devstack import free_port, wait_for_port

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"
ONLINE_TOKEN = "urn:shopify:params:oauth:token-type:online-access-token"
# The staff users online token exchanges name (`sub` → Shopify's `associated_user`): the shop's
# account owner, and a member of staff.
OWNER, STAFF = "42", "43"
STAFF_USERS: dict[str, dict[str, Any]] = {
    OWNER: {
        "id": 42,
        "first_name": "Ada",
        "last_name": "Owner",
        "email": "ada@example.com",
        "account_owner": True,
    },
    STAFF: {
        "id": 43,
        "first_name": "Ben",
        "last_name": "Staff",
        "email": "ben@example.com",
        "account_owner": False,
    },
}

# A resolver gets (fake, shop, arguments-with-variables-applied) and returns the field's data.
Resolver = Callable[["FakeShopify", str, dict[str, Any]], Any]


class FieldError(Exception):
    """A resolver's refusal, answered as Shopify does: the field null, the reason in `errors`."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class GraphQLCall:
    shop: str
    field: str
    arguments: dict[str, Any]
    throttled: bool


@dataclass
class Bucket:
    """Shopify's leaky bucket: `available` points, refilled at `restore_rate` per second."""

    maximum: float
    restore_rate: float
    available: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def take(self, cost: float) -> bool:
        now = time.monotonic()
        self.available = min(self.maximum, self.available + (now - self.at) * self.restore_rate)
        self.at = now
        if self.available < cost:
            return False
        self.available -= cost
        return True


@dataclass
class FakeShopify:
    client_id: str = "fake-client-id"
    client_secret: str = "test-secret"
    # The scopes a merchant grants on install (what the token answer names).
    scope: str = "read_orders"
    max_points: float = 1000.0
    restore_rate: float = 50.0
    # Points each root field costs (Shopify: mutations ~10, queries by size).
    cost: Callable[[str, dict[str, Any]], float] = lambda field, args: 10.0
    resolvers: dict[str, Resolver] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # shop -> issued access token
    codes: dict[str, str] = field(default_factory=dict)  # authorization code -> shop
    calls: list[GraphQLCall] = field(default_factory=list)
    # Per-shop state any resolver may keep (customers, tags, subscriptions ...).
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Answer this many next GraphQL requests with HTTP 5xx (for retry tests).
    fail_next: int = 0
    # Root field → [requests naming it still answered, released]: later ones wait unanswered
    # until `release`, so a test can stop a client mid-run (`hold`). `held` counts those waiting.
    holds: dict[str, tuple[list[int], threading.Event]] = field(default_factory=dict)
    held: int = 0
    # Bodies (HTTP 200) to answer the next code grants with instead of a token: odd answers.
    odd_grants: list[bytes] = field(default_factory=list)
    # HTTP routes beside the Admin API a feature serves (e.g. bulk operation result files).
    routes: list[BaseRoute] = field(default_factory=list)
    url: str = ""
    _buckets: dict[str, Bucket] = field(default_factory=dict)

    def base_url_template(self) -> str:
        """The value for SHOPIFY_ADMIN_BASE_URL."""
        return self.url + "/{shop}"

    def session_token(
        self,
        shop: str,
        *,
        secret: str | None = None,
        audience: str | None = None,
        ttl_s: float = 60.0,
        user: str = OWNER,
    ) -> str:
        """A session token as App Bridge hands the embedded app: an HS256 JWT, by default signed
        with the app's secret for the app (`aud`), for `shop` (`dest`), valid for `ttl_s`, of
        staff user `user` (`sub`; by default the account owner)."""
        now = int(time.time())
        claims = {
            "iss": f"https://{shop}/admin",
            "dest": f"https://{shop}",
            "aud": self.client_id if audience is None else audience,
            "sub": user,
            "exp": now + int(ttl_s),
            "nbf": now,
            "iat": now,
            "jti": secrets.token_hex(8),
            "sid": secrets.token_hex(8),
        }
        return jwt.encode(claims, self.client_secret if secret is None else secret, algorithm="HS256")

    def issue_code(self, shop: str) -> str:
        """An authorization code as Shopify would put on the OAuth callback."""
        code = secrets.token_hex(8)
        self.codes[code] = shop
        return code

    def shop_state(self, shop: str) -> dict[str, Any]:
        return self.state.setdefault(shop, {})

    def calls_to(self, field_name: str) -> list[GraphQLCall]:
        return [c for c in self.calls if c.field == field_name and not c.throttled]

    def _bucket(self, shop: str) -> Bucket:
        if shop not in self._buckets:
            self._buckets[shop] = Bucket(self.max_points, self.restore_rate, self.max_points)
        return self._buckets[shop]

    def app(self) -> Starlette:
        async def token(request: Request) -> Response:
            shop = request.path_params["shop"]
            body = await request.json()
            if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
                return JSONResponse({"error": "invalid_client"}, status_code=400)
            if body.get("grant_type") == TOKEN_EXCHANGE:
                refusal = self._token_exchange_refusal(shop, body)
                if refusal:
                    return JSONResponse({"error": refusal}, status_code=400)
                if body.get("requested_token_type") == ONLINE_TOKEN:
                    return JSONResponse(self._online_token(body))
            elif self.codes.pop(body.get("code", ""), None) != shop:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            elif self.odd_grants:
                return Response(self.odd_grants.pop(0), media_type="application/json")
            self.tokens[shop] = f"shpat_{secrets.token_hex(12)}"
            return JSONResponse({"access_token": self.tokens[shop], "scope": self.scope})

        async def graphql(request: Request) -> Response:
            shop = request.path_params["shop"]
            if (
                not self.tokens.get(shop)
                or request.headers.get("x-shopify-access-token") != self.tokens[shop]
            ):
                return JSONResponse({"errors": "[API] Invalid API key or access token"}, status_code=401)
            if self.fail_next > 0:
                self.fail_next -= 1
                return JSONResponse({"errors": "Internal error"}, status_code=503)
            body = await request.json()
            await self._wait_while_held(body.get("query", ""))
            return JSONResponse(self._execute(shop, body.get("query", ""), body.get("variables") or {}))

        return Starlette(
            routes=[
                Route("/{shop}/admin/oauth/access_token", token, methods=["POST"]),
                Route("/{shop}/admin/api/{version}/graphql.json", graphql, methods=["POST"]),
                *self.routes,
            ]
        )

    def hold(self, field_name: str, after: int) -> None:
        """Answer `after` more requests naming `field_name`; hold the later ones until `release`."""
        self.holds[field_name] = ([after], threading.Event())

    def release(self, field_name: str) -> None:
        self.holds.pop(field_name)[1].set()

    async def _wait_while_held(self, query: str) -> None:
        for name in _root_fields(query):
            if name not in self.holds:
                continue
            left, released = self.holds[name]
            if left[0] > 0:
                left[0] -= 1
                continue
            self.held += 1
            try:
                await asyncio.to_thread(released.wait)
            finally:
                self.held -= 1

    def _token_exchange_refusal(self, shop: str, body: dict[str, Any]) -> str | None:
        """Why Shopify would refuse this token exchange, None when it grants it.

        The fake models non-expiring offline tokens (what the install flow stores too) and online
        tokens of its staff users, and refuses any other kind, so no test passes on a token it
        does not model.
        """
        kind = (body.get("subject_token_type"), body.get("requested_token_type"), body.get("expiring"))
        if kind not in ((ID_TOKEN, OFFLINE_TOKEN, 0), (ID_TOKEN, ONLINE_TOKEN, 1)):
            return "invalid_request"
        try:
            claims = jwt.decode(
                body.get("subject_token", ""),
                self.client_secret,
                algorithms=["HS256"],
                audience=self.client_id,
            )
        except jwt.PyJWTError:
            return "invalid_subject_token"
        if claims.get("dest") != f"https://{shop}":
            return "invalid_subject_token"
        if kind[1] == ONLINE_TOKEN and claims.get("sub") not in STAFF_USERS:
            return "invalid_subject_token"
        return None

    @staticmethod
    def _online_token(body: dict[str, Any]) -> dict[str, Any]:
        """An online access token's answer: it names the user the session token is for."""
        claims = jwt.decode(body["subject_token"], options={"verify_signature": False})
        return {
            "access_token": f"shpua_{secrets.token_hex(12)}",
            "scope": "read_orders",
            "expires_in": 86399,
            "associated_user_scope": "read_orders",
            "associated_user": STAFF_USERS[claims["sub"]],
        }

    def _execute(self, shop: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        operation = next(d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode))
        fields = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        bucket = self._bucket(shop)
        calls = [(f.name.value, _arguments(f, variables)) for f in fields]
        cost = sum(self.cost(name, args) for name, args in calls)
        throttled = not bucket.take(cost)
        self.calls.extend(GraphQLCall(shop, name, args, throttled) for name, args in calls)
        status = {
            "maximumAvailable": bucket.maximum,
            "currentlyAvailable": int(bucket.available),
            "restoreRate": bucket.restore_rate,
        }
        extensions = {"cost": {"requestedQueryCost": cost, "throttleStatus": status}}
        if throttled:
            return {
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": extensions,
            }
        data = {}
        errors = []
        for name, args in calls:
            resolver = self.resolvers.get(name)
            if resolver is None:
                return {"errors": [{"message": f"Field '{name}' doesn't exist on the fake"}]}
            try:
                data[name] = resolver(self, shop, args)
            except FieldError as exc:
                data[name] = None
                errors.append({"message": str(exc), "path": [name], "extensions": {"code": exc.code}})
        return {"data": data, "extensions": extensions, **({"errors": errors} if errors else {})}


def _root_fields(query: str) -> list[str]:
    operation = next(d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode))
    return [s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)]


def _arguments(node: FieldNode, variables: dict[str, Any]) -> dict[str, Any]:
    return {a.name.value: value_from_ast_untyped(a.value, variables) for a in node.arguments or ()}


@contextlib.contextmanager
def running_fake_shopify(fake: FakeShopify | None = None) -> Iterator[FakeShopify]:
    """Serve `fake` on a free loopback port in a background thread."""
    fake = fake or FakeShopify()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port, 10)
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(10)
