"""The store's facade: `Store` holds the engine, the locks and the state that ingest and the limits keep.

Its methods are the functions of the concern modules, which take the store first: ingest.py
(group commit, the conversion process pool, the roll-ups), queries.py (totals, costs, errors,
forecast, export), traces.py (the trace list and view) and retention.py (retention, the size cap,
storage). `open_store()` opens one, creating or migrating the schema (database.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, literal, select
from sqlalchemy.engine import Connection

from otel_ai.serve.store import conversations as conversation_queries
from otel_ai.serve.store import evaluations as evaluation_queries
from otel_ai.serve.store import ingest, queries, retention
from otel_ai.serve.store import traces as trace_queries
from otel_ai.serve.store.database import create_store_engine, migrate
from otel_ai.serve.store.group_commit import GroupCommit

__all__ = ["Store", "open_store"]


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


    # --- the concern modules' functions, as methods -------------------------------------------------

    # ingest.py
    convert_in_processes = ingest.convert_in_processes
    ingest_traces = ingest.ingest_traces
    ingest_logs = ingest.ingest_logs
    ingest_traces_detailed = ingest.ingest_traces_detailed
    ingest_logs_detailed = ingest.ingest_logs_detailed
    rebuild_aggregates = ingest.rebuild_aggregates
    _write_span_batches = ingest.write_span_batches
    # queries.py
    totals = queries.totals
    summary = queries.summary
    costs = queries.costs
    errors = queries.errors
    forecast = queries.forecast
    export_calls = queries.export_calls
    # evaluations.py
    evaluations = evaluation_queries.evaluations
    evaluation_summary = evaluation_queries.evaluation_summary
    # traces.py
    traces = trace_queries.traces
    trace = trace_queries.trace
    # conversations.py
    conversations = conversation_queries.conversations
    conversation = conversation_queries.conversation
    users = conversation_queries.users
    # retention.py
    enforce_limits = retention.enforce_limits
    delete_before = retention.delete_before
    storage = retention.storage
    used_bytes = retention.used_bytes


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
