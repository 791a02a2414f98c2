"""Every Redis key and channel StorePulse uses, in one place (arq keeps its prefixes the same way).

Per-shop keys are listed in `SHOP_KEYS` / `SHOP_KEY_PATTERNS`, which shop/redact enumerates to
delete a shop: a new per-shop key added here without being listed there is caught by a test.
"""

from __future__ import annotations

from collections.abc import Callable

# The set of every shop that has a registry record.
SHOPS = "shops"
# Stream of audit entries the audit topic refused while Kafka was unreachable (admin/audit_outbox.py);
# not per shop: an entry waits there seconds, a shop/redact comes 48 hours after the uninstall.
AUDIT_OUTBOX = "audit-outbox"
NOTIFICATION_CHANNEL_PREFIX = "notifications:"
# Prefix of the `limits` package's rate-limit counters (ingest's beacon limits); each expires
# within its window, so none outlives a shop.
RATE_LIMIT_PREFIX = "storepulse:limits"


def shop_record(shop: str) -> str:
    """Hash: the shop registry record (status, encrypted access token, scopes)."""
    return f"shop:{shop}"


def notification_channel(shop: str) -> str:
    """Pub/sub channel of the shop's live notifications (JSON, with `event_id` spliced in)."""
    return f"{NOTIFICATION_CHANNEL_PREFIX}{shop}"


def recent_stream(shop: str) -> str:
    """Stream (MAXLEN ~) of the shop's notifications; its entry ids are the SSE event ids."""
    return f"recent:{shop}"


def notified(shop: str, notification_id: str) -> str:
    """Marker (SET NX, with a TTL) that makes publishing a notification idempotent."""
    return f"notified:{shop}:{notification_id}"


def vips(shop: str) -> str:
    """Hash customer id → JSON read model of each customer holding a tier."""
    return f"vips:{shop}"


def segments(shop: str) -> str:
    """Hash customer id → RFM segment name."""
    return f"segments:{shop}"


def customers(shop: str) -> str:
    """Hash customer id → JSON list row of every customer (metrics, tier, segment, dates)."""
    return f"customers:{shop}"


def customer_versions(shop: str) -> str:
    """Sorted set customer id → the shop-wide sequence number of the last change to its row
    (kept for removed rows too), so a reader learns what changed since it last looked."""
    return f"customer-versions:{shop}"


def customer_history(shop: str, customer_id: str) -> str:
    """List (newest first, capped) of the customer's tier changes as sent to `customer.changes`."""
    return f"customer-history:{shop}:{customer_id}"


def customer_tags(shop: str) -> str:
    """Hash customer id → JSON list of the tier tags StorePulse wrote to the Shopify customer."""
    return f"customer-tags:{shop}"


def customer_walk(shop: str, walk: str) -> str:
    """String (short TTL): one customer-list walk's frozen order, packed customer ids."""
    return f"customer-walk:{shop}:{walk}"


def notification_days(shop: str) -> str:
    """Hash UTC day (`YYYY-MM-DD`) → notifications first published that day."""
    return f"notification-days:{shop}"


def order_day(shop: str, day: str) -> str:
    """Hash (expires): the UTC day's `orders` and `net` (thousandths of the shop currency) of the
    shop's customers' orders placed that day, and each such order's share `o:{id}`."""
    return f"order-day:{shop}:{day}"


def event_keys(shop: str) -> str:
    """Hash key id → JSON {name, digest, created_at} of the shop's events-API keys (the key
    itself is never stored: `digest` is its SHA-256)."""
    return f"event-keys:{shop}"


def event_key_owner(digest: str) -> str:
    """String: `{shop} {key id}` of the events-API key with this SHA-256, for ingest's lookup."""
    return f"event-key:{digest}"


EVENTS_RATE_PREFIX = "events-rate"  # the `limits` counters of each events-API key


def widget_seen(shop: str) -> str:
    """String (expires): epoch seconds of the last page view the shop's storefront widget sent,
    which tells the merchant's app that the app embed is on."""
    return f"widget-seen:{shop}"


def analytics(shop: str) -> str:
    """Hash: the shop's analytics counters as JSON, `d:{day}` per day (the shop's time zone) and
    `x:{experiment id}` per experiment; each field rewritten whole by streams."""
    return f"analytics:{shop}"


def metrics_channel(shop: str) -> str:
    """Pub/sub channel: the analytics counters streams just rewrote, so an open dashboard moves."""
    return f"metrics:{shop}"


def beacon_seen(shop: str, beacon_id: str) -> str:
    """Marker (SET NX, expires): ingest took the beacon with this id; a resent copy is dropped."""
    return f"beacon-seen:{shop}:{beacon_id}"


def viewer_addresses(shop: str, product_id: str, address: str) -> str:
    """Set (expires): the visitor ids one client address reported viewing a product lately; it
    holds at most `MAX_VIEWERS_PER_ADDRESS`, so one address cannot inflate "N viewing now"."""
    return f"viewers-of:{shop}:{product_id}:{address}"


def sold(shop: str, product_id: str) -> str:
    """Sorted set (expires): the product's orders of the last 24 hours, each by the keyed digest the
    trends table counts it by, scored by when it was placed; push's sold counter counts it."""
    return f"sold:{shop}:{product_id}"


def visitor_addresses(shop: str, address: str) -> str:
    """Set (expires): the visitor ids one client address reported on the shop's pages lately; it
    holds at most `MAX_VIEWERS_PER_ADDRESS`, so one address cannot inflate "N shoppers now"."""
    return f"visitors-of:{shop}:{address}"


def data_requests(shop: str) -> str:
    """Hash `{customer_id}:{request id}` → what was held when customers/data_request arrived."""
    return f"data-requests:{shop}"


