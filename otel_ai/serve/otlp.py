"""OTLP itself, for both receivers of `otel-ai serve`: what a request may be and how it is refused.

The signals and their paths, the content types and encodings, the refusals (each with its HTTP status
and gRPC code), bounded decompression, decoding (protobuf or OTLP/JSON, whose ids are hex), the id
checks and the encoding of replies. No transport and no store here: `otel_ai.serve.otlp_ingest` runs
a request through these, `otel_ai.serve.http_receiver` and `otel_ai.serve.grpc_receiver` carry it.
"""

from __future__ import annotations

import binascii
import json
import zlib
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any, Final, Literal, cast

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

__all__ = [
    "CONTENT_ENCODINGS",
    "CONTENT_TYPES",
    "HTTP_PATHS",
    "RESPONSE_CONTENT_TYPE",
    "SIGNALS",
    "Encoding",
    "MalformedPayload",
    "MisdirectedHost",
    "Overloaded",
    "PayloadTooLarge",
    "ReceiverError",
    "Signal",
    "StoreUnavailable",
    "Transport",
    "Unauthorized",
    "UnsupportedMedia",
    "check_request",
    "decode_request",
    "decompress",
    "encode_message",
    "export_response",
    "status_body",
]

Signal = Literal["traces", "logs", "metrics"]
Encoding = Literal["protobuf", "json"]
Transport = Literal["http", "grpc"]

SIGNALS: Final[tuple[Signal, ...]] = ("traces", "logs", "metrics")
HTTP_PATHS: Final[dict[str, Signal]] = {"/v1/traces": "traces", "/v1/logs": "logs", "/v1/metrics": "metrics"}

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
CONTENT_TYPES: Final[dict[str, Encoding]] = {
    "application/x-protobuf": "protobuf",
    "application/protobuf": "protobuf",
    "application/json": "json",
}
RESPONSE_CONTENT_TYPE: Final[dict[Encoding, str]] = {"protobuf": "application/x-protobuf", "json": "application/json"}
CONTENT_ENCODINGS: Final = frozenset({"", "identity", "gzip", "x-gzip", "deflate"})
_ZERO_TRACE_ID: Final = bytes(16)
_ZERO_SPAN_ID: Final = bytes(8)
_JSON_MAX_DEPTH: Final = 64  # AnyValue nesting; the SDKs never come near it


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



# -- decoding --------------------------------------------------------------------------------------


def decode_request(signal: Signal, data: bytes, encoding: Encoding, limit: int) -> Any:
    """Parse a (decompressed) payload of at most ``limit`` bytes into the signal's ``Export*ServiceRequest``."""
    if len(data) > limit:
        raise PayloadTooLarge(f"payload is over the {limit}-byte limit")
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


# -- checks and replies ------------------------------------------------------------------------------


def check_request(signal: Signal, request: Any) -> tuple[int, int, str]:
    """(items, invalid items, reason); invalid spans and log records are deleted from the request in place."""
    if signal == "traces":
        return _check_traces(request)
    if signal == "logs":
        return _check_logs(request)
    return _count_metric_points(request), 0, ""


def export_response(signal: Signal, invalid: int, reason: str) -> Any:
    """The signal's ``Export*ServiceResponse``, with a ``partial_success`` when items were left out."""
    response = _RESPONSE_TYPES[signal]()
    if invalid:
        setattr(response.partial_success, _REJECTED_FIELD[signal], invalid)
        response.partial_success.error_message = reason
    return response


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

