"""The HTTP/1.1 transport of `otel-ai serve`'s OTLP/HTTP receiver: a hand-written, hardened server.

`HTTPTransport` serves one connection per thread on `otel_ai._net`'s server base and defends itself
against slow and many clients: per-phase read deadlines (`_DeadlineReader`), a connection cap with
eviction of idle or slow connections, and a budget of request-body bytes held at once. Its handler,
`TransportHandler`, reads request bodies (Content-Length or chunked, bounded) and writes replies;
what a request means is the subclass's (`otel_ai.serve.http_receiver`, the OTLP endpoints).
Body-reading refusals are OTLP's (`otel_ai.serve.otlp`): they carry the HTTP status to answer with.
"""

from __future__ import annotations

import io
import json
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from google.rpc import code_pb2  # type: ignore[import-untyped]

from otel_ai._net import OwnedServer, TrackedHandler
from otel_ai.serve.otlp import MalformedPayload, Overloaded, PayloadTooLarge

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "DEFAULT_ADMISSION_WAIT_S",
    "DEFAULT_BODY_GRACE_S",
    "DEFAULT_HEADER_TIMEOUT_S",
    "DEFAULT_IDLE_TIMEOUT_S",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MIN_BODY_RATE",
    "DEFAULT_WRITE_TIMEOUT_S",
    "HTTPTransport",
    "TransportHandler",
]

logger = logging.getLogger("otel_ai.serve.receiver")  # one log name for the receivers

DEFAULT_MAX_CONNECTIONS: Final = 256
DEFAULT_HEADER_TIMEOUT_S: Final = 10.0  # the request line and every header, from the request's first byte
DEFAULT_BODY_GRACE_S: Final = 5.0  # a body may start slowly for this long ...
DEFAULT_MIN_BODY_RATE: Final = 512 * 1024  # ... then must keep up this average rate (bytes/s) or be cut
DEFAULT_ADMISSION_WAIT_S: Final = 1.0  # how long a request waits for room in the body budget before its 503
DEFAULT_IDLE_TIMEOUT_S: Final = 60.0
DEFAULT_WRITE_TIMEOUT_S: Final = 30.0

Phase = Literal["starting", "idle", "headers", "body", "busy"]

_OVERLOADED_BODY: Final = json.dumps({"code": code_pb2.UNAVAILABLE, "message": "too many connections, retry later"})
_OVERLOADED_REPLY: Final = (
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    f"Connection: close\r\nContent-Length: {len(_OVERLOADED_BODY)}\r\n\r\n{_OVERLOADED_BODY}"
).encode()



