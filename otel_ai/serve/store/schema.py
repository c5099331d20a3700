"""The store's tables (SQLAlchemy Core), one schema for SQLite and PostgreSQL.

Raw signals (`spans`, `logs`) keep everything a trace view needs, JSON as text. The GenAI facts are
extracted at ingest into `genai_calls`, and summed at ingest into hourly and daily roll-ups
(`genai_rollup_hour`, `genai_rollup_day`: one row per period and dimension set) plus latency
histograms (`genai_latency_hour`, `genai_latency_day`), so that summaries over a million calls read
thousands of rows, not a million. `traces` holds one summary row per trace for the trace list.

Times are unix nanoseconds (`*_ns`), except the roll-ups' `period_start` (unix seconds, UTC, the
start of the hour or day). Dimension columns of the GenAI tables are never NULL: '' means unknown
(a NULL in a primary key would break the upserts).

This module is the query side's view of the schema; the migrations under `migrations/versions`
create it (a test checks that the two agree).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
)

__all__ = [
    "DIMENSIONS",
    "ERROR_CODE_LENGTH",
    "ROLLUP_KEY",
    "evaluations",
    "genai_calls",
    "genai_latency_day",
    "genai_latency_hour",
    "genai_rollup_day",
    "genai_rollup_hour",
    "logs",
    "metadata",
    "spans",
    "traces",
]

metadata = MetaData()

# Dimensions of a GenAI call that reports group and filter by; with outcome, error category and the
# provider's error code they key the roll-ups.
DIMENSIONS = ("service", "provider", "operation", "model", "task_type")
ROLLUP_KEY = ("period_start", *DIMENSIONS, "outcome", "error_category", "error_code")

DIMENSION_LENGTH = 256  # longer values are cut at ingest (index keys stay small on PostgreSQL)
ERROR_CODE_LENGTH = 64  # otel_ai.error.code: a token (genai/errors.py); anything else is stored as ''

spans = Table(
    "spans",
    metadata,
    Column("trace_id", String(32), nullable=False),
    Column("span_id", String(16), nullable=False),
    Column("parent_span_id", String(16)),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("service", Text),
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("duration_ns", BigInteger, nullable=False),
    Column("status_code", String(8), nullable=False),
    Column("status_message", Text),
    Column("trace_state", Text),
    Column("attributes", Text, nullable=False),  # JSON object
    Column("events", Text, nullable=False),  # JSON array of {name, time_ns, attributes}
    Column("links", Text, nullable=False),  # JSON array of {trace_id, span_id, attributes}
    Column("resource", Text, nullable=False),  # JSON object
    Column("scope_name", Text),
    Column("scope_version", Text),
    PrimaryKeyConstraint("trace_id", "span_id", name="pk_spans"),
    Index("ix_spans_start_ns", "start_ns"),
)

logs = Table(
    "logs",
    metadata,
    # 128-bit digest of the record with its resource and scope: the same batch sent twice is stored once.
    Column("log_id", String(32), nullable=False),
    Column("time_ns", BigInteger, nullable=False),  # time_unix_nano, else observed_time_unix_nano
    Column("observed_time_ns", BigInteger, nullable=False),
    Column("trace_id", String(32)),
    Column("span_id", String(16)),
    Column("severity_number", Integer, nullable=False),
    Column("severity_text", Text),
    Column("body", Text),  # JSON value (a string body is a JSON string)
    Column("attributes", Text, nullable=False),  # JSON object
    Column("event_name", Text),
    Column("service", Text),
    Column("resource", Text, nullable=False),  # JSON object
    Column("scope_name", Text),
    PrimaryKeyConstraint("log_id", name="pk_logs"),
    Index("ix_logs_time_ns", "time_ns"),
    Index("ix_logs_trace_id", "trace_id", "time_ns"),
)

genai_calls = Table(
    "genai_calls",
    metadata,
    Column("trace_id", String(32), nullable=False),
    Column("span_id", String(16), nullable=False),
    Column("start_ns", BigInteger, nullable=False),
    Column("duration_ns", BigInteger, nullable=False),
    Column("duration_bucket", SmallInteger, nullable=False),  # latency histogram bucket (aggregates.py)
    Column("service", String(DIMENSION_LENGTH), nullable=False),
    Column("provider", String(DIMENSION_LENGTH), nullable=False),
    Column("operation", String(DIMENSION_LENGTH), nullable=False),
    Column("model", String(DIMENSION_LENGTH), nullable=False),
    Column("task_type", String(DIMENSION_LENGTH), nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("characters", BigInteger, nullable=False),
    Column("cost_usd", Double),  # NULL: the span carried no cost
    Column("outcome", String(8), nullable=False),  # ok | error
    Column("error_category", String(DIMENSION_LENGTH), nullable=False),
    Column("error_type", Text, nullable=False),
    Column("error_code", String(ERROR_CODE_LENGTH), nullable=False, server_default=""),  # since 0002
    # since 0003: `model` is the requested model, this the one that answered (costs group_by=response_model)
    Column("response_model", String(DIMENSION_LENGTH), nullable=False, server_default=""),
    # since 0004: gen_ai.conversation.id and user.id (or user.hash); '' when the call had none
    Column("conversation_id", String(DIMENSION_LENGTH), nullable=False, server_default=""),
    Column("user_id", String(DIMENSION_LENGTH), nullable=False, server_default=""),
    PrimaryKeyConstraint("trace_id", "span_id", name="pk_genai_calls"),
    Index("ix_genai_calls_start_ns", "start_ns"),
    Index("ix_genai_calls_model", "model", "start_ns", "trace_id"),  # trace_id: traces(model=) reads the index only
    Index("ix_genai_calls_service", "service", "start_ns"),
    Index("ix_genai_calls_conversation", "conversation_id", "start_ns"),
    Index("ix_genai_calls_user", "user_id", "start_ns"),
)


# since 0005: evaluation results (`gen_ai.evaluation.result`), from span events and log records alike,
# one row per evaluation (evaluation_rows.py: the identity that keeps one sent both ways counted once).
evaluations = Table(
    "evaluations",
    metadata,
    Column("evaluation_id", String(32), nullable=False),  # digest of the identity
    Column("time_ns", BigInteger, nullable=False),
    Column("trace_id", String(32)),  # the evaluated span; NULL when not linked to one
    Column("span_id", String(16)),
    Column("name", String(DIMENSION_LENGTH), nullable=False),
    Column("score", Double),
    Column("label", String(DIMENSION_LENGTH)),
    Column("explanation", Text),
    Column("response_id", String(DIMENSION_LENGTH)),
    Column("conversation_id", String(DIMENSION_LENGTH), nullable=False),  # the record's own, else ''
    Column("service", Text),
    Column("source", String(16), nullable=False),  # span_event | log
    PrimaryKeyConstraint("evaluation_id", name="pk_evaluations"),
    Index("ix_evaluations_time_ns", "time_ns"),
    Index("ix_evaluations_span", "trace_id", "span_id"),
)


def _rollup(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("period_start", BigInteger, nullable=False),
        *(Column(d, String(DIMENSION_LENGTH), nullable=False) for d in DIMENSIONS),
        Column("outcome", String(8), nullable=False),
        Column("error_category", String(DIMENSION_LENGTH), nullable=False),
        Column("error_code", String(ERROR_CODE_LENGTH), nullable=False),
        Column("calls", BigInteger, nullable=False),
        Column("input_tokens", BigInteger, nullable=False),
        Column("output_tokens", BigInteger, nullable=False),
        Column("characters", BigInteger, nullable=False),
        Column("cost_usd", Double, nullable=False),
        Column("duration_ns", BigInteger, nullable=False),  # sum
        PrimaryKeyConstraint(*ROLLUP_KEY, name=f"pk_{name}"),
    )


def _latency(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("period_start", BigInteger, nullable=False),
        Column("bucket", SmallInteger, nullable=False),
        Column("calls", BigInteger, nullable=False),
        Column("duration_ns", BigInteger, nullable=False),  # sum
        PrimaryKeyConstraint("period_start", "bucket", name=f"pk_{name}"),
    )


genai_rollup_hour = _rollup("genai_rollup_hour")
genai_rollup_day = _rollup("genai_rollup_day")
genai_latency_hour = _latency("genai_latency_hour")
genai_latency_day = _latency("genai_latency_day")

traces = Table(
    "traces",
    metadata,
    Column("trace_id", String(32), nullable=False),
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("name", Text, nullable=False),  # the root span's, else the earliest stored span's
    Column("service", Text),  # likewise
    Column("root_span_id", String(16)),  # NULL until a span without a parent arrives
    Column("span_count", Integer, nullable=False),
    Column("error_count", Integer, nullable=False),  # spans with status ERROR
    Column("genai_calls", Integer, nullable=False),
    Column("cost_usd", Double, nullable=False),
    PrimaryKeyConstraint("trace_id", name="pk_traces"),
    Index("ix_traces_start_ns", "start_ns"),
    Index("ix_traces_service", "service", "start_ns"),
)
# The failed traces, newest first, without reading the others (a partial index on both backends).
_failed = traces.c.error_count > 0
Index("ix_traces_failed", traces.c.start_ns, sqlite_where=_failed, postgresql_where=_failed)
