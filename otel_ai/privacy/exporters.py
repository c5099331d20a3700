"""Exporter wrappers that redact spans and log records before the real exporter sees them.

Both wrappers share one path (:class:`_Redacting`, :meth:`_Shape.redact_batch`): each item is taken apart into its
attribute-like parts, the parts go through :func:`~otel_ai.privacy.redactor.walk` once, and a
copy is put together only when something changed. If redaction fails for an item, the same walk
runs again replacing every string with ``[REDACTED:error]`` (fail closed); if even that fails,
the item is dropped. Redactions are counted by kind in :func:`redaction_counts`.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import AnyValue

from otel_ai.privacy.redactor import ERROR_KIND, Redactor, fail_closed_leaf, walk
from otel_ai.sdk.guard import report

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
            new_parts = walk(parts, redactor.leaf(counts))
            if not counts:
                return item, None
            return self.rebuild(item, parts, new_parts, counts), counts
        except Exception as exc:
            report(f"redaction.{self.name}", exc)
        try:
            parts = self.parts(item)
            counts = Counter()
            new_parts = walk(parts, fail_closed_leaf(counts))
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
    return {
        REDACTED_COUNT_ATTRIBUTE: sum(counts.values()),
        REDACTED_KINDS_ATTRIBUTE: tuple(sorted(counts)),
    }


# --------------------------------------------------------------------------------------------
# Spans
# --------------------------------------------------------------------------------------------


def _span_parts(span: ReadableSpan) -> _Parts:
    """Attributes, each event's and link's attributes, status description: all that can leak."""
    return (
        span.attributes or {},
        tuple(event.attributes or {} for event in span.events),
        tuple(link.attributes or {} for link in span.links),
        span.status.description or None,
    )


def _rebuild_span(span: ReadableSpan, old: _Parts, new: _Parts, counts: Counter[str]) -> ReadableSpan:
    """A copy of ``span`` with the new parts; unchanged events and links are kept as they are."""
    attributes, event_attrs, link_attrs, description = new
    events: list[Event] | None = None
    if event_attrs is not old[1]:
        events = [
            event if attrs is before else Event(event.name, _bounded(attrs, event.attributes), event.timestamp)
            for event, attrs, before in zip(span.events, event_attrs, old[1], strict=True)
        ]
    links: list[Link] | None = None
    if link_attrs is not old[2]:
        links = [
            link if attrs is before else Link(link.context, _bounded(attrs, link.attributes))
            for link, attrs, before in zip(span.links, link_attrs, old[2], strict=True)
        ]
    status = span.status
    if description is not old[3]:
        status = Status(status.status_code, description)
    return _copy_span(span, attributes, events, links, status, counts)


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
        name=span.name,
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


_SPAN: _Shape[ReadableSpan] = _Shape("span", _span_parts, _rebuild_span)


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


_LOG: _Shape[ReadableLogRecord] = _Shape("log", _log_parts, _rebuild_log)


class RedactingLogExporter(_Redacting["ReadableLogRecord", LogRecordExportResult], LogRecordExporter):
    """Redacts log record bodies (str or nested dict/list of str) and attributes, then exports.

    Works with the SDK's ``ReadableLogRecord`` (SDK >= 1.39) and ``LogData`` (1.38) batches: a
    changed record is exported as a shallow copy with a copied API ``LogRecord``, keeping trace
    and span ids, flags, severity, timestamps, event name, resource, scope and limits.
    """

    def __init__(self, inner: LogRecordExporter, redactor: Redactor) -> None:
        super().__init__(inner, redactor, _LOG, LogRecordExportResult.FAILURE)
