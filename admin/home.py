"""What the Home page shows besides the overview figures: the app embed's state, the sync's and
the backfill's progress in words, the last notifications the storefront showed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis.asyncio as redis

from admin.formatting import ago
from storepulse import redis_keys
from storepulse.redis_client import StreamEntries

# The theme app extension's embed block (extensions/storepulse-embed/blocks/app-embed.liquid).
EMBED_HANDLE = "app-embed"
# A page view from the widget within this long means the embed is on.
EMBED_LIVE_S = 24 * 3600
RECENT = 8

# Backfill state → (badge label, badge tone).
BACKFILL_LABELS: dict[str, tuple[str, str]] = {
    "never": ("Not imported", ""),
    "running": ("Importing", "info"),
    "done": ("Imported", "success"),
    "failed": ("Failed", "critical"),
    "interrupted": ("Interrupted", "warning"),
}


@dataclass(frozen=True)
class Embed:
    active: bool
    last_seen: int | None  # epoch seconds of the widget's last page view
    link: str  # the theme editor, with the embed ready to switch on


def theme_editor_link(shop: str, api_key: str) -> str:
    return f"https://{shop}/admin/themes/current/editor?context=apps&activateAppId={api_key}/{EMBED_HANDLE}"


async def embed_state(client: redis.Redis, shop: str, api_key: str, now: float | None = None) -> Embed:
    raw = await client.get(redis_keys.widget_seen(shop))
    seen = int(raw) if raw else None
    active = seen is not None and (now or time.time()) - seen < EMBED_LIVE_S
    return Embed(active, seen, theme_editor_link(shop, api_key))


async def recent_notifications(client: redis.Redis, shop: str, count: int = RECENT) -> list[dict[str, Any]]:
    """The newest notifications of the shop's stream (what push replays), newest first."""
    entries = cast(StreamEntries, await client.xrevrange(redis_keys.recent_stream(shop), count=count))
    return [orjson.loads(fields[b"n"]) for _, fields in entries if b"n" in fields]


SYNC_LABELS: dict[str, tuple[str, str]] = {
    "never": ("Not synced yet", ""),
    "queued": ("Queued", "info"),
    "running": ("Syncing", "info"),
    "done": ("In step", "success"),
    "failed": ("Failed", "critical"),
    "interrupted": ("Resuming", "warning"),
}


def sync_view(sync: dict[str, Any]) -> dict[str, Any]:
    """The sync card: badge, the last run in a sentence, what it repaired, the last reconciliation
    and catalog refresh, and the next run."""
    state = sync.get("state") or "never"
    label, tone = SYNC_LABELS.get(state, (state.capitalize(), ""))
    last, success = sync.get("last_run") or {}, sync.get("last_success") or {}
    if state == "failed":
        text = f"The last sync stopped: {last.get('error') or 'unknown error'}. It resumes at the next run."
    elif state in ("running", "interrupted"):
        text = f"{last.get('orders_fetched', 0):,} orders read from Shopify so far."
    elif success:
        text = f"{success['orders_fetched']:,} orders read from Shopify; missed ones were applied once."
    else:
        text = "StorePulse re-reads recent orders from Shopify regularly, so a lost webhook changes nothing."
    repaired = success.get("subscriptions_repaired") or []
    checked = sync.get("last_reconciliation")
    drift = None
    if checked:
        found = (
            f"{checked['found']:,} differed ({checked['repaired']:,} repaired, "
            f"{checked['unexplained']:,} unexplained)"
            if checked["found"]
            else "all in step"
        )
        drift = (
            f"Weekly check {ago(checked['started_at'])}: {checked['customers']:,} customers compared, {found}"
        )
    refreshed = sync.get("last_catalog_refresh")
    catalog = (
        f"Daily product check {ago(refreshed['started_at'])}: {refreshed['refreshed']:,} products "
        f"read, {refreshed['deleted']:,} deleted in Shopify and no longer announced"
        if refreshed
        else None
    )
    return {
        "catalog": catalog,
        "drift": drift,
        "state": state,
        "label": label,
        "tone": tone,
        "text": text,
        "last_at": success.get("started_at"),
        "next_at": sync.get("next_run"),
        "repaired": f"{len(repaired)} webhook subscription{'s' if len(repaired) != 1 else ''} re-created"
        if repaired
        else None,
    }


def backfill_view(run: dict[str, Any]) -> dict[str, Any]:
    """The backfill card: badge, progress and a sentence."""
    state = run.get("state") or "never"
    label, tone = BACKFILL_LABELS.get(state, (state.capitalize(), ""))
    done, total = run.get("done") or 0, run.get("total")
    percent = 100 if state == "done" else round(100 * done / total) if total else 0
    if state == "never":
        text = "Import past orders so customers, VIPs and segments include your shop's history."
    elif state == "failed":
        text = f"The import stopped: {run.get('error') or 'unknown error'}. Start it again to resume."
    elif state == "done":
        text = f"All {total:,} past orders imported." if total else "Shopify had no past orders to import."
    elif total is None:
        text = "Counting orders…" if state == "running" else "Started, no orders counted yet."
    else:
        text = f"{done:,} of {total:,} orders imported."
    return {"state": state, "label": label, "tone": tone, "percent": min(percent, 100), "text": text}
