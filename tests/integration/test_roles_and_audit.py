"""Staff roles on every write route, and the audit log of who changed what, through the app's API
against the real worker (its audit-log agent), broker and Redis; Shopify is the fake, whose
online token exchange names two staff users: the account owner and a member of staff."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from storepulse.devstack import free_port
from storepulse.shops import ShopRegistry
from tests.fake_shopify import FakeShopify
from tests.fake_shopify.server import OWNER, STAFF
from tests.support.eventually import eventually
from tests.support.ingest import in_process_ingest
from tests.support.merchant_app import StaffMember, app_settings
from tests.support.stack import Services, new_shop_domain

# Every route of the app's API that changes something, with a request it accepts.
WRITE_ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("PUT", "settings", {"json": {"min_order_value": "5.00"}}),
    ("POST", "backfill", {}),
    (
        "POST",
        "imports",
        {"files": {"file": ("m.csv", b"customer_id,tier\n", "text/csv")}, "data": {"dry_run": "1"}},
    ),
    ("DELETE", "customers/1/tier-floor", {}),
    ("PUT", "roles", {"json": {"default_role": "editor"}}),
]
OWNERS_ONLY = "only the shop's owner may change roles (your role: {})"
VIEWERS = "viewers may look but not change anything"
# What each role gets from each: (status, words of the reason when refused).
EXPECTED = {
    "owner": [(200, ""), (202, ""), (202, ""), (202, ""), (200, "")],
    "editor": [(200, ""), (202, ""), (202, ""), (202, ""), (403, OWNERS_ONLY.format("editor"))],
    "viewer": [(403, VIEWERS)] * 4 + [(403, OWNERS_ONLY.format("viewer"))],
}


@pytest.fixture
async def staff(
    app: httpx.AsyncClient, fake: FakeShopify, registry: ShopRegistry
) -> tuple[StaffMember, StaffMember]:
    """(the account owner, a member of staff) of a new, installed shop."""
    shop = new_shop_domain()
    fake.tokens[shop] = f"shpat_{shop.split('.')[0]}"
    await registry.install(shop, fake.tokens[shop], "read_orders")
    return StaffMember(app, fake, shop, OWNER), StaffMember(app, fake, shop, STAFF)


async def log_of(member: StaffMember, count: int, **params: Any) -> list[dict[str, Any]]:
    """The shop's audit log once the worker has `count` entries in it (newest first)."""

    async def read() -> list[dict[str, Any]] | None:
        entries = (await member.json("audit", **params))["entries"]
        return entries if len(entries) >= count else None

    return await eventually(read, timeout=20)


def without_times(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k not in ("id", "at")} for e in entries]


async def test_the_owner_is_known_from_shopify_and_staff_default_to_editor(
    staff: tuple[StaffMember, StaffMember],
) -> None:
    owner, member = staff
    assert (await owner.json("roles"))["me"] == {
        "user_id": OWNER,
        "name": "Ada Owner",
        "role": "owner",
        "account_owner": True,
    }
    assert (await member.json("roles")) == {
        "me": {"user_id": STAFF, "name": "Ben Staff", "role": "editor", "account_owner": False}
    }
    listed = await owner.json("roles")
    assert listed["default_role"] == "editor"
    assert [(p["user_id"], p["role"], p["explicit_role"]) for p in listed["staff"]] == [
        (OWNER, "owner", None),
        (STAFF, "editor", None),
    ]


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
async def test_each_role_against_each_write_route(staff: tuple[StaffMember, StaffMember], role: str) -> None:
    owner, member = staff
    if role != "owner":
        await member.json("roles")  # the app meets them first
        given = await owner.call("PUT", "roles", json={"staff": {STAFF: role}})
        assert given.status_code == 200, given.text
    caller = owner if role == "owner" else member
    for (method, path, request), (status, reason) in zip(WRITE_ROUTES, EXPECTED[role], strict=True):
        answer = await caller.call(method, path, **request)
        assert answer.status_code == status, (method, path, answer.text)
        if status == 403:
            assert reason in answer.json()["error"]
    # Reading stays open to every role.
    for path in ("settings", "backfill", "audit", "roles", "overview", "imports"):
        assert (await caller.call("GET", path)).status_code == 200, path
    if role == "viewer":
        assert (await owner.json("settings"))["min_order_value"] == "0"  # nothing changed


