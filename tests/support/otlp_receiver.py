"""A real OTLP/HTTP receiver (protobuf encoding) for tests: standard-library HTTP server.

Point an exporter at it with ``OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint`` (or pass
``receiver.endpoint + "/v1/traces"`` to an exporter). Every export request is decoded into the
``opentelemetry.proto`` messages; helpers flatten them into spans / metrics / log records
together with their resource attributes and instrumentation scope.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from google.protobuf.message import DecodeError, Message
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
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_ai._net import LoopbackHandler, LoopbackService  # the same loopback server scaffolding

if TYPE_CHECKING:
    pass

__all__ = [
    "LogEntry",
    "MetricEntry",
    "OTLPReceiver",
    "ReceivedRequest",
    "SpanEntry",
    "any_value_to_python",
    "attrs_to_dict",
]

_SIGNALS: dict[str, tuple[type[Message], type[Message]]] = {
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
    "/v1/logs": (ExportLogsServiceRequest, ExportLogsServiceResponse),
}


def any_value_to_python(value: AnyValue) -> Any:
    """Convert an OTLP ``AnyValue`` to str / int / float / bool / bytes / list / dict (None if unset)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value_to_python(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attrs_to_dict(value.kvlist_value.values)
    return getattr(value, kind)


def attrs_to_dict(key_values: Iterable[KeyValue]) -> dict[str, Any]:
    """Convert repeated ``KeyValue`` (attributes) to a plain dict."""
    return {kv.key: any_value_to_python(kv.value) for kv in key_values}


class SpanEntry(NamedTuple):
    resource: dict[str, Any]
    scope: str
    span: Span

    @property
    def attributes(self) -> dict[str, Any]:
        return attrs_to_dict(self.span.attributes)


class MetricEntry(NamedTuple):
    resource: dict[str, Any]
    scope: str
    metric: Metric

    def points(self) -> list[Any]:
        kind = self.metric.WhichOneof("data")
        return [] if kind is None else list(getattr(self.metric, kind).data_points)


class LogEntry(NamedTuple):
    resource: dict[str, Any]
    scope: str
    log: LogRecord

    @property
    def attributes(self) -> dict[str, Any]:
        return attrs_to_dict(self.log.attributes)

    @property
    def body(self) -> Any:
        return any_value_to_python(self.log.body)


@dataclass
class ReceivedRequest:
    """One export request: path, headers (lower-case keys), body as sent and decompressed."""

    path: str
    headers: dict[str, str]
    wire_body: bytes
    body: bytes
    message: Message | None
    received_at: float = field(default_factory=time.time)


class _Handler(LoopbackHandler):
    server_version = "otlp-receiver/1.0"

    @property
    def receiver(self) -> OTLPReceiver:
        return cast("OTLPReceiver", self.server.owner)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._reply(200, b"ok", "text/plain")
        else:
            self._reply(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        wire = self.rfile.read(length) if length > 0 else b""
        self.receiver._handle(self, wire)

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


class OTLPReceiver(LoopbackService):
    """OTLP/HTTP receiver for ``/v1/traces``, ``/v1/metrics`` and ``/v1/logs`` (protobuf)."""

    handler = _Handler
    thread_name = "otlp-receiver"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.requests: list[ReceivedRequest] = []
        self.raw_bodies: list[bytes] = []
        self._changed = threading.Condition(self._lock)
        self._failures: list[int] = []

    @property
    def endpoint(self) -> str:
        """``http://HOST:PORT``: a value for ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        return self.url

    # -- control -----------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer the next ``count`` export requests with ``status`` (they are still recorded)."""
        with self._lock:
            self._failures.extend([status] * count)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.raw_bodies.clear()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until ``predicate()`` is true (re-checked on each request and every 50 ms)."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._changed:
                self._changed.wait(min(remaining, 0.05))

    # -- decoded data ------------------------------------------------------

    def _messages(self, cls: type[Message]) -> list[Any]:
        with self._lock:
            return [r.message for r in self.requests if isinstance(r.message, cls)]

    def trace_requests(self) -> list[ExportTraceServiceRequest]:
        return self._messages(ExportTraceServiceRequest)

    def metric_requests(self) -> list[ExportMetricsServiceRequest]:
        return self._messages(ExportMetricsServiceRequest)

    def log_requests(self) -> list[ExportLogsServiceRequest]:
        return self._messages(ExportLogsServiceRequest)

    def span_entries(self) -> list[SpanEntry]:
        """Every span received, with its resource attributes and scope name."""
        return [
            SpanEntry(attrs_to_dict(rs.resource.attributes), ss.scope.name, span)
            for request in self.trace_requests()
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]

    def spans(self, name: str | None = None) -> list[Span]:
        """Every span received (optionally only those called ``name``), in arrival order."""
        return [e.span for e in self.span_entries() if name is None or e.span.name == name]

    def metrics(self, name: str | None = None) -> list[MetricEntry]:
        """Every metric received (optionally only ``name``), with resource attributes and scope."""
        return [
            MetricEntry(attrs_to_dict(rm.resource.attributes), sm.scope.name, metric)
            for request in self.metric_requests()
            for rm in request.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
            if name is None or metric.name == name
        ]

    def metric_names(self) -> set[str]:
        return {entry.metric.name for entry in self.metrics()}

    def metric_points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """``(attributes, data point)`` for every point of metric ``name`` (any metric kind)."""
        return [(attrs_to_dict(point.attributes), point) for entry in self.metrics(name) for point in entry.points()]

    def log_entries(self) -> list[LogEntry]:
        """Every log record received, with its resource attributes and scope name."""
        return [
            LogEntry(attrs_to_dict(rl.resource.attributes), sl.scope.name, record)
            for request in self.log_requests()
            for rl in request.resource_logs
            for sl in rl.scope_logs
            for record in sl.log_records
        ]

    def logs(self) -> list[LogRecord]:
        """Every log record received, in arrival order."""
        return [entry.log for entry in self.log_entries()]

    # -- internals ---------------------------------------------------------

    def _handle(self, handler: _Handler, wire: bytes) -> None:
        path = handler.path.partition("?")[0].rstrip("/")
        headers = {k.lower(): v for k, v in handler.headers.items()}
        signal = _SIGNALS.get(path)
        if signal is None:
            handler._reply(404, b"unknown OTLP path", "text/plain")
            return
        try:
            body = _decompress(wire, headers.get("content-encoding", ""))
        except (OSError, EOFError, zlib.error):
            handler._reply(400, b"bad compressed body", "text/plain")
            return
        content_type = headers.get("content-type", "").split(";")[0].strip()
        message: Message | None = None
        status = 200
        if content_type != "application/x-protobuf":
            status = 415
        else:
            request_cls, _ = signal
            message = request_cls()
            try:
                message.ParseFromString(body)
            except DecodeError:
                message, status = None, 400
        record = ReceivedRequest(path=path, headers=headers, wire_body=wire, body=body, message=message)
        with self._changed:
            if status == 200 and self._failures:
                status = self._failures.pop(0)
            self.requests.append(record)
            self.raw_bodies.append(body)
            self._changed.notify_all()
        if status == 200:
            handler._reply(200, signal[1]().SerializeToString(), "application/x-protobuf")
        else:
            handler._reply(status, f"status {status}".encode(), "text/plain")


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body
