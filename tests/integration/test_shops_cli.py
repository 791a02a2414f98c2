"""`storepulse shops add|list|remove` against the real Redis."""

import os
import subprocess

from storepulse.devstack import Stack, service_argv
from storepulse.shops import ShopRegistry
from tests.support.stack import new_shop_domain


def shops(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        service_argv("shops", *args),
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_add_list_remove(stack: Stack, registry: ShopRegistry) -> None:
    shop = new_shop_domain()
    assert shops(stack, "add", shop, "--token", "shpat_cli_secret", "--scopes", "read_orders").returncode == 0
    assert await registry.access_token(shop) == "shpat_cli_secret"

    listed = shops(stack, "list")
    assert listed.returncode == 0
    assert f"{shop}\tinstalled" in listed.stdout
    assert "shpat_cli_secret" not in listed.stdout + listed.stderr

    assert shops(stack, "remove", shop).returncode == 0
    assert shop not in shops(stack, "list").stdout
    assert shops(stack, "remove", shop).returncode == 1
    assert shops(stack, "add", "not a shop", "--token", "x").returncode == 2
