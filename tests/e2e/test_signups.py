"""Signed customers/create → a `signup` notification for new accounts and newsletter sign-ups."""

import itertools

import httpx
import orjson

from loadtests.payloads import customer, next_id, webhook
from shopify.topics import CUSTOMERS_CREATE, CUSTOMERS_UPDATE
from storepulse.kafka_topics import TOPIC_CUSTOMERS, item_key, partition_of
from streams.domain.templates import country_name
from tests.support.kafka import partition_count
from tests.support.sse import listening
from tests.support.stack import Services
from tests.support.webhooks import deliver

PERSONAL = ("buyer@example.com", "Secret-Lastname", "555-0100", '"email"', '"last_name"', '"phone"')


async def _same_partition_ids(services: Services, shop: str, count: int) -> list[int]:
    """`count` fresh customer ids on one partition of the customers topic: in order there."""
    partitions = await partition_count(services.stack, TOPIC_CUSTOMERS)
    first = next_id()
    home = partition_of(item_key(shop, first), partitions)
    others = (i for i in iter(next_id, None) if partition_of(item_key(shop, i), partitions) == home)
    return [first, *itertools.islice(others, count - 1)]


async def test_an_account_signs_up_once_a_guest_checkout_does_not_and_a_newsletter_signup_does(
    services: Services, ingest: httpx.AsyncClient, shop: str
) -> None:
    account_id, guest_id, newsletter_id = await _same_partition_ids(services, shop, 3)
    account = customer(customer_id=account_id)
    created = webhook(CUSTOMERS_CREATE, shop, account)
    async with listening(f"{services.push_url}/sse/{shop}") as sse:
        await deliver(ingest, created)
        await deliver(ingest, created)  # Shopify's retry: the same delivery
        await deliver(ingest, webhook(CUSTOMERS_CREATE, shop, account))  # a second delivery of it
        await deliver(ingest, webhook(CUSTOMERS_UPDATE, shop, account))
        await deliver(
            ingest, webhook(CUSTOMERS_CREATE, shop, customer(customer_id=guest_id, origin="guest_checkout"))
        )
        # The last on the same partition: once it is shown, every record before it was processed.
        newsletter = customer(customer_id=newsletter_id, origin="newsletter")
        await deliver(ingest, webhook(CUSTOMERS_CREATE, shop, newsletter))
        await sse.wait_for_kind("signup", 2, timeout=20)
        shown = sse.of_kind("signup")
    assert [n["message"] for n in shown] == [
        f"{account['first_name']} in {account['default_address']['city']}, "
        f"{country_name(account['default_address']['country_code'], 'en')} just joined",
        f"{newsletter['first_name']} just joined",
    ]
    assert all(n["messages"]["en"]["title"] == "New member" for n in shown)
    raw = "".join(e.data for e in sse.events)
    assert not any(secret in raw for secret in PERSONAL)
    assert str(account_id) not in orjson.dumps([n["id"] for n in shown]).decode()