class _ByteBudget:
    """Bytes of request bodies the receiver may hold at once; a request reserves its size before reading."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._used = 0
        self._peak = 0
        self._cond = threading.Condition()

    def acquire(self, size: int, timeout: float) -> bool:
        with self._cond:
            if not self._cond.wait_for(lambda: self._used + size <= self.capacity, timeout=max(0.0, timeout)):
                return False
            self._used += size
            self._peak = max(self._peak, self._used)
            return True

    def release(self, size: int) -> None:
        with self._cond:
            self._used -= size
            self._cond.notify_all()

    @property
    def used(self) -> int:
        return self._used

    @property
    def peak(self) -> int:
        return self._peak


class _DeadlineReader(io.RawIOBase):
    """The connection's socket as a raw stream whose every read ends by the handler's current deadline.

    `http.server` reads the request line and headers with ``readline``, which loops over many
    ``recv`` calls: a per-call socket timeout would let a client that sends one byte every few
    seconds hold the connection forever. Here each ``recv`` gets only the time left before the
    phase's deadline (`TransportHandler._deadline`), so the whole header, and the body's minimum rate,
    are enforced however the bytes trickle in.
    """

    def __init__(self, sock: socket.socket, deadline: Callable[[], float | None]) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline
        self.received = 0  # bytes read from the socket so far

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        deadline = self._deadline()
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the client is too slow: deadline passed")
            self._sock.settimeout(remaining)
        try:
            count = self._sock.recv_into(buffer)
        except BlockingIOError:  # a non-blocking peek with nothing there
            return None
        self.received += count
        return count



class _HTTPServer(OwnedServer):
    block_on_close = False
    request_queue_size = 128
    owner: HTTPTransport

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self.owner._admit(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("OTLP/HTTP connection error", exc_info=True)


class TransportHandler(TrackedHandler):
    """One connection: keep-alive with per-phase deadlines, bounded body reads, replies; no routes."""

    server: _HTTPServer

    phase: Phase = "starting"
    phase_since = 0.0
    evicted = False
    _peeking = False
    _body_start = 0
    _body_consumed = False

    # -- connection life -----------------------------------------------------------------------------

    def opened(self) -> None:
        self._raw = _DeadlineReader(self.connection, self._deadline)
        self.rfile = io.BufferedReader(self._raw, 64 * 1024)
        self._selector: selectors.BaseSelector | None = None
        self._set_phase("idle")

    def closing(self) -> None:
        if self._selector is not None:
            self._selector.close()

    def handle(self) -> None:
        self.close_connection = True
        while self._await_request():
            self.handle_one_request()
            if self.close_connection:
                break

    def handle_one_request(self) -> None:
        self._body_consumed = False
        try:
            super().handle_one_request()
        except (OSError, ValueError):  # client gone, too slow, socket cut at shutdown or evicted
            self.close_connection = True

    def cut(self) -> None:
        """Make this connection's thread give up at once (from another thread): eviction, shutdown."""
        with suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _set_phase(self, phase: Phase) -> None:
        self.phase = phase
        self.phase_since = time.monotonic()
        if phase == "body":
            self._body_start = self._raw.received

    def _deadline(self) -> float | None:
        """When the read in progress must have finished: per phase (None: leave the socket as set)."""
        if self._peeking:
            return None
        transport = self.server.owner
        if self.phase == "headers":
            return self.phase_since + transport.header_timeout_s
        if self.phase == "body":
            received = self._raw.received - self._body_start
            return self.phase_since + transport.body_grace_s + received / transport.min_body_rate
        return time.monotonic() + transport.idle_timeout_s

    def _await_request(self) -> bool:
        """Wait for the next request on a keep-alive connection; False to close it.

        Idle connections close when the receiver stops (so shutdown never waits on them), after
        ``idle_timeout_s``, or when a new connection needs their place; once a request has started
        arriving, its header has ``header_timeout_s`` to arrive whole.
        """
        transport = self.server.owner
        self._set_phase("idle")
        while True:
            pending = self._peek()
            if pending is None:
                return False
            if pending:
                self._set_phase("headers")
                return not self.evicted
            idle_for = time.monotonic() - self.phase_since
            if transport._stopping.is_set() or self.evicted or idle_for > transport.idle_timeout_s:
                return False
            try:
                if self._selector is None:
                    self._selector = selectors.DefaultSelector()
                    self._selector.register(self.connection, selectors.EVENT_READ)
                ready = self._selector.select(timeout=0.1)
            except (OSError, ValueError):
                return False
            if ready:
                if self._peek():  # readable but nothing there: the client closed
                    self._set_phase("headers")
                    return not self.evicted
                return False

    def _peek(self) -> bytes | None:
        """Bytes waiting (buffered or on the socket) without blocking; b"" if none, None if broken."""
        sock = self.connection
        self._peeking = True
        try:
            sock.setblocking(False)
            try:
                return cast("bytes", self.rfile.peek(1))  # type: ignore[attr-defined]
            except BlockingIOError:
                return b""
        except (OSError, ValueError):
            return None
        finally:
            self._peeking = False


    def _drain(self, seconds: float) -> None:
        with suppress(OSError, ValueError):
            self.connection.shutdown(socket.SHUT_WR)
            self._set_phase("body")
            deadline = time.monotonic() + seconds
            scratch = bytearray(64 * 1024)
            while time.monotonic() < deadline and self.rfile.readinto1(scratch):
                pass

    # -- request body ------------------------------------------------------------------------------

    _body_consumed = False
    def _content_length(self) -> int | None:
        raw = self.headers.get("Content-Length")
        if raw is None:
            return None
        try:
            value = int(raw.strip())
        except ValueError:
            return -1
        return value if value >= 0 else -1

    def _reserve(self, limit: int) -> int:
        """Room in the receiver's body budget for this request's body, before any of it is read.

        Reserves the Content-Length (the limit for a chunked body); waits up to ``admission_wait_s``
        for room, then raises `Overloaded` (503 + Retry-After). 0 when there is nothing to reserve.
        """
        transport = self.server.owner
        if self.headers.get("Transfer-Encoding"):
            size = limit
        else:
            length = self._content_length()
            if length is None or length <= 0 or length > limit:
                return 0  # empty, invalid or too large: refused or read as nothing by _read_body
            size = length
        if not transport._budget.acquire(size, transport.admission_wait_s):
            raise Overloaded(
                f"the receiver holds {transport._budget.capacity} bytes of request bodies already; retry later"
            )
        return size

    def _read_body(self, limit: int) -> bytes:
        """The request body, at most ``limit`` bytes (Content-Length or chunked), at the minimum rate."""
        self._set_phase("body")
        transfer = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if transfer:
            self.close_connection = True  # with Content-Length too this is ambiguous: never reuse it
            if transfer != "chunked":
                raise MalformedPayload(f"unsupported Transfer-Encoding {transfer!r}")
            body = self._read_chunked(limit)
            self._body_consumed = True
            return body
        length = self._content_length()
        if length is None:
            self._body_consumed = True
            return b""  # HTTP/1.1: no Content-Length and not chunked means an empty body
        if length < 0:
            self.close_connection = True
            raise MalformedPayload("invalid Content-Length")
        if length > limit:
            raise PayloadTooLarge(f"Content-Length {length} is over the {limit}-byte limit")
        body = self._read_exactly(length)
        if len(body) != length:
            self.close_connection = True
            raise MalformedPayload("the body ended before Content-Length bytes")
        self._body_consumed = True
        return body

    def _read_exactly(self, length: int) -> bytes:
        """``length`` bytes (fewer if the client stops), read into one buffer: one copy of the body."""
        buffer = bytearray(length)
        view = memoryview(buffer)
        got = 0
        while got < length:
            count = self.rfile.readinto1(view[got:])
            if not count:
                break
            got += count
        view.release()
        if got != length:
            del buffer[got:]
        return cast("bytes", buffer)  # bytes-like: protobuf, json and zlib take it as it is

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise MalformedPayload("bad chunked encoding")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise MalformedPayload("bad chunk size in chunked encoding") from None
            if size < 0:
                raise MalformedPayload("bad chunk size in chunked encoding")
            if size == 0:
                for _ in range(100):  # trailer fields, then the empty line
                    trailer = self.rfile.readline(65537)
                    if trailer in (b"\r\n", b"\n", b""):
                        break
                return b"".join(parts)
            total += size
            if total > limit:
                raise PayloadTooLarge(f"chunked body is over the {limit}-byte limit")
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise MalformedPayload("bad chunked encoding")
            parts.append(chunk)

    def _discard_body(self) -> None:
        """Read and drop an unread body so the connection can carry the reply (bounded; else close).

        Reading it, rather than closing at once, lets a client that is still sending see the status
        instead of a connection reset.
        """
        if self._body_consumed:
            return
        self._body_consumed = True
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return
        length = self._content_length()
        if not length:
            return
        if length < 0 or length > self.server.owner.max_discard_bytes:
            self.close_connection = True
            return
        self._set_phase("body")
        deadline = time.monotonic() + 5.0
        remaining = length
        scratch = bytearray(64 * 1024)
        try:
            while remaining > 0 and time.monotonic() < deadline:
                count = self.rfile.readinto1(memoryview(scratch)[: min(remaining, len(scratch))])
                if not count:
                    break
                remaining -= count
        except (OSError, ValueError):
            pass
        if remaining:
            self.close_connection = True

    # -- replies -------------------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        extra: list[tuple[str, str]] | None = None,
        head: bool = False,
    ) -> None:
        self._set_phase("busy")
        self.connection.settimeout(self.server.owner.write_timeout_s)
        if self.server.owner._stopping.is_set():
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra or ():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(body)
        self.wfile.flush()



