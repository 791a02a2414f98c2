"""Orders → VIP tier → tag on the Shopify customer, through a worker pointed at the fake Shopify."""

import os
import subprocess
from collections.abc import Iterator

import orjson
import pytest
import redis.asyncio as redis
from cryptography.fernet import Fernet

from loadtests.payloads import CATALOG, next_id, order
from shopify.topics import ORDERS_CREATE
from storepulse import redis_keys
from storepulse.devstack import Child, Stack, service_argv, wait_ready
from storepulse.kafka_topics import TOPIC_CUSTOMER_CHANGES_DLQ
from storepulse.shops import ShopRegistry, token_cipher
from tests.fake_shopify import FakeShopify, running_fake_shopify
from tests.fake_shopify.customers import add_customer, install, tags_of
from tests.support.eventually import eventually
from tests.support.kafka import consume, produce_webhooks
from tests.support.stack import new_shop_domain, worker_env
from tests.support.state import vips


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeShopify]:
    # A small bucket (3 tag writes) so the worker has to pace itself.
    with running_fake_shopify(install(FakeShopify(max_points=30, restore_rate=20))) as fake:
        yield fake


@pytest.fixture(scope="module")
def worker(stack: Stack, fake: FakeShopify) -> Iterator[Child]:
    env = {
        **worker_env(),
        "SHOPIFY_ADMIN_BASE_URL": fake.base_url_template(),
        "STOREPULSE_WRITEBACK_DRY_RUN": "false",
        # Only this module's changes: earlier tests' shops left a backlog of tier changes.
        "STOREPULSE_CONSUMER_AUTO_OFFSET_RESET": "latest",
    }
    child = stack.start_service("worker", extra_env=env, name="worker-writeback")
    wait_ready(child.port, 60, child)
    yield child
    child.stop()


async def test_new_vips_are_tagged_on_shopify_within_the_cost_limit(
    stack: Stack,
    fake: FakeShopify,
    worker: Child,
    registry: ShopRegistry,
    redis_client: redis.Redis,
    shop: str,
) -> None:
    fake.tokens[shop] = "shpat_writeback"
    await registry.install(shop, "shpat_writeback")
    customers = [next_id() for _ in range(8)]
    for c in customers:
        add_customer(fake, shop, c, tags=["newsletter"])
    await produce_webhooks(
        stack,
        [
            (ORDERS_CREATE, shop, order(customer_id=c, product=CATALOG[0]))
            for c in customers
            for _ in range(3)
        ],
    )

    async def all_tagged() -> bool:
        return all(tags_of(fake, shop, c) == ["newsletter", "VIP"] for c in customers)

    await eventually(all_tagged, timeout=60)
    writes = [call for call in fake.calls if call.shop == shop and call.field == "tagsAdd"]
    assert {call.arguments["id"] for call in writes if not call.throttled} == {
        f"gid://shopify/Customer/{c}" for c in customers
    }

    # What StorePulse wrote, as the merchant's app shows it: its own tag, not the merchant's.
    async def recorded() -> bool:
        written = await redis_client.hgetall(redis_keys.customer_tags(shop))
        expected = {str(c): ["VIP"] for c in customers}
        return {k.decode(): orjson.loads(v) for k, v in written.items()} == expected

    await eventually(recorded)


async def test_an_uninstalled_shop_sends_its_changes_to_the_dead_letter_topic(
    stack: Stack, worker: Child, registry: ShopRegistry, shop: str
) -> None:
    await registry.mark_uninstalled(shop)  # its token died with the uninstall
    c = next_id()
    await produce_webhooks(
        stack, [(ORDERS_CREATE, shop, order(customer_id=c, product=CATALOG[0])) for _ in range(3)]
    )
    dead = await consume(
        stack, TOPIC_CUSTOMER_CHANGES_DLQ, key_prefix=f"{shop}/".encode(), count=1, timeout=30
    )
    assert dead  # at-least-once: a re-delivered change may be dead-lettered twice, never differently
    assert all(d["customer_id"] == str(c) and d["tags_add"] == ["VIP"] for d in dead)
    assert all("no access token" in d["reason"] for d in dead)


async def test_a_token_the_worker_cannot_decrypt_is_dead_lettered_saying_so(
    stack: Stack, worker: Child, redis_client: redis.Redis, shop: str
) -> None:
    under_another_key = token_cipher(stack.settings(token_key=Fernet.generate_key().decode()))
    await ShopRegistry(redis_client, under_another_key).install(shop, "shpat_under_another_key")
    c = next_id()
    orders = [(ORDERS_CREATE, shop, order(customer_id=c, product=CATALOG[0])) for _ in range(3)]
    await produce_webhooks(stack, orders)
    dead = await consume(
        stack, TOPIC_CUSTOMER_CHANGES_DLQ, key_prefix=f"{shop}/".encode(), count=1, timeout=30
    )
    assert dead and all(d["customer_id"] == str(c) for d in dead)
    assert all("cannot be decrypted with STOREPULSE_TOKEN_KEY" in d["reason"] for d in dead)


def dlq(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """`storepulse dlq …` as an operator runs it, against the stack's broker and Redis."""
    env = {"KAFKA_URL": stack.env["KAFKA_URL"], "REDIS_URL": stack.env["REDIS_URL"]}
    done = subprocess.run(
        service_argv("dlq", *args), env={**os.environ, **env}, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


async def test_dead_letters_are_listed_then_replayed_once_the_shop_can_be_written_to(
    stack: Stack,
    fake: FakeShopify,
    worker: Child,
    registry: ShopRegistry,
    redis_client: redis.Redis,
    shop: str,
) -> None:
    await registry.mark_uninstalled(shop)  # no token: every tag write fails
    c = next_id()
    add_customer(fake, shop, c, tags=["newsletter"])
    await produce_webhooks(
        stack, [(ORDERS_CREATE, shop, order(customer_id=c, product=CATALOG[0])) for _ in range(3)]
    )
    await consume(stack, TOPIC_CUSTOMER_CHANGES_DLQ, key_prefix=f"{shop}/".encode(), count=1, timeout=30)
    await eventually(lambda: vips(redis_client, shop), timeout=10)  # the standing replay checks against

    listed = dlq(stack, "list", "--shop", shop).stdout.splitlines()
    assert listed and all("\tpending\t" in line and "no access token" in line for line in listed)
    assert all(f"\t{c}\t- -> VIP\t" in line for line in listed)
    assert not dlq(stack, "list", "--shop", new_shop_domain()).stdout  # another shop's: none

    fake.tokens[shop] = "shpat_fixed"
    await registry.install(shop, "shpat_fixed")  # the cause, fixed: the shop installed again
    first = dlq(stack, "replay", "--shop", shop).stdout
    assert "replayed 1," in first, first
    await eventually(lambda: tags_of(fake, shop, c) == ["newsletter", "VIP"], timeout=30)

    again = dlq(stack, "replay", "--shop", shop).stdout
    assert again.strip() == f"replayed 0, superseded 0, {len(listed)} already done by an earlier replay"
    statuses = {line.split("\t")[1] for line in dlq(stack, "list", "--shop", shop).stdout.splitlines()}
    assert statuses <= {"replayed", "superseded"} and "replayed" in statuses
    writes = [call for call in fake.calls_to("tagsAdd") if call.shop == shop]
    assert [call.arguments["id"] for call in writes] == [f"gid://shopify/Customer/{c}"]  # written once
