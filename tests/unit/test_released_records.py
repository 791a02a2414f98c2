"""A record whose copy a rebalance dropped from one agent's queue is neither waited for nor
committed (faust_seam item 9): the rebalance goes on, and the record is read again after it."""

from __future__ import annotations

import inspect

import faust
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from storepulse.kafka_topics import TOPIC_ORDERS
from streams.runtime.faust_seam import StreamsApp

ORDERS = TP(TOPIC_ORDERS, 0)


async def _app() -> StreamsApp:
    app = StreamsApp("seam-release", broker="kafka://127.0.0.1:9", fetch_wait_ms=10)
    app.topics.add(app.topic(TOPIC_ORDERS))  # an acking topic, as an agent's subscription makes it
    await app.topics._update_indices()  # what the conductor does when the subscription changes
    assert app.topics.acks_enabled_for(TOPIC_ORDERS)
    return app


def _record(app: faust.App, offset: int, readers: int) -> ConsumerMessage:
    """A record of the orders topic as the conductor hands it to `readers` agents' queues."""
    message = ConsumerMessage(TOPIC_ORDERS, 0, offset, 0.0, 0, [], b"k", b"v", None, None, tp=ORDERS)
    message.incref(readers)
    app.consumer.track_message(message)  # the first agent started on it
    return message


def _event(app: faust.App, message: ConsumerMessage) -> faust.Event:
    return faust.Event(app, b"k", b"v", {}, message)


async def test_the_other_agent_done_first_then_the_copy_dropped_releases_the_record() -> None:
    app = await _app()
    consumer = app.consumer
    taken = _record(app, 932, readers=2)
    _event(app, taken).ack()  # the orders agent is done with it
    assert taken in consumer.unacked  # analytics-feed's copy still queued: Faust waits for it

    queue = app.FlowControlQueue(maxsize=10, clear_on_resume=True)
    queue.put_nowait(_event(app, taken))
    app.flow_control.clear()  # a rebalance empties every stream's queue

    assert taken not in consumer.unacked  # wait_empty no longer waits for it
    assert 932 not in consumer._acked[ORDERS]  # nor is it committed: the new owner reads it again


async def test_the_copy_dropped_first_then_the_other_agent_done_releases_the_record() -> None:
    app = await _app()
    consumer = app.consumer
    taken = _record(app, 77, readers=2)
    queue = app.FlowControlQueue(maxsize=10, clear_on_resume=True)
    queue.put_nowait(_event(app, taken))
    app.flow_control.clear()

    assert taken in consumer.unacked  # the orders agent still holds it: wait for that
    _event(app, taken).ack()
    assert taken not in consumer.unacked
    assert 77 not in consumer._acked[ORDERS]


async def test_a_record_every_agent_finished_is_acknowledged_as_before() -> None:
    app = await _app()
    done = _record(app, 5, readers=2)
    _event(app, done).ack()
    _event(app, done).ack()
    assert done not in app.consumer.unacked
    assert app.consumer._acked[ORDERS] == [5]


def test_a_rebalance_empties_the_queues_before_it_waits_for_the_streams() -> None:
    revoked = inspect.getsource(faust.App._on_partitions_revoked)
    assert revoked.index("flow_control.clear") < revoked.index("_consumer_wait_empty")
