"""A batch's step, applied record by record: a record it fails on leaves no trace and is reported."""

from __future__ import annotations

from typing import Any

import pytest
from faust.streams import current_event

from streams.runtime.batches import EventBatch


class _Event:
    """Stands in for a Faust event: a record's key and value."""

    def __init__(self, key: bytes, value: Any) -> None:
        self.key, self.value = key, value


class _Table(dict):
    """A table that remembers which event each write belonged to (its changelog partition)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.written_as: list[tuple[bytes, Any]] = []

    def __setitem__(self, key: bytes, value: Any) -> None:
        self.written_as.append((key, current_event()))
        super().__setitem__(key, value)


def _batch(*values: Any) -> EventBatch:
    return EventBatch([_Event(f"k{i % 2}".encode(), v) for i, v in enumerate(values)])  # type: ignore[misc]


def counting(table: _Table, runs: list[int]):
    """A step that adds each record's value to its key's count, in place, and returns the values."""

    def step(batch: EventBatch) -> list[int]:
        runs.append(1)
        staged = batch.staged(table)
        seen = []
        for event in batch:
            state = staged.get(event.key) or {"sum": 0}
            state["sum"] += event.value  # in place: a failure below must not leave this behind
            staged[event.key] = state
            if event.value < 0:
                raise ValueError(f"negative: {event.value}")
            seen.append(event.value)
        return seen

    return step


def test_a_record_the_step_fails_on_is_reported_and_the_others_applied_once() -> None:
    table, runs = _Table({b"k0": {"sum": 100}}), []
    batch = _batch(1, 2, -3, 4, -5, 6)
    assert batch.apply(counting(table, runs)) == [1, 2, 4, 6]
    assert table == {b"k0": {"sum": 100 + 1}, b"k1": {"sum": 2 + 4 + 6}}  # keys alternate k0, k1
    assert [(event.value, reason) for event, reason in batch.failed] == [
        (-3, "ValueError: negative: -3"),
        (-5, "ValueError: negative: -5"),
    ]
    assert len(runs) == 3  # one run per bad record, plus the one that got through


# The second state is not JSON orjson encodes (an int key): it is copied all the same.
@pytest.mark.parametrize("state", [{"sum": 100}, {"sum": 100, "by": {1: 2}}])
def test_a_failed_run_leaves_the_table_as_it_was_even_when_the_step_changed_a_state_in_place(
    state: dict,
) -> None:
    table = _Table({b"k0": state})
    batch = _batch(-1)
    assert batch.apply(counting(table, [])) == []
    assert table == {b"k0": {**state, "sum": 100}} and table.written_as == []


def test_each_key_is_written_once_as_the_last_event_that_wrote_it() -> None:
    table = _Table()
    batch = _batch(1, 2, 3, 4)
    batch.apply(counting(table, []))
    assert table.written_as == [(b"k0", batch.events[2]), (b"k1", batch.events[3])]
    assert current_event() is None  # a write after the commit fails instead of going astray


def test_deletes_and_iteration_see_the_runs_own_writes() -> None:
    table = _Table({b"a": 1, b"b": 2})

    def step(batch: EventBatch) -> list[bytes]:
        staged = batch.staged(table)
        for _ in batch:
            del staged[b"a"]
            staged[b"c"] = 3
        return sorted(staged)

    assert _batch(0).apply(step) == [b"b", b"c"]
    assert table == {b"b": 2, b"c": 3}


def test_work_after_the_loop_fails_the_record_it_is_done_for() -> None:
    def step(batch: EventBatch) -> list[int]:
        kept = list(batch)
        for event in kept:
            batch.on_behalf_of(event)
            if event.value == 2:
                raise ValueError("cannot render")
        return [e.value for e in kept]

    batch = _batch(1, 2, 3)
    assert batch.apply(step) == [1, 3]
    assert [e.value for e, _ in batch.failed] == [2]


def test_a_failure_outside_any_record_is_the_steps_own() -> None:
    def step(batch: EventBatch) -> None:
        list(batch)
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        _batch(1).apply(step)
