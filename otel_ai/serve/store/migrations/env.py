"""Alembic environment: runs on the connection `database.migrate` passes in `config.attributes`.

New revision (from the repository root):

    .venv/bin/python -c "from alembic.config import Config; from alembic import command; \
c = Config(); c.set_main_option('script_location', 'otel_ai/serve/store/migrations'); \
command.revision(c, 'what changed', rev_id='0002')"

then write its upgrade() by hand (no autogenerate against a live database is needed: the test
`test_migrations_match_schema` compares the migrated database with `schema.metadata`).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from otel_ai.serve.store.database import VERSION_TABLE
from otel_ai.serve.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("the store's migrations run through otel_ai.serve.store.database.migrate()")
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