def backfill_state(shop: str) -> str:
    """Hash: the shop's backfill cursor and bulk operation id, so a rerun resumes."""
    return f"backfill:{shop}"


def backfill_run(shop: str) -> str:
    """Hash: the shop's last backfill started from the app (state, times, done/total, error)."""
    return f"backfill-run:{shop}"


def backfill_lease(shop: str) -> str:
    """String with a TTL the running backfill keeps renewing: at most one runs per shop."""
    return f"backfill-lease:{shop}"


def sync_checkpoint(shop: str) -> str:
    """Hash: the running sync's id, jobs, `since` and page cursor, so a crashed run resumes."""
    return f"sync:{shop}"


def sync_status(shop: str) -> str:
    """Hash job (`orders`, `subscriptions`, `run`) → JSON of its last run, what the app shows."""
    return f"sync-status:{shop}"


def sync_lease(shop: str) -> str:
    """String with a TTL the running sync keeps renewing: at most one sync per shop, all workers."""
    return f"sync-lease:{shop}"


def sync_applied(shop: str, run_id: str) -> str:
    """Set (expires): the ids of the orders sync run `run_id` changed a customer with, once each."""
    return f"sync-applied:{shop}:{run_id}"


def sync_request(shop: str) -> str:
    """String (`incremental` or `full`): a sync the merchant or an operator asked for, not yet started."""
    return f"sync-request:{shop}"


def tier_floors(shop: str) -> str:
    """Hash customer id → JSON tier floor `{tier, until, source, set_at}` of each customer holding one."""
    return f"tier-floors:{shop}"


def imports(shop: str) -> str:
    """Sorted set import id → epoch ms it was created: the shop's import log, by time."""
    return f"imports:{shop}"


def import_run(shop: str, import_id: str) -> str:
    """Hash: one import's record (status, source, mapping, row counts, times, who started it)."""
    return f"import-run:{shop}:{import_id}"


def import_rejects(shop: str, import_id: str) -> str:
    """List of JSON `{row, reason, detail}`: one import's rejected rows, in file order."""
    return f"import-rejects:{shop}:{import_id}"


def audit_log(shop: str) -> str:
    """Sorted set (one score, by member): `{entry id}\t{AuditEntry JSON}`, oldest first."""
    return f"audit:{shop}"


def staff(shop: str) -> str:
    """Hash staff user id (a session token's `sub`) → JSON profile: name, account owner, seen."""
    return f"staff:{shop}"


def staff_roles(shop: str) -> str:
    """Hash `user:{id}` → the role the owner gave that person, and `default` → staff's default."""
    return f"staff-roles:{shop}"


def oauth_state(state: str) -> str:
    """The shop an install's OAuth `state` nonce was issued for (short TTL)."""
    return f"oauth:state:{state}"


def dlq_replays(topic: str) -> str:
    """Hash `{partition}:{offset}` → what `storepulse dlq replay` did with that dead letter of `topic`."""
    return f"dlq-replays:{topic}"


def push_heartbeat(process: str) -> str:
    """Pub/sub channel on which one push process proves its own subscription is alive."""
    return f"storepulse:push-heartbeat:{process}"


# Every key that belongs to one shop: shop/redact deletes exactly these.
SHOP_KEYS: tuple[Callable[[str], str], ...] = (
    shop_record,
    recent_stream,
    vips,
    segments,
    customers,
    customer_versions,
    customer_tags,
    notification_days,
    widget_seen,
    event_keys,
    data_requests,
    backfill_state,
    backfill_run,
    backfill_lease,
    sync_checkpoint,
    sync_status,
    sync_lease,
    sync_request,
    audit_log,
    staff,
    staff_roles,
    tier_floors,
    imports,
    analytics,
)


def notified_markers(shop: str) -> str:
    """The SCAN pattern of the shop's `notified` markers (shop domains hold no glob characters)."""
    return notified(shop, "*")


def customer_histories(shop: str) -> str:
    """The SCAN pattern of the shop's `customer-history` lists."""
    return customer_history(shop, "*")


def customer_walks(shop: str) -> str:
    """The SCAN pattern of the shop's `customer-walk` snapshots."""
    return customer_walk(shop, "*")


def order_days(shop: str) -> str:
    """The SCAN pattern of the shop's `order-day` hashes."""
    return order_day(shop, "*")


def sync_applied_sets(shop: str) -> str:
    """The SCAN pattern of the shop's `sync-applied` sets."""
    return sync_applied(shop, "*")


def beacons_seen(shop: str) -> str:
    """The SCAN pattern of the shop's `beacon-seen` markers."""
    return beacon_seen(shop, "*")


def viewers_of(shop: str) -> str:
    """The SCAN pattern of the shop's `viewers-of` sets."""
    return viewer_addresses(shop, "*", "*")


def visitors_of(shop: str) -> str:
    """The SCAN pattern of the shop's `visitors-of` sets."""
    return visitor_addresses(shop, "*")


def sold_counts(shop: str) -> str:
    """The SCAN pattern of the shop's `sold` sets."""
    return sold(shop, "*")


def beacon_shop_limits(shop: str) -> str:
    """The SCAN pattern of the shop's beacon rate-limit counters (the `limits` package names them
    `{RATE_LIMIT_PREFIX}:{LIMITER/beacon-shop/{shop}/…}`; ingest/beacons.py)."""
    return f"{RATE_LIMIT_PREFIX}:*/beacon-shop/{shop}/*"


# Families of per-shop keys, one key per item, found with SCAN.
SHOP_KEY_PATTERNS: tuple[Callable[[str], str], ...] = (
    notified_markers,
    customer_histories,
    customer_walks,
    order_days,
    sync_applied_sets,
    beacons_seen,
    viewers_of,
    visitors_of,
    sold_counts,
    beacon_shop_limits,
)
