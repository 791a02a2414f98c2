import base64
import hashlib
import hmac

from ingest.signature import sign, verify

BODY = b'{"id": 1, "total_price": "29.99"}'


def test_sign_matches_shopify_definition() -> None:
    expected = base64.b64encode(hmac.new(b"k", BODY, hashlib.sha256).digest()).decode()
    assert sign(BODY, b"k") == expected


def test_valid_signature_is_accepted() -> None:
    assert verify(BODY, sign(BODY, b"k"), [b"k"])


def test_any_secret_of_a_rotation_is_accepted() -> None:
    assert verify(BODY, sign(BODY, b"old"), [b"new", b"old"])


def test_wrong_secret_missing_or_garbled_header_is_refused() -> None:
    assert not verify(BODY, sign(BODY, b"other"), [b"k"])
    assert not verify(BODY, None, [b"k"])
    assert not verify(BODY, "", [b"k"])
    assert not verify(BODY, "not base64 !!", [b"k"])


def test_a_changed_body_is_refused() -> None:
    assert not verify(BODY + b" ", sign(BODY, b"k"), [b"k"])


def test_no_configured_secret_refuses_everything() -> None:
    assert not verify(BODY, sign(BODY, b""), [])
