"""The private parts of Faust and aiokafka that streams/runtime/faust_seam.py relies on still exist.

An upgrade that renames or removes one must fail here, not silently stop the override.
"""

from __future__ import annotations

import inspect
from contextvars import ContextVar

import aiokafka
import faust
import mode
from faust.stores.base import SerializedStore
from faust.streams import _current_event, current_event
from faust.tables.base import Collection
from faust.topics import Topic
from faust.transport import consumer as faust_consumer
from faust.transport import producer as faust_producer
from faust.transport.drivers import aiokafka as faust_aiokafka
from yarl import URL

from streams.runtime.faust_seam import ROCKSDB_TYPED, TypedRocksDBStore, set_writing_event
from streams.runtime.stores import MEMORY


def test_consumer_fetch_wait_is_the_private_attribute_aiokafka_starts_its_fetcher_with() -> None:
    source = inspect.getsource(aiokafka.AIOKafkaConsumer)
    assert "self._fetch_max_wait_ms = fetch_max_wait_ms" in source
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in source


def test_consumer_thread_hooks_exist() -> None:
    thread = faust_aiokafka.AIOKafkaConsumerThread
    assert inspect.iscoroutinefunction(thread._highwaters)
    assert callable(thread._create_worker_consumer)
    assert callable(faust_aiokafka.Consumer._new_consumer_thread)
    assert callable(faust_aiokafka.server_list)


def test_producer_buffer_has_a_message_bound() -> None:
    assert faust_producer.ProducerBuffer.max_messages == 100  # the stall the seam raises
    assert callable(faust.App._new_transport)


def test_offsets_are_committed_right_after_the_producer_flush_the_seam_extends() -> None:
    source = inspect.getsource(faust_consumer.Consumer._commit_offsets)
    flush = source.index("await self.app.producer.flush()")
    assert flush < source.index("await self._commit(", flush)
    assert "self.in_transaction = " in inspect.getsource(faust_consumer.Consumer.__init__)


def test_table_writes_reach_the_producer_through_send_soon() -> None:
    # AckTrackingProducer tracks table writes in send_soon: a write that bypassed it would be
    # committed before the broker held it.
    assert "changelog_topic.send_soon(" in inspect.getsource(Collection.send_changelog)
    assert "self.app.producer.send_soon(fut)" in inspect.getsource(Topic.send_soon)
    assert callable(faust_aiokafka.Producer.send_soon)


def test_the_consumer_keeps_each_partitions_committed_offset_where_the_lag_metric_reads_it() -> None:
    assert "self._committed_offset = defaultdict(" in inspect.getsource(faust_consumer.Consumer.__init__)
    assert "self._committed_offset.update(committable_offsets)" in inspect.getsource(
        faust_consumer.Consumer._commit_offsets
    )


def test_services_call_post_init_where_the_producer_sets_up_its_tracking() -> None:
    assert "self.__post_init__()" in inspect.getsource(mode.Service.__init__)


def test_current_event_is_the_context_variable_table_writes_read() -> None:
    assert isinstance(_current_event, ContextVar)
    assert "current_event()" in inspect.getsource(Collection.partition_for_key)


class _Event:
    """Stands in for a Faust event: table writes only keep a weak reference to it."""

    value = b"{}"  # a record without a webhook id


def test_the_writing_event_is_the_one_set_until_unset() -> None:
    event = _Event()
    set_writing_event(event)  # type: ignore[arg-type]
    assert current_event() is event
    set_writing_event(None)
    assert current_event() is None


def test_rocksdb_reads_decode_through_the_store_hook_the_typed_store_extends() -> None:
    assert "self._decode_value(value)" in inspect.getsource(SerializedStore.__getitem__)
    assert "_decode_value" in inspect.getsource(SerializedStore._items_decoded)
    assert faust.stores.by_url(f"{ROCKSDB_TYPED}://") is TypedRocksDBStore


def test_a_tables_own_store_url_needs_a_host_to_count() -> None:
    # stores.MEMORY: an empty URL is false, and Faust then takes the app's store instead.
    assert not URL("memory://") and URL(MEMORY)
    assert "self._store or self.app.conf.store" in inspect.getsource(Collection._new_store)


def test_the_commit_hooks_items_8_and_9_override_exist() -> None:
    consumer = faust_consumer.Consumer
    assert inspect.iscoroutinefunction(consumer._add_gap)
    assert inspect.iscoroutinefunction(consumer._wait_next_records)
    new_offset = inspect.getsource(consumer._new_offset)
    assert "acked = self._acked[tp]" in new_offset
    init = inspect.getsource(consumer.__init__)
    assert "self._unacked_messages = WeakSet()" in init and "self._acked = defaultdict(list)" in init
    assert "self._clean_unacked_messages()" in inspect.getsource(consumer.wait_empty)


def test_stream_queues_come_from_the_app_and_are_cleared_through_flow_control() -> None:
    channel = inspect.getsource(faust.channels.Channel.queue.fget)  # type: ignore[attr-defined]
    assert "self.app.FlowControlQueue(" in channel and "clear_on_resume=True" in channel
    assert "queue.clear()" in inspect.getsource(mode.utils.queues.FlowControlEvent.clear)
