"""Every Redis key, Kafka topic and Shopify topic is spelled in its one module and nowhere else."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from shopify import topics as shopify_topics
from storepulse import envelope, kafka_topics, redis_keys

ROOT = Path(__file__).resolve().parents[2]
HOMES = {Path(inspect.getfile(m)).resolve() for m in (shopify_topics, envelope, kafka_topics, redis_keys)}
SOURCES = ("admin", "ingest", "loadtests", "push", "shopify", "storepulse", "streams", "tests")


def _constants(module: object) -> set[str]:
    return {v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)}


def _builders() -> set:
    functions = inspect.getmembers(redis_keys, inspect.isfunction)
    return {f for _, f in functions if f.__module__ == redis_keys.__name__}


def _redis_prefixes() -> set[str]:
    """`vips:` for `vips(shop)`, `oauth:state:` for `oauth_state(state)`: each key builder's literal head."""
    heads = set()
    for build in _builders():
        arity = len(inspect.signature(build).parameters)
        heads.add(build(*["\0"] * arity).split("\0")[0])
    return heads


def _python_files() -> list[Path]:
    files = [p for d in SOURCES if (ROOT / d).is_dir() for p in (ROOT / d).rglob("*.py")]
    return [p for p in files if p.resolve() not in HOMES and p.resolve() != Path(__file__).resolve()]


def _spelled(names: set[str], *, prefix: bool, files: list[Path] | None = None) -> list[str]:
    """Lines holding a string literal that is (or, with `prefix`, starts with) one of `names`."""
    tail = "" if prefix else r"\1"
    patterns = [re.compile(r"""(?<![\w.])f?(["'])""" + re.escape(n) + tail) for n in sorted(names)]
    found = []
    for path in _python_files() if files is None else files:
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if any(p.search(line) for p in patterns):
                found.append(f"{path.name}:{lineno}: {line.strip()}")
    return found


def test_redis_keys_are_built_only_in_redis_keys() -> None:
    assert _spelled(_redis_prefixes(), prefix=True) == []


def test_kafka_topics_are_named_only_in_kafka_topics() -> None:
    assert _spelled(_constants(kafka_topics), prefix=False) == []


def test_shopify_topics_and_record_kinds_are_named_only_in_their_modules() -> None:
    assert _spelled(_constants(shopify_topics) | _constants(envelope), prefix=False) == []


def test_the_grep_finds_what_it_looks_for(tmp_path: Path) -> None:
    source = tmp_path / "spelled.py"
    source.write_text('a = f"vips:{shop}"\nb = "shopify.orders"\nc = ("orders/create", "orders/created")\n')
    assert _spelled(_redis_prefixes(), prefix=True, files=[source]) == ['spelled.py:1: a = f"vips:{shop}"']
    assert _spelled(_constants(kafka_topics), prefix=False, files=[source]) == [
        'spelled.py:2: b = "shopify.orders"'
    ]
    assert len(_spelled(_constants(shopify_topics), prefix=False, files=[source])) == 1


def test_shop_redact_enumerates_every_per_shop_key() -> None:
    # Every key builder that takes a shop is either listed for shop/redact or deliberately not per-shop.
    # dlq_replays is per topic and holds only offsets and outcomes. event_key_owner is keyed by a
    # key's digest: ingest refuses it once shop/redact deleted the shop's event_keys.
    not_per_shop = {
        redis_keys.oauth_state,
        redis_keys.push_heartbeat,
        redis_keys.notified,
        redis_keys.customer_history,
        redis_keys.customer_walk,
        redis_keys.order_day,
        redis_keys.sync_applied,  # one per run: found by its pattern, sync_applied_sets
        redis_keys.dlq_replays,
        redis_keys.import_run,
        redis_keys.import_rejects,
        redis_keys.beacon_seen,
        redis_keys.viewer_addresses,
        redis_keys.visitor_addresses,
        redis_keys.sold,  # one per product: found by its pattern, sold_counts
        redis_keys.event_key_owner,
    }
    per_shop = (
        set(redis_keys.SHOP_KEYS)
        | set(redis_keys.SHOP_KEY_PATTERNS)
        | {redis_keys.notification_channel, redis_keys.metrics_channel}
    )
    builders = {
        f
        for _, f in inspect.getmembers(redis_keys, inspect.isfunction)
        if f.__module__ == redis_keys.__name__
    }
    assert builders - not_per_shop == per_shop
