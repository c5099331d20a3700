"""The store's size cap (`--max-db-size`) and what it reports, on SQLite and on a real PostgreSQL.

The cap drops the oldest raw rows (spans, logs, calls, traces) and keeps the hourly and daily
roll-ups, so totals and costs over the dropped period still answer; retention drops both. On
SQLite the file itself must shrink (incremental vacuum, then a checkpoint) and, under a steady
flow of new data, stay bounded.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otel_ai.serve.api import create_app
from otel_ai.serve.store import Store
from otel_ai.serve.store.aggregates import DAY_NS
from tests.serve.test_store import assert_rows, brute, ns, random_calls, synthetic_request


def _load(store: Store, items: list[dict[str, Any]]) -> None:
    for i in range(0, len(items), 500):
        store.ingest_traces(synthetic_request(items[i:i + 500]))


def _in_arrival_order(count: int, lo: int, hi: int, seed: int) -> list[dict[str, Any]]:
    # as an app sends them: the space of deleted rows is then given back in whole pages
    return sorted(random_calls(count, lo, hi, seed=seed), key=lambda i: i["span"].start_time_unix_nano)


def test_the_size_cap_drops_the_oldest_raw_rows_and_keeps_the_rollups(open_stores: Any) -> None:
    base = ns(datetime(2026, 1, 1, tzinfo=timezone.utc))
    items = _in_arrival_order(3000, base, base + 30 * DAY_NS, seed=6)
    store = open_stores()
    _load(store, items)
    totals = store.summary()
    full = store.used_bytes()
    cap = full // 2
    capped = open_stores(max_bytes=cap)
    report = capped.enforce_limits()
    assert capped.used_bytes() <= cap, report
    # the raw calls kept are exactly the newest ones
    remaining = list(capped.export_calls())
    assert 0 < len(remaining) < len(items)
    newest = items[-len(remaining):]
    assert {r["span_id"] for r in remaining} == {i["span"].span_id.hex() for i in newest}
    assert capped.traces(limit=1)["total"] == min(len(remaining), 1000)
    # the roll-ups still count every call: totals, costs per day and percentiles unchanged
    after = capped.summary()
    for k in ("calls", "errors", "input_tokens", "output_tokens", "characters", "p50_duration_ms", "p95_duration_ms"):
        assert after[k] == totals[k], k
    assert after["cost_usd"] == pytest.approx(totals["cost_usd"])
    assert_rows(capped.costs("day"), brute(items, None, None, "day"))
    # and it says so
    storage = capped.storage()
    assert storage["max_bytes"] == cap
    if capped.backend == "sqlite":
        assert storage["used_bytes"] <= cap
    assert storage["dropped"]["genai_calls"] == len(items) - len(remaining)
    assert storage["dropped_rows"] == sum(report["deleted"].values()) > 0
    assert storage["oldest_ns"] == min(i["span"].start_time_unix_nano for i in newest)
    assert storage["limits_checked_at"] is not None
    # a second pass under the cap drops nothing more
    assert sum(capped.enforce_limits()["deleted"].values()) == 0
    assert capped.storage()["dropped_rows"] == storage["dropped_rows"]


def test_retention_still_drops_the_rollups(open_stores: Any) -> None:
    now = datetime(2026, 3, 31, 12, tzinfo=timezone.utc)
    items = _in_arrival_order(600, ns(now) - 20 * DAY_NS, ns(now), seed=8)
    store = open_stores(retention_days=10)
    _load(store, items)
    store.enforce_limits(now=now)
    kept = [i for i in items if i["span"].start_time_unix_nano >= ns(now) - 10 * DAY_NS]
    assert store.summary()["calls"] == len(kept) < len(items)
    assert store.storage()["dropped"]["genai_calls"] == len(items) - len(kept)


def test_storage_of_an_empty_store(store: Store) -> None:
    storage = store.storage()
    assert storage["oldest"] is None and storage["oldest_ns"] is None
    assert storage["dropped_rows"] == 0 and storage["dropped"] == {}
    assert storage["max_bytes"] is None and storage["limits_checked_at"] is None
    assert storage["used_bytes"] >= 0
    assert (storage["file_bytes"] is None) == (store.backend != "sqlite")


def test_health_reports_the_storage(open_stores: Any) -> None:
    base = ns(datetime(2026, 2, 1, tzinfo=timezone.utc))
    items = _in_arrival_order(400, base, base + 4 * DAY_NS, seed=9)
    store = open_stores(max_bytes=10**12, retention_days=400)
    _load(store, items)
    with TestClient(create_app(store), base_url="http://127.0.0.1") as client:
        health = client.get("/api/v1/health").json()
    storage = health["storage"]
    assert storage["backend"] == store.backend
    assert storage["max_bytes"] == 10**12 and storage["retention_days"] == 400
    assert storage["oldest_ns"] == items[0]["span"].start_time_unix_nano
    assert storage["oldest"].startswith("2026-02-01")
    if store.backend == "sqlite":
        assert storage["used_bytes"] == store.used_bytes()
    else:  # the tables on disk: at least the live rows the cap counts
        assert storage["used_bytes"] >= store.used_bytes() > 0
    assert storage["dropped_rows"] == 0


def _file_bytes(path: str) -> int:
    return os.path.getsize(path)


def test_sqlite_file_shrinks_under_the_cap_and_stays_bounded(tmp_path: Any) -> None:
    from otel_ai.serve.store import open_store

    path = str(tmp_path / "capped.db")
    base = ns(datetime(2026, 5, 1, tzinfo=timezone.utc))
    with open_store(path) as store:
        _load(store, _in_arrival_order(4000, base, base + 10 * DAY_NS, seed=10))
        full = store.used_bytes()
    grown = _file_bytes(path)  # closed: the WAL is checkpointed into the file
    cap = full // 2
    with open_store(path, max_bytes=cap) as store:
        store.enforce_limits()
        assert store.used_bytes() <= cap
        shrunk = _file_bytes(path)
        assert shrunk <= cap * 1.05, (grown, shrunk, cap)  # given back to the file system, not only freed
        # a steady flow of newer data: each round adds about a fifth of the cap, the file stays bounded
        for round_ in range(4):
            lo = base + (10 + round_) * DAY_NS
            _load(store, _in_arrival_order(800, lo, lo + DAY_NS, seed=11 + round_))
            store.enforce_limits()
            assert store.used_bytes() <= cap
            assert _file_bytes(path) <= cap * 1.05, round_


def test_the_cutoff_follows_the_oldest_data_whichever_table_holds_it(open_stores: Any) -> None:
    """Logs from the last ten days, GenAI calls only from the last day: the cap drops old logs, not
    the calls, and no more than it has to (the cutoff is not read off the spans alone)."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

    base = ns(datetime(2026, 7, 1, tzinfo=timezone.utc))
    store = open_stores()
    for day in range(10):
        records = [LogRecord(time_unix_nano=base + day * DAY_NS + i * 10**9,
                             body=AnyValue(string_value=f"day {day} record {i} " + "x" * 1500)) for i in range(300)]
        store.ingest_logs(ExportLogsServiceRequest(resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(
            log_records=records)])]))
    calls = _in_arrival_order(1000, base + 10 * DAY_NS, base + 11 * DAY_NS, seed=12)
    _load(store, calls)
    cap = int(store.used_bytes() * 0.7)
    capped = open_stores(max_bytes=cap)
    report = capped.enforce_limits()
    assert capped.used_bytes() <= cap, report
    assert len(list(capped.export_calls())) == len(calls), report  # the calls are the newest: all kept
    assert report["deleted"].get("genai_calls", 0) == 0
    # only old logs went, and not all of them: the store is not emptied below the target
    assert 0 < report["deleted"]["logs"] < 3000
    assert capped.used_bytes() >= cap * 0.6, report


