"""What the app's routes share (built once by `admin.app.create_admin_app`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis.asyncio as redis
from starlette.templating import Jinja2Templates

from admin.customer_index import CustomerIndexes
from admin.customers import CustomerList
from admin.names import CustomerNames
from admin.session import SessionAuth
from admin.worker_api import WorkerApi
from ingest.backfill_runs import BackfillRuns
from ingest.sync_runs import SyncRuns
from storepulse.settings import Settings

if TYPE_CHECKING:  # they build routes on this context
    from admin.audit import AuditLog
    from admin.import_runs import ImportRuns
    from admin.roles import StaffRoles

# Where ingest mounts the app: the public URL Shopify opens is `{public_url}/app`.
APP_PATH = "/app"
PATCH_ID_TOKEN_PATH = f"{APP_PATH}/auth/patch-id-token"


@dataclass(frozen=True)
class AdminContext:
    settings: Settings
    redis: redis.Redis
    # None when SHOPIFY_API_KEY or SHOPIFY_API_SECRET is not set: every route answers 503.
    auth: SessionAuth | None
    indexes: CustomerIndexes
    names: CustomerNames
    customers: CustomerList
    worker: WorkerApi
    backfills: BackfillRuns
    # Asks for and reads syncs; the workers run them (ingest/sync_runs.py).
    syncs: SyncRuns
    templates: Jinja2Templates
    staff: StaffRoles
    audit: AuditLog
    imports: ImportRuns
