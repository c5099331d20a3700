"""Ingest: OTLP export requests into the store's rows, durably and idempotently, with the roll-ups.

Every ingest is one transaction: spans are inserted with ON CONFLICT DO NOTHING ... RETURNING, and
only the spans that were new feed `genai_calls`, the roll-ups and `traces`, so a batch sent again
after a lost acknowledgement changes nothing. The call returns after the commit (SQLite: WAL with
synchronous=FULL; PostgreSQL: its default synchronous commit), so an acknowledged batch survives a
crash. Span batches go through group commit (group_commit.py); their conversion into rows may run
in a pool of worker processes (`convert_in_processes`).

The functions take the store first: `Store` (store.py) has them as its methods.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import BigInteger, Table, and_, case, delete, func, literal, or_, select
from sqlalchemy.engine import Connection

from otel_ai.serve.store import schema
from otel_ai.serve.store.aggregates import DAY_NS, HOUR_NS, LATENCY, MEASURES, ROLLUPS, SECOND_NS, floor_to
from otel_ai.serve.store.convert import SpanBatch, log_rows, span_rows

if TYPE_CHECKING:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from otel_ai.serve.store.store import Store

__all__ = [
    "IngestResult",
    "convert_in_processes",
    "ingest_logs",
    "ingest_logs_detailed",
    "ingest_traces",
    "ingest_traces_detailed",
    "rebuild_aggregates",
    "write_span_batches",
]


class IngestResult(NamedTuple):
    stored: int  # new spans / log records, committed
    duplicates: int  # already stored (a retried batch) or repeated in the request
    rejected: int  # invalid: a span without a 16-byte trace id or 8-byte span id


_logger = logging.getLogger("otel_ai.serve")


def _convert_in_worker(data: bytes) -> SpanBatch:
    """In a converter process: an export request (serialized) to the rows the store writes."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    request.ParseFromString(data)
    return span_rows(request)


def _ready() -> bool:
    return True


def _exit_with_parent(parent: int) -> None:
    """A converter process's initializer: leave when the server is gone, even if it was SIGKILLed.

    The pool's queues hold both ends of their pipes in the worker too, so it would never see EOF.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="otel-ai-parent-watch", daemon=True).start()


def convert_in_processes(store: Store, processes: int) -> None:
    """Turn span batches into rows (about 25 µs a span, pure Python) in worker processes.

    Ingest is bound by this process's one GIL: with the conversion elsewhere it spends it on
    the database, and a second core does the rest (docs/benchmarks.md). The workers start now,
    not on the first batch; if they die, conversion comes back here (one warning line).
    """
    if processes <= 0 or store._converter is not None:
        return
    store._converter = ProcessPoolExecutor(
        processes, mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent, initargs=(os.getpid(),),
    )
    store._converter.submit(_ready)


def _span_rows(store: Store, request: ExportTraceServiceRequest) -> SpanBatch:
    converter = store._converter
    if converter is not None:
        try:
            return converter.submit(_convert_in_worker, request.SerializeToString()).result()
        except (BrokenProcessPool, RuntimeError) as exc:  # a dead worker, or shut down: convert here
            if store._converter is converter:
                store._converter = None
                _logger.warning("otel-ai serve: span conversion moved back into the server process (%r)", exc)
                converter.shutdown(wait=False, cancel_futures=True)
    return span_rows(request)


def ingest_traces(store: Store, request: ExportTraceServiceRequest) -> int:
    """Store the request's spans; returns how many were new. Committed (durable) on return."""
    return store.ingest_traces_detailed(request).stored


def ingest_logs(store: Store, request: ExportLogsServiceRequest) -> int:
    """Store the request's log records; returns how many were new. Committed (durable) on return."""
    return store.ingest_logs_detailed(request).stored


def ingest_traces_detailed(store: Store, request: ExportTraceServiceRequest) -> IngestResult:
    batch = _span_rows(store, request)  # on the caller's thread (or a converter process), outside the write
    if not batch.spans:
        return IngestResult(0, batch.duplicates, batch.rejected)
    return store._span_writes.run(batch)


def write_span_batches(store: Store, batches: Sequence[SpanBatch]) -> list[IngestResult]:
    """Write the batches in one transaction (one commit, one fsync), in arrival order."""
    with store._write() as connection:
        return [_write_span_batch(store, connection, batch) for batch in batches]