def test_the_cap_deletes_in_slices_so_that_ingest_waits_little(open_stores: Any, monkeypatch: Any) -> None:
    from otel_ai.serve.store import retention as store_module

    base = ns(datetime(2026, 8, 1, tzinfo=timezone.utc))
    items = _in_arrival_order(2000, base, base + 20 * DAY_NS, seed=13)
    store = open_stores()
    _load(store, items)
    cap = store.used_bytes() // 2
    capped = open_stores(max_bytes=cap)
    monkeypatch.setattr(store_module, "_DELETE_SLICE_ROWS", 200)
    transactions: list[int] = []
    delete_before = capped.delete_before

    def counted(cutoff_ns: int, *, keep_rollups: bool = False) -> dict[str, int]:
        transactions.append(cutoff_ns)
        return delete_before(cutoff_ns, keep_rollups=keep_rollups)

    monkeypatch.setattr(capped, "delete_before", counted)
    report = capped.enforce_limits()
    assert capped.used_bytes() <= cap
    assert len(transactions) >= 5 and transactions == sorted(transactions)
    assert report["deleted"]["genai_calls"] <= 200 * len(transactions)
    remaining = list(capped.export_calls())
    assert {r["span_id"] for r in remaining} == {i["span"].span_id.hex() for i in items[-len(remaining):]}
    assert capped.summary()["calls"] == len(items)


def test_a_sqlite_file_without_incremental_vacuum_is_capped_without_hanging(tmp_path: Any) -> None:
    """A file created before auto_vacuum was set: the freed pages are reused (the pragma cannot
    shrink it) and enforce_limits returns instead of retrying the vacuum forever."""
    import sqlite3

    from otel_ai.serve.store import open_store

    path = str(tmp_path / "old.db")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA auto_vacuum=NONE")
        conn.execute("CREATE TABLE t (x)")  # the mode is fixed once a table exists
    base = ns(datetime(2026, 9, 1, tzinfo=timezone.utc))
    with open_store(path) as store:
        _load(store, _in_arrival_order(3000, base, base + 10 * DAY_NS, seed=14))
        cap = store.used_bytes() // 2
    with open_store(path, max_bytes=cap) as store:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA auto_vacuum").scalar() == 0
        store.enforce_limits()
        assert store.used_bytes() <= cap
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA freelist_count").scalar() > 0  # kept for reuse
