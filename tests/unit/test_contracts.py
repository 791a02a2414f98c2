"""What counts as a shop domain: the check every service puts untrusted shop names through."""

import pytest

from storepulse.contracts import is_shop_domain


@pytest.mark.parametrize("domain", ["demo.myshopify.com", "a.myshopify.com", "my-shop-2.myshopify.com"])
def test_shop_domains_are_accepted(domain: str) -> None:
    assert is_shop_domain(domain)


@pytest.mark.parametrize(
    "domain",
    [
        "demo.myshopify.com\n",  # `$` matches before a trailing newline
        "\ndemo.myshopify.com",
        "demo.myshopify.com.evil.example",
        "evil.example.com",
        "-demo.myshopify.com",
        "Demo.myshopify.com",
        "",
    ],
)
def test_anything_else_is_not(domain: str) -> None:
    assert not is_shop_domain(domain)
