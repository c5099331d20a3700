"""The model the provider answered (`gen_ai.response.model`) on genai_calls, as `response_model`.

From this revision `model` is the model the app asked for (`gen_ai.request.model`, else the response
model), so that one model is one row in the reports (`gpt-4o-mini`, not `gpt-4o-mini` and
`gpt-4o-mini-2024-07-18`), and `response_model` is the snapshot that answered (else the request
model): `group_by=response_model` reads it. Calls stored before this revision keep their `model`
(then the response model) and get it as their `response_model` too: their spans are not re-read.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_DIMENSION = 256


def upgrade() -> None:
    op.add_column("genai_calls",
                  sa.Column("response_model", sa.String(_DIMENSION), nullable=False, server_default=""))
    op.execute("UPDATE genai_calls SET response_model = model")


def downgrade() -> None:
    with op.batch_alter_table("genai_calls") as batch:
        batch.drop_column("response_model")