async def test_three_changes_by_two_staff_users_read_back_exactly(
    staff: tuple[StaffMember, StaffMember],
) -> None:
    owner, member = staff
    saved = await owner.call("PUT", "settings", json={"min_order_value": "25.00", "languages": ["en", "ja"]})
    assert saved.status_code == 200, saved.text
    await log_of(owner, 1)  # one at a time: the log's order is the order they happened in
    tiers = [{"name": "VIP", "tag": "VIP", "min_orders": 5, "min_spent": "0"}]
    assert (await member.call("PUT", "settings", json={"tiers": tiers})).status_code == 200
    await log_of(owner, 2)
    assert (await owner.call("PUT", "roles", json={"staff": {STAFF: "viewer"}})).status_code == 200

    entries = await log_of(owner, 3)
    assert without_times(entries) == [
        {
            "shop": owner.shop,
            "action": "role.changed",
            "user_id": OWNER,
            "user_name": "Ada Owner",
            "changes": [{"field": f"staff.{STAFF}", "before": None, "after": "viewer"}],
            "details": {"user_id": STAFF},
        },
        {
            "shop": owner.shop,
            "action": "vip_program.changed",
            "user_id": STAFF,
            "user_name": "Ben Staff",
            "changes": [{"field": "tiers.0.min_orders", "before": 3, "after": 5}],
            "details": {},
        },
        {
            "shop": owner.shop,
            "action": "settings.saved",
            "user_id": OWNER,
            "user_name": "Ada Owner",
            "changes": [
                {"field": "languages", "before": ["en"], "after": ["en", "ja"]},
                {"field": "min_order_value", "before": "0", "after": "25.00"},
            ],
            "details": {},
        },
    ]
    times = [datetime.fromisoformat(e["at"]) for e in entries]
    assert times == sorted(times, reverse=True)

    # One page at a time, and one action only.
    first = await owner.json("audit", limit=2)
    rest = await owner.json("audit", limit=2, cursor=first["next"])
    assert [e["id"] for e in first["entries"] + rest["entries"]] == [e["id"] for e in entries]
    assert rest["next"] is None
    only = await owner.json("audit", action="settings.saved")
    assert [e["id"] for e in only["entries"]] == [entries[2]["id"]]
    # The viewer still reads the log, and exports it.
    export = await member.call("GET", "audit.csv")
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["action"], r["user_name"]) for r in rows] == [
        ("role.changed", "Ada Owner"),
        ("vip_program.changed", "Ben Staff"),
        ("settings.saved", "Ada Owner"),
    ]


async def test_a_backfill_start_and_a_default_role_change_are_recorded(
    staff: tuple[StaffMember, StaffMember],
) -> None:
    owner, member = staff
    assert (await member.call("POST", "backfill")).status_code == 202
    assert (await owner.call("PUT", "roles", json={"default_role": "viewer"})).status_code == 200
    entries = await log_of(owner, 2)
    assert [(e["action"], e["user_id"]) for e in entries] == [
        ("default_role.changed", OWNER),
        ("backfill.started", STAFF),
    ]
    assert entries[0]["changes"] == [{"field": "default_role", "before": "editor", "after": "viewer"}]
    # The new default applies to staff without a role of their own, and never to the owner.
    assert (await member.json("roles"))["me"]["role"] == "viewer"
    assert (await owner.json("roles"))["me"]["role"] == "owner"


async def test_bad_audit_parameters_are_refused_naming_them(staff: tuple[StaffMember, StaffMember]) -> None:
    owner, _ = staff
    refused = (({"limit": 0}, "limit"), ({"action": "nope"}, "action"), ({"cursor": "x"}, "cursor"))
    for params, named in refused:
        answer = await owner.call("GET", "audit", params=params)
        assert answer.status_code == 422 and named in answer.json()["errors"]


async def test_pages_offer_only_what_the_role_may_do(staff: tuple[StaffMember, StaffMember]) -> None:
    owner, member = staff
    await member.json("roles")  # the app meets them first
    assert (await owner.call("PUT", "roles", json={"staff": {STAFF: "viewer"}})).status_code == 200

    async def page(who: StaffMember, path: str) -> str:
        token = who.fake.session_token(who.shop, user=who.user)
        answer = await who.app.get(f"/app{path}", params={"id_token": token})
        assert answer.status_code == 200, answer.text
        return answer.text

    save = re.compile(r'<button class="button primary" type="submit"[^>]*>Save</button>')
    for path in ("/languages", "/notifications", "/vip"):
        assert save.search(await page(owner, path)), path
        assert not save.search(viewed := await page(member, path)), path
        assert "Your role (viewer)" in viewed
    assert "data-backfill-start" in await page(owner, "/") and "data-backfill-start" not in await page(
        member, "/"
    )
    assert 'id="staff-table"' in await page(owner, "/roles")
    assert "Only the shop's owner gives roles" in await page(member, "/roles")


async def test_a_change_made_while_kafka_is_out_is_done_and_its_entry_follows_once_it_is_back(
    services: Services, fake: FakeShopify, staff: tuple[StaffMember, StaffMember]
) -> None:
    owner, _ = staff
    # An ingest process whose broker is gone; the worker that keeps the settings is not.
    out = app_settings(services, fake, kafka_url=f"kafka://127.0.0.1:{free_port()}", produce_timeout=1.0)
    async with in_process_ingest(out) as cut_off:
        saved = await StaffMember(cut_off, fake, owner.shop, OWNER).call(
            "PUT", "settings", json={"min_order_value": "7.50"}
        )
        assert saved.status_code == 200, saved.text  # the change is made: not reported as failed
    assert (await owner.json("settings"))["min_order_value"] == "7.50"
    # Only the outbox can bring it to the log: a process that reaches the broker (the `app`
    # fixture's) sends the held entry on.
    [entry] = await log_of(owner, 1)
    assert (entry["action"], entry["user_id"], entry["changes"]) == (
        "settings.saved",
        OWNER,
        [{"field": "min_order_value", "before": "0", "after": "7.50"}],
    )