def _write_span_batch(store: Store, connection: Connection, batch: SpanBatch) -> IngestResult:
    rows = [batch.spans[key] for key in sorted(batch.spans)]  # one lock order for every writer
    new = _insert_new(store, connection, schema.spans, ("trace_id", "span_id"), rows)
    if new:
        calls = [batch.genai[key] for key in sorted(new) if key in batch.genai]
        if calls:
            _insert_new(store, connection, schema.genai_calls, ("trace_id", "span_id"), calls)
            _add_to_rollups(store, connection, calls)
        _upsert_traces(store, connection, [batch.spans[key] for key in sorted(new)], batch.genai)
    _insert_evaluations(store, connection, batch.evaluations)
    return IngestResult(len(new), batch.duplicates + len(rows) - len(new), batch.rejected)


def ingest_logs_detailed(store: Store, request: ExportLogsServiceRequest) -> IngestResult:
    batch = log_rows(request)
    if not batch.logs:
        return IngestResult(0, batch.duplicates, 0)
    rows = [batch.logs[key] for key in sorted(batch.logs)]
    with store._write() as connection:
        stored = len(_insert_new(store, connection, schema.logs, ("log_id",), rows))
        _insert_evaluations(store, connection, batch.evaluations)
    return IngestResult(stored, batch.duplicates + len(rows) - stored, 0)


def _insert_evaluations(store: Store, connection: Connection, found: Mapping[str, Mapping[str, Any]]) -> None:
    """Store the evaluations not stored yet: the same one as a span event and a log record counts once."""
    if found:
        _insert_new(store, connection, schema.evaluations, ("evaluation_id",), [found[k] for k in sorted(found)])


def _insert_new(
    store: Store, connection: Connection, table: Table, key: tuple[str, ...], rows: Sequence[Mapping[str, Any]],
) -> set[tuple[Any, ...]]:
    """Insert the rows whose key is not stored yet; returns their keys.

    PostgreSQL: INSERT ... ON CONFLICT DO NOTHING RETURNING, safe with concurrent writers (a
    second insert of a key waits for the first to commit, then skips it). SQLite: writers are
    serialized (BEGIN IMMEDIATE), so the stored keys are read first and the rest go in one
    executemany, without SQLAlchemy's per-row work (twice as fast on a 500-span batch)."""
    if store.backend != "sqlite":
        statement = (store._insert(table).on_conflict_do_nothing(index_elements=list(key))
                     .returning(*(table.c[k] for k in key)))
        return {tuple(row) for row in connection.execute(statement, rows)}
    first = table.c[key[0]]
    heads = sorted({row[key[0]] for row in rows})
    stored: set[tuple[Any, ...]] = set()
    for i in range(0, len(heads), 500):
        query = select(*(table.c[k] for k in key)).where(first.in_(heads[i:i + 500]))
        stored.update(tuple(row) for row in connection.execute(query))
    fresh = [row for row in rows if tuple(row[k] for k in key) not in stored]
    if fresh:
        columns = [c.name for c in table.columns]
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        connection.exec_driver_sql(sql, [tuple(row[c] for c in columns) for row in fresh])
    return {tuple(row[k] for k in key) for row in fresh}


def _add_to_rollups(store: Store, connection: Connection, calls: Sequence[Mapping[str, Any]]) -> None:
    for step, table in ROLLUPS.items():
        rows = _rollup_rows(calls, step)
        statement = store._insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=list(schema.ROLLUP_KEY),
            set_={m: table.c[m] + statement.excluded[m] for m in MEASURES},
        )
        connection.execute(statement, rows)
    for step, table in LATENCY.items():
        rows = _latency_rows(calls, step)
        statement = store._insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["period_start", "bucket"],
            set_={m: table.c[m] + statement.excluded[m] for m in ("calls", "duration_ns")},
        )
        connection.execute(statement, rows)


