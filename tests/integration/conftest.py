"""The merchant app's tests share one fake Shopify per module and a fresh in-process app each."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.fake_shopify import FakeShopify, customers, products, running_fake_shopify
from tests.fake_shopify.webhooks import register
from tests.support.ingest import in_process_ingest
from tests.support.merchant_app import app_settings
from tests.support.stack import Services


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeShopify]:
    """Shopify with customers, products and webhook subscriptions (a module may define its own)."""
    with running_fake_shopify(register(products.install(customers.install(FakeShopify())))) as fake:
        yield fake


@pytest.fixture
async def app(services: Services, fake: FakeShopify) -> AsyncIterator[httpx.AsyncClient]:
    """Ingest, with the merchant app, in-process on the test stack and the fake Shopify."""
    async with in_process_ingest(app_settings(services, fake)) as client:
        yield client
