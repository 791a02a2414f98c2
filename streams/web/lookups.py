"""The admin API, served by every worker (Faust web, STOREPULSE_WORKER_PORT).

    GET/PUT /shops/{shop}/settings           the shop's settings (PUT replaces them)
    GET     /shops/{shop}/customers/{id}     a customer's metrics and orders (the `customer-metrics` table)
    GET     /shops/{shop}/vips               the VIP list (Redis `vips:{shop}`)
    GET     /shops/{shop}/segments           customers per RFM segment (Redis `segments:{shop}`)
    GET     /shops/{shop}/data-requests      customers/data_request webhooks and what was held
    POST    /shops/{shop}/data-requests/{id}/answered   the merchant answered it: what was held goes

Every request needs `Authorization: Bearer $STOREPULSE_ADMIN_TOKEN`; without a configured
token the API refuses everything. A customer lives on one partition: `table_route` forwards
the request to the worker that holds it, so any worker answers for any customer.
"""

from __future__ import annotations

import hmac
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Self

import orjson
from faust.types import TableT
from faust.web import Request, Response, View
from pydantic import ValidationError, field_validator, model_validator

from storepulse import redis_keys
from storepulse.contracts import ShopSettings, is_shop_domain
from streams.agents.compliance import data_requests_of, mark_answered
from streams.agents.shop_settings import ShopSettingsTable
from streams.domain import templates
from streams.domain.customer_metrics import ledger_orders
from streams.domain.customer_state import CustomerState, customer_view
from streams.domain.fields import money
from streams.runtime.context import Context


def authorized(header: str | None, token: str) -> bool:
    """True for `Bearer <token>` when a token is configured; compared in constant time."""
    if not token or not header:
        return False
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class SettingsUpdate(ShopSettings):
    """ShopSettings as an admin may set them: the checks the storefront relies on."""

    @field_validator("templates")
    @classmethod
    def _templates_render(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for lang, named in value.items():
            for name, template in named.items():
                error = templates.template_error(name, template)
                if error:
                    raise ValueError(f"{lang}: {error}")
        return value

    @field_validator("trending_thresholds")
    @classmethod
    def _thresholds_positive(cls, value: list[int]) -> list[int]:
        if any(t < 1 for t in value):
            raise ValueError("thresholds must be at least 1")
        return sorted(set(value))

    @field_validator("viewing_min_viewers", "max_purchase_age_s")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("min_order_value")
    @classmethod
    def _not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @model_validator(mode="after")
    def _language_renders(self) -> Self:
        if templates.language(self.language, self.templates) != self.language:
            raise ValueError(
                f"language {self.language!r} has no built-in templates "
                f"({sorted(templates.BUILT_IN)}): add templates for it"
            )
        return self


class AdminView(View):
    """A view that answers only requests carrying the admin bearer token."""

    token: str = ""

    async def dispatch(self, request: Any) -> Any:
        if not authorized(request.headers.get("Authorization"), self.token):
            return self.error(401, "admin bearer token required", headers={"WWW-Authenticate": "Bearer"})
        if not is_shop_domain(request.match_info.get("shop", "")):
            return self.error(400, "not a shop domain (name.myshopify.com)")
        return await super().dispatch(request)


def register(ctx: Context, shop_settings: ShopSettingsTable, customers: TableT[bytes, CustomerState]) -> None:
    app = ctx.app
    redis = ctx.redis

    class Admin(AdminView):
        token = ctx.settings.admin_token.get_secret_value()

    @app.page("/shops/{shop}/settings")
    class Settings(Admin):
        async def get(self, request: Request, shop: str) -> Response:
            return self.json(shop_settings.settings_for(shop).model_dump(mode="json"))

        async def put(self, request: Request, shop: str) -> Response:
            try:
                body = orjson.loads(await request.read())
            except orjson.JSONDecodeError as exc:
                return self.error(422, f"body is not JSON: {exc}")
            if not isinstance(body, dict) or body.get("shop", shop) != shop:
                return self.error(422, "body must be a JSON object for this shop")
            try:
                now = datetime.now(UTC)
                update = SettingsUpdate.model_validate({**body, "shop": shop, "updated_at": now})
            except ValidationError as exc:
                return self.error(422, "invalid settings", detail=orjson.loads(exc.json(include_url=False)))
            applied = await shop_settings.put(update)
            return self.json(update.model_dump(mode="json"), status=200 if applied else 202)

    @app.page("/shops/{shop}/customers/{customer_id}")
    class Customer(Admin):
        async def dispatch(self, request: Any) -> Any:
            # table_route reads the table key from one URL part: name it from shop and id.
            request.match_info["key"] = f"{request.match_info['shop']}/{request.match_info['customer_id']}"
            return await super().dispatch(request)

        # Faust passes the URL's parts as keyword arguments; its ViewDecorator type has no room for them.
        @app.table_route(table=customers, match_info="key")  # type: ignore[arg-type]
        async def get(self, request: Request, shop: str, customer_id: str, key: str) -> Response:
            metrics = customers.get(key.encode())
            if metrics is None:
                return self.error(404, "unknown customer")
            return self.json({**customer_view(metrics), "orders": ledger_orders(metrics)})

    @app.page("/shops/{shop}/vips")
    class Vips(Admin):
        async def get(self, request: Request, shop: str) -> Response:
            vips = [
                {"customer_id": cid.decode(), **orjson.loads(value)}
                async for cid, value in redis.hscan_iter(redis_keys.vips(shop))
            ]
            vips.sort(key=lambda v: money(v.get("total_spent")), reverse=True)
            return self.json({"vips": vips})

    @app.page("/shops/{shop}/segments")
    class Segments(Admin):
        async def get(self, request: Request, shop: str) -> Response:
            counts = Counter(
                [segment.decode() async for _, segment in redis.hscan_iter(redis_keys.segments(shop))]
            )
            return self.json({"segments": dict(counts), "customers": counts.total()})

    @app.page("/shops/{shop}/data-requests")
    class DataRequests(Admin):
        async def get(self, request: Request, shop: str) -> Response:
            return self.json({"data_requests": await data_requests_of(redis, shop)})

    @app.page("/shops/{shop}/data-requests/{request_id}/answered")
    class DataRequestAnswered(Admin):
        async def post(self, request: Request, shop: str, request_id: str) -> Response:
            record = await mark_answered(redis, shop, request_id, datetime.now(UTC))
            if record is None:
                return self.error(404, "unknown data request")
            return self.json({"id": request_id, **record})
