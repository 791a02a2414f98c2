"""Environment configuration shared by every service (the contract: docs/architecture.md)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_NOTIFICATION_KEY_BYTES = 16


class MissingSecret(RuntimeError):
    """A secret the service cannot run without is unset or malformed; the message says which."""


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """All knobs in one place. Unprefixed names are the contract of docs/architecture.md."""

    model_config = SettingsConfigDict(env_prefix="STOREPULSE_", extra="ignore")

    kafka_url: str = Field("", validation_alias=_env("KAFKA_URL"))
    redis_url: str = Field("", validation_alias=_env("REDIS_URL"))
    shopify_api_secret: SecretStr = Field(SecretStr(""), validation_alias=_env("SHOPIFY_API_SECRET"))
    ingest_port: int = Field(8000, validation_alias=_env("INGEST_PORT"))
    push_port: int = Field(8001, validation_alias=_env("PUSH_PORT"))
    log_level: str = Field("info", validation_alias=_env("LOG_LEVEL"))
    # "auto": one readable line per event when stderr is a terminal, JSON lines otherwise.
    log_format: Literal["auto", "json", "console"] = Field("auto", validation_alias=_env("LOG_FORMAT"))

    # Shopify app (ingest's install flow and webhook subscriptions).
    shopify_api_key: str = Field("", validation_alias=_env("SHOPIFY_API_KEY"))
    # `{shop}` is replaced by the shop's domain; tests point it at tests/fake_shopify.
    shopify_admin_base_url: str = Field("https://{shop}", validation_alias=_env("SHOPIFY_ADMIN_BASE_URL"))
    shopify_api_version: str = Field("2026-10", validation_alias=_env("SHOPIFY_API_VERSION"))
    # The same list as shopify.app.toml's [access_scopes] (why each: there).
    shopify_scopes: str = Field(
        "read_orders,read_all_orders,read_customers,write_customers,read_products,read_inventory",
        validation_alias=_env("SHOPIFY_SCOPES"),
    )
    # Where Shopify reaches ingest (OAuth redirect and webhook callbacks).
    public_url: str = "http://127.0.0.1:8000"
    # A deployed app's subscriptions are shopify.app.toml's, app-wide (`shopify app deploy`):
    # subscribing each shop through the Admin API as well would deliver every webhook twice.
    # Off only where no app configuration is deployed (`storepulse dev`, the tests' fake Shopify).
    webhooks_from_config: bool = False

    # Bearer token of the worker's admin API (STOREPULSE_ADMIN_TOKEN); empty refuses every request.
    admin_token: SecretStr = SecretStr("")
    # Each secret has one job, so rotating one never breaks another's (`storepulse dev` and the
    # embedded stack set both; a service that needs one refuses to start without it):
    # Fernet key for access tokens at rest, comma-separated during a rotation (the first encrypts).
    token_key: SecretStr = SecretStr("")
    # Keys public notification ids. Never rotated: a redaction finds a notification by its id.
    notification_id_key: SecretStr = SecretStr("")

    # Connections per process; requests past it wait up to the pool timeout.
    redis_max_connections: int = 64
    redis_pool_timeout: float = 5.0

    host: str = "127.0.0.1"
    # Peers whose X-Forwarded-For ingest and push believe (addresses or networks, comma-separated):
    # the reverse proxy only, never "*", or any client could pick the address its limits count.
    forwarded_allow_ips: str = "127.0.0.1"
    worker_port: int = 8002
    # Where other workers reach this one's web server (Faust's canonical URL, to which a lookup
    # for a customer this worker owns is forwarded); empty: http://{host}:{worker_port}, with
    # the machine's host name when `host` is a wildcard address, so each container names itself.
    worker_url: str = ""
    # Where ingest's merchant app reaches a worker's admin API (any worker answers for any shop);
    # empty: http://{host}:{worker_port}.
    admin_api_url: str = ""
    # Customers the merchant app's in-memory indexes hold in one ingest process, all shops together.
    admin_index_max_rows: int = 1_000_000
    # How long the audit log keeps an entry (the read model, and the audit topic when created).
    audit_retention_days: int = Field(365, ge=1)
    # Idempotent producers need InitProducerId, which the embedded Tansu broker rejects;
    # the dev launcher turns this off, production Kafka keeps it on.
    kafka_idempotent: bool = True
    kafka_partitions: int = 8
    produce_timeout: float = 4.0
    webhook_max_bytes: int = 1024 * 1024
    # Seconds ingest and push trust a cached "installed or not" answer for a shop.
    shop_cache_s: float = 2.0
    oauth_state_ttl_s: int = 600
    # Shopify signs the install request and the OAuth callback with their `timestamp`: older than
    # this, a signed request is a replay. Install requests per client IP and process (`limits`).
    oauth_max_age_s: int = 300
    install_rate_per_ip: str = "10/minute"

    app_id: str = "storepulse"
    # Tansu holds a group join for half the session timeout (docs/architecture.md): 6 s joins in ~4 s.
    broker_session_timeout: float = 6.0
    broker_heartbeat_interval: float = 1.0
    consumer_fetch_wait_ms: int = 100
    broker_commit_interval: float = 0.5
    worker_datadir: str = ""
    # Where the partitioned tables live (streams/runtime/stores.py): rocksdb in production.
    worker_store: Literal["memory", "rocksdb"] = "memory"

    recent_maxlen: int = 100
    notification_ttl_s: int = 7 * 24 * 3600
    sse_ping_s: float = 15.0
    sse_initial_backlog: int = 3
    # Push server limits (429 past them) and slow-client policy.
    push_max_connections: int = 20_000
    push_max_per_ip: int = 50
    push_client_buffer: int = 64  # frames a client may fall behind before it is disconnected
    push_retry_ms: int = 2_000  # the SSE `retry:` a draining server asks clients to wait
    # Where browsers reach ingest (the widget's beacons); empty: http://{host}:{ingest_port}.
    public_ingest_url: str = ""
    # Where browsers reach push (the merchant app's live feed and widget preview); empty:
    # http://{host}:{push_port}.
    public_push_url: str = ""
    # Widget beacons (ingest POST /beacons), `limits` notation.
    beacon_rate_per_ip: str = "120/minute"
    beacon_rate_per_shop: str = "20000/minute"
    # The events API (ingest POST /api/events), per key, counted in Redis across ingest processes.
    events_rate_per_key: str = "600/minute"

    # Log VIP tag changes instead of writing them to Shopify (every shop).
    writeback_dry_run: bool = False
    writeback_attempts: int = 6
    # `storepulse backfill`: a shop with more orders than this is read with one bulk operation
    # (one JSONL file) instead of pages of 100; its status is polled after `backfill_poll_s`,
    # then ever less often (up to 30 times that).
    backfill_bulk_threshold: int = 10_000
    backfill_poll_s: float = 1.0
    # The scheduled sync (ingest/sync_runs.py): each shop's orders updated since its last sync are
    # read every `sync_interval` (jittered per shop by up to a quarter of it); every worker looks
    # for due or requested syncs every `sync_tick_s` and runs at most `sync_concurrency` at once.
    sync_interval: float = Field(6 * 3600.0, gt=0)
    sync_tick_s: float = Field(5.0, gt=0)
    sync_concurrency: int = Field(2, ge=1)
    # Seconds the running sync's lease lasts unrenewed: how soon another worker resumes a crashed run.
    sync_lease_s: float = Field(30.0, gt=0)
    # Each incremental sync re-reads this much before the last one started (clock skew, late writes).
    sync_overlap_s: float = Field(300.0, ge=0)
    # How often a shop's customers are reconciled with Shopify's figures (ingest/sync_reconcile.py).
    sync_reconcile_interval: float = Field(7 * 86400.0, gt=0)
    # How often a shop's products are refreshed from Shopify (ingest/sync_catalog.py).
    sync_catalog_interval: float = Field(86400.0, gt=0)
    # How often each worker looks for customers whose standing time alone moved (VIP dropoff).
    customer_refresh_s: float = 600.0
    # Where a new consumer group starts: "earliest" (every record kept) or "latest".
    consumer_auto_offset_reset: str = "earliest"

    simulator: bool = True
    # Development only (`storepulse dev` sets it): a shop's first signed webhook installs it,
    # so any *.myshopify.com shop works on the embedded stack without an OAuth install
    # (push then streams for any shop, since a page may connect before the first webhook).
    dev_auto_install: bool = False
    demo_shop: str = "demo-store.myshopify.com"

    @property
    def notification_key(self) -> bytes:
        """STOREPULSE_NOTIFICATION_ID_KEY; MissingSecret when unset or short."""
        key = self.notification_id_key.get_secret_value().encode()
        if len(key) < MIN_NOTIFICATION_KEY_BYTES:
            raise MissingSecret(
                f"STOREPULSE_NOTIFICATION_ID_KEY must be set to at least {MIN_NOTIFICATION_KEY_BYTES} "
                "characters: it keys public notification ids and must never change. Generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return key

    @property
    def api_secrets(self) -> list[bytes]:
        """Every secret currently accepted (comma-separated for rotation)."""
        raw = self.shopify_api_secret.get_secret_value()
        return [s.strip().encode() for s in raw.split(",") if s.strip()]

    @property
    def worker_api_url(self) -> str:
        return self.admin_api_url or f"http://{self.host}:{self.worker_port}"

    @property
    def push_url(self) -> str:
        return (self.public_push_url or f"http://{self.host}:{self.push_port}").rstrip("/")

    def admin_base_url(self, shop: str) -> str:
        """The shop's Admin API origin, e.g. `https://x.myshopify.com`."""
        return self.shopify_admin_base_url.replace("{shop}", shop).rstrip("/")

    @property
    def kafka_bootstrap(self) -> str:
        """`host:port[,host:port]` for aiokafka, from `kafka://…` or plain form."""
        return ",".join(part.strip().removeprefix("kafka://") for part in self.kafka_url.split(","))

    @property
    def faust_broker(self) -> str:
        return ";".join(f"kafka://{hp}" for hp in self.kafka_bootstrap.split(","))


# Fields whose defaults suit only a developer's machine: a deployment sets each of them for
# every service that reads it (tests/unit/test_deployment.py holds docker-compose.yml to that).
SET_BY_DEPLOYMENT = frozenset(
    {
        "kafka_url",
        "redis_url",
        "shopify_api_secret",
        "shopify_api_key",
        "public_url",
        "webhooks_from_config",
        "public_ingest_url",
        "admin_token",
        "token_key",
        "host",
        "forwarded_allow_ips",
        "kafka_partitions",
    }
)


@lru_cache
def get_settings() -> Settings:
    return Settings()
