"""The OTLP receiver of `otel-ai serve`: the transport-independent core and the OTLP/HTTP server.

`OTLPIngest` is what both transports share: it decompresses (bounded), decodes (protobuf or
OTLP/JSON), checks ids, hands traces and logs to the store and counts everything (`stats()`).
`OTLPHttpReceiver` serves it on ``POST /v1/traces``, ``/v1/logs`` and ``/v1/metrics`` (the gRPC
transport is `otel_ai.serve.grpc_receiver.OTLPGrpcReceiver`).

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

import binascii
import ctypes
import io
import json
import logging
import selectors
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import suppress
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, Final, Literal, Protocol, TypedDict, cast

from google.protobuf import json_format  # type: ignore[import-untyped]
from google.rpc import code_pb2, status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from otel_ai._net import LocalHTTPServer
from otel_ai.serve.access import Access

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "HTTP_PATHS",
    "SIGNALS",
    "IngestStore",
    "MalformedPayload",
    "MisdirectedHost",
    "OTLPHttpReceiver",
    "OTLPIngest",
    "Overloaded",
    "PayloadTooLarge",
    "ReceiverError",
    "ReceiverStats",
    "Signal",
    "SignalStats",
    "StoreUnavailable",
    "Unauthorized",
    "UnsupportedMedia",
    "return_large_blocks",
]

logger = logging.getLogger("otel_ai.serve.receiver")

Signal = Literal["traces", "logs", "metrics"]
Encoding = Literal["protobuf", "json"]
Transport = Literal["http", "grpc"]

SIGNALS: Final[tuple[Signal, ...]] = ("traces", "logs", "metrics")
HTTP_PATHS: Final[dict[str, Signal]] = {"/v1/traces": "traces", "/v1/logs": "logs", "/v1/metrics": "metrics"}
DEFAULT_MAX_REQUEST_BYTES: Final = 16 * 1024 * 1024
DEFAULT_RETRY_AFTER_S: Final = 1

_REQUEST_TYPES: Final[dict[Signal, Any]] = {
    "traces": ExportTraceServiceRequest,
    "logs": ExportLogsServiceRequest,
    "metrics": ExportMetricsServiceRequest,
}
_RESPONSE_TYPES: Final[dict[Signal, Any]] = {
    "traces": ExportTraceServiceResponse,
    "logs": ExportLogsServiceResponse,
    "metrics": ExportMetricsServiceResponse,
}
_REJECTED_FIELD: Final[dict[Signal, str]] = {
    "traces": "rejected_spans",
    "logs": "rejected_log_records",
    "metrics": "rejected_data_points",
}
_CONTENT_TYPES: Final[dict[str, Encoding]] = {
    "application/x-protobuf": "protobuf",
    "application/protobuf": "protobuf",
    "application/json": "json",
}
_RESPONSE_CONTENT_TYPE: Final[dict[Encoding, str]] = {"protobuf": "application/x-protobuf", "json": "application/json"}
_CONTENT_ENCODINGS: Final = frozenset({"", "identity", "gzip", "x-gzip", "deflate"})
_ZERO_TRACE_ID: Final = bytes(16)
_ZERO_SPAN_ID: Final = bytes(8)
_JSON_MAX_DEPTH: Final = 64  # AnyValue nesting; the SDKs never come near it
_LOG_EVERY_S: Final = 60.0  # repeated failures of one kind are logged at most once a minute


# -- the store, as the receiver sees it ------------------------------------------------------------


class IngestStore(Protocol):
    """What the receiver needs of `otel_ai.serve.store.Store`.

    Both methods are called from several threads at once (HTTP connection threads, the gRPC pool)
    and must have committed the batch when they return; an exception means "not stored".
    """

    def ingest_traces(self, request: ExportTraceServiceRequest) -> int: ...

    def ingest_logs(self, request: ExportLogsServiceRequest) -> int: ...


# -- refusals --------------------------------------------------------------------------------------


class ReceiverError(Exception):
    """An export request refused; the subclass picks the HTTP status and the gRPC code."""

    http_status: int = HTTPStatus.INTERNAL_SERVER_ERROR
    rpc_code: int = code_pb2.INTERNAL
    counter: str = "internal_errors"
    counted: bool = False  # set once the refusal is in the stats


class MalformedPayload(ReceiverError):
    """The payload does not decode: 400 / INVALID_ARGUMENT; the exporter must not retry it."""

    http_status = HTTPStatus.BAD_REQUEST
    rpc_code = code_pb2.INVALID_ARGUMENT
    counter = "malformed"


class PayloadTooLarge(ReceiverError):
    """Over ``max_request_bytes`` on the wire or decompressed: 413 / RESOURCE_EXHAUSTED."""

    http_status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    rpc_code = code_pb2.RESOURCE_EXHAUSTED
    counter = "too_large"


class UnsupportedMedia(ReceiverError):
    """Unknown ``Content-Type`` or ``Content-Encoding``: 415."""

    http_status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    rpc_code = code_pb2.INVALID_ARGUMENT
    counter = "unsupported"


class Overloaded(ReceiverError):
    """Too many request bodies in memory already: 503 with ``Retry-After``, the body left unread."""

    http_status = HTTPStatus.SERVICE_UNAVAILABLE
    rpc_code = code_pb2.UNAVAILABLE
    counter = "overloaded"


class Unauthorized(ReceiverError):
    """No or a wrong token: 401 / UNAUTHENTICATED; the exporter must not retry it."""

    http_status = HTTPStatus.UNAUTHORIZED
    rpc_code = code_pb2.UNAUTHENTICATED
    counter = "unauthorized"


class MisdirectedHost(ReceiverError):
    """A ``Host`` (gRPC ``:authority``) this server is not reached by: 421 / PERMISSION_DENIED."""

    http_status = HTTPStatus.MISDIRECTED_REQUEST
    rpc_code = code_pb2.PERMISSION_DENIED
    counter = "unauthorized"


class StoreUnavailable(ReceiverError):
    """The store failed: 503 with ``Retry-After`` / UNAVAILABLE with ``RetryInfo``; the exporter retries."""

    http_status = HTTPStatus.SERVICE_UNAVAILABLE
    rpc_code = code_pb2.UNAVAILABLE
    counter = "store_failures"


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
        if len(data) > self.max_request_bytes:
            raise PayloadTooLarge(f"payload is over the {self.max_request_bytes}-byte limit")
        message = _REQUEST_TYPES[signal]()
        if encoding == "protobuf":
            try:
                message.ParseFromString(data)
            except Exception as exc:  # DecodeError, and whatever the runtime raises on odd input
                raise MalformedPayload(f"cannot decode the protobuf {type(message).__name__}: {exc}") from None
            return message
        try:
            document = json.loads(data)
        except RecursionError:
            raise MalformedPayload("the JSON nests too deeply") from None
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise MalformedPayload(f"invalid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise MalformedPayload("the OTLP/JSON payload must be a JSON object")
        _hex_ids_to_base64(signal, document)
        try:
            json_format.ParseDict(
                document, message, ignore_unknown_fields=True, max_recursion_depth=_JSON_MAX_DEPTH
            )
        except Exception as exc:  # json_format.ParseError, and whatever odd input raises
            raise MalformedPayload(f"not an OTLP/JSON {type(message).__name__}: {exc}") from None
        return message

    def export(self, signal: Signal, request: Any) -> Any:
        """Check ids, hand traces/logs to the store, count; returns the ``Export*ServiceResponse``.

        Called after the payload decoded. Raises `StoreUnavailable` when the store fails.
        """
        if signal == "traces":
            total, invalid, reason = _check_traces(request)
        elif signal == "logs":
            total, invalid, reason = _check_logs(request)
        else:
            total, invalid, reason = _count_metric_points(request), 0, ""
        valid = total - invalid
        stored = 0
        if valid and signal != "metrics":
            stored = self._store_call(signal, request, valid)
        response = _RESPONSE_TYPES[signal]()
        if invalid:
            setattr(response.partial_success, _REJECTED_FIELD[signal], invalid)
            response.partial_success.error_message = reason
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


def _check_traces(request: Any) -> tuple[int, int, str]:
    """(spans, invalid spans, reason); invalid spans are deleted from the request in place."""
    total = invalid = 0
    reason = ""
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            spans = scope_spans.spans
            total += len(spans)
            bad: list[int] = []
            for index, span in enumerate(spans):
                trace_id = span.trace_id
                span_id = span.span_id
                if (
                    len(trace_id) != 16
                    or len(span_id) != 8
                    or trace_id == _ZERO_TRACE_ID
                    or span_id == _ZERO_SPAN_ID
                    or len(span.parent_span_id) not in (0, 8)
                    or (span.links and not all(len(ln.trace_id) == 16 and len(ln.span_id) == 8 for ln in span.links))
                ):
                    bad.append(index)
            if bad:
                invalid += len(bad)
                reason = "spans need a 16-byte trace id and an 8-byte span id, both non-zero (links too)"
                for index in reversed(bad):
                    del spans[index]
    return total, invalid, reason


def _check_logs(request: Any) -> tuple[int, int, str]:
    """(log records, invalid records, reason); ids are optional but must have the right length."""
    total = invalid = 0
    reason = ""
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            records = scope_logs.log_records
            total += len(records)
            bad = [
                index
                for index, record in enumerate(records)
                if len(record.trace_id) not in (0, 16) or len(record.span_id) not in (0, 8)
            ]
            if bad:
                invalid += len(bad)
                reason = "a log record's trace id must be empty or 16 bytes, its span id empty or 8 bytes"
                for index in reversed(bad):
                    del records[index]
    return total, invalid, reason


def _count_metric_points(request: Any) -> int:
    points = 0
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is not None:
                    points += len(getattr(metric, kind).data_points)
    return points


# -- OTLP/JSON: hex ids ------------------------------------------------------------------------------

_ID_KEYS: Final = (("traceId", "trace_id"), ("spanId", "span_id"), ("parentSpanId", "parent_span_id"))
_METRIC_KINDS: Final = (
    ("gauge",),
    ("sum",),
    ("histogram",),
    ("exponentialHistogram", "exponential_histogram"),
    ("summary",),
)


def _items(container: Any, *keys: str) -> Iterator[Any]:
    """The dicts in ``container[key]`` (first key present, camelCase or proto name); nothing if odd."""
    if not isinstance(container, dict):
        return
    for key in keys:
        if key in container:
            value = container[key]
            if isinstance(value, list):
                yield from (item for item in value if isinstance(item, dict))
            return


def _convert_ids(item: dict[str, Any]) -> None:
    """OTLP/JSON ids are hex; protobuf's JSON mapping reads bytes as base64: re-encode them.

    A value that is not hex is left alone (some senders use base64); a wrong length is caught later.
    """
    for keys in _ID_KEYS:
        for key in keys:
            value = item.get(key)
            if isinstance(value, str) and value:
                try:
                    raw = bytes.fromhex(value)
                except ValueError:
                    continue
                item[key] = binascii.b2a_base64(raw, newline=False).decode("ascii")


def _hex_ids_to_base64(signal: Signal, document: dict[str, Any]) -> None:
    if signal == "traces":
        for resource in _items(document, "resourceSpans", "resource_spans"):
            for scope in _items(resource, "scopeSpans", "scope_spans"):
                for span in _items(scope, "spans"):
                    _convert_ids(span)
                    for link in _items(span, "links"):
                        _convert_ids(link)
    elif signal == "logs":
        for resource in _items(document, "resourceLogs", "resource_logs"):
            for scope in _items(resource, "scopeLogs", "scope_logs"):
                for record in _items(scope, "logRecords", "log_records"):
                    _convert_ids(record)
    else:
        for resource in _items(document, "resourceMetrics", "resource_metrics"):
            for scope in _items(resource, "scopeMetrics", "scope_metrics"):
                for metric in _items(scope, "metrics"):
                    for kind in _METRIC_KINDS:
                        data = next((metric[k] for k in kind if k in metric), None)
                        for point in _items(data, "dataPoints", "data_points"):
                            for exemplar in _items(point, "exemplars"):
                                _convert_ids(exemplar)


# -- bounded decompression -----------------------------------------------------------------------


def decompress(data: bytes, content_encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (identity, gzip, deflate) producing at most ``limit`` bytes.

    Raises `PayloadTooLarge` as soon as the output would pass ``limit`` (a gzip bomb stops there),
    `MalformedPayload` for a corrupt or truncated stream, `UnsupportedMedia` for other encodings.
    """
    coding = content_encoding.strip().lower()
    if coding in ("", "identity"):
        if len(data) > limit:
            raise PayloadTooLarge(f"payload is over the {limit}-byte limit")
        return data
    if coding in ("gzip", "x-gzip"):
        return _inflate(data, 16 + zlib.MAX_WBITS, limit, multi_member=True)
    if coding == "deflate":  # zlib-wrapped per the RFC; some clients send raw deflate
        try:
            return _inflate(data, zlib.MAX_WBITS, limit, multi_member=False)
        except MalformedPayload:
            return _inflate(data, -zlib.MAX_WBITS, limit, multi_member=False)
    raise UnsupportedMedia(f"unsupported Content-Encoding {content_encoding!r} (use gzip, deflate or none)")