def _upsert_traces(
    store: Store, connection: Connection, spans: Sequence[Mapping[str, Any]], genai: Mapping[tuple[str, str], Any],
) -> None:
    per_trace: dict[str, dict[str, Any]] = {}
    for span in spans:
        trace_id = span["trace_id"]
        call = genai.get((trace_id, span["span_id"]))
        root = span["parent_span_id"] is None
        row = per_trace.get(trace_id)
        if row is None:
            row = per_trace[trace_id] = {
                "trace_id": trace_id, "start_ns": span["start_ns"], "end_ns": span["end_ns"],
                "name": span["name"], "service": span["service"], "root_span_id": None,
                "span_count": 0, "error_count": 0, "genai_calls": 0, "cost_usd": 0.0, "_first": span["start_ns"],
            }
        if row["root_span_id"] is None and (root or span["start_ns"] < row["_first"]):
            row["name"], row["service"], row["_first"] = span["name"], span["service"], span["start_ns"]
            if root:
                row["root_span_id"] = span["span_id"]
        row["start_ns"] = min(row["start_ns"], span["start_ns"])
        row["end_ns"] = max(row["end_ns"], span["end_ns"])
        row["span_count"] += 1
        row["error_count"] += span["status_code"] == "ERROR"
        if call is not None:
            row["genai_calls"] += 1
            row["cost_usd"] += call["cost_usd"] or 0.0
    rows = [{k: v for k, v in per_trace[t].items() if k != "_first"} for t in sorted(per_trace)]
    table = schema.traces
    statement = store._insert(table)
    new = statement.excluded
    take_new = and_(table.c.root_span_id.is_(None),
                    or_(new.root_span_id.is_not(None), new.start_ns < table.c.start_ns))
    statement = statement.on_conflict_do_update(
        index_elements=["trace_id"],
        set_={
            "start_ns": case((new.start_ns < table.c.start_ns, new.start_ns), else_=table.c.start_ns),
            "end_ns": case((new.end_ns > table.c.end_ns, new.end_ns), else_=table.c.end_ns),
            "name": case((take_new, new.name), else_=table.c.name),
            "service": case((take_new, new.service), else_=table.c.service),
            "root_span_id": func.coalesce(table.c.root_span_id, new.root_span_id),
            "span_count": table.c.span_count + new.span_count,
            "error_count": table.c.error_count + new.error_count,
            "genai_calls": table.c.genai_calls + new.genai_calls,
            "cost_usd": table.c.cost_usd + new.cost_usd,
        },
    )
    connection.execute(statement, rows)


def rebuild_aggregates(store: Store) -> None:
    """Recompute the roll-ups and latency histograms from `genai_calls` (bulk loads, repairs)."""
    calls = schema.genai_calls
    with store._write() as connection:
        for step in (DAY_NS, HOUR_NS):
            rollup, latency = ROLLUPS[step], LATENCY[step]
            connection.execute(delete(rollup))
            connection.execute(delete(latency))
            period = (calls.c.start_ns - calls.c.start_ns % step) // literal(SECOND_NS, BigInteger)
            keys = [calls.c[k] for k in schema.ROLLUP_KEY[1:]]
            connection.execute(rollup.insert().from_select(
                list(schema.ROLLUP_KEY) + list(MEASURES),
                select(period, *keys, func.count(), func.sum(calls.c.input_tokens),
                       func.sum(calls.c.output_tokens), func.sum(calls.c.characters),
                       func.coalesce(func.sum(calls.c.cost_usd), 0.0), func.sum(calls.c.duration_ns))
                .group_by(period, *keys),
            ))
            connection.execute(latency.insert().from_select(
                ["period_start", "bucket", "calls", "duration_ns"],
                select(period, calls.c.duration_bucket, func.count(), func.sum(calls.c.duration_ns))
                .group_by(period, calls.c.duration_bucket),
            ))


def _rollup_rows(calls: Iterable[Mapping[str, Any]], step: int) -> list[dict[str, Any]]:
    sums: dict[tuple[Any, ...], list[Any]] = {}
    for call in calls:
        key = (floor_to(call["start_ns"], step) // SECOND_NS, *(call[k] for k in schema.ROLLUP_KEY[1:]))
        entry = sums.get(key)
        if entry is None:
            entry = sums[key] = [0, 0, 0, 0, 0.0, 0]
        entry[0] += 1
        entry[1] += call["input_tokens"]
        entry[2] += call["output_tokens"]
        entry[3] += call["characters"]
        entry[4] += call["cost_usd"] or 0.0
        entry[5] += call["duration_ns"]
    return [
        {**dict(zip(schema.ROLLUP_KEY, key, strict=True)), **dict(zip(MEASURES, sums[key], strict=True))}
        for key in sorted(sums)
    ]


def _latency_rows(calls: Iterable[Mapping[str, Any]], step: int) -> list[dict[str, Any]]:
    sums: dict[tuple[int, int], list[int]] = {}
    for call in calls:
        key = (floor_to(call["start_ns"], step) // SECOND_NS, call["duration_bucket"])
        entry = sums.setdefault(key, [0, 0])
        entry[0] += 1
        entry[1] += call["duration_ns"]
    return [
        {"period_start": p, "bucket": b, "calls": sums[(p, b)][0], "duration_ns": sums[(p, b)][1]}
        for p, b in sorted(sums)
    ]
