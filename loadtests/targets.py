"""Where the locust users point: env overrides, defaults for `storepulse dev` on this machine."""

from __future__ import annotations

import os

from storepulse.settings import Settings


def base_url(env: str, default_port: int) -> str:
    """`$env`, else the local service on its default port; locust's --host overrides both."""
    return os.environ.get(env) or f"http://127.0.0.1:{default_port}"


def shops() -> list[str]:
    """`STOREPULSE_LOAD_SHOP` (one domain or a comma-separated list), else the dev stack's demo shop."""
    listed = [s.strip() for s in os.environ.get("STOREPULSE_LOAD_SHOP", "").split(",") if s.strip()]
    return listed or [Settings.model_fields["demo_shop"].default]
