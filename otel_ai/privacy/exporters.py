"""Exporter wrappers that redact spans and log records before the real exporter sees them.

Span and log wrappers share one path (:class:`_Redacting`, :meth:`_Shape.redact_batch`): each item is
taken apart into its string-bearing parts (a span's name, attributes, event and link attributes,
status; a log's body and attributes), the parts go through :func:`~otel_ai.privacy.redactor.walk`
once, and a copy is put together only when something changed. If redaction fails for an item, the same walk
runs again replacing every string with ``[REDACTED:error]`` (fail closed); if even that fails,
the item is dropped. Redactions are counted by kind in :func:`redaction_counts`.

Metrics (:class:`RedactingMetricExporter`) carry strings only in attribute values; the few distinct
values are redacted once each and the answer cached.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import AnyValue

from otel_ai.guard import report
from otel_ai.privacy.redactor import ERROR_KIND, Leaf, Redactor, fail_closed_leaf, walk

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
else:  # pragma: no cover - depends on the installed SDK
    try:  # SDK >= 1.39
        from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
    except ImportError:  # SDK 1.38: same interface under the older names, batches of LogData
        from opentelemetry.sdk._logs.export import LogExporter as LogRecordExporter
        from opentelemetry.sdk._logs.export import LogExportResult as LogRecordExportResult

__all__ = [
    "REDACTED_COUNT_ATTRIBUTE",
    "REDACTED_KINDS_ATTRIBUTE",
    "RedactingLogExporter",
    "RedactingMetricExporter",
    "RedactingSpanExporter",
    "redaction_counts",
]

_logger = logging.getLogger(__name__)

REDACTED_COUNT_ATTRIBUTE = "otel_ai.redacted.count"
REDACTED_KINDS_ATTRIBUTE = "otel_ai.redacted.kinds"

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")
_ItemIn = TypeVar("_ItemIn", contravariant=True)
_ResultOut = TypeVar("_ResultOut", covariant=True)
_Parts = tuple[Any, ...]

# --------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------

_counts: Counter[str] = Counter()
_counts_lock = threading.Lock()


def redaction_counts() -> dict[str, int]:
    """Replacements by kind made by every redacting exporter in this process so far (a copy)."""
    with _counts_lock:
        return dict(_counts)


def _record(counts: Counter[str]) -> None:
    with _counts_lock:
        _counts.update(counts)


# --------------------------------------------------------------------------------------------
# The shared path
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape(Generic[_Item]):
    """How an exported item comes apart into attribute-like parts, and how a changed copy is made.

    The redaction of items of every shape (:meth:`redact_batch`) is the same code.
    """

    name: str  # "span" or "log": names what report() and the log say
    parts: Callable[[_Item], _Parts]
    # (parts, leaf) -> the parts redacted (the very same tuple when nothing changed)
    walk_parts: Callable[[_Parts, Leaf], _Parts]
    # (item, original parts, new parts, counts) -> copy carrying the new parts and the summary
    rebuild: Callable[[_Item, _Parts, _Parts, Counter[str]], _Item]

    def redact_batch(self, items: Sequence[_Item], redactor: Redactor) -> Sequence[_Item]:
        """Redact a batch; returns the very same sequence when nothing changed (the common case)."""
        out: list[_Item] | None = None
        total: Counter[str] = Counter()
        for i, item in enumerate(items):
            new, counts = self.redact_one(item, redactor)
            if new is item:
                if out is not None:
                    out.append(item)
                continue
            if out is None:
                out = list(items[:i])
            if new is not None:
                out.append(new)
            if counts:
                total.update(counts)
        if total:
            _record(total)
        return items if out is None else out

    def redact_one(self, item: _Item, redactor: Redactor) -> tuple[_Item | None, Counter[str] | None]:
        """The item itself when clean, a redacted copy, a fail-closed copy, or None (drop it)."""
        try:
            parts = self.parts(item)
            counts: Counter[str] = Counter()
            new_parts = self.walk_parts(parts, redactor.leaf(counts))
            if new_parts is parts:
                return item, None
            return self.rebuild(item, parts, new_parts, counts), counts
        except Exception as exc:
            report(f"redaction.{self.name}", exc)
        try:
            parts = self.parts(item)
            counts = Counter()
            new_parts = self.walk_parts(parts, fail_closed_leaf(counts))
            counts[ERROR_KIND] = max(counts[ERROR_KIND], 1)
            return self.rebuild(item, parts, new_parts, counts), counts
        except Exception as exc:
            report(f"redaction.{self.name}_fail_closed", exc)
            return None, Counter({ERROR_KIND: 1})


class _Inner(Protocol[_ItemIn, _ResultOut]):
    """The wrapped SDK exporter (span or log)."""

    def export(self, batch: Sequence[_ItemIn], /) -> _ResultOut: ...

    def shutdown(self) -> None: ...

    def force_flush(self, timeout_millis: int = 30000) -> bool: ...


class _Redacting(Generic[_Item, _Result]):
    """Everything the two exporters share; they differ only in their item shape and result type."""

    def __init__(
        self, inner: _Inner[_Item, _Result], redactor: Redactor, shape: _Shape[_Item], failure: _Result
    ) -> None:
        self._inner = inner
        self._redactor = redactor
        self._shape = shape
        self._failure = failure  # the SDK's result for "nothing was exported"

    def export(self, batch: Sequence[_Item]) -> _Result:
        """Never raises: a batch that cannot be redacted or exported is reported as a failure."""
        name = self._shape.name
        try:
            to_export = self._shape.redact_batch(batch, self._redactor)
        except Exception as exc:  # the batch itself is unusable: export nothing rather than leak
            report(f"redaction.{name}_batch", exc)
            return self._failure
        try:
            return self._inner.export(to_export)
        except Exception:
            _logger.exception("otel_ai: %s exporter %s failed", name, type(self._inner).__name__)
            return self._failure

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def _summary(counts: Counter[str]) -> dict[str, AnyValue]:
    if not counts:  # only characters UTF-8 cannot carry were replaced: nothing was redacted
        return {}
    return {
        REDACTED_COUNT_ATTRIBUTE: sum(counts.values()),
        REDACTED_KINDS_ATTRIBUTE: tuple(sorted(counts)),
    }


# --------------------------------------------------------------------------------------------
# Spans
# --------------------------------------------------------------------------------------------


def _span_parts(span: ReadableSpan) -> _Parts:
    """Name, attributes, each event's and link's attributes, status description: all that can leak."""
    return (
        span.name,
        span.attributes or {},
        tuple(event.attributes or {} for event in span.events),
        tuple(link.attributes or {} for link in span.links),
        span.status.description or None,
    )


def _walk_span(parts: _Parts, leaf: Leaf) -> _Parts:
    name, attributes, events, links, description = parts
    new = (leaf.short(name), walk(attributes, leaf), walk(events, leaf), walk(links, leaf), walk(description, leaf))
    return parts if all(a is b for a, b in zip(new, parts, strict=True)) else new


def _rebuild_span(span: ReadableSpan, old: _Parts, new: _Parts, counts: Counter[str]) -> ReadableSpan:
    """A copy of ``span`` with the new parts; unchanged events and links are kept as they are."""
    name, attributes, event_attrs, link_attrs, description = new
    events: list[Event] | None = None
    if event_attrs is not old[2]:
        events = [
            event if attrs is before else Event(event.name, _bounded(attrs, event.attributes), event.timestamp)
            for event, attrs, before in zip(span.events, event_attrs, old[2], strict=True)
        ]
    links: list[Link] | None = None
    if link_attrs is not old[3]:
        links = [
            link if attrs is before else Link(link.context, _bounded(attrs, link.attributes))
            for link, attrs, before in zip(span.links, link_attrs, old[3], strict=True)
        ]
    status = span.status
    if description is not old[4]:
        status = Status(status.status_code, description)
    return _copy_span(span, name, attributes, events, links, status, counts)


def _bounded(values: Mapping[str, Any], original: object, *, immutable: bool = True) -> BoundedAttributes:
    """A BoundedAttributes copy of ``values`` that keeps the original's dropped count."""
    attrs = BoundedAttributes(maxlen=None, attributes=values, immutable=immutable, max_value_len=None)
    if isinstance(original, BoundedAttributes):
        attrs.dropped = original.dropped
    return attrs


