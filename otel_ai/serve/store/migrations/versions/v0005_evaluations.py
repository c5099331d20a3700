"""Evaluation results in a table of their own, from span events and log records (docs/evaluations.md).

Until 0004 the evaluations endpoints read log records only; now ingest writes one `evaluations` row per
`gen_ai.evaluation.result` span event or log record, with the identity rule of evaluation_rows.py (the
same result sent both ways counts once). The log records already stored are copied in here; span events
already stored are not (they were never listed).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_DIMENSION = 256


def upgrade() -> None:
    table = op.create_table(
        "evaluations",
        sa.Column("evaluation_id", sa.String(32), nullable=False),
        sa.Column("time_ns", sa.BigInteger, nullable=False),
        sa.Column("trace_id", sa.String(32)),
        sa.Column("span_id", sa.String(16)),
        sa.Column("name", sa.String(_DIMENSION), nullable=False),
        sa.Column("score", sa.Double),
        sa.Column("label", sa.String(_DIMENSION)),
        sa.Column("explanation", sa.Text),
        sa.Column("response_id", sa.String(_DIMENSION)),
        sa.Column("conversation_id", sa.String(_DIMENSION), nullable=False),
        sa.Column("service", sa.Text),
        sa.Column("source", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("evaluation_id", name="pk_evaluations"),
    )
    op.create_index("ix_evaluations_time_ns", "evaluations", ["time_ns"])
    op.create_index("ix_evaluations_span", "evaluations", ["trace_id", "span_id"])
    _copy_logged(table)


def _copy_logged(table: sa.Table) -> None:
    from otel_ai.serve.store.evaluation_rows import EVENT, evaluation_row

    connection = op.get_bind()
    logs = sa.table("logs", sa.column("log_id"), sa.column("time_ns"), sa.column("trace_id"),
                    sa.column("span_id"), sa.column("attributes"), sa.column("service"), sa.column("event_name"))
    rows: dict[str, dict[str, object]] = {}
    query = sa.select(logs.c.log_id, logs.c.time_ns, logs.c.trace_id, logs.c.span_id, logs.c.attributes,
                      logs.c.service).where(logs.c.event_name == EVENT).order_by(logs.c.time_ns)
    for log_id, time_ns, trace_id, span_id, attributes, service in connection.execute(query):
        try:
            attrs = json.loads(attributes or "{}")
        except ValueError:
            continue
        row = evaluation_row(attrs if isinstance(attrs, dict) else {}, time_ns=int(time_ns), trace_id=trace_id,
                             span_id=span_id, service=service, source="log", unique=log_id)
        if row is not None:
            rows.setdefault(str(row["evaluation_id"]), row)
    if rows:
        op.bulk_insert(table, list(rows.values()))


def downgrade() -> None:
    op.drop_index("ix_evaluations_span", "evaluations")
    op.drop_index("ix_evaluations_time_ns", "evaluations")
    op.drop_table("evaluations")