def _inflate(data: bytes, wbits: int, limit: int, *, multi_member: bool) -> bytes:
    out = bytearray()
    pending = data
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            chunk = pending
            while chunk:
                room = limit + 1 - len(out)  # always >= 1 here: 0 would mean "no limit" to zlib
                out += inflater.decompress(chunk, room)
                if len(out) > limit:
                    raise PayloadTooLarge(f"payload is over the {limit}-byte limit once decompressed")
                chunk = inflater.unconsumed_tail
        except zlib.error as exc:
            raise MalformedPayload(f"corrupt compressed payload: {exc}") from None
        if not inflater.eof:
            raise MalformedPayload("truncated compressed payload")
        rest = inflater.unused_data
        if multi_member and rest[:2] == b"\x1f\x8b":
            pending = rest  # concatenated gzip members, as gzip.decompress reads them
            continue
        if rest.strip(b"\x00"):
            raise MalformedPayload("data after the end of the compressed payload")
        return bytes(out)


# -- encoding of replies -----------------------------------------------------------------------------


def encode_message(message: Any, encoding: Encoding) -> bytes:
    if encoding == "json":
        return cast("str", json_format.MessageToJson(message, indent=None)).encode("utf-8")
    return cast("bytes", message.SerializeToString())


def status_body(code: int, message: str, encoding: Encoding) -> bytes:
    """A ``google.rpc.Status``: what OTLP/HTTP puts in the body of every 4xx/5xx."""
    return encode_message(status_pb2.Status(code=code, message=message), encoding)


