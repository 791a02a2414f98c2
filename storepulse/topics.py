"""Creates the Kafka topics of the contract with the configs clients read back."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from storepulse.contracts import ALL_TOPICS, COMPACTED_TOPICS

_WEEK_MS = str(7 * 24 * 3600 * 1000)


def topic_configs(name: str) -> dict[str, str]:
    # Tansu reports only configs that were set explicitly, so set what clients read.
    if name in COMPACTED_TOPICS:
        return {"cleanup.policy": "compact", "retention.ms": "-1"}
    return {"cleanup.policy": "delete", "retention.ms": _WEEK_MS}


async def ensure_topics(bootstrap: str, partitions: int) -> list[str]:
    """Create every missing contract topic; returns the names it created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in ALL_TOPICS if t not in existing]
        if missing:
            new = [NewTopic(t, partitions, 1, topic_configs=topic_configs(t)) for t in missing]
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass  # another process won the race; the topics exist either way
        return missing
    finally:
        await admin.close()
