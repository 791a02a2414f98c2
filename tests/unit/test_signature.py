import base64
import hashlib
import hmac

from shopify.signature import sign, sign_query, verify, verify_query

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


# Shopify's documented OAuth example: secret "hush".
DOC_QUERY = [
    ("code", "0907a61c0c8d55e99db179b68161bc00"),
    ("shop", "some-shop.myshopify.com"),
    ("state", "0.6784241404160823"),
    ("timestamp", "1337178173"),
]
DOC_HMAC = "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"


def test_query_signature_matches_shopifys_example() -> None:
    assert sign_query(DOC_QUERY, b"hush") == DOC_HMAC
    assert verify_query([*reversed(DOC_QUERY), ("hmac", DOC_HMAC)], [b"other", b"hush"])


def test_query_with_a_changed_value_or_no_hmac_is_refused() -> None:
    tampered = [(k, "evil.myshopify.com" if k == "shop" else v) for k, v in DOC_QUERY]
    assert not verify_query([*tampered, ("hmac", DOC_HMAC)], [b"hush"])
    assert not verify_query(DOC_QUERY, [b"hush"])
    assert not verify_query([*DOC_QUERY, ("hmac", DOC_HMAC)], [])
