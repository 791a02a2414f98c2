"""Where streams read a shop's `ShopSettings`.

`settings_for(shop)` is the one seam: it answers the defaults until the `shop.settings`
global table is wired in (app.py passes that table's lookup instead).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from storepulse.contracts import ShopSettings

SettingsFor = Callable[[str], ShopSettings]


@lru_cache(maxsize=4096)
def default_settings_for(shop: str) -> ShopSettings:
    return ShopSettings(shop=shop)
