"""Shopify's signatures: webhooks (base64 HMAC-SHA256 of the raw body) and OAuth redirects (hex HMAC
of the sorted query), keyed with the app secret.

Our own code, not shopifyapp's `verify_webhook_req`: that one re-parses and re-serialises every
body as JSON (to redact its log copy) and takes a str body and at most two secrets, which cost
ingest about a fifth of its webhooks/s (docs/ingest-profile.md, "Webhook HMAC: shopifyapp or
hmac.digest"). shopifyapp has no check for the OAuth redirect's query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def sign(body: bytes, secret: bytes) -> str:
    """The `X-Shopify-Hmac-Sha256` value Shopify sends for `body`."""
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def verify(body: bytes, header: str | None, secrets: Iterable[bytes]) -> bool:
    """True when `header` is a valid signature of `body` under any accepted secret.

    Several secrets are accepted because Shopify keeps signing with the old one for up
    to an hour after a rotation. Each comparison is constant-time.
    """
    if not header:
        return False
    try:
        given = base64.b64decode(header.strip(), validate=True)
    except ValueError:
        return False
    # hmac.digest: OpenSSL's one-shot HMAC, no HMAC object per webhook.
    return any(hmac.compare_digest(given, hmac.digest(secret, body, "sha256")) for secret in secrets)


def _query_message(params: Iterable[tuple[str, str]]) -> bytes:
    return "&".join(f"{k}={v}" for k, v in sorted(params) if k != "hmac").encode()


def sign_query(params: Iterable[tuple[str, str]], secret: bytes) -> str:
    """The `hmac` Shopify puts on an OAuth redirect: hex HMAC-SHA256 of the sorted query."""
    return hmac.new(secret, _query_message(params), hashlib.sha256).hexdigest()


def verify_query(params: Iterable[tuple[str, str]], secrets: Iterable[bytes]) -> bool:
    """True when the query's `hmac` parameter signs the rest of it under any accepted secret."""
    params = list(params)
    given = next((v for k, v in params if k == "hmac"), "")
    if not given:
        return False
    return any(hmac.compare_digest(given.lower(), sign_query(params, secret)) for secret in secrets)
