"""OTLP protobuf requests to plain rows: AnyValue/KeyValue to JSON, spans, logs and GenAI facts.

Everything here is pure: the store decides what is new and writes it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from otel_ai.genai.classify import normalize_code
from otel_ai.serve.store.aggregates import duration_bucket
from otel_ai.serve.store.evaluation_rows import EVENT, evaluation_row
from otel_ai.serve.store.schema import DIMENSION_LENGTH

if TYPE_CHECKING:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = [
    "UNIT_OF_WORK_OPERATIONS",
    "LogBatch",
    "SpanBatch",
    "any_value",
    "dumps",
    "key_values",
    "log_rows",
    "span_rows",
]

JSON = Any  # None | bool | int | float | str | list[JSON] | dict[str, JSON]

# Spans that carry `gen_ai.operation.name` but are units of work, not calls: their usage and cost are
# roll-ups of the calls beneath them, which are counted themselves.
UNIT_OF_WORK_OPERATIONS = frozenset({"invoke_workflow", "invoke_agent", "execute_tool"})

_SPAN_KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
_STATUS_CODES = ("UNSET", "OK", "ERROR")
_STATUS_ERROR = 2


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; both backends store the same replacement character.
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def any_value(value: AnyValue) -> JSON:
    """An OTLP AnyValue as plain JSON: arrays as lists, kvlists as objects, bytes as base64 text.

    Non-finite doubles become the strings "nan", "inf", "-inf" (JSON has no such numbers).
    """
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return _clean(value.string_value)
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else repr(number)
    if kind == "bool_value":
        return value.bool_value
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return key_values(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def key_values(items: Iterable[KeyValue]) -> dict[str, JSON]:
    """OTLP attributes as a JSON object (a repeated key keeps its last value)."""
    return {_clean(item.key): any_value(item.value) for item in items}


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: JSON) -> str:
    """Compact JSON (one encoder: json.dumps with options builds a new one per call)."""
    return _ENCODER.encode(value)


def _hex(raw: bytes) -> str | None:
    return raw.hex() if raw and any(raw) else None


def _text(value: JSON) -> str:
    """A dimension value: strings as they are, other JSON as text, cut to the column's length."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else dumps(value)
    return text[:DIMENSION_LENGTH]


_INT64_MAX = 2**63 - 1
# Per-call ceilings of the summed facts, far above any real call, so that the 64-bit sums of the
# roll-ups cannot overflow (which would fail every later batch, retried forever by the exporters).
MAX_COUNT = 2**40  # tokens, characters
MAX_DURATION_NS = 2**46  # ~19.5 hours
MAX_COST_USD = 1e9  # and never below 0: sums stay finite (JSON has no Infinity)


def _clamp(number: int) -> int:
    return max(0, min(MAX_COUNT, number))


def _time(nanos: int) -> int:
    """A fixed64 timestamp (may exceed the signed range) as a storable one."""
    return min(int(nanos), _INT64_MAX)


def _int(value: JSON) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return _clamp(value)
    if isinstance(value, float) and math.isfinite(value):
        return _clamp(int(value))
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return 0
        return _clamp(int(number)) if math.isfinite(number) else 0
    return 0


def _float(value: JSON) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _cost(value: JSON) -> float | None:
    number = _float(value)
    return None if number is None else max(0.0, min(MAX_COST_USD, number))


def _service(resource: Mapping[str, JSON]) -> str | None:
    name = resource.get("service.name")
    return (_text(name) or None) if name is not None else None


@dataclass
class SpanBatch:
    """One ExportTraceServiceRequest as rows; `genai` and `traces` are keyed by (trace_id, span_id)."""

    spans: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    genai: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    evaluations: dict[str, dict[str, Any]] = field(default_factory=dict)  # by evaluation_id (span events)
    rejected: int = 0  # spans without a valid trace or span id
    duplicates: int = 0  # spans repeated inside the request


def genai_call(
    attributes: Mapping[str, JSON], *, trace_id: str, span_id: str, start_ns: int, end_ns: int,
    error: bool, service: str | None,
) -> dict[str, Any] | None:
    """The GenAI facts of one span, or None when it is not a GenAI call."""
    operation = attributes.get("gen_ai.operation.name")
    if not isinstance(operation, str) or not operation or operation in UNIT_OF_WORK_OPERATIONS:
        return None
    duration = max(0, min(MAX_DURATION_NS, end_ns - start_ns))
    category = (_text(attributes.get("otel_ai.error.category")) or "other") if error else ""
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "start_ns": start_ns,
        "duration_ns": duration,
        "duration_bucket": duration_bucket(duration),
        "service": _text(service),
        "provider": _text(attributes.get("gen_ai.provider.name") or attributes.get("gen_ai.system")),
        "operation": _text(operation),
        # What the app asked for: one model is one row in the reports, whatever snapshot answered.
        "model": _text(attributes.get("gen_ai.request.model") or attributes.get("gen_ai.response.model")),
        "task_type": _text(attributes.get("otel_ai.task.type")),
        "input_tokens": _int(attributes.get("gen_ai.usage.input_tokens")),
        "output_tokens": _int(attributes.get("gen_ai.usage.output_tokens")),
        "characters": _int(attributes.get("otel_ai.usage.characters")),
        "cost_usd": _cost(attributes.get("otel_ai.cost.usd")),
        "outcome": "error" if error else "ok",
        "error_category": category,
        "error_type": _text(attributes.get("error.type")) if error else "",
        # Only a well-formed token: a sender's free text here would become a roll-up key.
        "error_code": (normalize_code(attributes.get("otel_ai.error.code")) or "") if error else "",
        "response_model": _text(attributes.get("gen_ai.response.model") or attributes.get("gen_ai.request.model")),
        "conversation_id": _text(attributes.get("gen_ai.conversation.id")),
        "user_id": _text(attributes.get("user.id") or attributes.get("user.hash")),
    }