def _bounded_list(items: Sequence[Any], dropped: int) -> Sequence[Any]:
    if not dropped:
        return tuple(items)
    bounded: BoundedList[Any] = BoundedList(None)
    bounded.extend(list(items))
    bounded.dropped = dropped
    return bounded


def _copy_span(
    span: ReadableSpan,
    name: str,
    attributes: Mapping[str, Any],
    events: Sequence[Event] | None,
    links: Sequence[Link] | None,
    status: Status,
    counts: Counter[str],
) -> ReadableSpan:
    merged = dict(attributes)
    merged.update(_summary(counts))
    original_attributes = getattr(span, "_attributes", None)
    return ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_bounded(merged, original_attributes),
        events=_bounded_list(span.events if events is None else events, span.dropped_events),
        links=_bounded_list(span.links if links is None else links, span.dropped_links),
        kind=span.kind,
        instrumentation_info=getattr(span, "_instrumentation_info", None),
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


_SPAN: _Shape[ReadableSpan] = _Shape("span", _span_parts, _walk_span, _rebuild_span)


class RedactingSpanExporter(_Redacting[ReadableSpan, SpanExportResult], SpanExporter):
    """Redacts spans, then hands them to ``inner``. Clean spans are passed on as the same objects.

    A changed span is exported as a copy carrying ``otel_ai.redacted.count`` (int) and
    ``otel_ai.redacted.kinds`` (sorted kind names, never values). If redaction itself fails for a
    span, every string value of that span is replaced by ``[REDACTED:error]`` (fail closed).
    """

    def __init__(self, inner: SpanExporter, redactor: Redactor) -> None:
        super().__init__(inner, redactor, _SPAN, SpanExportResult.FAILURE)


