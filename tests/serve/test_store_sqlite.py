"""SQLite settings of the store that ingest at a million stored calls depends on (docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_ai.serve.store import Store, open_store


def _pragma(store: Store, name: str) -> object:
    with store.engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_the_wal_is_checkpointed_in_large_groups(tmp_path: Path) -> None:
    # SQLite's default (1,000 pages) checkpointed after nearly every batch at a million calls: the
    # random index pages each batch dirties were written back in small, costly groups.
    with open_store(str(tmp_path / "s.db")) as store:
        assert _pragma(store, "wal_autocheckpoint") == 20_000
        assert _pragma(store, "journal_mode") == "wal"
        assert _pragma(store, "synchronous") == 2  # FULL: acknowledged means durable
        assert _pragma(store, "auto_vacuum") == 2  # INCREMENTAL: the size cap gives pages back


@pytest.mark.parametrize(("value", "expected"), [("1000", 1000), ("oops", 20_000), ("-5", 20_000)])
def test_the_checkpoint_knob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: int) -> None:
    monkeypatch.setenv("OTEL_AI_SQLITE_CHECKPOINT_PAGES", value)
    with open_store(str(tmp_path / "s.db")) as store:
        assert _pragma(store, "wal_autocheckpoint") == expected
