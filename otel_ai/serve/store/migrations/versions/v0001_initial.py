"""Initial store schema: spans, logs, genai_calls, hourly/daily roll-ups and latency histograms, traces.

Revision ID: 0001
Revises:
Create Date: 2025-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_DIMENSION = 256
_DIMENSIONS = ("service", "provider", "operation", "model", "task_type")


def upgrade() -> None:
    op.create_table(
        "spans",
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(16), nullable=False),
        sa.Column("parent_span_id", sa.String(16)),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("service", sa.Text),
        sa.Column("start_ns", sa.BigInteger, nullable=False),
        sa.Column("end_ns", sa.BigInteger, nullable=False),
        sa.Column("duration_ns", sa.BigInteger, nullable=False),
        sa.Column("status_code", sa.String(8), nullable=False),
        sa.Column("status_message", sa.Text),
        sa.Column("trace_state", sa.Text),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("links", sa.Text, nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("scope_name", sa.Text),
        sa.Column("scope_version", sa.Text),
        sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_spans"),
    )
    op.create_index("ix_spans_start_ns", "spans", ["start_ns"])

    op.create_table(
        "logs",
        sa.Column("log_id", sa.String(32), nullable=False),
        sa.Column("time_ns", sa.BigInteger, nullable=False),
        sa.Column("observed_time_ns", sa.BigInteger, nullable=False),
        sa.Column("trace_id", sa.String(32)),
        sa.Column("span_id", sa.String(16)),
        sa.Column("severity_number", sa.Integer, nullable=False),
        sa.Column("severity_text", sa.Text),
        sa.Column("body", sa.Text),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("event_name", sa.Text),
        sa.Column("service", sa.Text),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("scope_name", sa.Text),
        sa.PrimaryKeyConstraint("log_id", name="pk_logs"),
    )
    op.create_index("ix_logs_time_ns", "logs", ["time_ns"])
    op.create_index("ix_logs_trace_id", "logs", ["trace_id", "time_ns"])

    op.create_table(
        "genai_calls",
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(16), nullable=False),
        sa.Column("start_ns", sa.BigInteger, nullable=False),
        sa.Column("duration_ns", sa.BigInteger, nullable=False),
        sa.Column("duration_bucket", sa.SmallInteger, nullable=False),
        *(sa.Column(d, sa.String(_DIMENSION), nullable=False) for d in _DIMENSIONS),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("characters", sa.BigInteger, nullable=False),
        sa.Column("cost_usd", sa.Double),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("error_category", sa.String(_DIMENSION), nullable=False),
        sa.Column("error_type", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_genai_calls"),
    )
    op.create_index("ix_genai_calls_start_ns", "genai_calls", ["start_ns"])
    op.create_index("ix_genai_calls_model", "genai_calls", ["model", "start_ns", "trace_id"])
    op.create_index("ix_genai_calls_service", "genai_calls", ["service", "start_ns"])

    for period in ("hour", "day"):
        name = f"genai_rollup_{period}"
        op.create_table(
            name,
            sa.Column("period_start", sa.BigInteger, nullable=False),
            *(sa.Column(d, sa.String(_DIMENSION), nullable=False) for d in _DIMENSIONS),
            sa.Column("outcome", sa.String(8), nullable=False),
            sa.Column("error_category", sa.String(_DIMENSION), nullable=False),
            sa.Column("calls", sa.BigInteger, nullable=False),
            sa.Column("input_tokens", sa.BigInteger, nullable=False),
            sa.Column("output_tokens", sa.BigInteger, nullable=False),
            sa.Column("characters", sa.BigInteger, nullable=False),
            sa.Column("cost_usd", sa.Double, nullable=False),
            sa.Column("duration_ns", sa.BigInteger, nullable=False),
            sa.PrimaryKeyConstraint("period_start", *_DIMENSIONS, "outcome", "error_category", name=f"pk_{name}"),
        )
        name = f"genai_latency_{period}"
        op.create_table(
            name,
            sa.Column("period_start", sa.BigInteger, nullable=False),
            sa.Column("bucket", sa.SmallInteger, nullable=False),
            sa.Column("calls", sa.BigInteger, nullable=False),
            sa.Column("duration_ns", sa.BigInteger, nullable=False),
            sa.PrimaryKeyConstraint("period_start", "bucket", name=f"pk_{name}"),
        )

    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("start_ns", sa.BigInteger, nullable=False),
        sa.Column("end_ns", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("service", sa.Text),
        sa.Column("root_span_id", sa.String(16)),
        sa.Column("span_count", sa.Integer, nullable=False),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.Column("genai_calls", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("trace_id", name="pk_traces"),
    )
    op.create_index("ix_traces_start_ns", "traces", ["start_ns"])
    op.create_index("ix_traces_service", "traces", ["service", "start_ns"])
    failed = sa.text("error_count > 0")
    op.create_index("ix_traces_failed", "traces", ["start_ns"], sqlite_where=failed, postgresql_where=failed)


def downgrade() -> None:
    for table in ("traces", "genai_latency_day", "genai_rollup_day", "genai_latency_hour", "genai_rollup_hour",
                  "genai_calls", "logs", "spans"):
        op.drop_table(table)
