"""Tables left on disk are used only when the last run marked a clean stop."""

from pathlib import Path

from streams.runtime.stores import mark_clean_stop, open_tables


def test_tables_after_a_clean_stop_are_kept_and_the_mark_is_used_up(tmp_path: Path) -> None:
    table = tmp_path / "tables" / "customer-metrics-0.db"
    table.mkdir(parents=True)
    mark_clean_stop(tmp_path / "tables")
    assert open_tables(tmp_path / "tables", "rocksdb")
    assert table.exists()
    # This run has not stopped cleanly yet: if it dies, the next start must not trust the files.
    assert not open_tables(tmp_path / "tables", "rocksdb")
    assert not table.exists()


def test_tables_without_the_mark_are_removed(tmp_path: Path) -> None:
    (tmp_path / "tables" / "order-owners-3.db").mkdir(parents=True)
    assert not open_tables(tmp_path / "tables", "rocksdb")
    assert not (tmp_path / "tables").exists()
    assert not open_tables(tmp_path / "missing", "memory")  # a first start: nothing there
