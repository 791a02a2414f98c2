"""The merchant's app, a Starlette app ingest mounts under `/app` (admin.context.APP_PATH).

`/app/api/...` is the JSON API (admin/api.py), everything else pages (admin/pages.py); both
authenticate with the Shopify session token (admin/session.py). Mounted apps get no lifespan
of their own: ingest's calls `AdminApp.aclose`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as redis
from starlette.applications import Starlette
from starlette.templating import Jinja2Templates

from admin.analytics_page import analytics_page_routes
from admin.api import api_routes
from admin.audit import AuditLog, audit_page_routes, audit_routes
from admin.audit_outbox import AuditOutbox
from admin.context import PATCH_ID_TOKEN_PATH, AdminContext
from admin.customer_index import CustomerIndexes
from admin.customers import CustomerList
from admin.event_keys_api import event_key_routes
from admin.event_keys_page import event_keys_page_routes
from admin.import_api import import_routes
from admin.import_rows import EmailResolver
from admin.import_runs import ImportRuns
from admin.imports_page import import_page_routes
from admin.languages import language_routes
from admin.names import CustomerNames
from admin.pages import page_routes
from admin.roles import StaffRoles, role_routes, shopify_exchange
from admin.roles_page import roles_page_routes
from admin.session import SessionAuth, StatusOf
from admin.worker_api import WorkerApi
from ingest.backfill_runs import BackfillRuns
from ingest.install import Installer
from ingest.producer import DurableProducer
from ingest.sync_runs import SyncRuns
from shopify.admin import AdminApi
from shopify.oauth import SessionTokens
from storepulse.settings import Settings
from storepulse.shops import ShopRegistry

TEMPLATES = Path(__file__).parent / "templates"


class AdminApp(Starlette):
    def __init__(self, ctx: AdminContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx

    def start(self) -> None:
        """Start the app's background work (its mount gets no lifespan: ingest's calls this)."""
        self.ctx.audit.outbox.start()

    async def aclose(self) -> None:
        await self.ctx.audit.outbox.aclose()
        await self.ctx.imports.aclose()
        await self.ctx.worker.aclose()


def create_admin_app(
    settings: Settings,
    client: redis.Redis,
    http: httpx.AsyncClient,
    registry: ShopRegistry,
    *,
    status_of: StatusOf,
    installer: Installer,
    backfills: BackfillRuns,
    producer: DurableProducer,
) -> AdminApp:
    """The app on ingest's Redis client and Shopify HTTP client (`status_of`: the shop registry's
    cached answer; `installer` installs a shop a session token names for the first time)."""
    auth, exchange = None, None
    if settings.shopify_api_key and settings.api_secrets:
        tokens = SessionTokens(settings.shopify_api_key, settings.api_secrets, http)
        auth = SessionAuth(tokens, status_of, installer, PATCH_ID_TOKEN_PATH)
        exchange = shopify_exchange(tokens)
    # Names are a nicety on a page someone waits for: two quick tries, not the write-back's six.
    names_api = AdminApi(
        http, registry.access_token, api_version=settings.shopify_api_version, attempts=2, max_backoff_s=0.5
    )
    names = CustomerNames(names_api, registry)
    indexes = CustomerIndexes(client, settings.admin_index_max_rows)
    ctx = AdminContext(
        settings=settings,
        redis=client,
        auth=auth,
        indexes=indexes,
        names=names,
        customers=CustomerList(client, indexes, names),
        worker=WorkerApi(settings.worker_api_url, settings.admin_token.get_secret_value()),
        backfills=backfills,
        syncs=SyncRuns(client, registry, names_api, producer, settings),
        templates=Jinja2Templates(directory=TEMPLATES),
        staff=StaffRoles(client, exchange, dev=settings.dev_auto_install),
        audit=AuditLog(client, producer, AuditOutbox(client, producer)),
        imports=ImportRuns(
            client,
            producer,
            EmailResolver(AdminApi(http, registry.access_token, api_version=settings.shopify_api_version)),
        ),
    )
    routes = [
        *api_routes(ctx),
        *audit_routes(ctx),
        *event_key_routes(ctx),
        *role_routes(ctx),
        *import_routes(ctx),
        *page_routes(ctx),
        *language_routes(ctx),
        *audit_page_routes(ctx),
        *analytics_page_routes(ctx),
        *roles_page_routes(ctx),
        *event_keys_page_routes(ctx),
        *import_page_routes(ctx),
    ]
    return AdminApp(ctx, routes=routes)
