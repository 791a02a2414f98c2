"""The value of a `widget.beacons` record: a batch of beacons, `{"beacons": [Beacon, …]}`.

Ingest gathers a partition's beacons for a few milliseconds into one record
(ingest/beacon_batches.py), because the worker's cost is per record more than per beacon. A
record holding one bare `Beacon`, as ingest produced before batches, is still read.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from storepulse.contracts import Beacon

# At most this many beacons in a record: the worker numbers them `offset * MAX_BEACONS + index`.
MAX_BEACONS = 200


class BeaconBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    beacons: list[Beacon] = Field(max_length=MAX_BEACONS)


def batch_value(beacons: list[bytes]) -> bytes:
    """The record value of a batch of beacons, each already `Beacon` JSON."""
    return b'{"beacons":[' + b",".join(beacons) + b"]}"


def is_batch(value: bytes) -> bool:
    return value.startswith(b'{"beacons":')


def beacons_of(value: bytes) -> list[Beacon]:
    """The beacons of a record; ValidationError when it holds none."""
    if is_batch(value):
        return BeaconBatch.model_validate_json(value).beacons
    return [Beacon.model_validate_json(value)]
