"""The merchant app (`/app`) in-process on the test stack, with the fake Shopify, and a member of
a shop's staff using it with session tokens of their own."""

from __future__ import annotations

from typing import Any

import httpx

from storepulse.settings import Settings
from tests.fake_shopify import FakeShopify
from tests.support.ingest import ingest_settings
from tests.support.stack import ADMIN_TOKEN, Services

PUBLIC = "https://storepulse.test"


def app_settings(services: Services, fake: FakeShopify, **overrides: Any) -> Settings:
    return ingest_settings(
        services.stack,
        SHOPIFY_API_KEY=fake.client_id,
        SHOPIFY_ADMIN_BASE_URL=fake.base_url_template(),
        admin_api_url=services.worker_url,
        admin_token=ADMIN_TOKEN,
        public_url=PUBLIC,
        **overrides,
    )


class StaffMember:
    """One person of a shop's staff (`user`: their session tokens' `sub`) calling the app's API."""

    def __init__(self, app: httpx.AsyncClient, fake: FakeShopify, shop: str, user: str) -> None:
        self.app, self.fake, self.shop, self.user = app, fake, shop, user

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.fake.session_token(self.shop, user=self.user)}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.app.request(method, f"/app/api/{path}", headers=self.auth, **kwargs)

    async def json(self, path: str, **params: Any) -> Any:
        answer = await self.call("GET", path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()
