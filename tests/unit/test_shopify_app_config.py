"""shopify.app.toml, shopify.web.toml and the theme app extension, checked against the code.

The layout rules for the extension are Shopify CLI's own (its theme extension validation:
files only in assets/, blocks/, locales/, snippets/, with these file types).
"""

from __future__ import annotations

import gzip
import json
import re
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import rjsmin

from ingest.app import WEBHOOK_PATH
from ingest.routing import ROUTES
from shopify.topics import COMPLIANCE_TOPICS
from storepulse.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "extensions" / "storepulse-embed"
WIDGET = ROOT / "widget" / "storepulse.js"
EXTENSION_FILE_TYPES = {
    "assets": {".jpg", ".jpeg", ".json", ".js", ".css", ".png", ".svg", ".wasm"},
    "blocks": {".liquid"},
    "locales": {".json"},
    "snippets": {".liquid"},
}


@pytest.fixture(scope="module")
def app_toml() -> dict[str, Any]:
    return tomllib.loads((ROOT / "shopify.app.toml").read_text())


def origin(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "https", url  # Shopify refuses plain-HTTP callbacks
    return f"{parts.scheme}://{parts.netloc}"


def test_app_toml_names_an_embedded_app_whose_home_is_the_merchant_app(app_toml: dict[str, Any]) -> None:
    assert isinstance(app_toml["client_id"], str)  # a placeholder the developer fills in
    assert app_toml["name"]
    assert app_toml["embedded"] is True
    assert urlsplit(app_toml["application_url"]).path == "/app"


def test_app_toml_scopes_are_the_install_flows_and_reach_all_orders(app_toml: dict[str, Any]) -> None:
    scopes = app_toml["access_scopes"]["scopes"].split(",")
    assert "read_all_orders" in scopes  # the backfill reads more than 60 days of orders
    assert sorted(scopes) == sorted(Settings().shopify_scopes.split(","))


def test_app_toml_redirects_to_ingests_oauth_callback(app_toml: dict[str, Any]) -> None:
    host = origin(app_toml["application_url"])
    assert app_toml["auth"]["redirect_urls"] == [f"{host}/auth/callback"]


def test_app_toml_subscribes_every_routed_topic_once_at_ingests_webhook_url(app_toml: dict[str, Any]) -> None:
    webhooks = app_toml["webhooks"]
    assert webhooks["api_version"] == Settings().shopify_api_version
    subscriptions = webhooks["subscriptions"]
    topics = Counter(t for s in subscriptions for t in s.get("topics", []))
    compliance = Counter(t for s in subscriptions for t in s.get("compliance_topics", []))
    assert topics == Counter(t for t in ROUTES if t not in COMPLIANCE_TOPICS)
    assert compliance == Counter(COMPLIANCE_TOPICS)
    host = origin(app_toml["application_url"])
    assert {s["uri"] for s in subscriptions} == {f"{host}{WEBHOOK_PATH}"}


def test_web_toml_serves_ingest_through_the_cli() -> None:
    web = tomllib.loads((ROOT / "shopify.web.toml").read_text())
    assert set(web["roles"]) == {"frontend", "backend"}
    assert web["port"] == Settings().ingest_port
    assert web["webhooks_path"] == WEBHOOK_PATH
    assert web["auth_callback_path"] == "/auth/callback"
    # The CLI runs it without a shell: a plain command and its arguments.
    assert web["commands"]["dev"] == "make run"
    assert re.search(r"^run:", (ROOT / "Makefile").read_text(), re.M)


def test_extension_has_the_theme_app_extension_layout() -> None:
    config = tomllib.loads((EXTENSION / "shopify.extension.toml").read_text())
    assert config == {"name": config["name"], "type": "theme"}
    for path in EXTENSION.rglob("*"):
        if path.is_dir() or path.parent == EXTENSION:
            continue
        relative = path.relative_to(EXTENSION)
        assert len(relative.parts) == 2, f"{relative}: Shopify takes no nested folders"
        assert path.suffix in EXTENSION_FILE_TYPES.get(relative.parts[0], set()), relative


def embed_block(name: str = "app-embed") -> tuple[str, dict[str, Any]]:
    source = (EXTENSION / "blocks" / f"{name}.liquid").read_text()
    schema = re.search(r"{%\s*schema\s*%}(.*?){%\s*endschema\s*%}", source, re.S)
    assert schema
    return source, json.loads(schema.group(1))


def test_embed_block_loads_the_widget_asset_with_push_and_beacon_urls_as_settings() -> None:
    source, schema = embed_block()
    assert schema["target"] == "body"  # an app embed block, not a section block
    settings = {s["id"]: s for s in schema["settings"]}
    assert len(settings) == len(schema["settings"])
    assert "{{ 'storepulse.js' | asset_url }}" in source
    assert 'data-endpoint="{{ block.settings.push_url }}"' in source
    assert 'data-beacons="{{ block.settings.beacon_url }}"' in source
    app_host = origin(tomllib.loads((ROOT / "shopify.app.toml").read_text())["application_url"])
    assert {origin(settings[s]["default"]) for s in ("push_url", "beacon_url")} == {app_host}
    for used in re.findall(r"block\.settings\.(\w+)", source):
        assert used in settings, used
    # Every data-* option the block sets is one the widget reads.
    options = set(re.findall(r'attr\("([\w-]+)"', WIDGET.read_text()))
    assert set(re.findall(r"data-([\w-]+)=", source)) <= options


def test_sold_counter_block_reads_pushs_counter_for_the_product_on_product_pages() -> None:
    source, schema = embed_block("sold-counter")
    assert schema["target"] == "section"  # an app block the merchant places in a product section
    assert schema["enabled_on"] == {"templates": ["product"]}
    settings = {s["id"]: s for s in schema["settings"]}
    assert len(settings) == len(schema["settings"])
    for used in re.findall(r"block\.settings\.(\w+)", source):
        assert used in settings, used
    app_host = origin(tomllib.loads((ROOT / "shopify.app.toml").read_text())["application_url"])
    assert origin(settings["push_url"]["default"]) == app_host
    assert settings["min_sold"]["type"] == "number" and settings["min_sold"]["default"] >= 1
    assert "[count]" in settings["text"]["default"]
    # Liquid values reach the script JSON-encoded only, and the text as text, never as markup.
    assert "{{ shop.permanent_domain | json }}" in source and "{{ product.id | json }}" in source
    assert '"/counters/"' in source and "textContent" in source and "innerHTML" not in source
    assert "<script src" not in source  # nothing to load: the fetch is inline
    assert source.count("{%- if product -%}") == 1 and source.count("{%- endif -%}") == 1


def test_extension_asset_is_the_widget_minified() -> None:
    asset = (EXTENSION / "assets" / "storepulse.js").read_text()
    assert asset == rjsmin.jsmin(WIDGET.read_text()), "stale: run `make extension`"
    assert len(gzip.compress(asset.encode())) < 10 * 1024  # Shopify flags larger scripts
