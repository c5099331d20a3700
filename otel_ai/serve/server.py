"""`otel-ai serve` as one process: the store, OTLP/HTTP, OTLP/gRPC and the API port, started and
stopped in order.

Start: open the store, then bind OTLP/gRPC, OTLP/HTTP and the API port (any failure undoes what
started and raises `ServeError` with one line to show). Stop: stop accepting on every port, let
the batches in flight finish and be acknowledged, then close the store.

With alert rules set (`ServeConfig.alerts`), a thread evaluates them on the store every 30 s
(`otel_ai.serve.alerts`), next to the one enforcing retention.

The API port serves the JSON API and the dashboard (`otel_ai.serve.api`) on `--port`, behind the
Host-name and token checks of `ServeConfig.access` (`otel_ai.serve.guard`).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from otel_ai.privacy.urls import display_url
from otel_ai.serve.access import TOKEN_QUERY, Access
from otel_ai.serve.alerts import AlertLoop, AlertRules, start_alerts
from otel_ai.serve.grpc_receiver import OTLPGrpcReceiver
from otel_ai.serve.http_receiver import OTLPHttpReceiver
from otel_ai.serve.otlp_ingest import (
    DEFAULT_MAX_REQUEST_BYTES,
    IngestStore,
    OTLPIngest,
    ReceiverStats,
    return_large_blocks,
)

__all__ = ["LocalServer", "ServeConfig", "ServeError", "ServeStore", "StoreOpener", "display_db", "open_default_store"]

logger = logging.getLogger("otel_ai.serve.server")


class ServeStore(IngestStore, Protocol):
    """The store as the server uses it: ingest (see `IngestStore`) and close."""

    def close(self) -> None: ...


class StoreOpener(Protocol):
    """``open_store(url, retention_days=None, max_bytes=None)`` of `otel_ai.serve.store`."""

    def __call__(self, url: str, retention_days: float | None = None, max_bytes: int | None = None) -> ServeStore: ...


def open_default_store(url: str, retention_days: float | None = None, max_bytes: int | None = None) -> ServeStore:
    """`otel_ai.serve.store.open_store`, imported when first needed (SQLAlchemy and the drivers load late)."""
    try:
        from otel_ai.serve.store import open_store
    except ImportError as exc:  # a dependency of the store missing from this installation
        hint = "install the serve extra: pip install 'otel-ai[serve]'"
        raise ServeError(f"the store cannot load ({exc}); {hint}") from exc
    return open_store(url, retention_days=retention_days, max_bytes=max_bytes)


LIMITS_INTERVAL_S = 300.0  # how often retention and the size cap are enforced while serving


class ServeError(Exception):
    """`otel-ai serve` could not start; the message is one line for the user."""


@dataclass(frozen=True)
class ServeConfig:
    """Everything `otel-ai serve` needs; ports may be 0 (a free port, shown by `LocalServer.urls`)."""

    db: str  # a SQLite path (absolute, parent directory exists) or a database URL
    host: str = "127.0.0.1"
    access: Access = field(default_factory=Access)  # allowed Host names and the token, on every port
    port: int = 8200
    otlp_http_port: int = 4318
    otlp_grpc_port: int = 4317
    retention_days: float | None = None  # None: keep everything
    max_db_bytes: int | None = None  # None: no size cap
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    shutdown_grace_s: float = 10.0
    alerts: AlertRules | None = None  # error-rate and cost-rate alerts (otel_ai.serve.alerts); None: off
    ingest_processes: int = 0  # worker processes converting span batches (Store.convert_in_processes)


def display_db(db: str) -> str:
    """The database for display: a URL's password replaced by ``***``."""
    return display_url(db)