def span_rows(request: ExportTraceServiceRequest) -> SpanBatch:
    batch = SpanBatch()
    for resource_spans in request.resource_spans:
        resource = key_values(resource_spans.resource.attributes)
        resource_json = dumps(resource)
        service = _service(resource)
        for scope_spans in resource_spans.scope_spans:
            scope_name = _clean(scope_spans.scope.name) or None
            scope_version = _clean(scope_spans.scope.version) or None
            for span in scope_spans.spans:
                trace_id = _hex(span.trace_id) if len(span.trace_id) == 16 else None
                span_id = _hex(span.span_id) if len(span.span_id) == 8 else None
                if trace_id is None or span_id is None:
                    batch.rejected += 1
                    continue
                key = (trace_id, span_id)
                if key in batch.spans:
                    batch.duplicates += 1
                    continue
                attributes = key_values(span.attributes)
                events = [{"name": _clean(event.name), "time_ns": int(event.time_unix_nano),
                           "attributes": key_values(event.attributes)} for event in span.events]
                _span_evaluations(batch, events, trace_id=trace_id, span_id=span_id, service=service)
                start_ns = _time(span.start_time_unix_nano)
                end_ns = _time(span.end_time_unix_nano)
                status_code = int(span.status.code)
                error = status_code == _STATUS_ERROR
                kind = int(span.kind)
                batch.spans[key] = {
                    "trace_id": trace_id,
                    "span_id": span_id,
                    "parent_span_id": _hex(span.parent_span_id),
                    "name": _clean(span.name),
                    "kind": _SPAN_KINDS[kind] if 0 <= kind < len(_SPAN_KINDS) else str(kind),
                    "service": service,
                    "start_ns": start_ns,
                    "end_ns": end_ns,
                    "duration_ns": max(0, end_ns - start_ns),
                    "status_code": _STATUS_CODES[status_code] if 0 <= status_code < 3 else str(status_code),
                    "status_message": _clean(span.status.message) or None,
                    "trace_state": _clean(span.trace_state) or None,
                    "attributes": dumps(attributes),
                    "events": dumps(events) if events else "[]",
                    "links": dumps([
                        {"trace_id": _hex(link.trace_id), "span_id": _hex(link.span_id),
                         "attributes": key_values(link.attributes)}
                        for link in span.links
                    ]) if span.links else "[]",
                    "resource": resource_json,
                    "scope_name": scope_name,
                    "scope_version": scope_version,
                }
                call = genai_call(
                    attributes, trace_id=trace_id, span_id=span_id, start_ns=start_ns, end_ns=end_ns,
                    error=error, service=service,
                )
                if call is not None:
                    batch.genai[key] = call
    return batch


def _span_evaluations(batch: SpanBatch, events: list[dict[str, Any]], *, trace_id: str, span_id: str,
                      service: str | None) -> None:
    for index, event in enumerate(events):
        if event["name"] != EVENT:
            continue
        row = evaluation_row(event["attributes"], time_ns=_time(event["time_ns"]), trace_id=trace_id,
                             span_id=span_id, service=service, source="span_event",
                             unique=f"{trace_id}/{span_id}/{index}")
        if row is not None:
            batch.evaluations.setdefault(row["evaluation_id"], row)


@dataclass
class LogBatch:
    logs: dict[str, dict[str, Any]] = field(default_factory=dict)
    evaluations: dict[str, dict[str, Any]] = field(default_factory=dict)  # by evaluation_id
    duplicates: int = 0


def log_rows(request: ExportLogsServiceRequest) -> LogBatch:
    batch = LogBatch()
    for resource_logs in request.resource_logs:
        resource = key_values(resource_logs.resource.attributes)
        resource_json = dumps(resource)
        service = _service(resource)
        resource_digest = hashlib.blake2b(
            resource_logs.resource.SerializeToString(deterministic=True), digest_size=16,
        )
        for scope_logs in resource_logs.scope_logs:
            scope_digest = resource_digest.copy()
            scope_digest.update(scope_logs.scope.SerializeToString(deterministic=True))
            scope_name = _clean(scope_logs.scope.name) or None
            for record in scope_logs.log_records:
                digest = scope_digest.copy()
                digest.update(record.SerializeToString(deterministic=True))
                log_id = digest.hexdigest()
                if log_id in batch.logs:
                    batch.duplicates += 1
                    continue
                attributes = key_values(record.attributes)
                event_name = _clean(record.event_name) or attributes.get("event.name")
                observed = _time(record.observed_time_unix_nano)
                batch.logs[log_id] = {
                    "log_id": log_id,
                    "time_ns": _time(record.time_unix_nano) or observed,
                    "observed_time_ns": observed,
                    "trace_id": _hex(record.trace_id) if len(record.trace_id) == 16 else None,
                    "span_id": _hex(record.span_id) if len(record.span_id) == 8 else None,
                    "severity_number": int(record.severity_number),
                    "severity_text": _clean(record.severity_text) or None,
                    "body": dumps(any_value(record.body)) if record.HasField("body") else None,
                    "attributes": dumps(attributes),
                    "event_name": event_name if isinstance(event_name, str) and event_name else None,
                    "service": service,
                    "resource": resource_json,
                    "scope_name": scope_name,
                }
                if event_name == EVENT:
                    row = batch.logs[log_id]
                    evaluation = evaluation_row(attributes, time_ns=row["time_ns"], trace_id=row["trace_id"],
                                                span_id=row["span_id"], service=service, source="log", unique=log_id)
                    if evaluation is not None:
                        batch.evaluations.setdefault(evaluation["evaluation_id"], evaluation)
    return batch
