"""Property-based: whatever the headers and body, ingest answers 2xx/4xx as specified, never 500.

The app runs in-process and produces to the real embedded broker.
"""

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.app import WEBHOOK_PATH
from ingest.routing import ROUTES
from shopify.signature import sign
from shopify.topics import APP_UNINSTALLED, COMPLIANCE_TOPICS
from storepulse.devstack import Stack
from tests.support.ingest import in_process_ingest, ingest_settings
from tests.support.stack import SECRET

MAX_BYTES = 4096
PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# What an HTTP header value can carry (latin-1, no line breaks).
header_text = st.text(
    st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=80
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
HEADER_NAMES = (
    "X-Shopify-Topic",
    "X-Shopify-Shop-Domain",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-Triggered-At",
    "X-Shopify-API-Version",
)


@pytest.fixture
async def ingest(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_ingest(ingest_settings(stack, webhook_max_bytes=MAX_BYTES)) as client:
        yield client


def cased(name: str, upper: bool) -> str:
    return name if upper else name.lower()  # HTTP/2 delivers header names lower-cased


@PROPERTY
@given(
    body=st.binary(max_size=MAX_BYTES + 100),
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_text),
    signature=st.sampled_from(["right", "wrong", "garbage", "absent"]),
    upper=st.booleans(),
)
async def test_any_headers_and_body_get_a_specified_answer(
    ingest: httpx.AsyncClient, body: bytes, headers: dict[str, str], signature: str, upper: bool
) -> None:
    sent: dict[str, str | bytes] = {cased(k, upper): v.encode("latin-1") for k, v in headers.items()}
    if signature != "absent":
        value = {"right": sign(body, SECRET), "wrong": sign(body, b"wrong"), "garbage": "%%%"}[signature]
        sent[cased("X-Shopify-Hmac-Sha256", upper)] = value
    answer = await ingest.post(WEBHOOK_PATH, content=body, headers=sent)
    if len(body) > MAX_BYTES:
        assert answer.status_code == 413
    elif signature != "right":
        assert answer.status_code == 401
    else:
        assert answer.status_code in (200, 400)


@PROPERTY
@given(
    payload=json_values,
    # app/uninstalled is left out: it would end the shop's installation for later examples.
    topic=st.sampled_from(sorted(set(ROUTES) - {APP_UNINSTALLED})) | header_text,
    known_shop=st.booleans(),
    event_id=st.none() | header_text,
)
async def test_signed_json_of_an_installed_shop_is_accepted_or_refused_as_malformed(
    ingest: httpx.AsyncClient, shop: str, payload: Any, topic: str, known_shop: bool, event_id: str | None
) -> None:
    body = json.dumps(payload).encode()  # stdlib: integers past 64 bits too
    domain = shop if known_shop else f"x{uuid.uuid4().hex[:8]}.myshopify.com"
    headers = {
        "X-Shopify-Hmac-Sha256": sign(body, SECRET),
        "X-Shopify-Topic": topic.encode("latin-1"),
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        **({"X-Shopify-Event-Id": event_id.encode("latin-1")} if event_id is not None else {}),
    }
    answer = await ingest.post(WEBHOOK_PATH, content=body, headers=headers)
    # A compliance payload must name the header's shop (a replay for another shop is refused).
    foreign = (
        isinstance(payload, dict) and topic in COMPLIANCE_TOPICS and payload.get("shop_domain") != domain
    )
    if not topic or not isinstance(payload, dict) or foreign:
        assert answer.status_code == 400
    else:
        assert answer.status_code == 200
        expected = "accepted" if known_shop and topic in ROUTES else "ignored"
        assert answer.json()["status"] == expected