class LocalServer:
    """The `otel-ai serve` process: `start()`, then `stop()` (idempotent, safe from any thread)."""

    def __init__(self, config: ServeConfig, *, open_store: StoreOpener | None = None) -> None:
        self.config = config
        self._open_store: StoreOpener = open_store or open_default_store
        self.store: ServeStore | None = None
        self.ingest: OTLPIngest | None = None
        self.otlp_http: OTLPHttpReceiver | None = None
        self.otlp_grpc: OTLPGrpcReceiver | None = None
        self.api: _Api | None = None
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._limits_stop = threading.Event()
        self._limits_thread: threading.Thread | None = None
        self._alerts: AlertLoop | None = None

    # -- life ------------------------------------------------------------------------------------------

    def start(self) -> LocalServer:
        config = self.config
        try:
            self.store = self._open_store(
                config.db, retention_days=config.retention_days, max_bytes=config.max_db_bytes
            )
        except ServeError:
            raise
        except Exception as exc:
            raise ServeError(f"cannot open the store at {display_db(config.db)}: {type(exc).__name__}: {exc}") from exc
        convert_in_processes = getattr(self.store, "convert_in_processes", None)
        if config.ingest_processes and convert_in_processes is not None:
            convert_in_processes(config.ingest_processes)
        if config.retention_days is not None or config.max_db_bytes is not None:
            self._enforce_limits()  # at start, then every few minutes
            self._limits_thread = threading.Thread(target=self._limits_loop, name="otel-ai-limits", daemon=True)
            self._limits_thread.start()
        if config.alerts is not None:
            self._alerts = start_alerts(self.store, config.alerts)  # its own thread, like the limits
        ingest = self.ingest = OTLPIngest(self.store, max_request_bytes=config.max_request_bytes)
        return_large_blocks()  # request bodies of MiBs go back to the system once answered
        try:
            self.otlp_grpc = OTLPGrpcReceiver(
                ingest, config.host, config.otlp_grpc_port, access=config.access
            ).start()
            self.otlp_http = _bind(
                "OTLP/HTTP", config.host, config.otlp_http_port,
                lambda: OTLPHttpReceiver(ingest, config.host, config.otlp_http_port, access=config.access).start(),
            )
            self.api = _bind(
                "the API", config.host, config.port, lambda: _Api(self, config.host, config.port).start()
            )
        except BaseException as exc:
            self.stop()
            if isinstance(exc, OSError):
                raise ServeError(str(exc)) from exc
            raise
        return self

    def _enforce_limits(self) -> None:
        """Retention and the size cap (`--retention`, `--max-db-size`); a failure is logged, never fatal."""
        enforce = getattr(self.store, "enforce_limits", None)
        if enforce is None:
            return
        try:
            enforce()
        except Exception:
            logger.warning("enforcing the store's retention and size limits failed", exc_info=True)

    def _limits_loop(self) -> None:
        while not self._limits_stop.wait(LIMITS_INTERVAL_S):
            self._enforce_limits()

    def stop(self) -> None:
        """Stop accepting everywhere, finish the batches in flight, close the store."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self._limits_stop.set()
        if self._limits_thread is not None:
            self._limits_thread.join(30)
        if self._alerts is not None:
            self._alerts.stop()
        grace = self.config.shutdown_grace_s
        stoppers: list[threading.Thread] = []
        if self.otlp_http is not None:
            http = self.otlp_http
            stoppers.append(threading.Thread(target=http.stop, args=(grace,), name="stop-otlp-http"))
        if self.otlp_grpc is not None:
            grpc_receiver = self.otlp_grpc
            stoppers.append(threading.Thread(target=grpc_receiver.stop, args=(grace,), name="stop-otlp-grpc"))
        for thread in stoppers:
            thread.start()
        if self.api is not None:
            self.api.stop()
        for thread in stoppers:
            thread.join()
        if self.ingest is not None and not self.ingest.wait_idle(grace):
            logger.warning("a store call is still running after %.0f s; closing the store anyway", grace)
        if self.store is not None:
            try:
                self.store.close()
            except Exception:
                logger.warning("closing the store failed", exc_info=True)

    # -- what the API shows ----------------------------------------------------------------------------

    def urls(self) -> dict[str, str]:
        """``api``, ``otlp_http``, ``otlp_grpc``: where each listens (real ports once started)."""
        config = self.config
        host = f"[{config.host}]" if ":" in config.host else config.host
        return {
            "api": f"http://{host}:{self.api.port if self.api else config.port}",
            "otlp_http": self.otlp_http.url if self.otlp_http else f"http://{host}:{config.otlp_http_port}",
            "otlp_grpc": self.otlp_grpc.endpoint if self.otlp_grpc else f"http://{host}:{config.otlp_grpc_port}",
        }

    def banner(self) -> str:
        """The one line printed at start-up."""
        urls = self.urls()
        return (
            f"otel-ai serve: API {urls['api']}  OTLP/HTTP {urls['otlp_http']}  OTLP/gRPC {urls['otlp_grpc']}"
            f"  db {display_db(self.config.db)}"
        )

    def login_url(self) -> str:
        """The dashboard URL that carries the token once (it sets a cookie, then redirects to ``/``)."""
        token = self.config.access.token
        base = self.urls()["api"] + "/"
        return f"{base}?{TOKEN_QUERY}={token}" if token else base

    def stats(self) -> ReceiverStats | None:
        """The receiver's counters (`OTLPIngest.stats`), None before `start()`."""
        return self.ingest.stats() if self.ingest is not None else None


_T = TypeVar("_T")


def _bind(what: str, host: str, port: int, start: Callable[[], _T]) -> _T:
    try:
        return start()
    except OSError as exc:
        raise OSError(f"cannot listen for {what} on {host}:{port}: {exc.strerror or exc}") from exc


# -- the API port ---------------------------------------------------------------------------------------


class _Api:
    """The JSON API (FastAPI on uvicorn) on its own thread; the CLI owns the process's signals."""

    def __init__(self, owner: LocalServer, host: str, port: int) -> None:
        import uvicorn

        from otel_ai.serve.api import create_app

        if owner.store is None:  # pragma: no cover - start() opens the store first
            raise ServeError("the store is not open")
        app = create_app(
            owner.store,  # type: ignore[arg-type]  # the real store, or a test's
            stats=owner.stats,  # type: ignore[arg-type]
            access=owner.config.access,
        )
        # The socket is bound here, so a taken port fails `start()` at once and port 0 can be read back.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit it: without, a keep-alive client waits ~40 ms per request (Nagle
        # holding the body behind the headers until the client's delayed ACK).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((host, port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="otel-ai-api", daemon=True
        )

    def start(self) -> _Api:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            self.stop()
            raise OSError(f"the API did not start on port {self.port}")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(5)
        self._socket.close()