# -- OTLP/HTTP -----------------------------------------------------------------------------------------

DEFAULT_MAX_CONNECTIONS: Final = 256
DEFAULT_HEADER_TIMEOUT_S: Final = 10.0  # the request line and every header, from the request's first byte
DEFAULT_BODY_GRACE_S: Final = 5.0  # a body may start slowly for this long ...
DEFAULT_MIN_BODY_RATE: Final = 512 * 1024  # ... then must keep up this average rate (bytes/s) or be cut
DEFAULT_ADMISSION_WAIT_S: Final = 1.0  # how long a request waits for room in the body budget before its 503
DEFAULT_IDLE_TIMEOUT_S: Final = 60.0
DEFAULT_WRITE_TIMEOUT_S: Final = 30.0
_DRAIN_S: Final = 2.0  # after an early refusal, how long the unread body is read and dropped (so the client sees it)

Phase = Literal["starting", "idle", "headers", "body", "busy"]

_OVERLOADED_BODY: Final = json.dumps({"code": code_pb2.UNAVAILABLE, "message": "too many connections, retry later"})
_OVERLOADED_REPLY: Final = (
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    f"Connection: close\r\nContent-Length: {len(_OVERLOADED_BODY)}\r\n\r\n{_OVERLOADED_BODY}"
).encode()


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
    phase's deadline (`_Handler._deadline`), so the whole header, and the body's minimum rate,
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