# --------------------------------------------------------------------------------------------
# Log records
# --------------------------------------------------------------------------------------------


def _log_parts(item: ReadableLogRecord) -> _Parts:
    record = item.log_record
    return record.body, record.attributes or {}


def _walk_log(parts: _Parts, leaf: Leaf) -> _Parts:
    body, attributes = parts
    # Bodies are the app's data (dicts with e-mail keys, card numbers as integers): keys and long
    # integers are checked too.
    new = (walk(body, leaf, numbers=True), walk(attributes, leaf))
    return parts if new[0] is body and new[1] is attributes else new


def _rebuild_log(item: ReadableLogRecord, old: _Parts, new: _Parts, counts: Counter[str]) -> ReadableLogRecord:
    """A shallow copy of ``item`` with a copied API ``LogRecord`` holding the new body and attributes."""
    body, attributes = new
    record = item.log_record
    new_record = copy.copy(record)
    new_record.body = body
    merged = dict(attributes)
    merged.update(_summary(counts))
    # Log attributes may hold nested values: keep the SDK's extended-attribute cleaning (1.38
    # needs the flag; later versions always clean that way and ignore it).
    new_attributes = BoundedAttributes(
        maxlen=None, attributes=merged, immutable=False, max_value_len=None, extended_attributes=True
    )
    if isinstance(record.attributes, BoundedAttributes):
        new_attributes.dropped = record.attributes.dropped
    new_record.attributes = new_attributes
    new_item = copy.copy(item)
    # ReadableLogRecord is a frozen dataclass; LogData (SDK 1.38) is a plain object.
    object.__setattr__(new_item, "log_record", new_record)
    return new_item


_LOG: _Shape[ReadableLogRecord] = _Shape("log", _log_parts, _walk_log, _rebuild_log)


class RedactingLogExporter(_Redacting["ReadableLogRecord", LogRecordExportResult], LogRecordExporter):
    """Redacts log record bodies (str or nested dict/list of str) and attributes, then exports.

    Works with the SDK's ``ReadableLogRecord`` (SDK >= 1.39) and ``LogData`` (1.38) batches: a
    changed record is exported as a shallow copy with a copied API ``LogRecord``, keeping trace
    and span ids, flags, severity, timestamps, event name, resource, scope and limits.
    """

    def __init__(self, inner: LogRecordExporter, redactor: Redactor) -> None:
        super().__init__(inner, redactor, _LOG, LogRecordExportResult.FAILURE)


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


