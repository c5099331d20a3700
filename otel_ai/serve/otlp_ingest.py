"""The OTLP ingest of `otel-ai serve`, shared by its two transports: decode, check, store, count.

`OTLPIngest` takes one export request's payload from either transport (`otel_ai.serve.http_receiver`,
`otel_ai.serve.grpc_receiver`), runs it through `otel_ai.serve.otlp` (bounded decompression,
decoding, id checks), hands traces and logs to the store and counts everything (`stats()`).

What the OTLP specification asks of a server, and what this one does:

* 200 with an ``Export*ServiceResponse`` in the request's encoding, sent only after the store call
  returned (the store commits before it returns, so an acknowledged batch is durable).
* Items with invalid ids (trace id not 16 non-zero bytes, span id not 8 non-zero bytes) are left
  out and reported in the response's ``partial_success`` (``rejected_spans`` / ``rejected_log_records``);
  the exporter does not retry them.
* 400 (gRPC ``INVALID_ARGUMENT``) for a payload that does not decode, 413 (``RESOURCE_EXHAUSTED``) for
  one over ``max_request_bytes`` on the wire or once decompressed (decompression stops at the limit,
  so a gzip bomb costs at most the limit in memory), 415 for an unknown content type or encoding,
  404 for other paths, 503 with ``Retry-After`` (``UNAVAILABLE`` with a ``RetryInfo``) when the store
  fails, so exporters retry and nothing acknowledged is lost. Error bodies are a ``google.rpc.Status``.
* Metrics are decoded, checked and counted but not stored in this version (``stored`` stays 0).
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
import time
from typing import Any, Final, Protocol, TypedDict, cast

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_ai.serve.otlp import (
    SIGNALS,
    Encoding,
    ReceiverError,
    Signal,
    StoreUnavailable,
    Transport,
    check_request,
    decode_request,
    decompress,
    export_response,
)

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_RETRY_AFTER_S",
    "IngestStore",
    "OTLPIngest",
    "ReceiverStats",
    "SignalStats",
    "return_large_blocks",
]

logger = logging.getLogger("otel_ai.serve.receiver")  # one log name for the receivers

DEFAULT_MAX_REQUEST_BYTES: Final = 16 * 1024 * 1024
DEFAULT_RETRY_AFTER_S: Final = 1
_LOG_EVERY_S: Final = 60.0  # repeated failures of one kind are logged at most once a minute


# -- the store, as the receiver sees it ------------------------------------------------------------


class IngestStore(Protocol):
    """What the receiver needs of `otel_ai.serve.store.Store`.

    Both methods are called from several threads at once (HTTP connection threads, the gRPC pool)
    and must have committed the batch when they return; an exception means "not stored".
    """

    def ingest_traces(self, request: ExportTraceServiceRequest) -> int: ...

    def ingest_logs(self, request: ExportLogsServiceRequest) -> int: ...


# -- statistics ------------------------------------------------------------------------------------


class SignalStats(TypedDict):
    """Counters for one signal. Items are spans, log records or metric data points."""

    requests: int  # export requests answered 200 / OK
    accepted: int  # items acknowledged (and, for traces and logs, handed to the store)
    rejected_invalid: int  # items left out for invalid ids (reported in partial_success; not retried)
    rejected_unavailable: int  # items in requests answered 503 / UNAVAILABLE (the exporter retries them)
    stored: int  # what the store's ingest_* returned, summed (metrics: 0, not stored in this version)


class ReceiverStats(TypedDict):
    """`OTLPIngest.stats()`: a JSON-ready snapshot. Request-level counters cover both transports."""

    started_at: float  # Unix time the counters started
    traces: SignalStats
    logs: SignalStats
    metrics: SignalStats
    http_requests: int  # every OTLP/HTTP request that reached a handler, answered or refused
    grpc_requests: int  # every gRPC Export call that reached a servicer
    malformed: int  # undecodable payloads: 400 / INVALID_ARGUMENT
    too_large: int  # 413 / RESOURCE_EXHAUSTED counted here (gRPC's own size check happens before: not counted)
    unsupported: int  # 415: unknown Content-Type or Content-Encoding
    not_found: int  # OTLP/HTTP requests to other paths (404) or with other methods (405)
    store_failures: int  # 503 / UNAVAILABLE
    overloaded: int  # 503 + Retry-After (HTTP) before the body was read: the body budget was spent
    unauthorized: int  # 401 (no or wrong token) and 421 (a Host not allowed); gRPC UNAUTHENTICATED / PERMISSION_DENIED
    internal_errors: int  # 500 / INTERNAL: a bug in the receiver, logged
    last_error: str | None  # the latest refusal, one line, e.g. "traces: store failed: disk I/O error"
    last_error_at: float | None  # its Unix time


_REQUEST_COUNTERS: Final = (
    "http_requests",
    "grpc_requests",
    "malformed",
    "too_large",
    "unsupported",
    "not_found",
    "store_failures",
    "overloaded",
    "unauthorized",
    "internal_errors",
)


def _signal_stats() -> SignalStats:
    return {"requests": 0, "accepted": 0, "rejected_invalid": 0, "rejected_unavailable": 0, "stored": 0}


# -- the core ----------------------------------------------------------------------------------------


class OTLPIngest:
    """Decode, check, store and count OTLP export requests; shared by the HTTP and gRPC transports.

    ``max_concurrent`` bounds the requests being decompressed, decoded and stored at once (memory:
    roughly ``max_concurrent * 3 * max_request_bytes`` at worst); the others wait their turn.
    """

    def __init__(
        self,
        store: IngestStore,
        *,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        retry_after_s: int = DEFAULT_RETRY_AFTER_S,
        max_concurrent: int = 8,
    ) -> None:
        if max_request_bytes <= 0:
            raise ValueError("max_request_bytes must be positive")
        self.store = store
        self.max_request_bytes = max_request_bytes
        self.retry_after_s = max(0, retry_after_s)
        self.max_concurrent = max(1, max_concurrent)
        self._slots = threading.BoundedSemaphore(self.max_concurrent)
        self._lock = threading.Lock()
        self._in_store = 0
        self._idle = threading.Condition(self._lock)
        self._last_logged: dict[str, float] = {}
        self._started_at = time.time()
        self._signals: dict[Signal, SignalStats] = {signal: _signal_stats() for signal in SIGNALS}
        self._counts: dict[str, int] = dict.fromkeys(_REQUEST_COUNTERS, 0)
        self._last_error: str | None = None
        self._last_error_at: float | None = None

    # -- public ---------------------------------------------------------------------------------

    def stats(self) -> ReceiverStats:
        """A consistent copy of the counters (safe to serialise as JSON)."""
        with self._lock:
            c = self._counts
            return {
                "started_at": self._started_at,
                "traces": cast("SignalStats", dict(self._signals["traces"])),
                "logs": cast("SignalStats", dict(self._signals["logs"])),
                "metrics": cast("SignalStats", dict(self._signals["metrics"])),
                "http_requests": c["http_requests"],
                "grpc_requests": c["grpc_requests"],
                "malformed": c["malformed"],
                "too_large": c["too_large"],
                "unsupported": c["unsupported"],
                "not_found": c["not_found"],
                "store_failures": c["store_failures"],
                "overloaded": c["overloaded"],
                "unauthorized": c["unauthorized"],
                "internal_errors": c["internal_errors"],
                "last_error": self._last_error,
                "last_error_at": self._last_error_at,
            }

    def process(
        self,
        signal: Signal,
        payload: bytes,
        *,
        encoding: Encoding,
        content_encoding: str = "",
        transport: Transport,
    ) -> Any:
        """Decompress, decode, check and store one export request; returns the response message.

        Raises a `ReceiverError` (already counted) when the request is refused.
        """
        try:
            with self._slots:
                data = decompress(payload, content_encoding, self.max_request_bytes)
                request = self.decode(signal, data, encoding)
                return self.export(signal, request)
        except ReceiverError as exc:
            self.refused(exc, signal)
            raise

    def decode(self, signal: Signal, data: bytes, encoding: Encoding) -> Any:
        """Parse a (decompressed) payload into the signal's ``Export*ServiceRequest``."""
        return decode_request(signal, data, encoding, self.max_request_bytes)

    def export(self, signal: Signal, request: Any) -> Any:
        """Check ids, hand traces/logs to the store, count; returns the ``Export*ServiceResponse``.

        Called after the payload decoded. Raises `StoreUnavailable` when the store fails.
        """
        total, invalid, reason = check_request(signal, request)
        valid = total - invalid
        stored = 0
        if valid and signal != "metrics":
            stored = self._store_call(signal, request, valid)
        response = export_response(signal, invalid, reason)
        with self._lock:
            counters = self._signals[signal]
            counters["requests"] += 1
            counters["accepted"] += valid
            counters["rejected_invalid"] += invalid
            counters["stored"] += stored
            if invalid:
                self._note_error(f"{signal}: {invalid} item(s) rejected: {reason}")
        return response

    def count_request(self, transport: Transport) -> None:
        with self._lock:
            self._counts[f"{transport}_requests"] += 1

    def count_not_found(self) -> None:
        with self._lock:
            self._counts["not_found"] += 1

    def refused(self, error: ReceiverError, signal: Signal | None = None) -> None:
        """Count a refusal (once per request) and remember it as the last error."""
        if error.counted:
            return
        error.counted = True
        with self._lock:
            self._counts[error.counter] += 1
            self._note_error(f"{signal or 'request'}: {error}")

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no store call is running; False if one still is after ``timeout`` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_store == 0, timeout=max(0.0, timeout))

    # -- internals --------------------------------------------------------------------------------

    def _store_call(self, signal: Signal, request: Any, items: int) -> int:
        with self._lock:
            self._in_store += 1
        try:
            if signal == "traces":
                result = self.store.ingest_traces(request)
            else:
                result = self.store.ingest_logs(request)
        except Exception as exc:
            with self._lock:
                self._signals[signal]["rejected_unavailable"] += items
            self._log_once("store", f"the store failed on a {signal} batch ({items} items), answering 503: {exc!r}")
            raise StoreUnavailable(f"the store failed: {type(exc).__name__}: {exc}") from None
        finally:
            with self._idle:
                self._in_store -= 1
                self._idle.notify_all()
        return result if isinstance(result, int) and not isinstance(result, bool) else items

    def _note_error(self, line: str) -> None:  # with self._lock held
        self._last_error = line[:500]
        self._last_error_at = time.time()

    def _log_once(self, kind: str, message: str) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last_logged.get(kind)
            if last is not None and now - last < _LOG_EVERY_S:
                return
            self._last_logged[kind] = now
        logger.warning("%s", message)


def return_large_blocks(threshold: int = 1024 * 1024) -> bool:
    """Have glibc serve allocations of ``threshold`` bytes or more by ``mmap``, unmapped when freed.

    By default glibc raises that threshold after the first large block is freed (up to 32 MiB), so
    request bodies of a few MiB then come from per-thread arenas that keep the memory once freed:
    64 concurrent 15 MiB exports left an `otel-ai serve` 462 MiB larger, 184 MiB with this. Typical
    OTLP requests (well under 1 MiB) are unaffected. Process-wide; a no-op (False) off glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
        mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
    except (OSError, AttributeError):
        return False


_M_MMAP_THRESHOLD: Final = -3  # glibc's <malloc.h>
