"""Store fixtures: a SQLite file and a real PostgreSQL (Debian's package, started here in a temporary directory).

`store_url` and `store` are parametrized over both backends. The PostgreSQL server starts once per test
session (initdb + pg_ctl, about a second), on a free port, as the `postgres` user (or `nobody`) when the
tests run as root, and is stopped at the end; each test gets a database of its own. Without PostgreSQL
binaries its tests are skipped, unless OTEL_AI_REQUIRE_POSTGRES=1 (then they fail); to install them:
`apt-get install -y postgresql`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from otel_ai.serve.store import Store

PG_USER = "otelai"


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    candidates = [str(Path(found).resolve().parent)] if found else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    for directory in candidates:
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    directory: Path
    port: int
    run_as: str | None

    def url(self, database: str) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={PG_USER} dbname=postgres", autocommit=True) as c:
            c.execute(sql)

    def command(self, *args: str) -> list[str]:
        argv = [str(self.bindir / args[0]), *args[1:]]
        return ["runuser", "-u", self.run_as, "--", *argv] if self.run_as else argv


def _start_postgres() -> PostgresServer:
    bindir = _pg_bindir()
    if bindir is None:
        message = "PostgreSQL binaries not found (apt-get install -y postgresql)"
        if os.environ.get("OTEL_AI_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    run_as: str | None = None
    if os.geteuid() == 0:  # initdb refuses root
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                pwd.getpwnam(name)
                run_as = name
                break
    directory = Path(tempfile.mkdtemp(prefix="otel-ai-pg-"))
    directory.chmod(0o755)
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bindir, directory, _free_port(), run_as)
    subprocess.run(
        server.command("initdb", "-D", str(directory / "data"), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
                       "--no-sync", "--no-instructions"),
        check=True, capture_output=True, timeout=60,
    )
    # Durability settings off: these tests check results, not crash safety (the store relies on
    # PostgreSQL's defaults for that).
    options = (f"-p {server.port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
    subprocess.run(
        server.command("pg_ctl", "-D", str(directory / "data"), "-o", options, "-l", str(directory / "log"),
                       "-w", "-t", "30", "start"),
        check=True, capture_output=True, timeout=60,
    )
    return server


def _stop_postgres(server: PostgresServer) -> None:
    subprocess.run(
        server.command("pg_ctl", "-D", str(server.directory / "data"), "-m", "immediate", "-w", "stop"),
        capture_output=True, timeout=60, check=False,
    )
    shutil.rmtree(server.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = _start_postgres()
    try:
        yield server
    finally:
        _stop_postgres(server)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        yield str(tmp_path / "store.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = "t_" + uuid.uuid4().hex[:16]
    server.admin(f"CREATE DATABASE {name}")
    try:
        yield server.url(name)
    finally:
        server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def open_stores(store_url: str) -> Iterator[Any]:
    """`open_stores(**kwargs)` opens the test's store (again); every store opened is closed afterwards."""
    from otel_ai.serve.store import open_store

    opened: list[Store] = []

    def opener(**kwargs: Any) -> Store:
        store = open_store(store_url, **kwargs)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def store(open_stores: Any) -> Store:
    return open_stores()
