"""The provider's error code (`otel_ai.error.code`) on genai_calls and in the roll-ups' key.

The errors report groups failed calls by category and, under each, by code; reading the codes from
the roll-ups keeps it within the report budget at a million calls. A roll-up's primary key cannot
be altered in place on SQLite, and the roll-ups are derived data, so they are dropped, created with
the code in their key, and refilled from genai_calls (calls stored before this revision have no
code: '').

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_DIMENSION = 256
_CODE = 64
_DIMENSIONS = ("service", "provider", "operation", "model", "task_type")
_NS = 1_000_000_000
_PERIODS = {"hour": 3600, "day": 86400}


def _create_rollup(name: str, *, with_code: bool) -> None:
    key = ("period_start", *_DIMENSIONS, "outcome", "error_category", *(("error_code",) if with_code else ()))
    op.create_table(
        name,
        sa.Column("period_start", sa.BigInteger, nullable=False),
        *(sa.Column(d, sa.String(_DIMENSION), nullable=False) for d in _DIMENSIONS),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("error_category", sa.String(_DIMENSION), nullable=False),
        *((sa.Column("error_code", sa.String(_CODE), nullable=False),) if with_code else ()),
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("characters", sa.BigInteger, nullable=False),
        sa.Column("cost_usd", sa.Double, nullable=False),
        sa.Column("duration_ns", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"),
    )


def _refill(name: str, seconds: int, *, with_code: bool) -> None:
    keys = [*_DIMENSIONS, "outcome", "error_category", *(("error_code",) if with_code else ())]
    columns = ", ".join(keys)
    period = f"(start_ns - start_ns % {seconds * _NS}) / {_NS}"
    op.execute(
        f"INSERT INTO {name} (period_start, {columns}, calls, input_tokens, output_tokens, characters, cost_usd, "
        f"duration_ns) SELECT {period}, {columns}, COUNT(*), SUM(input_tokens), SUM(output_tokens), "
        f"SUM(characters), COALESCE(SUM(cost_usd), 0.0), SUM(duration_ns) FROM genai_calls "
        f"GROUP BY {period}, {columns}"
    )


def upgrade() -> None:
    op.add_column("genai_calls", sa.Column("error_code", sa.String(_CODE), nullable=False, server_default=""))
    for period, seconds in _PERIODS.items():
        name = f"genai_rollup_{period}"
        op.drop_table(name)
        _create_rollup(name, with_code=True)
        _refill(name, seconds, with_code=True)


def downgrade() -> None:
    for period, seconds in _PERIODS.items():
        name = f"genai_rollup_{period}"
        op.drop_table(name)
        _create_rollup(name, with_code=False)
        _refill(name, seconds, with_code=False)
    with op.batch_alter_table("genai_calls") as batch:
        batch.drop_column("error_code")
