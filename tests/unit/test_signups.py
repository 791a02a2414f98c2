from datetime import UTC, datetime

import pytest

from loadtests.payloads import customer
from storepulse.contracts import ShopSettings
from streams.domain.notifications import notification_id, signup_notification

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SHOP = "demo.myshopify.com"
FORBIDDEN = ("buyer@example.com", "Secret-Lastname", "555-0100")


def _signup(c, **rules):
    return signup_notification(SHOP, c, now=NOW, rules=ShopSettings(shop=SHOP, **rules))


def test_a_new_account_is_a_signup_naming_the_first_name_and_place_only() -> None:
    c = customer(customer_id=7)
    c["default_address"].update(city="Bergen", country_code="NO")
    n = _signup(c)
    assert n is not None and n.kind == "signup"
    assert n.message == f"{c['first_name']} in Bergen, Norway just joined" and n.title == "New member"
    assert n.product is None
    assert n.actor.model_dump() == {"first_name": c["first_name"], "city": "Bergen", "country_code": "NO"}
    text = n.model_dump_json()
    assert not any(secret in text for secret in FORBIDDEN)


@pytest.mark.parametrize(("state", "message"), [("enabled", "just joined"), ("invited", "just joined")])
def test_enabled_and_invited_accounts_are_signups(state: str, message: str) -> None:
    c = customer(customer_id=8)
    c["state"] = state
    assert message in _signup(c).message


def test_a_newsletter_signup_is_someone_who_just_joined() -> None:
    n = _signup(customer(customer_id=9, origin="newsletter"))
    assert n is not None and n.message == f"{n.actor.first_name} just joined"


def test_a_guest_checkouts_customer_record_is_no_signup() -> None:
    assert _signup(customer(customer_id=10, origin="guest_checkout")) is None
    # Ticking "email me" at checkout subscribes the guest, but their record holds the address.
    guest = customer(customer_id=11, origin="guest_checkout")
    guest["email_marketing_consent"]["state"] = "subscribed"
    assert _signup(guest) is None


def test_the_shops_buyer_display_rule_applies_and_the_kind_can_be_turned_off() -> None:
    c = customer(customer_id=12)
    c["default_address"].update(city="Bergen", country_code="NO")
    assert _signup(c, buyer_display="city").message == "Someone in Bergen, Norway just joined"
    assert _signup(c, buyer_display="anonymous").message == "Someone just joined"
    assert _signup(c, enabled_kinds=["purchase"]) is None


def test_each_language_gets_its_words_and_the_id_is_the_customers() -> None:
    c = customer(customer_id=13)
    c["default_address"].update(city="Bergen", country_code="NO")
    n = _signup(c, languages=["de", "ja"])
    assert n.messages["de"].message == f"{c['first_name']} aus Bergen, Norwegen hat sich gerade angemeldet"
    assert n.messages["ja"].title == "新規登録"
    assert n.id == notification_id(SHOP, "signup", "13") == _signup(c).id