class HTTPTransport:
    """HTTP/1.1 on ``host:port``, one thread per connection, hardened against slow and many clients.

    ``port=0`` picks a free port (see `port` / `url` after `start()`). `stop()` stops accepting,
    closes idle keep-alive connections, lets requests in flight finish (up to ``grace_s``) and only
    then returns. Subclasses set `handler` (a `TransportHandler` that answers requests).

    Slow and many clients (docs/local.md, "Security"):

    * a request's line and headers must arrive within ``header_timeout_s`` of its first byte; its
      body may take ``body_grace_s``, then must keep up ``min_body_rate`` bytes/s on average; a
      client that falls behind is disconnected;
    * at most ``max_connections`` connections: when full, a new one takes the place of the
      longest-idle keep-alive connection, else of the one slowest to send its header; with none of
      those it gets a 503 (``Retry-After``) and is closed;
    * request bodies held in memory at once are bounded by ``body_budget_bytes``: a request reserves
      its Content-Length before its body is read; with no room within ``admission_wait_s`` it gets
      503 + ``Retry-After`` unread.
    """

    handler: type[TransportHandler] = TransportHandler
    thread_name = "otlp-http"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_connections: int,
        header_timeout_s: float,
        body_grace_s: float,
        min_body_rate: float,
        idle_timeout_s: float,
        write_timeout_s: float,
        body_budget_bytes: int,
        max_discard_bytes: int,
        admission_wait_s: float,
    ) -> None:
        if min_body_rate <= 0 or header_timeout_s <= 0 or max_connections <= 0:
            raise ValueError("min_body_rate, header_timeout_s and max_connections must be positive")
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.header_timeout_s = header_timeout_s
        self.body_grace_s = body_grace_s
        self.min_body_rate = min_body_rate
        self.idle_timeout_s = idle_timeout_s
        self.write_timeout_s = write_timeout_s
        self.admission_wait_s = admission_wait_s
        self._budget = _ByteBudget(body_budget_bytes)
        self.max_discard_bytes = max_discard_bytes
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._handlers: set[TransportHandler] = set()
        self._starting = 0  # connections admitted whose handler has not registered yet
        self.evictions = 0  # connections closed to make room for new ones
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None


    @property
    def url(self) -> str:
        """``http://HOST:PORT``: the value for ``OTEL_EXPORTER_OTLP_ENDPOINT`` (HTTP)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def body_budget_bytes(self) -> int:
        return self._budget.capacity

    @property
    def peak_body_bytes(self) -> int:
        """The most body bytes reserved at once since start (for tests and benchmarks)."""
        return self._budget.peak

    def start(self) -> Self:
        """Bind and serve in a background thread. Raises OSError when the address is taken."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server_class: Callable[..., _HTTPServer] = _HTTPServer
        if ":" in self.host:
            server_class = type("_HTTPServer6", (_HTTPServer,), {"address_family": socket.AF_INET6})
        server = server_class((self.host, self.port), self.handler)
        server.owner = self
        self._server = server
        self.port = server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self, grace_s: float = 10.0) -> bool:
        """Stop; True when every request in flight finished within ``grace_s``."""
        server = self._server
        if server is None:
            return True
        self._stopping.set()
        server.shutdown()
        server.server_close()
        deadline = time.monotonic() + grace_s
        with self._drained:
            finished = self._drained.wait_for(lambda: not self._handlers, timeout=grace_s)
            leftover = list(self._handlers)
        for handler in leftover:  # past the grace period: cut them
            handler.cut()
        if not finished:
            self._wait_idle(max(0.5, deadline - time.monotonic()))
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        return finished

    def _wait_idle(self, timeout: float) -> None:
        """Hook: past the grace period, wait (up to ``timeout``) for work the cut requests started."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _admit(self, request: socket.socket) -> bool:
        """A new connection (accept thread): take it, making room by evicting an idle or slow one if full."""
        victim: TransportHandler | None = None
        with self._lock:
            if self._stopping.is_set():
                return False
            live = self._starting + sum(1 for handler in self._handlers if not handler.evicted)
            if live >= self.max_connections:
                victim = self._victim()
                if victim is None:
                    admitted = False
                else:
                    victim.evicted = True
                    self.evictions += 1
                    admitted = True
            else:
                admitted = True
            if admitted:
                self._starting += 1
        if victim is not None:
            victim.cut()
        if not admitted:
            logger.debug("OTLP/HTTP connection refused: %d connections busy", self.max_connections)
            with suppress(OSError):
                request.settimeout(0.5)
                request.sendall(_OVERLOADED_REPLY)
        return admitted

    def _victim(self) -> TransportHandler | None:  # with self._lock held
        """The connection to drop for a new one: the longest idle, else the longest in its header."""
        candidates = [h for h in self._handlers if not h.evicted and h.phase in ("idle", "headers")]
        if not candidates:
            return None
        return min(candidates, key=lambda h: (h.phase != "idle", h.phase_since))

    def _track(self, handler: TransportHandler, *, add: bool) -> None:
        with self._drained:
            if add:
                self._starting = max(0, self._starting - 1)
                self._handlers.add(handler)
            else:
                self._handlers.discard(handler)
                self._drained.notify_all()
