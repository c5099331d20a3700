"""Retention: the store's limits (delete data older than retention_days, cap the size), and what it holds.

Retention deletes the raw rows and the roll-ups alike; the size cap deletes the oldest raw rows
only, in slices, so that ingest waits little and costs over the dropped period still answer, then
gives the freed pages back to the file system (SQLite). `storage()` reports against the limits.

The functions take the store first: `Store` (store.py) has them as its methods.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, select, text, update

from otel_ai.serve.store import schema
from otel_ai.serve.store.aggregates import (
    DAY_NS,
    HOUR_NS,
    LATENCY,
    MEASURES,
    ROLLUPS,
    SECOND_NS,
    Segment,
    as_utc,
    floor_to,
    iso,
    to_ns,
)
from otel_ai.serve.store.database import sqlite_file
from otel_ai.serve.store.queries import ns_range, segment_query

if TYPE_CHECKING:
    from otel_ai.serve.store.store import Store

__all__ = ["delete_before", "enforce_limits", "storage", "used_bytes"]

_SIZE_TARGET = 0.9  # the size cap deletes down to this fraction of max_bytes
_SIZE_PASSES = 12  # at most this many delete passes per enforce_limits (the next run goes on)
_CUTOFF_MIN_SHARE = 0.05  # tables with fewer of the raw rows do not propose the size cap's cutoff
_DELETE_SLICE_ROWS = 50_000  # the size cap deletes about this many raw rows per transaction
_VACUUM_CHUNK = 2048  # pages given back to the file system per write transaction (8 MiB of 4 KiB pages)


def enforce_limits(store: Store, now: datetime | None = None) -> dict[str, Any]:
    """Apply retention (delete what is older than retention_days, roll-ups included) and the size cap
    (delete the oldest raw rows until the data is under 90% of max_bytes; the hourly and daily
    roll-ups stay, so costs and totals over the dropped period still answer). Call it at start and
    then periodically."""
    with store._limits_lock:  # the server's limits thread and a manual call do not interleave
        report = _enforce_limits(store, now)
        _merge(store._dropped, report["deleted"])
        store._last_limits = time.time()
    return report


def _enforce_limits(store: Store, now: datetime | None) -> dict[str, Any]:
    report: dict[str, Any] = {"retention_cutoff": None, "size_cutoff": None, "deleted": {}, "bytes": None,
                              "longest_delete_s": 0.0}
    if store.retention_days is not None:
        cutoff = (to_ns(as_utc(now)) or 0) - int(store.retention_days * DAY_NS)
        report["retention_cutoff"] = iso(cutoff)
        _merge(report["deleted"], store.delete_before(cutoff))
    if store.max_bytes is not None and _physical_bytes(store) > store.max_bytes:
        # Each pass deletes at most about the excess (rows do not all weigh the same, and freed space
        # is not all given back: pages shared with newer rows), so passes repeat until it fits.
        for _ in range(_SIZE_PASSES):
            used = store.used_bytes()
            report["bytes"] = used
            if used <= store.max_bytes:
                break
            found = _size_cutoff(store, used)
            if found is None:
                break
            size_cutoff, oldest, rows = found
            report["size_cutoff"] = iso(size_cutoff)
            # In time slices of about _DELETE_SLICE_ROWS rows, one transaction each: ingest waits for
            # one slice at most, not for the whole pass (the roll-ups stay whole, so every state between
            # slices is consistent).
            slices = max(1, math.ceil(rows / _DELETE_SLICE_ROWS))
            deleted: dict[str, int] = {}
            for i in range(1, slices + 1):
                started = time.perf_counter()
                _merge(deleted, store.delete_before(oldest + (size_cutoff - oldest) * i // slices,
                                                   keep_rollups=True))
                report["longest_delete_s"] = max(report["longest_delete_s"], time.perf_counter() - started)
            _merge(report["deleted"], deleted)
            if not any(deleted.values()):
                break
        _reclaim(store)
        report["bytes"] = store.used_bytes()
    return report


def delete_before(store: Store, cutoff_ns: int, *, keep_rollups: bool = False) -> dict[str, int]:
    """Delete spans, logs, calls and traces that started before `cutoff_ns`. The roll-ups lose the
    same calls (they stay exact), unless `keep_rollups` (the size cap): then they keep counting them."""
    calls = schema.genai_calls
    deleted: dict[str, int] = {}
    with store._write() as connection:
        for step in () if keep_rollups else (DAY_NS, HOUR_NS):
            rollup, latency = ROLLUPS[step], LATENCY[step]
            period = floor_to(cutoff_ns, step)
            for table in (rollup, latency):
                connection.execute(delete(table).where(table.c.period_start < period // SECOND_NS))
            if period == cutoff_ns:
                continue
            # The period that holds the cutoff loses only the calls before it: subtract them.
            segment = Segment(0, period, cutoff_ns)
            keys = schema.ROLLUP_KEY[1:]
            parts = connection.execute(segment_query(segment, keys, {})).mappings().all()
            if parts:
                connection.execute(
                    update(rollup)
                    .where(*(rollup.c[k] == bindparam(f"k_{k}") for k in schema.ROLLUP_KEY))
                    .values({m: rollup.c[m] - bindparam(f"d_{m}") for m in MEASURES}),
                    [{"k_period_start": period // SECOND_NS, **{f"k_{k}": p[k] for k in keys},
                      **{f"d_{m}": float(p[m] or 0) if m == "cost_usd" else int(p[m] or 0) for m in MEASURES}}
                     for p in parts],
                )
                buckets = connection.execute(
                    select(calls.c.duration_bucket, func.count(), func.sum(calls.c.duration_ns))
                    .where(*ns_range(calls.c.start_ns, period, cutoff_ns)).group_by(calls.c.duration_bucket)
                ).all()
                connection.execute(
                    update(latency)
                    .where(latency.c.period_start == bindparam("k_period"),
                           latency.c.bucket == bindparam("k_bucket"))
                    .values(calls=latency.c.calls - bindparam("d_calls"),
                            duration_ns=latency.c.duration_ns - bindparam("d_duration")),
                    [{"k_period": period // SECOND_NS, "k_bucket": int(b), "d_calls": int(n), "d_duration": int(s or 0)}
                     for b, n, s in buckets],
                )
                for table in (rollup, latency):
                    connection.execute(delete(table).where(table.c.period_start == period // SECOND_NS,
                                                           table.c.calls <= 0))
        for name, table, column in (
            ("genai_calls", calls, calls.c.start_ns),
            ("spans", schema.spans, schema.spans.c.start_ns),
            ("logs", schema.logs, schema.logs.c.time_ns),
            ("evaluations", schema.evaluations, schema.evaluations.c.time_ns),
            ("traces", schema.traces, schema.traces.c.start_ns),
        ):
            deleted[name] = connection.execute(delete(table).where(column < cutoff_ns)).rowcount or 0
    return deleted


def storage(store: Store) -> dict[str, Any]:
    """What the store holds against its limits (the health answer and the dashboard show it): bytes
    used (as the size cap counts them) and the file's size, the cap, the retention, the oldest raw
    data kept (roll-ups may reach further back), and the rows the limits dropped since it opened."""
    oldest: int | None = None
    with store._read() as connection:
        for column in (schema.spans.c.start_ns, schema.logs.c.time_ns, schema.genai_calls.c.start_ns):
            first = connection.execute(select(func.min(column))).scalar()
            if first is not None:
                oldest = int(first) if oldest is None else min(oldest, int(first))
    path = sqlite_file(store.engine)
    file_bytes = None
    if path is not None:
        file_bytes = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    # SQLite: what the cap counts (three pragmas). PostgreSQL: the tables' size on disk, an upper
    # bound of what the cap counts, which would take a read of every row (a health check must be cheap).
    used = store.used_bytes() if store.backend == "sqlite" else _physical_bytes(store)
    with store._limits_lock:
        dropped = dict(store._dropped)
        last = store._last_limits
    return {
        "backend": store.backend,
        "used_bytes": used,
        "file_bytes": file_bytes,
        "max_bytes": store.max_bytes,
        "retention_days": store.retention_days,
        "oldest": None if oldest is None else iso(oldest),
        "oldest_ns": oldest,
        "dropped_rows": sum(dropped.values()),
        "dropped": dropped,
        "limits_checked_at": None if last is None else iso(int(last * SECOND_NS)),
    }


def used_bytes(store: Store) -> int:
    """The bytes the size cap counts. SQLite: the database file's pages in use (freed pages excluded).
    PostgreSQL: the bytes of the live rows of the store's tables (`pg_column_size`; indexes and
    space not yet vacuumed excluded, as deleting rows does not shrink PostgreSQL's files)."""
    with store.engine.connect() as connection:
        if store.backend == "sqlite":
            page_size = connection.exec_driver_sql("PRAGMA page_size").scalar() or 0
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar() or 0
            free = connection.exec_driver_sql("PRAGMA freelist_count").scalar() or 0
            return int(page_size) * (int(pages) - int(free))
        return sum(
            int(connection.execute(text(f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {n} t")).scalar()
                or 0)
            for n in _table_names()
        )


def _table_names() -> list[str]:
    return [t.name for t in schema.metadata.sorted_tables]


def _physical_bytes(store: Store) -> int:
    """An upper bound of used_bytes() that costs nothing to read."""
    if store.backend == "sqlite":
        return store.used_bytes()
    with store.engine.connect() as connection:
        return sum(int(connection.execute(text("SELECT pg_total_relation_size(:t)"), {"t": n}).scalar() or 0)
                   for n in _table_names())


def _size_cutoff(store: Store, used: int) -> tuple[int, int, int] | None:
    """A start time before which deleting the raw rows frees at most the excess over the target size.

    Each table that holds a fair share of the rows proposes the time before which the excess's
    fraction of its rows lies; the earliest proposal wins. So the oldest data goes first whichever
    table holds it (logs older than every call, calls bulk-loaded without spans), and a pass never
    deletes much more than needed: enforce_limits repeats passes until the data fits. Returns the
    cutoff, the oldest raw row's time and about how many rows lie before the cutoff."""
    assert store.max_bytes is not None
    fraction = (used - store.max_bytes * _SIZE_TARGET) / used
    columns = (schema.spans.c.start_ns, schema.logs.c.time_ns, schema.genai_calls.c.start_ns,
               schema.traces.c.start_ns)
    with store._read() as connection:
        counts = [int(connection.execute(select(func.count()).select_from(c.table)).scalar() or 0)
                  for c in columns]
        proposals, oldest = [], []
        for column, count in zip(columns, counts, strict=True):
            if not count:
                continue
            first = connection.execute(select(func.min(column))).scalar()
            oldest.append(int(first if first is not None else 0))
            if count < _CUTOFF_MIN_SHARE * sum(counts):
                continue
            offset = min(count, max(1, math.ceil(count * fraction))) - 1
            value = connection.execute(select(column).order_by(column).limit(1).offset(offset)).scalar()
            if value is not None:
                proposals.append(int(value) + 1)
    if not proposals:
        return None
    return min(proposals), min(oldest), math.ceil(sum(counts) * fraction)


def _reclaim(store: Store) -> None:
    """SQLite: give the freed pages back to the file system (the database is created with
    auto_vacuum=INCREMENTAL), then checkpoint, so that the file itself shrinks now rather than
    at the next automatic checkpoint. PASSIVE: it never waits for, nor blocks, ingest."""
    if store.backend != "sqlite":
        return
    last_free: int | None = None
    while True:
        with store._write() as connection:
            if connection.exec_driver_sql("PRAGMA auto_vacuum").scalar() != 2:
                return  # a file made without it (mode 0 can only change by a full VACUUM): pages are reused
            free = int(connection.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
            if not free or free == last_free:  # done, or no progress: never loop on the write lock
                break
            last_free = free
            cursor = connection.connection.cursor()
            try:
                # The pragma frees one page per step and Python's sqlite3 steps a statement without
                # columns once: one page per call. In chunks, so that ingest waits little.
                for _ in range(min(free, _VACUUM_CHUNK)):
                    cursor.execute("PRAGMA incremental_vacuum")
            finally:
                cursor.close()
    with store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def _merge(into: dict[str, int], more: Mapping[str, int]) -> None:
    for key, value in more.items():
        into[key] = into.get(key, 0) + value
