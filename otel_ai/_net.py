"""The one HTTP server base that otel-ai's own servers share (the OTLP/HTTP receiver, the test simulators).

It sits at the bottom of the package because both `otel_ai.serve` and `otel_ai.testing` build on it
(and `testing` may use only the bottom layer). Two levels:

* `LocalHTTPServer` and `TrackedHandler`: what the receiver of `otel-ai serve` shares with the
  simulators: a bind without the FQDN lookup, and HTTP/1.1 keep-alive connections that are quiet,
  send without Nagle's delay and are registered with the server's owner from `setup` to `finish`
  (so the owner can cut them when it stops). The receiver's own hardening (deadlines, connection
  cap, body budget) is its business: `otel_ai.serve.http_transport`.
* `LoopbackService`, `LoopbackServer` and `LoopbackHandler`: a small real HTTP service in a daemon
  thread, with the plumbing every provider simulator needs (request bodies plain or chunked, chunked
  replies, a connection dropped mid-answer, header numbers); `otel_ai.testing` builds on it.
"""

from __future__ import annotations

import contextlib
import math
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "ConnectionOwner",
    "LocalHTTPServer",
    "LoopbackHandler",
    "LoopbackServer",
    "LoopbackService",
    "OwnedServer",
    "TrackedHandler",
    "parse_float",
]


class LocalHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that binds without `HTTPServer.server_bind`'s FQDN lookup.

    That lookup is a DNS query, slow or hanging on a machine without a resolver; the address bound
    is what the server reports as its name instead.
    """

    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class ConnectionOwner(Protocol):
    """What a `TrackedHandler`'s server reports its connections to (a service, the OTLP receiver)."""

    def _track(self, handler: Any, *, add: bool) -> None: ...


class OwnedServer(LocalHTTPServer):
    """A `LocalHTTPServer` whose handlers register with one owner."""

    owner: ConnectionOwner


class TrackedHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler, quiet, registered with its server's owner while the connection lives."""

    server: OwnedServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle on, a keep-alive client waits ~40 ms
    # (its delayed ACK) for the body of every answer.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.opened()
        self.server.owner._track(self, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.closing()
            self.server.owner._track(self, add=False)

    def opened(self) -> None:
        """Hook: the streams are set up; runs before the owner sees the connection."""

    def closing(self) -> None:
        """Hook: the streams are closed; runs before the owner forgets the connection."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def version_string(self) -> str:
        return self.server_version


# --------------------------------------------------------------------------- the loopback service


def parse_float(value: str | None, default: float) -> float:
    """A header's number: finite and not negative, else ``default`` (also when absent)."""
    if value is None:
        return default
    try:
        parsed = float(value)
    except ValueError:
        return default
    return parsed if math.isfinite(parsed) and parsed >= 0 else default


class LoopbackServer(OwnedServer):
    """A threading HTTP server for one `LoopbackService` (no FQDN lookup on bind)."""

    owner: LoopbackService


class LoopbackHandler(TrackedHandler):
    """Keep-alive handler whose connections the service tracks, so `stop()` can cut them."""

    server: LoopbackServer
    timeout = 30.0  # idle keep-alive connections end by themselves
    dropped: tuple[type[BaseException], ...] = (OSError,)  # errors that just end the connection

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except self.dropped:  # stopping, client gone, idle timeout
            self.close_connection = True

    def read_body(self) -> bytes:
        """The request body, by Content-Length or chunked (trusting the client: a test's loopback)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def abort(self) -> None:
        """Drop the TCP connection now (the client sees an incomplete body)."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class LoopbackService:
    """A real HTTP service on 127.0.0.1 in a daemon thread: start/stop, `with`, free port by default.

    Shared by the simulators and the test suite's OTLP receiver; subclasses set `handler`.
    """

    handler: type[LoopbackHandler] = LoopbackHandler
    thread_name = "loopback-http"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT``."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} not started")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._starting()
        server = LoopbackServer((self.host, self.port), self.handler)
        server.owner = self
        self._server = server
        self.port = server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping_now()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _starting(self) -> None:
        """Hook: runs before the server starts."""

    def _stopping_now(self) -> None:
        """Hook: runs before the server shuts down (wake sleeping handlers here)."""

    def _track(self, handler: TrackedHandler, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(handler.connection)
            else:
                self._connections.discard(handler.connection)
