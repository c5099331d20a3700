"""The `otel-ai serve` store: OTLP spans and logs, GenAI call facts, roll-ups, and the report queries.

    store = open_store("~/.local/share/otel-ai/otel-ai.db")        # or postgresql://user@host/db
    store.ingest_traces(export_trace_service_request)               # durable when it returns
    store.summary(since, until); store.costs("model", since, until); store.errors(since, until)

Needs the `serve` extra (SQLAlchemy, Alembic, psycopg). `Store` (store.py) is the facade over the
concern modules: ingest.py, queries.py, traces.py, retention.py.
"""

from __future__ import annotations

from otel_ai.genai.advice import ERROR_ACTIONS
from otel_ai.serve.store.convert import UNIT_OF_WORK_OPERATIONS
from otel_ai.serve.store.database import SchemaTooNew
from otel_ai.serve.store.ingest import IngestResult
from otel_ai.serve.store.queries import FILTERS, GROUP_BY
from otel_ai.serve.store.store import Store, open_store

__all__ = [
    "ERROR_ACTIONS",
    "FILTERS",
    "GROUP_BY",
    "UNIT_OF_WORK_OPERATIONS",
    "IngestResult",
    "SchemaTooNew",
    "Store",
    "open_store",
]
