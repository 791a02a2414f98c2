"""Where the worker's tables keep their state, and when state left on disk may be used.

`STOREPULSE_WORKER_STORE=memory` (the dev default): every table in memory, rebuilt from its
changelog at each start. `rocksdb` (production): the partitioned tables (customers, order index,
trends, viewers) on disk under `STOREPULSE_WORKER_DATADIR`, one RocksDB per table partition, so a
restarted worker reads only the changelog records after the offset each partition last persisted.
Global tables (shop settings, the catalog) stay in memory on both: every worker holds all of them,
they are small, and they are read on every order.

State on disk is used only after a clean stop. Faust writes a table's RocksDB when the table is
set and its changelog record is acknowledged later; a SIGKILL in between leaves a DB ahead of its
changelog, whose input records (their offsets not committed yet) are processed again on restart.
An order found already counted then writes no changelog record and no order-index entry, and the
changelog (what a worker taking the partition over reads) would lack it for good. So a worker
that exits with status 0 and every record it produced acknowledged marks a clean stop in the
data directory, and a start without that mark removes the tables' files first and rebuilds them
from the changelogs, as the memory store does.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Literal, cast

import faust
import structlog

from streams.runtime.faust_seam import ROCKSDB_TYPED, AckTrackingProducer

StoreKind = Literal["memory", "rocksdb"]
# A table's own store URL needs a host: Faust takes an empty one ("memory://", a false yarl URL)
# for none given and uses the app's store. The memory store ignores it.
MEMORY = "memory://localhost"
_URLS: dict[StoreKind, str] = {"memory": "memory://", "rocksdb": f"{ROCKSDB_TYPED}://"}
CLEAN_STOP_MARK = "clean-stop"

log = structlog.get_logger(__name__)


def store_url(kind: StoreKind) -> str:
    """The Faust store URL of the partitioned tables."""
    return _URLS[kind]


def open_tables(tabledir: Path, kind: StoreKind) -> bool:
    """Before the worker starts: keep the tables on disk if the last run stopped cleanly, else
    remove them. True when they were kept. The mark is removed either way: this run has not
    stopped cleanly yet."""
    mark = tabledir / CLEAN_STOP_MARK
    kept = mark.exists()
    if kept:
        mark.unlink()
    elif tabledir.exists():
        shutil.rmtree(tabledir)
    if kind != "memory":
        log.info("worker_tables", store=kind, kept_on_disk=kept)
    return kept


def all_acked(app: faust.App) -> bool:
    """True once every record the worker produced (its table writes among them) is in the broker:
    a stop that ends so leaves no table on disk ahead of its changelog."""
    return cast(AckTrackingProducer, app.producer).all_acked()


def mark_clean_stop(tabledir: Path) -> None:
    """After the worker stopped cleanly (exit status 0 and `all_acked`)."""
    tabledir.mkdir(parents=True, exist_ok=True)
    (tabledir / CLEAN_STOP_MARK).touch()
