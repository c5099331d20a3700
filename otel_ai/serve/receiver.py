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
import json
import logging
import selectors
import socket
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

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "HTTP_PATHS",
    "SIGNALS",
    "IngestStore",
    "MalformedPayload",
    "OTLPHttpReceiver",
    "OTLPIngest",
    "PayloadTooLarge",
    "ReceiverError",
    "ReceiverStats",
    "Signal",
    "SignalStats",
    "StoreUnavailable",
    "UnsupportedMedia",
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
        self._slots = threading.BoundedSemaphore(max(1, max_concurrent))
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


class _HTTPServer(LocalHTTPServer):
    block_on_close = False
    request_queue_size = 128
    receiver: OTLPHttpReceiver

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self.receiver._admit()

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("OTLP/HTTP connection error", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "otel-ai-otlp"
    sys_version = ""
    disable_nagle_algorithm = True

    # -- connection life -----------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self._read_timeout = self.server.receiver.read_timeout_s  # per socket operation
        self.connection.settimeout(self._read_timeout)
        self._selector: selectors.BaseSelector | None = None
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
        except (OSError, ValueError):  # client gone, read timeout, socket cut at shutdown
            self.close_connection = True

    def _await_request(self) -> bool:
        """Wait for the next request on a keep-alive connection; False to close it.

        Idle connections close when the receiver stops (so shutdown never waits on them) or after
        ``idle_timeout_s``; a request that has started arriving is always served.
        """
        receiver = self.server.receiver
        idle_since = time.monotonic()
        while True:
            pending = self._peek()
            if pending is None:
                return False
            if pending:
                return True
            if receiver._stopping.is_set() or time.monotonic() - idle_since > receiver.idle_timeout_s:
                return False
            try:
                if self._selector is None:
                    self._selector = selectors.DefaultSelector()
                    self._selector.register(self.connection, selectors.EVENT_READ)
                ready = self._selector.select(timeout=0.1)
            except (OSError, ValueError):
                return False
            if ready:
                return bool(self._peek())  # readable but nothing there: the client closed

    def _peek(self) -> bytes | None:
        """Bytes waiting (buffered or on the socket) without blocking; b"" if none, None if broken."""
        sock = self.connection
        try:
            sock.setblocking(False)
            try:
                return cast("bytes", self.rfile.peek(1))  # type: ignore[attr-defined]
            except BlockingIOError:
                return b""
            finally:
                sock.settimeout(self._read_timeout)
        except (OSError, ValueError):
            return None

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
        """``Expect: 100-continue``: refuse an oversized body before the client sends it."""
        ingest = self.server.receiver.ingest
        length = self._content_length()
        if length is not None and length > ingest.max_request_bytes and self.command == "POST":
            ingest.count_request("http")
            error = PayloadTooLarge(f"Content-Length {length} is over the {ingest.max_request_bytes}-byte limit")
            ingest.refused(error, HTTP_PATHS.get(self._route()))
            self.close_connection = True
            self._body_consumed = True  # never sent: the client waits for 100 Continue
            self._send_status(error, self._encoding() or "protobuf")
            return False
        return super().handle_expect_100()

    def do_POST(self) -> None:
        receiver = self.server.receiver
        ingest = receiver.ingest
        ingest.count_request("http")
        signal = HTTP_PATHS.get(self._route())
        if signal is None:
            ingest.count_not_found()
            self._discard_body()
            self._send_status_code(HTTPStatus.NOT_FOUND, code_pb2.NOT_FOUND, f"no OTLP endpoint at {self._route()!r}")
            return
        encoding = self._encoding()
        try:
            if encoding is None:
                raise UnsupportedMedia(
                    f"unsupported Content-Type {self.headers.get('Content-Type')!r} "
                    "(use application/x-protobuf or application/json)"
                )
            content_encoding = self.headers.get("Content-Encoding", "")
            if content_encoding.strip().lower() not in _CONTENT_ENCODINGS:
                raise UnsupportedMedia(f"unsupported Content-Encoding {content_encoding!r} (use gzip, deflate or none)")
            body = self._read_body(ingest.max_request_bytes)
            response = ingest.process(
                signal, body, encoding=encoding, content_encoding=content_encoding, transport="http"
            )
        except ReceiverError as error:
            ingest.refused(error, signal)
            if not self.close_connection and not self._body_consumed:
                self._discard_body()
            extra = [("Retry-After", str(ingest.retry_after_s))] if isinstance(error, StoreUnavailable) else []
            self._send_status(error, encoding or "json", extra)
            return
        except (OSError, ValueError):
            raise  # the connection broke while reading: nothing to answer
        except Exception as exc:  # a bug: answer 500, keep serving
            logger.warning("OTLP/HTTP %s request failed unexpectedly", signal, exc_info=True)
            failure = ReceiverError(f"internal error: {type(exc).__name__}")
            ingest.refused(failure, signal)
            self.close_connection = True
            self._send_status(failure, encoding or "json")
            return
        self._send(HTTPStatus.OK, encode_message(response, encoding), _RESPONSE_CONTENT_TYPE[encoding])

    def do_GET(self) -> None:
        self._not_allowed()

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def do_HEAD(self) -> None:
        self._not_allowed(head=True)

    def _not_allowed(self, head: bool = False) -> None:
        self.server.receiver.ingest.count_not_found()
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

    def _read_body(self, limit: int) -> bytes:
        """The request body, at most ``limit`` bytes (Content-Length or chunked)."""
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
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            raise MalformedPayload("the body ended before Content-Length bytes")
        self._body_consumed = True
        return body

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
        deadline = time.monotonic() + 5.0
        remaining = length
        try:
            while remaining > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)
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
    """

    def __init__(
        self,
        ingest: OTLPIngest,
        host: str = "127.0.0.1",
        port: int = 4318,
        *,
        max_connections: int = 256,
        read_timeout_s: float = 30.0,
        idle_timeout_s: float = 60.0,
    ) -> None:
        self.ingest = ingest
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.read_timeout_s = read_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.max_discard_bytes = max(4 * ingest.max_request_bytes, 64 * 1024 * 1024)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._handlers: set[_Handler] = set()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT``: the value for ``OTEL_EXPORTER_OTLP_ENDPOINT`` (HTTP)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

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
            with suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
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

    def _admit(self) -> bool:
        with self._lock:
            admitted = not self._stopping.is_set() and len(self._handlers) < self.max_connections
        if not admitted:
            logger.debug("OTLP/HTTP connection refused: stopping or %d connections open", self.max_connections)
        return admitted

    def _track(self, handler: _Handler, *, add: bool) -> None:
        with self._drained:
            if add:
                self._handlers.add(handler)
            else:
                self._handlers.discard(handler)
                self._drained.notify_all()
