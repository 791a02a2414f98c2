"""Shopify webhook signature: base64 HMAC-SHA256 of the raw body, keyed with the app secret."""

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
    return any(
        hmac.compare_digest(given, hmac.new(secret, body, hashlib.sha256).digest()) for secret in secrets
    )
