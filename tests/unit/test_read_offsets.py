"""A seek's read offset survives the fetch loop's write of a record read before it (faust_seam item 7)."""

from __future__ import annotations

import asyncio
import inspect

from faust.transport import consumer as faust_consumer
from faust.types import TP

from storepulse.kafka_topics import TOPIC_ORDERS
from streams.runtime.faust_seam import ReadOffsets

ORDERS = TP(TOPIC_ORDERS, 3)


async def test_a_record_read_before_a_seek_does_not_move_the_read_offset_past_it() -> None:
    offsets = ReadOffsets()
    offsets.update({ORDERS: 40})
    handed_on = asyncio.Event()
    seeked = asyncio.Event()

    async def fetch_loop() -> None:
        assert offsets[ORDERS] == 40  # the loop reads, hands record 50 of the old generation on...
        handed_on.set()
        await seeked.wait()
        offsets[ORDERS] = 50  # ...and writes its offset back once the streams took it

    async def rebalance() -> None:
        await handed_on.wait()
        offsets.pop(ORDERS, None)  # revoked
        offsets.update({ORDERS: 46})  # reassigned: Recovery seeks to the committed offset
        seeked.set()

    await asyncio.gather(fetch_loop(), rebalance())
    assert offsets[ORDERS] == 46


async def test_without_a_seek_the_fetch_loop_moves_the_read_offset_on() -> None:
    offsets = ReadOffsets()
    assert offsets[ORDERS] is None  # nothing read yet, as Faust's defaultdict answers
    offsets[ORDERS] = 7
    assert offsets[ORDERS] == 7
    offsets[ORDERS] = 8
    assert offsets[ORDERS] == 8


async def test_a_seek_from_another_task_while_the_loop_holds_a_record_is_kept() -> None:
    offsets = ReadOffsets()
    assert offsets[ORDERS] is None

    async def seek() -> None:
        offsets[ORDERS] = 12  # Consumer.seek's own write, from the recovery task

    await asyncio.create_task(seek())
    offsets[ORDERS] = 30  # the record the loop held, read before that seek
    assert offsets[ORDERS] == 12


def test_the_fetch_loop_reads_then_writes_the_read_offset_as_the_seam_expects() -> None:
    drain = inspect.getsource(faust_consumer.Consumer._drain_messages)
    assert "get_read_offset = self._read_offset.__getitem__" in drain
    assert "set_read_offset = self._read_offset.__setitem__" in drain
    assert "r_offset = get_read_offset(tp)" in drain and "set_read_offset(tp, offset)" in drain
    seek = inspect.getsource(faust_consumer.Consumer.perform_seek)
    assert "read_offset.update(" in seek
    waits = inspect.getsource(faust_consumer.Consumer.getmany)
    assert "await self._wait_next_records(timeout)" in waits
