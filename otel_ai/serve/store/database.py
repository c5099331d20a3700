"""Engines for the store's URLs, SQLite settings, and the Alembic migrations run at open."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import StaticPool

__all__ = ["VERSION_TABLE", "SchemaTooNew", "create_store_engine", "migrate", "normalize_url", "sqlite_file"]

VERSION_TABLE = "otel_ai_schema_version"  # not `alembic_version`: a team database may hold other apps
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_MIGRATION_LOCK = 0x07E1A1  # pg_advisory_xact_lock key: one process migrates at a time
_SQLITE_CACHE_KIB = 32 * 1024
# Checkpoint the WAL into the database file every this many pages (SQLite's default: 1,000). A
# checkpoint writes each page the WAL holds to its place in the file, then syncs it; in a large
# store a batch dirties index pages at random places, and on the disks measured random 4 KiB writes
# cost 55 µs a page in groups of 900 but 15 µs in groups of 10,000 (sorted, one sync). So fewer,
# larger checkpoints: the WAL grows to about 80 MiB between them (docs/benchmarks.md).
_SQLITE_CHECKPOINT_PAGES = 20_000
_SQLITE_WAL_LIMIT = 64 * 1024 * 1024  # after a checkpoint the WAL file is cut back to this size
_migrate_lock = threading.Lock()  # Alembic's context is process-global


def _checkpoint_pages() -> int:
    """`OTEL_AI_SQLITE_CHECKPOINT_PAGES` (a tuning knob, mainly to compare: 1000 is SQLite's default)."""
    try:
        pages = int(os.environ.get("OTEL_AI_SQLITE_CHECKPOINT_PAGES", ""))
    except ValueError:
        return _SQLITE_CHECKPOINT_PAGES
    return pages if pages > 0 else _SQLITE_CHECKPOINT_PAGES


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer otel-ai than this one."""


def normalize_url(url: str) -> str:
    """`postgresql://` and `postgres://` use psycopg 3; a path (no scheme) is a SQLite file."""
    if "://" not in url:
        path = Path(url).expanduser()
        return f"sqlite:///{path}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_store_engine(url: str) -> Engine:
    sa_url = make_url(normalize_url(url))
    backend = sa_url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(sa_url)
    if backend == "postgresql":
        return create_engine(sa_url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise ValueError(f"unsupported store URL {sa_url.render_as_string(hide_password=True)!r}: "
                     "use a SQLite path or sqlite:///PATH, or postgresql://…")


def _sqlite_engine(sa_url: Any) -> Engine:
    database = sa_url.database
    memory = not database or database == ":memory:" or sa_url.query.get("mode") == "memory"
    if not memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30.0}}
    if memory:  # one connection: tests and one-off use from one thread
        kwargs["poolclass"] = StaticPool
    else:  # LIFO: the connection used last (its page cache warm) serves the next request
        kwargs["pool_use_lifo"] = True
    engine = create_engine(sa_url, **kwargs)
    checkpoint_pages = _checkpoint_pages()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver; SQLAlchemy's "begin" event below opens our transactions, so
        # that writes can take the write lock up front (BEGIN IMMEDIATE) instead of failing to
        # upgrade a read lock under a concurrent writer.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # Before the first table exists this makes deleted pages returnable to the file system
            # (Store.enforce_limits runs PRAGMA incremental_vacuum); later it changes nothing.
            cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            # Durability: in WAL mode NORMAL survives an app crash but can lose the last commits on
            # power loss or an OS crash; FULL syncs the WAL on every commit, so an acknowledged
            # batch is on disk. Batches are large, so one fsync per batch is cheap.
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA journal_size_limit={_SQLITE_WAL_LIMIT}")
            cursor.execute(f"PRAGMA wal_autocheckpoint={checkpoint_pages}")
            cursor.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute("PRAGMA foreign_keys=OFF")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creating it in an empty database), in one transaction."""
    from alembic import command
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    with _migrate_lock, engine.connect() as connection:
        connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            current = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_heads()
            unknown = [revision for revision in current if revision not in known]
            if unknown:
                raise SchemaTooNew(
                    f"the store's schema is at revision {', '.join(unknown)}, newer than this otel-ai knows "
                    f"({', '.join(sorted(known))}): upgrade otel-ai, or use another database"
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


def sqlite_file(engine: Engine) -> str | None:
    """The database file of a SQLite engine (None for memory or another backend)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    return os.path.abspath(database) if database and database != ":memory:" else None
