"""The conversation and the user of each GenAI call on genai_calls (`gen_ai.conversation.id`, `user.id`).

The conversations view, `/api/v1/conversations` and per-user budgets read them. The user is the exported
value: `user.id`, or `user.hash` when the app hashes it (`OTEL_AI_USER_ID_HASH`). Calls stored before this
revision have neither ('').

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_DIMENSION = 256


def upgrade() -> None:
    op.add_column("genai_calls",
                  sa.Column("conversation_id", sa.String(_DIMENSION), nullable=False, server_default=""))
    op.add_column("genai_calls", sa.Column("user_id", sa.String(_DIMENSION), nullable=False, server_default=""))
    op.create_index("ix_genai_calls_conversation", "genai_calls", ["conversation_id", "start_ns"])
    op.create_index("ix_genai_calls_user", "genai_calls", ["user_id", "start_ns"])


def downgrade() -> None:
    op.drop_index("ix_genai_calls_user", "genai_calls")
    op.drop_index("ix_genai_calls_conversation", "genai_calls")
    with op.batch_alter_table("genai_calls") as batch:
        batch.drop_column("user_id")
        batch.drop_column("conversation_id")