class RedactingMetricExporter(MetricExporter):
    """Redacts metric attribute values (a model name holding an e-mail, say), then exports.

    Attribute sets are few and repeat every collection: each distinct string is redacted once and
    the answer cached (:meth:`Redactor.redact_cached`). Points, metrics and their containers are
    copied only where a value changed. If redaction fails, the batch is not exported (fail closed).
    """

    def __init__(self, inner: MetricExporter, redactor: Redactor) -> None:
        super().__init__(
            preferred_temporality=getattr(inner, "_preferred_temporality", None),
            preferred_aggregation=getattr(inner, "_preferred_aggregation", None),
        )
        self._inner = inner
        self._redactor = redactor

    @property
    def inner(self) -> MetricExporter:
        return self._inner

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        try:
            counts: Counter[str] = Counter()
            data = _redact_metrics(metrics_data, self._redactor.leaf(counts))
            if counts:
                _record(counts)
        except Exception as exc:
            report("redaction.metrics", exc)
            return MetricExportResult.FAILURE
        try:
            return self._inner.export(data, timeout_millis=timeout_millis, **kwargs)
        except Exception:
            _logger.exception("otel_ai: metric exporter %s failed", type(self._inner).__name__)
            return MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def _metric_attributes(attributes: Any, leaf: Leaf) -> Any:
    """A point's attributes with every string value redacted (cached per distinct value)."""
    if not attributes:
        return attributes
    changed: dict[str, Any] | None = None
    for key, value in attributes.items():
        if isinstance(value, str):
            new: Any = leaf.short(value)
        elif isinstance(value, (list, tuple)):
            new = walk(value, leaf)
        else:
            continue
        if new is not value:
            if changed is None:
                changed = dict(attributes)
            changed[key] = new
    return attributes if changed is None else changed


def _replace_each(items: Sequence[Any], one: Callable[[Any], Any]) -> list[Any] | None:
    """``items`` with ``one`` applied, or None when it returned every item itself."""
    out: list[Any] | None = None
    for i, item in enumerate(items):
        new = one(item)
        if new is not item:
            if out is None:
                out = list(items)
            out[i] = new
    return out


def _redact_metrics(data: MetricsData, leaf: Leaf) -> MetricsData:
    def point(p: Any) -> Any:
        attributes = _metric_attributes(p.attributes, leaf)
        return p if attributes is p.attributes else dataclasses.replace(p, attributes=attributes)

    def metric(m: Any) -> Any:
        points = _replace_each(m.data.data_points, point)
        return m if points is None else dataclasses.replace(m, data=dataclasses.replace(m.data, data_points=points))

    def scope(sm: Any) -> Any:
        metrics = _replace_each(sm.metrics, metric)
        return sm if metrics is None else dataclasses.replace(sm, metrics=metrics)

    def resource(rm: Any) -> Any:
        scopes = _replace_each(rm.scope_metrics, scope)
        return rm if scopes is None else dataclasses.replace(rm, scope_metrics=scopes)

    resources = _replace_each(data.resource_metrics, resource)
    return data if resources is None else dataclasses.replace(data, resource_metrics=resources)


def protect_metric_readers(meter_provider: Any, redactor: Redactor) -> int:
    """Put redaction in front of the exporter of every push reader of an SDK meter provider.

    The SDK's configurator has no hook for metric exporters, so this reaches into the readers it
    built (guarded: a reader of another shape is left as it is). Pull readers (Prometheus) expose
    the same attribute values: they are redacted where they are set (see the recorder). Returns
    how many exporters were wrapped.
    """
    wrapped = 0
    readers = getattr(meter_provider, "_metric_readers", None)
    if readers is None:  # older SDKs kept them on the configuration object
        readers = getattr(getattr(meter_provider, "_sdk_config", None), "metric_readers", ())
    for reader in readers or ():
        exporter = getattr(reader, "_exporter", None)
        if isinstance(exporter, MetricExporter) and not isinstance(exporter, RedactingMetricExporter):
            reader._exporter = RedactingMetricExporter(exporter, redactor)
            wrapped += 1
    return wrapped
