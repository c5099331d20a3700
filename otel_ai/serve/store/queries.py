"""The store: durable idempotent ingest of OTLP traces and logs, and the queries behind the API and reports.

Every ingest is one transaction: spans are inserted with ON CONFLICT DO NOTHING ... RETURNING, and
only the spans that were new feed `genai_calls`, the roll-ups and `traces`, so a batch sent again
after a lost acknowledgement changes nothing. The call returns after the commit (SQLite: WAL with
synchronous=FULL; PostgreSQL: its default synchronous commit), so an acknowledged batch survives a
crash.

Queries read the roll-ups for whole days and hours and the raw rows only at the edges of the range
(aggregates.py), inside one read transaction (PostgreSQL: REPEATABLE READ) so that the parts agree.
All answers are plain JSON-ready dicts: times as ISO 8601 (UTC) plus `*_ns` integers, money in USD.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Engine,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

from otel_ai.genai.advice import action_for, code_action
from otel_ai.serve.store import schema
from otel_ai.serve.store.aggregates import DAY_NS, HOUR_NS, Segment, floor_to, percentiles, plan
from otel_ai.serve.store.convert import SpanBatch, log_rows, span_rows
from otel_ai.serve.store.database import create_store_engine, migrate, sqlite_file
from otel_ai.serve.store.forecast import TREND_DAYS
from otel_ai.serve.store.forecast import forecast as _forecast

if TYPE_CHECKING:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = ["GROUP_BY", "IngestResult", "Store", "open_store"]

GROUP_BY = ("model", "provider", "operation", "service", "task_type", "day", "response_model")
# Groups the roll-ups do not key: read from the raw calls over the whole range.
_RAW_GROUPS = frozenset({"response_model"})
FILTERS = schema.DIMENSIONS  # keyword filters of summary, costs, errors, forecast and export_calls
_EXPORT_FILTERS = (*schema.DIMENSIONS, "outcome", "error_category")
_MEASURES = ("calls", "input_tokens", "output_tokens", "characters", "cost_usd", "duration_ns")
TRACE_COUNT_CAP = 1_000
_MAX_OFFSET = 2**62  # a paging offset past any real table, well inside a 64-bit SQL integer
_SIZE_TARGET = 0.9  # the size cap deletes down to this fraction of max_bytes
_SIZE_PASSES = 12  # at most this many delete passes per enforce_limits (the next run goes on)
_CUTOFF_MIN_SHARE = 0.05  # tables with fewer of the raw rows do not propose the size cap's cutoff
_DELETE_SLICE_ROWS = 50_000  # the size cap deletes about this many raw rows per transaction
_VACUUM_CHUNK = 2048  # pages given back to the file system per write transaction (8 MiB of 4 KiB pages)
_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ROLLUPS = {DAY_NS: schema.genai_rollup_day, HOUR_NS: schema.genai_rollup_hour}
_LATENCY = {DAY_NS: schema.genai_latency_day, HOUR_NS: schema.genai_latency_hour}


# Extra WHERE conditions on a roll-up table or genai_calls (both have the dimension columns).
Conditions = Callable[[Table], Sequence[ColumnElement[bool]]]


class CallTotals(NamedTuple):
    calls: int
    errors: int
    cost_usd: float


class IngestResult(NamedTuple):
    stored: int  # new spans / log records, committed
    duplicates: int  # already stored (a retried batch) or repeated in the request
    rejected: int  # invalid: a span without a 16-byte trace id or 8-byte span id


@dataclass
class _Totals:
    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    characters: int = 0
    cost_usd: float = 0.0
    duration_ns: int = 0

    def add(self, row: Mapping[Any, Any]) -> None:
        self.calls += int(row["calls"] or 0)
        self.errors += int(row["errors"] or 0)
        self.input_tokens += int(row["input_tokens"] or 0)
        self.output_tokens += int(row["output_tokens"] or 0)
        self.characters += int(row["characters"] or 0)
        self.cost_usd += float(row["cost_usd"] or 0.0)
        self.duration_ns += int(row["duration_ns"] or 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": self.errors,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "characters": self.characters,
            "cost_usd": self.cost_usd,
        }


def _to_ns(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def _iso(ns: int) -> str:
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat()


def _day(seconds: int) -> str:
    return (_EPOCH + timedelta(seconds=seconds)).date().isoformat()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _as_utc(moment: datetime | None) -> datetime:
    if moment is None:
        return _utcnow()
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _check_filters(filters: Mapping[str, str | None], allowed: Sequence[str]) -> dict[str, str]:
    unknown = set(filters) - set(allowed)
    if unknown:
        raise ValueError(f"unknown filter(s) {sorted(unknown)}; known: {list(allowed)}")
    return {k: v for k, v in filters.items() if v is not None}


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


_In = TypeVar("_In")
_Out = TypeVar("_Out")


class _Pending(Generic[_In, _Out]):
    __slots__ = ("done", "error", "item", "leads", "result")

    def __init__(self, item: _In) -> None:
        self.item = item
        self.done = threading.Event()
        self.leads = False  # handed the writer's role instead of a result
        self.result: _Out | None = None
        self.error: BaseException | None = None

    def outcome(self) -> _Out:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class GroupCommit(Generic[_In, _Out]):
    """Group commit: batches that arrive while one is being written go in together, in one transaction.

    Each caller still returns only once its own batch is committed (durable), but a commit's fsync
    is shared by every batch waiting for it, and the serialized part of ingest shrinks. No thread
    of its own: the first caller writes, later ones wait; the writer hands its role to the oldest
    waiting caller when done. If a group's transaction fails, its batches are written one by one,
    so one bad batch fails only its own request.
    """

    def __init__(self, write: Callable[[Sequence[_In]], list[_Out]], max_group: int = 8) -> None:
        self._write = write
        self._max_group = max_group
        self._lock = threading.Lock()
        self._queue: list[_Pending[_In, _Out]] = []
        self._busy = False

    def run(self, item: _In) -> _Out:
        pending: _Pending[_In, _Out] = _Pending(item)
        with self._lock:
            self._queue.append(pending)
            leads = not self._busy
            self._busy = True
        if not leads:
            pending.done.wait()
            if not pending.leads:
                return pending.outcome()
        with self._lock:  # the writer's own batch is first in the queue
            group = self._queue[: self._max_group]
            del self._queue[: len(group)]
        try:
            self._write_group(group)
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].leads = True
                    self._queue[0].done.set()
                else:
                    self._busy = False
            for other in group:
                if other is not pending:
                    other.done.set()
        return pending.outcome()

    def _write_group(self, group: list[_Pending[_In, _Out]]) -> None:
        try:
            results = self._write([p.item for p in group])
        except BaseException as exc:
            if len(group) == 1:
                group[0].error = exc
                return
            for p in group:  # find the bad one: each alone
                try:
                    p.result = self._write([p.item])[0]
                except BaseException as alone:
                    p.error = alone
            return
        for p, result in zip(group, results, strict=True):
            p.result = result


class Store:
    """Use `open_store()`. Thread-safe; one instance per process and database."""

    def __init__(self, engine: Engine, *, retention_days: float | None = None, max_bytes: int | None = None) -> None:
        if retention_days is not None and retention_days <= 0:
            raise ValueError("retention_days must be positive")
        if max_bytes is not None and max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.engine = engine
        self.backend = engine.dialect.name  # "sqlite" | "postgresql"
        self.retention_days = retention_days
        self.max_bytes = max_bytes
        # What enforce_limits dropped since this Store opened (storage() reports it), by table.
        self._dropped: dict[str, int] = {}
        self._limits_lock = threading.Lock()
        self._last_limits: float | None = None  # unix seconds of the last enforce_limits
        # SQLite has one writer at a time: queue our own writers here rather than in its busy loop.
        self._write_lock: threading.Lock | None = threading.Lock() if self.backend == "sqlite" else None
        self._span_writes = GroupCommit(self._write_span_batches)
        self._converter: ProcessPoolExecutor | None = None
        if self.backend == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            self._insert: Any = pg_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            self._insert = sqlite_insert

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        converter, self._converter = self._converter, None
        if converter is not None:
            converter.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()

    def convert_in_processes(self, processes: int) -> None:
        """Turn span batches into rows (about 25 µs a span, pure Python) in worker processes.

        Ingest is bound by this process's one GIL: with the conversion elsewhere it spends it on
        the database, and a second core does the rest (docs/benchmarks.md). The workers start now,
        not on the first batch; if they die, conversion comes back here (one warning line).
        """
        if processes <= 0 or self._converter is not None:
            return
        self._converter = ProcessPoolExecutor(
            processes, mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent, initargs=(os.getpid(),),
        )
        self._converter.submit(_ready)

    def _span_rows(self, request: ExportTraceServiceRequest) -> SpanBatch:
        converter = self._converter
        if converter is not None:
            try:
                return converter.submit(_convert_in_worker, request.SerializeToString()).result()
            except (BrokenProcessPool, RuntimeError) as exc:  # a dead worker, or shut down: convert here
                if self._converter is converter:
                    self._converter = None
                    _logger.warning("otel-ai serve: span conversion moved back into the server process (%r)", exc)
                    converter.shutdown(wait=False, cancel_futures=True)
        return span_rows(request)

    def ping(self) -> None:
        """Raises when the database does not answer (the API's health check)."""
        with self.engine.connect() as connection:
            connection.execute(select(literal(1))).scalar()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions -------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock or nullcontext(), self.engine.connect() as connection:
            connection.execution_options(sqlite_begin="IMMEDIATE")
            with connection.begin():
                yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            if self.backend == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection

    # --- ingest -------------------------------------------------------------------------------------

    def ingest_traces(self, request: ExportTraceServiceRequest) -> int:
        """Store the request's spans; returns how many were new. Committed (durable) on return."""
        return self.ingest_traces_detailed(request).stored

    def ingest_logs(self, request: ExportLogsServiceRequest) -> int:
        """Store the request's log records; returns how many were new. Committed (durable) on return."""
        return self.ingest_logs_detailed(request).stored

    def ingest_traces_detailed(self, request: ExportTraceServiceRequest) -> IngestResult:
        batch = self._span_rows(request)  # on the caller's thread (or a converter process), outside the write
        if not batch.spans:
            return IngestResult(0, batch.duplicates, batch.rejected)
        return self._span_writes.run(batch)

    def _write_span_batches(self, batches: Sequence[SpanBatch]) -> list[IngestResult]:
        """Write the batches in one transaction (one commit, one fsync), in arrival order."""
        with self._write() as connection:
            return [self._write_span_batch(connection, batch) for batch in batches]

    def _write_span_batch(self, connection: Connection, batch: SpanBatch) -> IngestResult:
        rows = [batch.spans[key] for key in sorted(batch.spans)]  # one lock order for every writer
        new = self._insert_new(connection, schema.spans, ("trace_id", "span_id"), rows)
        if new:
            calls = [batch.genai[key] for key in sorted(new) if key in batch.genai]
            if calls:
                self._insert_new(connection, schema.genai_calls, ("trace_id", "span_id"), calls)
                self._add_to_rollups(connection, calls)
            self._upsert_traces(connection, [batch.spans[key] for key in sorted(new)], batch.genai)
        return IngestResult(len(new), batch.duplicates + len(rows) - len(new), batch.rejected)

    def ingest_logs_detailed(self, request: ExportLogsServiceRequest) -> IngestResult:
        batch = log_rows(request)
        if not batch.logs:
            return IngestResult(0, batch.duplicates, 0)
        rows = [batch.logs[key] for key in sorted(batch.logs)]
        with self._write() as connection:
            stored = len(self._insert_new(connection, schema.logs, ("log_id",), rows))
        return IngestResult(stored, batch.duplicates + len(rows) - stored, 0)

    def _insert_new(
        self, connection: Connection, table: Table, key: tuple[str, ...], rows: Sequence[Mapping[str, Any]],
    ) -> set[tuple[Any, ...]]:
        """Insert the rows whose key is not stored yet; returns their keys.

        PostgreSQL: INSERT ... ON CONFLICT DO NOTHING RETURNING, safe with concurrent writers (a
        second insert of a key waits for the first to commit, then skips it). SQLite: writers are
        serialized (BEGIN IMMEDIATE), so the stored keys are read first and the rest go in one
        executemany, without SQLAlchemy's per-row work (twice as fast on a 500-span batch)."""
        if self.backend != "sqlite":
            statement = (self._insert(table).on_conflict_do_nothing(index_elements=list(key))
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

    def _add_to_rollups(self, connection: Connection, calls: Sequence[Mapping[str, Any]]) -> None:
        for step, table in _ROLLUPS.items():
            rows = _rollup_rows(calls, step)
            statement = self._insert(table)
            statement = statement.on_conflict_do_update(
                index_elements=list(schema.ROLLUP_KEY),
                set_={m: table.c[m] + statement.excluded[m] for m in _MEASURES},
            )
            connection.execute(statement, rows)
        for step, table in _LATENCY.items():
            rows = _latency_rows(calls, step)
            statement = self._insert(table)
            statement = statement.on_conflict_do_update(
                index_elements=["period_start", "bucket"],
                set_={m: table.c[m] + statement.excluded[m] for m in ("calls", "duration_ns")},
            )
            connection.execute(statement, rows)

    def _upsert_traces(
        self, connection: Connection, spans: Sequence[Mapping[str, Any]], genai: Mapping[tuple[str, str], Any],
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
        statement = self._insert(table)
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

    def rebuild_aggregates(self) -> None:
        """Recompute the roll-ups and latency histograms from `genai_calls` (bulk loads, repairs)."""
        calls = schema.genai_calls
        with self._write() as connection:
            for step in (DAY_NS, HOUR_NS):
                rollup, latency = _ROLLUPS[step], _LATENCY[step]
                connection.execute(delete(rollup))
                connection.execute(delete(latency))
                period = (calls.c.start_ns - calls.c.start_ns % step) // literal(_NS, BigInteger)
                keys = [calls.c[k] for k in schema.ROLLUP_KEY[1:]]
                connection.execute(rollup.insert().from_select(
                    list(schema.ROLLUP_KEY) + list(_MEASURES),
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

    # --- aggregation over a time range --------------------------------------------------------------

    def _aggregate(
        self, connection: Connection, group_by: Sequence[str], lo: int | None, hi: int | None,
        filters: Mapping[str, str], where: Conditions | None = None,
    ) -> dict[tuple[Any, ...], _Totals]:
        """Totals per group over [lo, hi) ns; group names: DIMENSIONS, outcome, error_category, day."""
        out: dict[tuple[Any, ...], _Totals] = defaultdict(_Totals)
        segments = [Segment(0, lo, hi)] if _RAW_GROUPS.intersection(group_by) else plan(lo, hi)
        for segment in segments:
            for row in connection.execute(_segment_query(segment, group_by, filters, where)).mappings():
                key = tuple(
                    (int(row[g]) // _NS if segment.step == 0 else int(row[g])) if g == "day" else row[g]
                    for g in group_by
                )
                out[key].add(row)
        return out

    def _latency_histogram(
        self, connection: Connection, lo: int | None, hi: int | None, filters: Mapping[str, str],
    ) -> list[tuple[int, int, int]]:
        histogram: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        segments = plan(lo, hi) if not filters else [Segment(0, lo, hi)]
        for segment in segments:
            if segment.step:
                table = _LATENCY[segment.step]
                where = _period_range(table, segment)
                query = (select(table.c.bucket, func.sum(table.c.calls), func.sum(table.c.duration_ns))
                         .where(*where).group_by(table.c.bucket))
            else:
                calls = schema.genai_calls
                where = [*_ns_range(calls.c.start_ns, segment.lo, segment.hi),
                         *(calls.c[k] == v for k, v in filters.items())]
                query = (select(calls.c.duration_bucket, func.count(), func.sum(calls.c.duration_ns))
                         .where(*where).group_by(calls.c.duration_bucket))
            for bucket, count, duration in connection.execute(query):
                entry = histogram[int(bucket)]
                entry[0] += int(count or 0)
                entry[1] += int(duration or 0)
        return [(b, n, s) for b, (n, s) in histogram.items()]

    # --- queries ------------------------------------------------------------------------------------

    def totals(self, lo_ns: int | None, hi_ns: int | None, where: Conditions | None = None) -> CallTotals:
        """Calls, failed calls and USD over [lo_ns, hi_ns), optionally only the rows `where(table)`
        selects (a roll-up table or genai_calls, which share the dimension columns): for what the
        equality filters cannot say, such as a budget's model scope. Alerts and budgets read this."""
        with self._read() as connection:
            totals = self._aggregate(connection, (), lo_ns, hi_ns, {}, where).get((), _Totals())
        return CallTotals(totals.calls, totals.errors, totals.cost_usd)

    def summary(
        self, since: datetime | None = None, until: datetime | None = None, *, now: datetime | None = None,
        **filters: str | None,
    ) -> dict[str, Any]:
        """Totals over [since, until): calls, errors, error_rate, cost, tokens, characters, p50/p95 latency;
        plus cost_today and cost_this_month (UTC calendar, relative to `now`, ignoring since/until)."""
        active = _check_filters(filters, FILTERS)
        lo, hi = _to_ns(since), _to_ns(until)
        moment = _as_utc(now)
        today_ns = floor_to(_to_ns(moment) or 0, DAY_NS)
        month_ns = _to_ns(datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)) or 0
        with self._read() as connection:
            totals = self._aggregate(connection, (), lo, hi, active).get((), _Totals())
            p50, p95 = percentiles(self._latency_histogram(connection, lo, hi, active), (0.5, 0.95))
            by_day = self._aggregate(connection, ("day",), month_ns, today_ns + DAY_NS, active)
            unpriced = self._unpriced(connection, lo, hi, active)
        today_s = today_ns // _NS
        return {
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            **totals.as_dict(),
            "error_rate": totals.errors / totals.calls if totals.calls else 0.0,
            "avg_duration_ms": totals.duration_ns / totals.calls / 1e6 if totals.calls else None,
            "p50_duration_ms": p50,
            "p95_duration_ms": p95,
            "cost_today": sum((t.cost_usd for (day,), t in by_day.items() if day == today_s), 0.0),
            "cost_this_month": sum((t.cost_usd for t in by_day.values()), 0.0),
            "unpriced_calls": unpriced,
        }

    def costs(
        self, group_by: str = "model", since: datetime | None = None, until: datetime | None = None,
        **filters: str | None,
    ) -> list[dict[str, Any]]:
        """Cost groups: key, calls, errors, input/output tokens, characters, cost_usd. Days ascending,
        other groups by cost descending. A missing dimension (no task type, say) has key ''.
        `model` is the model the app asked for; `response_model` the one that answered (read from the
        raw calls, not the roll-ups: slower over long ranges)."""
        if group_by not in GROUP_BY:
            raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}")
        active = _check_filters(filters, FILTERS)
        with self._read() as connection:
            groups = self._aggregate(connection, (group_by,), _to_ns(since), _to_ns(until), active)
        rows: list[dict[str, Any]] = []
        for (key,), totals in groups.items():
            if not totals.calls:
                continue
            label = _day(key) if group_by == "day" else key
            rows.append({"key": label, **totals.as_dict()})
        if group_by == "day":
            rows.sort(key=lambda r: r["key"])
        else:
            rows.sort(key=lambda r: (-r["cost_usd"], -r["calls"], r["key"]))
        return rows

    def errors(
        self, since: datetime | None = None, until: datetime | None = None, **filters: str | None,
    ) -> list[dict[str, Any]]:
        """Failed calls by `otel_ai.error.category`, most frequent first: category, count, share (of the
        failed calls), rate (of all calls), the recommended action, and `codes`: the provider codes
        (`otel_ai.error.code`) seen under the category, most frequent first, each with its count and
        its own action when it has one (code None: the span carried no code)."""
        active = _check_filters(filters, FILTERS)
        with self._read() as connection:
            groups = self._aggregate(
                connection, ("outcome", "error_category", "error_code"), _to_ns(since), _to_ns(until), active,
            )
        calls = sum(t.calls for t in groups.values())
        by_category: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for (outcome, category, code), totals in groups.items():
            if outcome == "error" and totals.calls:
                by_category[category or "other"][code or ""] += totals.calls
        failed = sum(sum(codes.values()) for codes in by_category.values())
        rows: list[dict[str, Any]] = []
        for category, codes in by_category.items():
            count = sum(codes.values())
            ordered = sorted(codes.items(), key=lambda item: (-item[1], item[0]))
            rows.append({
                "category": category, "count": count, "share": count / failed, "rate": count / calls,
                "action": action_for(category),
                "codes": [{"code": code or None, "count": n, "action": code_action(code) if code else None}
                          for code, n in ordered],
            })
        rows.sort(key=lambda r: (-r["count"], r["category"]))
        return rows

    def forecast(self, now: datetime | None = None, **filters: str | None) -> dict[str, Any]:
        """Month-end cost (UTC month of `now`) from the daily series; `method` names how (forecast.py)."""
        active = _check_filters(filters, FILTERS)
        moment = _as_utc(now)
        today_ns = floor_to(_to_ns(moment) or 0, DAY_NS)
        month_ns = _to_ns(datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)) or 0
        window_ns = min(month_ns, today_ns - TREND_DAYS * DAY_NS)
        day_table = schema.genai_rollup_day
        with self._read() as connection:
            groups = self._aggregate(connection, ("day",), window_ns, today_ns + DAY_NS, active)
            first = connection.execute(
                select(func.min(day_table.c.period_start)).where(*(day_table.c[k] == v for k, v in active.items()))
            ).scalar()
        daily = {
            (_EPOCH + timedelta(seconds=day)).date(): (totals.cost_usd, totals.calls)
            for (day,), totals in groups.items()
        }
        first_day: date | None = (_EPOCH + timedelta(seconds=int(first))).date() if first is not None else None
        return _forecast(daily, moment, first_day)

    def traces(
        self, *, service: str | None = None, model: str | None = None, status: str | None = None,
        since: datetime | None = None, until: datetime | None = None, limit: int = 50, offset: int = 0,
    ) -> dict[str, Any]:
        """A page of trace summaries, newest first: `items`, `total`, `total_capped`, `has_more`.

        `status`: "error" (a span failed) or "ok"; `service`: the trace's root service; `model`: traces
        with a GenAI call to that model; since/until: the trace's start. `total` counts the matching
        traces up to TRACE_COUNT_CAP (1,000); past that it is the cap and `total_capped` is true ("1,000+"),
        so that a page costs about the same at a million traces as at a thousand."""
        if status not in (None, "ok", "error"):
            raise ValueError('status must be "ok" or "error"')
        limit = max(1, min(int(limit), 1000))
        offset = max(0, min(int(offset), _MAX_OFFSET))  # SQL integers stop at 2^63 - 1
        table = schema.traces
        lo, hi = _to_ns(since), _to_ns(until)
        where: list[ColumnElement[bool]] = list(_ns_range(table.c.start_ns, lo, hi))
        if service is not None:
            where.append(table.c.service == service)
        if status == "error":
            where.append(table.c.error_count > 0)
        elif status == "ok":
            where.append(table.c.error_count == 0)
        with self._read() as connection:
            if model is not None:
                where.append(self._model_filter(connection, model, lo))
            query = (select(table).where(*where).order_by(table.c.start_ns.desc(), table.c.trace_id)
                     .limit(limit + 1).offset(offset))
            rows = connection.execute(query).mappings().all()
            failed = self._failed_calls(connection, [row["trace_id"] for row in rows[:limit]])
            if offset == 0 and len(rows) <= limit:
                total = len(rows)
            else:
                capped = select(literal(1)).select_from(table).where(*where).limit(TRACE_COUNT_CAP + 1).subquery()
                total = int(connection.execute(select(func.count()).select_from(capped)).scalar() or 0)
        return {
            "items": [_trace_summary(row, failed.get(row["trace_id"], 0)) for row in rows[:limit]],
            "total": min(total, TRACE_COUNT_CAP),
            "total_capped": total > TRACE_COUNT_CAP,
            "limit": limit,
            "offset": offset,
            "has_more": len(rows) > limit,
        }

    def _failed_calls(self, connection: Connection, trace_ids: Sequence[str]) -> dict[str, int]:
        """Failed GenAI calls per trace (a trace's `error_count` counts every failed span, the HTTP
        spans beneath a failed call included: one failed call reads as several errors)."""
        if not trace_ids:
            return {}
        calls = schema.genai_calls
        query = (select(calls.c.trace_id, func.count()).where(calls.c.trace_id.in_(list(trace_ids)),
                                                               calls.c.outcome == "error")
                 .group_by(calls.c.trace_id))
        return {trace_id: int(count) for trace_id, count in connection.execute(query)}

    def _unpriced(
        self, connection: Connection, lo: int | None, hi: int | None, filters: Mapping[str, str],
    ) -> list[dict[str, Any]]:
        """Calls with usage but no cost (the agent had no price for the model: its span carries
        `otel_ai.pricing.source=unknown` and no `otel_ai.cost.*`), per model, most first. Exact from the
        raw calls: a priced call always has a cost, and a call without usage has nothing to price."""
        calls = schema.genai_calls
        used = or_(calls.c.input_tokens > 0, calls.c.output_tokens > 0, calls.c.characters > 0)
        query = (select(calls.c.model, func.count().label("calls"))
                 .where(calls.c.cost_usd.is_(None), used, *_ns_range(calls.c.start_ns, lo, hi),
                        *(calls.c[k] == v for k, v in filters.items()))
                 .group_by(calls.c.model))
        rows = [{"model": model or None, "calls": int(count)} for model, count in connection.execute(query)]
        return sorted(rows, key=lambda r: (-r["calls"], r["model"] or ""))

    def _model_filter(self, connection: Connection, model: str, lo: int | None) -> ColumnElement[bool]:
        """Traces with a call to `model`. A frequent model is found by probing the traces newest first (a
        page and the capped count need few probes); a rare one by listing its calls first (few to list):
        probing costs about cap/share lookups, listing share*calls index entries."""
        traces, calls = schema.traces, schema.genai_calls
        day = schema.genai_rollup_day
        total = int(connection.execute(select(func.coalesce(func.sum(day.c.calls), 0))).scalar() or 0)
        of_model = int(connection.execute(
            select(func.coalesce(func.sum(day.c.calls), 0)).where(day.c.model == model)).scalar() or 0)
        if of_model and of_model * of_model >= TRACE_COUNT_CAP * total:
            return exists().where(calls.c.trace_id == traces.c.trace_id, calls.c.model == model)
        # a call starts within its trace: the range's lower bound holds for it too, the upper one need not
        return traces.c.trace_id.in_(
            select(calls.c.trace_id).where(calls.c.model == model, *_ns_range(calls.c.start_ns, lo, None)))

    def trace(
        self, trace_id: str, *, offset: int = 0, limit: int | None = None,
        log_offset: int = 0, log_limit: int | None = None,
    ) -> dict[str, Any] | None:
        """One trace, a page of it: spans in waterfall order (each with parent id, depth, children,
        attributes, events, links, resource) and its log records; None when no span of it is stored.

        `offset`/`limit` select the spans (None: all), `log_offset`/`log_limit` the log records, so a
        trace of 100k spans is read a page at a time: the waterfall order comes from the spans' ids,
        parents and start times only, and the full rows are read for the page's spans. `span_total`
        and `log_total` count all of them; `next_offset` / `next_log_offset` are null on the last page.
        A span's `children` and the `roots` name the spans of this page only (`child_count`,
        `root_count`: all of them)."""
        trace_id = trace_id.strip().lower()
        if len(trace_id) != 32 or any(c not in "0123456789abcdef" for c in trace_id):
            return None
        offset, log_offset = max(0, int(offset)), max(0, int(log_offset))
        spans_t, logs_t = schema.spans, schema.logs
        with self._read() as connection:
            shape = connection.execute(
                select(spans_t.c.span_id, spans_t.c.parent_span_id, spans_t.c.start_ns, spans_t.c.end_ns,
                       spans_t.c.status_code, spans_t.c.name, spans_t.c.service)
                .where(spans_t.c.trace_id == trace_id)
                .order_by(spans_t.c.start_ns, spans_t.c.span_id)
            ).all()
            if not shape:
                return None
            order, depths, child_counts, roots = _waterfall([(r[0], r[1]) for r in shape])
            page_ids = order[offset:] if limit is None else order[offset:offset + max(0, int(limit))]
            full: dict[str, dict[str, Any]] = {}
            for chunk in range(0, len(page_ids), 1000):  # bound the statement's parameters
                for row in connection.execute(
                    select(spans_t).where(spans_t.c.trace_id == trace_id,
                                          spans_t.c.span_id.in_(page_ids[chunk:chunk + 1000]))
                ).mappings():
                    full[row["span_id"]] = _span_dict(row)
            summary = connection.execute(
                select(schema.traces).where(schema.traces.c.trace_id == trace_id)
            ).mappings().first()
            log_total = int(connection.execute(
                select(func.count()).select_from(logs_t).where(logs_t.c.trace_id == trace_id)).scalar() or 0)
            log_query = (select(logs_t).where(logs_t.c.trace_id == trace_id)
                         .order_by(logs_t.c.time_ns, logs_t.c.log_id).offset(log_offset))
            if log_limit is not None:
                log_query = log_query.limit(max(0, int(log_limit)))
            log_rows_ = connection.execute(log_query).mappings().all() if log_offset < log_total else []
            failed = self._failed_calls(connection, [trace_id])
        on_page = set(page_ids)
        spans = []
        for span_id in page_ids:
            span = full[span_id]
            span["depth"] = depths[span_id]
            span["child_count"] = child_counts.get(span_id, 0)
            spans.append(span)
        for span in spans:
            parent = span["parent_span_id"]
            if parent in on_page and parent != span["span_id"] and span["span_id"] not in roots:
                full[parent]["children"].append(span["span_id"])
        start = min(r[2] for r in shape)
        end = max(r[3] for r in shape)
        first = next(r for r in shape if r[0] in roots)  # the first root to start (_waterfall: one at least)
        head = _trace_summary(summary, failed.get(trace_id, 0)) if summary is not None else {
            "trace_id": trace_id, "name": first[5], "service": first[6],
            "start": _iso(start), "start_ns": start, "duration_ms": (end - start) / 1e6, "span_count": len(shape),
            "error": any(r[4] == "ERROR" for r in shape),
            "error_count": sum(r[4] == "ERROR" for r in shape), "genai_calls": None,
            "failed_calls": failed.get(trace_id, 0), "cost_usd": None,
        }
        after = offset + len(page_ids)
        after_logs = log_offset + len(log_rows_)
        return {
            **head,
            "roots": [span_id for span_id in page_ids if span_id in roots], "root_count": len(roots),
            "spans": spans, "span_total": len(shape), "offset": offset, "limit": limit,
            "next_offset": after if after < len(shape) else None,
            "logs": [_log_dict(row) for row in log_rows_], "log_total": log_total, "log_offset": log_offset,
            "log_limit": log_limit, "next_log_offset": after_logs if after_logs < log_total else None,
        }

    def export_calls(
        self, since: datetime | None = None, until: datetime | None = None, **filters: str | None,
    ) -> Iterator[dict[str, Any]]:
        """GenAI calls oldest first, streamed (exhaust or close the iterator). Filters: the dimensions,
        outcome and error_category."""
        active = _check_filters(filters, _EXPORT_FILTERS)
        calls = schema.genai_calls
        query = (select(calls)
                 .where(*_ns_range(calls.c.start_ns, _to_ns(since), _to_ns(until)),
                        *(calls.c[k] == v for k, v in active.items()))
                 .order_by(calls.c.start_ns, calls.c.trace_id, calls.c.span_id))
        return self._export(query)

    def _export(self, query: Any) -> Iterator[dict[str, Any]]:
        with self._read() as connection:
            result = connection.execution_options(yield_per=2000).execute(query).mappings()
            for row in result:
                yield {
                    "time": _iso(row["start_ns"]),
                    "trace_id": row["trace_id"],
                    "span_id": row["span_id"],
                    **{d: row[d] or None for d in schema.DIMENSIONS},
                    "input_tokens": row["input_tokens"],
                    "output_tokens": row["output_tokens"],
                    "characters": row["characters"],
                    "cost_usd": row["cost_usd"],
                    "duration_ms": row["duration_ns"] / 1e6,
                    "outcome": row["outcome"],
                    "error_category": row["error_category"] or None,
                    "error_type": row["error_type"] or None,
                    "error_code": row["error_code"] or None,
                    "response_model": row["response_model"] or None,
                }

    # --- limits -------------------------------------------------------------------------------------

    def enforce_limits(self, now: datetime | None = None) -> dict[str, Any]:
        """Apply retention (delete what is older than retention_days, roll-ups included) and the size cap
        (delete the oldest raw rows until the data is under 90% of max_bytes; the hourly and daily
        roll-ups stay, so costs and totals over the dropped period still answer). Call it at start and
        then periodically."""
        with self._limits_lock:  # the server's limits thread and a manual call do not interleave
            report = self._enforce_limits(now)
            _merge(self._dropped, report["deleted"])
            self._last_limits = time.time()
        return report

    def _enforce_limits(self, now: datetime | None) -> dict[str, Any]:
        report: dict[str, Any] = {"retention_cutoff": None, "size_cutoff": None, "deleted": {}, "bytes": None,
                                  "longest_delete_s": 0.0}
        if self.retention_days is not None:
            cutoff = (_to_ns(_as_utc(now)) or 0) - int(self.retention_days * DAY_NS)
            report["retention_cutoff"] = _iso(cutoff)
            _merge(report["deleted"], self.delete_before(cutoff))
        if self.max_bytes is not None and self._physical_bytes() > self.max_bytes:
            # Each pass deletes at most about the excess (rows do not all weigh the same, and freed space
            # is not all given back: pages shared with newer rows), so passes repeat until it fits.
            for _ in range(_SIZE_PASSES):
                used = self.used_bytes()
                report["bytes"] = used
                if used <= self.max_bytes:
                    break
                found = self._size_cutoff(used)
                if found is None:
                    break
                size_cutoff, oldest, rows = found
                report["size_cutoff"] = _iso(size_cutoff)
                # In time slices of about _DELETE_SLICE_ROWS rows, one transaction each: ingest waits for
                # one slice at most, not for the whole pass (the roll-ups stay whole, so every state between
                # slices is consistent).
                slices = max(1, math.ceil(rows / _DELETE_SLICE_ROWS))
                deleted: dict[str, int] = {}
                for i in range(1, slices + 1):
                    started = time.perf_counter()
                    _merge(deleted, self.delete_before(oldest + (size_cutoff - oldest) * i // slices,
                                                       keep_rollups=True))
                    report["longest_delete_s"] = max(report["longest_delete_s"], time.perf_counter() - started)
                _merge(report["deleted"], deleted)
                if not any(deleted.values()):
                    break
            self._reclaim()
            report["bytes"] = self.used_bytes()
        return report

    def delete_before(self, cutoff_ns: int, *, keep_rollups: bool = False) -> dict[str, int]:
        """Delete spans, logs, calls and traces that started before `cutoff_ns`. The roll-ups lose the
        same calls (they stay exact), unless `keep_rollups` (the size cap): then they keep counting them."""
        calls = schema.genai_calls
        deleted: dict[str, int] = {}
        with self._write() as connection:
            for step in () if keep_rollups else (DAY_NS, HOUR_NS):
                rollup, latency = _ROLLUPS[step], _LATENCY[step]
                period = floor_to(cutoff_ns, step)
                for table in (rollup, latency):
                    connection.execute(delete(table).where(table.c.period_start < period // _NS))
                if period == cutoff_ns:
                    continue
                # The period that holds the cutoff loses only the calls before it: subtract them.
                segment = Segment(0, period, cutoff_ns)
                keys = schema.ROLLUP_KEY[1:]
                parts = connection.execute(_segment_query(segment, keys, {})).mappings().all()
                if parts:
                    connection.execute(
                        update(rollup)
                        .where(*(rollup.c[k] == bindparam(f"k_{k}") for k in schema.ROLLUP_KEY))
                        .values({m: rollup.c[m] - bindparam(f"d_{m}") for m in _MEASURES}),
                        [{"k_period_start": period // _NS, **{f"k_{k}": p[k] for k in keys},
                          **{f"d_{m}": float(p[m] or 0) if m == "cost_usd" else int(p[m] or 0) for m in _MEASURES}}
                         for p in parts],
                    )
                    buckets = connection.execute(
                        select(calls.c.duration_bucket, func.count(), func.sum(calls.c.duration_ns))
                        .where(*_ns_range(calls.c.start_ns, period, cutoff_ns)).group_by(calls.c.duration_bucket)
                    ).all()
                    connection.execute(
                        update(latency)
                        .where(latency.c.period_start == bindparam("k_period"),
                               latency.c.bucket == bindparam("k_bucket"))
                        .values(calls=latency.c.calls - bindparam("d_calls"),
                                duration_ns=latency.c.duration_ns - bindparam("d_duration")),
                        [{"k_period": period // _NS, "k_bucket": int(b), "d_calls": int(n), "d_duration": int(s or 0)}
                         for b, n, s in buckets],
                    )
                    for table in (rollup, latency):
                        connection.execute(delete(table).where(table.c.period_start == period // _NS,
                                                               table.c.calls <= 0))
            for name, table, column in (
                ("genai_calls", calls, calls.c.start_ns),
                ("spans", schema.spans, schema.spans.c.start_ns),
                ("logs", schema.logs, schema.logs.c.time_ns),
                ("traces", schema.traces, schema.traces.c.start_ns),
            ):
                deleted[name] = connection.execute(delete(table).where(column < cutoff_ns)).rowcount or 0
        return deleted

    def storage(self) -> dict[str, Any]:
        """What the store holds against its limits (the health answer and the dashboard show it): bytes
        used (as the size cap counts them) and the file's size, the cap, the retention, the oldest raw
        data kept (roll-ups may reach further back), and the rows the limits dropped since it opened."""
        oldest: int | None = None
        with self._read() as connection:
            for column in (schema.spans.c.start_ns, schema.logs.c.time_ns, schema.genai_calls.c.start_ns):
                first = connection.execute(select(func.min(column))).scalar()
                if first is not None:
                    oldest = int(first) if oldest is None else min(oldest, int(first))
        path = sqlite_file(self.engine)
        file_bytes = None
        if path is not None:
            file_bytes = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
        # SQLite: what the cap counts (three pragmas). PostgreSQL: the tables' size on disk, an upper
        # bound of what the cap counts, which would take a read of every row (a health check must be cheap).
        used = self.used_bytes() if self.backend == "sqlite" else self._physical_bytes()
        with self._limits_lock:
            dropped = dict(self._dropped)
            last = self._last_limits
        return {
            "backend": self.backend,
            "used_bytes": used,
            "file_bytes": file_bytes,
            "max_bytes": self.max_bytes,
            "retention_days": self.retention_days,
            "oldest": None if oldest is None else _iso(oldest),
            "oldest_ns": oldest,
            "dropped_rows": sum(dropped.values()),
            "dropped": dropped,
            "limits_checked_at": None if last is None else _iso(int(last * _NS)),
        }

    def used_bytes(self) -> int:
        """The bytes the size cap counts. SQLite: the database file's pages in use (freed pages excluded).
        PostgreSQL: the bytes of the live rows of the store's tables (`pg_column_size`; indexes and
        space not yet vacuumed excluded, as deleting rows does not shrink PostgreSQL's files)."""
        with self.engine.connect() as connection:
            if self.backend == "sqlite":
                page_size = connection.exec_driver_sql("PRAGMA page_size").scalar() or 0
                pages = connection.exec_driver_sql("PRAGMA page_count").scalar() or 0
                free = connection.exec_driver_sql("PRAGMA freelist_count").scalar() or 0
                return int(page_size) * (int(pages) - int(free))
            return sum(
                int(connection.execute(text(f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {n} t")).scalar()
                    or 0)
                for n in self._table_names()
            )

    def _table_names(self) -> list[str]:
        return [t.name for t in schema.metadata.sorted_tables]

    def _physical_bytes(self) -> int:
        """An upper bound of used_bytes() that costs nothing to read."""
        if self.backend == "sqlite":
            return self.used_bytes()
        with self.engine.connect() as connection:
            return sum(int(connection.execute(text("SELECT pg_total_relation_size(:t)"), {"t": n}).scalar() or 0)
                       for n in self._table_names())

    def _size_cutoff(self, used: int) -> tuple[int, int, int] | None:
        """A start time before which deleting the raw rows frees at most the excess over the target size.

        Each table that holds a fair share of the rows proposes the time before which the excess's
        fraction of its rows lies; the earliest proposal wins. So the oldest data goes first whichever
        table holds it (logs older than every call, calls bulk-loaded without spans), and a pass never
        deletes much more than needed: enforce_limits repeats passes until the data fits. Returns the
        cutoff, the oldest raw row's time and about how many rows lie before the cutoff."""
        assert self.max_bytes is not None
        fraction = (used - self.max_bytes * _SIZE_TARGET) / used
        columns = (schema.spans.c.start_ns, schema.logs.c.time_ns, schema.genai_calls.c.start_ns,
                   schema.traces.c.start_ns)
        with self._read() as connection:
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

    def _reclaim(self) -> None:
        """SQLite: give the freed pages back to the file system (the database is created with
        auto_vacuum=INCREMENTAL), then checkpoint, so that the file itself shrinks now rather than
        at the next automatic checkpoint. PASSIVE: it never waits for, nor blocks, ingest."""
        if self.backend != "sqlite":
            return
        last_free: int | None = None
        while True:
            with self._write() as connection:
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
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


# --- query helpers ---------------------------------------------------------------------------------------


def _ns_range(column: Any, lo: int | None, hi: int | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if lo is not None:
        where.append(column >= lo)
    if hi is not None:
        where.append(column < hi)
    return where


def _period_range(table: Table, segment: Segment) -> list[ColumnElement[bool]]:
    return _ns_range(
        table.c.period_start,
        None if segment.lo is None else segment.lo // _NS,
        None if segment.hi is None else segment.hi // _NS,
    )


def _segment_query(
    segment: Segment, group_by: Sequence[str], filters: Mapping[str, str], where: Conditions | None = None,
) -> Any:
    """Sums per group for one segment, from a roll-up or (step 0) from the raw calls."""
    if segment.step:
        table = _ROLLUPS[segment.step]
        columns = {g: (table.c.period_start - table.c.period_start % 86400 if g == "day" else table.c[g])
                   for g in group_by}
        measures = [
            func.sum(table.c.calls).label("calls"),
            func.sum(case((table.c.outcome == "error", table.c.calls), else_=0)).label("errors"),
            *(func.sum(table.c[m]).label(m) for m in _MEASURES if m != "calls"),
        ]
        where_range = _period_range(table, segment)
    else:
        table = schema.genai_calls
        columns = {g: (table.c.start_ns - table.c.start_ns % DAY_NS if g == "day" else table.c[g]) for g in group_by}
        measures = [
            func.count().label("calls"),
            func.sum(case((table.c.outcome == "error", 1), else_=0)).label("errors"),
            func.sum(table.c.input_tokens).label("input_tokens"),
            func.sum(table.c.output_tokens).label("output_tokens"),
            func.sum(table.c.characters).label("characters"),
            func.sum(func.coalesce(table.c.cost_usd, 0.0)).label("cost_usd"),
            func.sum(table.c.duration_ns).label("duration_ns"),
        ]
        where_range = _ns_range(table.c.start_ns, segment.lo, segment.hi)
    conditions = [*where_range, *(table.c[k] == v for k, v in filters.items()), *(where(table) if where else ())]
    labelled = [expr.label(g) for g, expr in columns.items()]
    query = select(*labelled, *measures).where(*conditions)
    if labelled:
        query = query.group_by(*columns.values())
    return query


def _rollup_rows(calls: Iterable[Mapping[str, Any]], step: int) -> list[dict[str, Any]]:
    sums: dict[tuple[Any, ...], list[Any]] = {}
    for call in calls:
        key = (floor_to(call["start_ns"], step) // _NS, *(call[k] for k in schema.ROLLUP_KEY[1:]))
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
        {**dict(zip(schema.ROLLUP_KEY, key, strict=True)), **dict(zip(_MEASURES, sums[key], strict=True))}
        for key in sorted(sums)
    ]


def _latency_rows(calls: Iterable[Mapping[str, Any]], step: int) -> list[dict[str, Any]]:
    sums: dict[tuple[int, int], list[int]] = {}
    for call in calls:
        key = (floor_to(call["start_ns"], step) // _NS, call["duration_bucket"])
        entry = sums.setdefault(key, [0, 0])
        entry[0] += 1
        entry[1] += call["duration_ns"]
    return [
        {"period_start": p, "bucket": b, "calls": sums[(p, b)][0], "duration_ns": sums[(p, b)][1]}
        for p, b in sorted(sums)
    ]


def _merge(into: dict[str, int], more: Mapping[str, int]) -> None:
    for key, value in more.items():
        into[key] = into.get(key, 0) + value


def _waterfall(
    spans: Sequence[tuple[str, str | None]],
) -> tuple[list[str], dict[str, int], dict[str, int], set[str]]:
    """Waterfall (depth-first, children in start order) of `spans`, (span id, parent id) in start
    order: (the ids in that order, each one's depth, each one's child count, the roots).

    A span whose parent is not stored is a root; spans in a parent cycle (no root above them) come
    last, flat, at depth 0, and the first of them counts as a root so that a trace always has one.
    """
    ids = {span_id for span_id, _ in spans}
    children: dict[str, list[str]] = defaultdict(list)
    roots: list[str] = []
    for span_id, parent in spans:
        if parent is None or parent == span_id or parent not in ids:
            roots.append(span_id)
        else:
            children[parent].append(span_id)
    order: list[str] = []
    depths: dict[str, int] = {}
    stack = [(root, 0) for root in reversed(roots)]
    while stack:
        span_id, depth = stack.pop()
        if span_id in depths:
            continue
        depths[span_id] = depth
        order.append(span_id)
        stack.extend((child, depth + 1) for child in reversed(children.get(span_id, ())))
    for span_id, _ in spans:  # parent cycles: shown flat
        if span_id not in depths:
            depths[span_id] = 0
            order.append(span_id)
            if not roots:
                roots.append(span_id)
    return order, depths, {k: len(v) for k, v in children.items()}, set(roots)


def _trace_summary(row: Mapping[Any, Any], failed_calls: int | None = None) -> dict[str, Any]:
    return {
        "trace_id": row["trace_id"],
        "name": row["name"],
        "service": row["service"],
        "start": _iso(row["start_ns"]),
        "start_ns": row["start_ns"],
        "duration_ms": (row["end_ns"] - row["start_ns"]) / 1e6,
        "span_count": row["span_count"],
        "error": row["error_count"] > 0,
        "error_count": row["error_count"],
        "genai_calls": row["genai_calls"],
        "failed_calls": failed_calls,
        "cost_usd": row["cost_usd"],
    }


def _loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _span_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "span_id": row["span_id"],
        "parent_span_id": row["parent_span_id"],
        "name": row["name"],
        "kind": row["kind"],
        "service": row["service"],
        "start": _iso(row["start_ns"]),
        "start_ns": row["start_ns"],
        "end_ns": row["end_ns"],
        "duration_ms": row["duration_ns"] / 1e6,
        "status_code": row["status_code"],
        "status_message": row["status_message"],
        "trace_state": row["trace_state"],
        "attributes": _loads(row["attributes"]),
        "events": _loads(row["events"]),
        "links": _loads(row["links"]),
        "resource": _loads(row["resource"]),
        "scope": {"name": row["scope_name"], "version": row["scope_version"]},
        "children": [],
        "depth": 0,
    }


def _log_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "log_id": row["log_id"],
        "time": _iso(row["time_ns"]),
        "time_ns": row["time_ns"],
        "trace_id": row["trace_id"],
        "span_id": row["span_id"],
        "severity_number": row["severity_number"],
        "severity_text": row["severity_text"],
        "body": _loads(row["body"]),
        "attributes": _loads(row["attributes"]),
        "event_name": row["event_name"],
        "service": row["service"],
        "scope": row["scope_name"],
    }


def open_store(url: str, *, retention_days: float | None = None, max_bytes: int | None = None) -> Store:
    """Open (creating or migrating the schema) the store at `url`: a SQLite path or `sqlite:///PATH`
    (`sqlite://` for memory), or `postgresql://user:pass@host/db` (psycopg 3)."""
    engine = create_store_engine(url)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, retention_days=retention_days, max_bytes=max_bytes)
