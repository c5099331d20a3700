"""Alembic environment of the store (run by `database.migrate`, not by the alembic command line)."""