class _HTTPServer(LocalHTTPServer):
    block_on_close = False
    request_queue_size = 128
    receiver: OTLPHttpReceiver

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self.receiver._admit(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("OTLP/HTTP connection error", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "otel-ai-otlp"
    sys_version = ""
    disable_nagle_algorithm = True

    phase: Phase = "starting"
    phase_since = 0.0
    evicted = False
    _peeking = False
    _body_start = 0

    # -- connection life -----------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self._raw = _DeadlineReader(self.connection, self._deadline)
        self.rfile = io.BufferedReader(self._raw, 64 * 1024)
        self._selector: selectors.BaseSelector | None = None
        self._set_phase("idle")
        self.server.receiver._track(self, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            if self._selector is not None:
                self._selector.close()
            self.server.receiver._track(self, add=False)

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
        receiver = self.server.receiver
        if self.phase == "headers":
            return self.phase_since + receiver.header_timeout_s
        if self.phase == "body":
            received = self._raw.received - self._body_start
            return self.phase_since + receiver.body_grace_s + received / receiver.min_body_rate
        return time.monotonic() + receiver.idle_timeout_s

    def _await_request(self) -> bool:
        """Wait for the next request on a keep-alive connection; False to close it.

        Idle connections close when the receiver stops (so shutdown never waits on them), after
        ``idle_timeout_s``, or when a new connection needs their place; once a request has started
        arriving, its header has ``header_timeout_s`` to arrive whole.
        """
        receiver = self.server.receiver
        self._set_phase("idle")
        while True:
            pending = self._peek()
            if pending is None:
                return False
            if pending:
                self._set_phase("headers")
                return not self.evicted
            idle_for = time.monotonic() - self.phase_since
            if receiver._stopping.is_set() or self.evicted or idle_for > receiver.idle_timeout_s:
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

    # -- dispatch --------------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def version_string(self) -> str:
        return self.server_version

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, headers too long, ...): a JSON Status, then close."""
        self.close_connection = True
        self._body_consumed = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        text = message or phrase
        rpc = code_pb2.INVALID_ARGUMENT if code < 500 else code_pb2.UNIMPLEMENTED
        self._send(code, status_body(rpc, text, "json"), "application/json", head=self.command == "HEAD")

    def handle_expect_100(self) -> bool:
        """``Expect: 100-continue``: refuse an oversized (or unauthorised) body before the client sends it."""
        self._set_phase("busy")
        ingest = self.server.receiver.ingest
        refusal = self._access_refusal()
        length = self._content_length()
        if refusal is None and length is not None and length > ingest.max_request_bytes and self.command == "POST":
            refusal = PayloadTooLarge(f"Content-Length {length} is over the {ingest.max_request_bytes}-byte limit")
        if refusal is not None:
            ingest.count_request("http")
            ingest.refused(refusal, HTTP_PATHS.get(self._route()))
            self.close_connection = True
            self._body_consumed = True  # never sent: the client waits for 100 Continue
            self._send_status(refusal, self._encoding() or "json", self._refusal_headers(refusal))
            return False
        self.connection.settimeout(self.server.receiver.write_timeout_s)
        return super().handle_expect_100()

    def do_POST(self) -> None:
        self._set_phase("busy")
        receiver = self.server.receiver
        ingest = receiver.ingest
        ingest.count_request("http")
        signal = HTTP_PATHS.get(self._route())
        encoding = self._encoding()
        refusal = self._access_refusal()
        if refusal is not None:
            ingest.refused(refusal, signal)
            self._refuse_unread(refusal, encoding or "json")
            return
        if signal is None:
            ingest.count_not_found()
            self._discard_body()
            self._send_status_code(HTTPStatus.NOT_FOUND, code_pb2.NOT_FOUND, f"no OTLP endpoint at {self._route()!r}")
            return
        reserved = 0
        try:
            if encoding is None:
                raise UnsupportedMedia(
                    f"unsupported Content-Type {self.headers.get('Content-Type')!r} "
                    "(use application/x-protobuf or application/json)"
                )
            content_encoding = self.headers.get("Content-Encoding", "")
            if content_encoding.strip().lower() not in _CONTENT_ENCODINGS:
                raise UnsupportedMedia(f"unsupported Content-Encoding {content_encoding!r} (use gzip, deflate or none)")
            reserved = self._reserve(ingest.max_request_bytes)
            body = self._read_body(ingest.max_request_bytes)
            response = ingest.process(
                signal, body, encoding=encoding, content_encoding=content_encoding, transport="http"
            )
            del body
        except Overloaded as error:
            ingest.refused(error, signal)
            self._refuse_unread(error, encoding or "json")
            return
        except ReceiverError as error:
            ingest.refused(error, signal)
            if not self.close_connection and not self._body_consumed:
                self._discard_body()
            extra = [("Retry-After", str(ingest.retry_after_s))] if isinstance(error, StoreUnavailable) else []
            self._send_status(error, encoding or "json", extra)
            return
        except (OSError, ValueError):
            raise  # the connection broke while reading, or the client was too slow: nothing to answer
        except Exception as exc:  # a bug: answer 500, keep serving
            logger.warning("OTLP/HTTP %s request failed unexpectedly", signal, exc_info=True)
            failure = ReceiverError(f"internal error: {type(exc).__name__}")
            ingest.refused(failure, signal)
            self.close_connection = True
            self._send_status(failure, encoding or "json")
            return
        finally:
            if reserved:
                receiver._budget.release(reserved)
        self._send(HTTPStatus.OK, encode_message(response, encoding), _RESPONSE_CONTENT_TYPE[encoding])

    def do_GET(self) -> None:
        self._not_allowed()

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def do_HEAD(self) -> None:
        self._not_allowed(head=True)

    def _not_allowed(self, head: bool = False) -> None:
        self._set_phase("busy")
        ingest = self.server.receiver.ingest
        refusal = self._access_refusal()
        if refusal is not None:
            ingest.refused(refusal)
            self._refuse_unread(refusal, "json", head=head)
            return
        ingest.count_not_found()
        self._discard_body()
        route = self._route()
        if route in HTTP_PATHS:
            self._send_status_code(
                HTTPStatus.METHOD_NOT_ALLOWED, code_pb2.UNIMPLEMENTED, "OTLP export is POST only",
                [("Allow", "POST")], head=head,
            )
        else:
            self._send_status_code(
                HTTPStatus.NOT_FOUND, code_pb2.NOT_FOUND, f"no OTLP endpoint at {route!r}", head=head
            )

    # -- who may send ------------------------------------------------------------------------------

    def _access_refusal(self) -> ReceiverError | None:
        """421 for a Host this server is not reached by (DNS rebinding), 401 without the token; else None."""
        access = self.server.receiver.access
        host = self.headers.get("Host")
        if not access.host_allowed(host):
            shown = (host or "")[:100]
            return MisdirectedHost(
                f"Host {shown!r} is not a name this server answers to; "
                "start otel-ai serve with --allowed-host NAME to allow it"
            )
        if not access.token_ok(authorization=self.headers.get("Authorization")):
            return Unauthorized(
                "missing or wrong token: send 'Authorization: Bearer <token>' "
                "(OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>)"
            )
        return None

    def _refusal_headers(self, error: ReceiverError) -> list[tuple[str, str]]:
        if isinstance(error, (Overloaded, StoreUnavailable)):
            return [("Retry-After", str(self.server.receiver.ingest.retry_after_s))]
        if isinstance(error, Unauthorized):
            return [("WWW-Authenticate", 'Bearer realm="otel-ai"')]
        return []

    def _refuse_unread(self, error: ReceiverError, encoding: Encoding, head: bool = False) -> None:
        """Answer a refusal without keeping the body: reply and close, reading and dropping what the
        client still sends (a bounded time, a 64 KiB buffer) so it sees the reply rather than a reset."""
        self.close_connection = True
        self._body_consumed = True
        body = status_body(error.rpc_code, str(error), encoding)
        self._send(error.http_status, body, _RESPONSE_CONTENT_TYPE[encoding], self._refusal_headers(error), head=head)
        if self._content_length() or self.headers.get("Transfer-Encoding"):
            self._drain(_DRAIN_S)

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

    def _route(self) -> str:
        path = self.path.split("?", 1)[0]
        return path.rstrip("/") or "/"

    def _encoding(self) -> Encoding | None:
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        return _CONTENT_TYPES.get(content_type)

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
        receiver = self.server.receiver
        if self.headers.get("Transfer-Encoding"):
            size = limit
        else:
            length = self._content_length()
            if length is None or length <= 0 or length > limit:
                return 0  # empty, invalid or too large: refused or read as nothing by _read_body
            size = length
        if not receiver._budget.acquire(size, receiver.admission_wait_s):
            raise Overloaded(
                f"the receiver holds {receiver._budget.capacity} bytes of request bodies already; retry later"
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
        if length < 0 or length > self.server.receiver.max_discard_bytes:
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

    def _send_status(
        self, error: ReceiverError, encoding: Encoding, extra: list[tuple[str, str]] | None = None
    ) -> None:
        body = status_body(error.rpc_code, str(error), encoding)
        self._send(error.http_status, body, _RESPONSE_CONTENT_TYPE[encoding], extra)

    def _send_status_code(
        self, status: int, code: int, message: str, extra: list[tuple[str, str]] | None = None, head: bool = False
    ) -> None:
        self._send(status, status_body(code, message, "json"), "application/json", extra, head=head)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        extra: list[tuple[str, str]] | None = None,
        head: bool = False,
    ) -> None:
        self._set_phase("busy")
        self.connection.settimeout(self.server.receiver.write_timeout_s)
        if self.server.receiver._stopping.is_set():
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


class OTLPHttpReceiver:
    """OTLP/HTTP (protobuf and JSON, gzip/deflate) on ``host:port``, one thread per connection.

    ``port=0`` picks a free port (see `port` / `url` after `start()`). `stop()` stops accepting,
    closes idle keep-alive connections, lets requests in flight finish (up to ``grace_s``) and only
    then returns, so the store can be closed after it.

    Slow and many clients (docs/local.md, "Security"):

    * a request's line and headers must arrive within ``header_timeout_s`` of its first byte; its
      body may take ``body_grace_s``, then must keep up ``min_body_rate`` bytes/s on average; a
      client that falls behind is disconnected;
    * at most ``max_connections`` connections: when full, a new one takes the place of the
      longest-idle keep-alive connection, else of the one slowest to send its header; with none of
      those it gets a 503 (``Retry-After``) and is closed;
    * request bodies held in memory at once are bounded by ``body_budget_bytes`` (default
      ``max_concurrent * max_request_bytes``): a request reserves its Content-Length before its body
      is read; with no room within ``admission_wait_s`` it gets 503 + ``Retry-After`` unread.

    ``access`` (Host names and optional token, `otel_ai.serve.access.Access`) is checked on every
    request before its body is read: 421 for another Host, 401 without the token.
    """

    def __init__(
        self,
        ingest: OTLPIngest,
        host: str = "127.0.0.1",
        port: int = 4318,
        *,
        access: Access | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S,
        body_grace_s: float = DEFAULT_BODY_GRACE_S,
        min_body_rate: float = DEFAULT_MIN_BODY_RATE,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        write_timeout_s: float = DEFAULT_WRITE_TIMEOUT_S,
        body_budget_bytes: int | None = None,
        admission_wait_s: float = DEFAULT_ADMISSION_WAIT_S,
    ) -> None:
        if min_body_rate <= 0 or header_timeout_s <= 0 or max_connections <= 0:
            raise ValueError("min_body_rate, header_timeout_s and max_connections must be positive")
        self.ingest = ingest
        self.host = host
        self.port = port
        self.access = access if access is not None else Access.for_bind(host)
        self.max_connections = max_connections
        self.header_timeout_s = header_timeout_s
        self.body_grace_s = body_grace_s
        self.min_body_rate = min_body_rate
        self.idle_timeout_s = idle_timeout_s
        self.write_timeout_s = write_timeout_s
        self.admission_wait_s = admission_wait_s
        budget = ingest.max_concurrent * ingest.max_request_bytes if body_budget_bytes is None else body_budget_bytes
        self._budget = _ByteBudget(max(budget, ingest.max_request_bytes))
        self.max_discard_bytes = max(4 * ingest.max_request_bytes, 64 * 1024 * 1024)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._handlers: set[_Handler] = set()
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

    def stats(self) -> ReceiverStats:
        return self.ingest.stats()

    def start(self) -> OTLPHttpReceiver:
        """Bind and serve in a background thread. Raises OSError when the address is taken."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server_class: Callable[..., _HTTPServer] = _HTTPServer
        if ":" in self.host:
            server_class = type("_HTTPServer6", (_HTTPServer,), {"address_family": socket.AF_INET6})
        server = server_class((self.host, self.port), _Handler)
        server.receiver = self
        self._server = server
        self.port = server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="otlp-http", daemon=True
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
            self.ingest.wait_idle(max(0.5, deadline - time.monotonic()))
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        return finished

    def __enter__(self) -> OTLPHttpReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _admit(self, request: socket.socket) -> bool:
        """A new connection (accept thread): take it, making room by evicting an idle or slow one if full."""
        victim: _Handler | None = None
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

    def _victim(self) -> _Handler | None:  # with self._lock held
        """The connection to drop for a new one: the longest idle, else the longest in its header."""
        candidates = [h for h in self._handlers if not h.evicted and h.phase in ("idle", "headers")]
        if not candidates:
            return None
        return min(candidates, key=lambda h: (h.phase != "idle", h.phase_since))

    def _track(self, handler: _Handler, *, add: bool) -> None:
        with self._drained:
            if add:
                self._starting = max(0, self._starting - 1)
                self._handlers.add(handler)
            else:
                self._handlers.discard(handler)
                self._drained.notify_all()
