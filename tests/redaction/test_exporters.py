"""The redacting span and log exporters, with the real SDK.

Spans (name, attributes, events, links, status) and log records (body, attributes) are redacted on
export; clean ones pass as the same object; a redacted copy keeps everything but the values; a
failure inside redaction drops the item (fail closed) and never raises into the SDK. One walk
serves span attributes, event and link attributes and log bodies alike.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from otel_ai import guard
from otel_ai import guard as _guard
from otel_ai.privacy.exporters import (
    REDACTED_COUNT_ATTRIBUTE,
    REDACTED_KINDS_ATTRIBUTE,
    RedactingLogExporter,
    RedactingSpanExporter,
    redaction_counts,
)
from otel_ai.privacy.redactor import Redactor, fail_closed_leaf, walk
from tests.redaction.common import (
    ANN_EMAIL,
    AWS_ACCESS_KEY,
    BEARER,
    CARD_VISA,
    DB_PASSWORD,
    EMAIL,
    OPENAI_PROJECT_KEY,
    _logging,
    _readable,
)


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> dict[str, int]:
    """A clean guard: its failure counts (returned) and first-failure log start empty."""
    failures: dict[str, int] = {}
    monkeypatch.setattr(guard, "failures", failures)
    monkeypatch.setattr(guard, "_seen", set())
    caplog.set_level(logging.DEBUG, logger="otel_ai")
    return failures


def logged_exception(caplog: pytest.LogCaptureFixture, where: str) -> BaseException | None:
    [record] = [r for r in caplog.records if f"in {where};" in r.getMessage()]
    return record.exc_info[1] if record.exc_info else None


# --------------------------------------------------------------------------------------------
# Span exporter, with the real SDK
# --------------------------------------------------------------------------------------------


class _RecordingSpanExporter(RedactingSpanExporter):
    """Remembers what the SDK handed over (SDK >= 1.40 hands a fresh ReadableSpan per span)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.received.extend(spans)
        return super().export(spans)


def _tracing(redactor: Redactor) -> tuple[TracerProvider, InMemorySpanExporter, _RecordingSpanExporter]:
    memory = InMemorySpanExporter()
    exporter = _RecordingSpanExporter(memory, redactor)
    provider = TracerProvider(resource=Resource.create({"service.name": "redaction-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, memory, exporter


def _counted_since(before: dict[str, int]) -> Counter[str]:
    """Redactions the exporters counted (``redaction_counts()``) since ``before``."""
    return Counter(redaction_counts()) - Counter(before)


def test_span_attributes_events_links_and_status_are_redacted() -> None:
    before = redaction_counts()
    provider, memory, recorder = _tracing(Redactor())
    tracer = provider.get_tracer("test-scope", "1.2.3")
    linked = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    with tracer.start_as_current_span(
        "chat gpt-4o-mini", links=[Link(linked, {"note": f"from {EMAIL}"})]
    ) as span:
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.usage.input_tokens", 1532)
        span.set_attribute("url.full", f"https://svc:{DB_PASSWORD}@api.example.com/v1")
        messages = f'[{{"role": "user", "content": "key is {OPENAI_PROJECT_KEY}"}}]'
        span.set_attribute("gen_ai.input.messages", messages)
        span.set_attribute("tags", ["ok", f"card {CARD_VISA}"])
        span.add_event("log", {"message": f"retrying with {AWS_ACCESS_KEY}", "attempt": 2})
        span.add_event("clean", {"message": "nothing here"})
        span.set_status(Status(StatusCode.ERROR, f"401 for key {OPENAI_PROJECT_KEY}"))
        original = span
    provider.shutdown()

    (exported,) = memory.get_finished_spans()
    assert exported is not recorder.received[0]
    attrs = dict(exported.attributes or {})
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.usage.input_tokens"] == 1532
    assert attrs["url.full"] == "https://svc:[REDACTED:url_password]@api.example.com/v1"
    assert attrs["gen_ai.input.messages"] == '[{"role": "user", "content": "key is [REDACTED:openai_key]"}]'
    assert attrs["tags"] == ("ok", "card [REDACTED:card_number]")
    assert exported.events[0].attributes == {
        "message": "retrying with [REDACTED:aws_access_key]",
        "attempt": 2,
    }
    assert exported.events[1].attributes == {"message": "nothing here"}
    assert exported.links[0].attributes == {"note": "from [REDACTED:email]"}
    assert exported.status.status_code is StatusCode.ERROR
    assert exported.status.description == "401 for key [REDACTED:openai_key]"
    assert attrs[REDACTED_COUNT_ATTRIBUTE] == 6
    assert attrs[REDACTED_KINDS_ATTRIBUTE] == (
        "aws_access_key",
        "card_number",
        "email",
        "openai_key",
        "url_password",
    )

    # identity and timing survive
    assert exported.name == original.name
    assert exported.context == original.context
    assert exported.parent == original.parent
    assert exported.kind == original.kind
    assert exported.start_time == original.start_time and exported.end_time == original.end_time
    assert exported.resource is original.resource
    assert exported.instrumentation_scope == original.instrumentation_scope
    assert exported.events[0].timestamp == original.events[0].timestamp
    assert exported.links[0].context == linked
    assert exported.dropped_attributes == 0 and exported.dropped_events == 0 and exported.dropped_links == 0

    # no secret anywhere in the serialized span
    dumped = exported.to_json()
    for value in (OPENAI_PROJECT_KEY, DB_PASSWORD, CARD_VISA, AWS_ACCESS_KEY, EMAIL):
        assert value not in dumped
    # the original span object is not modified (other processors may hold it)
    assert OPENAI_PROJECT_KEY in str(original.attributes["gen_ai.input.messages"])

    assert _counted_since(before) == Counter(
        {"openai_key": 2, "url_password": 1, "card_number": 1, "aws_access_key": 1, "email": 1}
    )


def test_clean_span_is_passed_through_as_the_same_object() -> None:
    before = redaction_counts()
    provider, memory, recorder = _tracing(Redactor())
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini-2024-07-18")
        span.set_attribute("gen_ai.response.id", "chatcmpl-9sXabc123DEF456ghi789jklMNO")
        span.add_event("gen_ai.choice", {"index": 0})
        original = span
    (exported,) = memory.get_finished_spans()
    assert exported is recorder.received[0]
    assert exported.attributes == original.attributes
    assert REDACTED_COUNT_ATTRIBUTE not in (exported.attributes or {})
    assert _counted_since(before) == Counter()


def test_batch_keeps_order_and_only_copies_changed_spans() -> None:
    memory = InMemorySpanExporter()
    exporter = RedactingSpanExporter(memory, Redactor())
    provider = TracerProvider()
    tracer = provider.get_tracer("t")
    spans: list[ReadableSpan] = []
    for i in range(4):
        with tracer.start_as_current_span(f"s{i}") as s:
            s.set_attribute("v", EMAIL if i % 2 else "clean")
            spans.append(s)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    out = memory.get_finished_spans()
    assert [s.name for s in out] == ["s0", "s1", "s2", "s3"]
    assert out[0] is spans[0] and out[2] is spans[2]
    assert out[1] is not spans[1] and (out[1].attributes or {})["v"] == "[REDACTED:email]"


def test_literal_secret_from_the_app_client_never_reaches_the_exporter() -> None:
    redactor = Redactor()
    app_key = "org-internal-credential-NOTAPATTERN-42"
    redactor.add_secret(app_key)
    provider, memory, _ = _tracing(redactor)
    with provider.get_tracer("t").start_as_current_span("call") as span:
        span.set_attribute("app.detail", (app_key,))
    (exported,) = memory.get_finished_spans()
    assert app_key not in exported.to_json()
    assert (exported.attributes or {})[REDACTED_KINDS_ATTRIBUTE] == ("secret",)


class _ExplodingRedactor(Redactor):
    def redact(self, text: str) -> tuple[str, Counter[str] | None]:
        if "boom" in text:
            raise RuntimeError("redactor bug")
        return super().redact(text)


def test_span_fails_closed_when_redaction_raises(caplog: pytest.LogCaptureFixture) -> None:
    _guard._seen.discard("redaction.span")
    provider, memory, _ = _tracing(_ExplodingRedactor())
    tracer = provider.get_tracer("t")
    with caplog.at_level("DEBUG", logger="otel_ai"):
        for _ in range(2):
            with tracer.start_as_current_span("op") as span:
                span.set_attribute("a", "boom")
                span.set_attribute("b", f"unseen {OPENAI_PROJECT_KEY}")
                span.set_attribute("c", ["x", "y"])
                span.set_attribute("n", 7)
                span.add_event("e", {"m": "event text"})
                span.set_status(Status(StatusCode.ERROR, "some description"))
    spans = memory.get_finished_spans()
    assert len(spans) == 2
    for exported in spans:
        attrs = dict(exported.attributes or {})
        assert attrs["a"] == attrs["b"] == "[REDACTED:error]"
        assert attrs["c"] == ("[REDACTED:error]", "[REDACTED:error]")
        assert attrs["n"] == 7
        assert exported.events[0].attributes == {"m": "[REDACTED:error]"}
        assert exported.status.description == "[REDACTED:error]"
        assert attrs[REDACTED_KINDS_ATTRIBUTE] == ("error",)
        assert exported.name == "[REDACTED:error]"  # a span name may hold a secret too
        assert attrs[REDACTED_COUNT_ATTRIBUTE] == 7
        assert OPENAI_PROJECT_KEY not in exported.to_json()
    logged = [r for r in caplog.records if "in redaction.span;" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelname == "DEBUG"


class _BrokenSpan:
    name = "broken"

    @property
    def attributes(self) -> Any:
        raise RuntimeError("cannot read")


def test_span_that_cannot_even_be_read_is_dropped_not_leaked() -> None:
    memory = InMemorySpanExporter()
    exporter = RedactingSpanExporter(memory, Redactor())
    assert exporter.export([_BrokenSpan()]) is SpanExportResult.SUCCESS
    assert memory.get_finished_spans() == ()


class _RaisingSpanExporter(SpanExporter):
    def __init__(self) -> None:
        self.flushed: list[int] = []
        self.shut = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ConnectionError("collector down")

    def shutdown(self) -> None:
        self.shut = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.flushed.append(timeout_millis)
        return True


def test_span_exporter_never_raises_and_delegates_lifecycle() -> None:
    inner = _RaisingSpanExporter()
    exporter = RedactingSpanExporter(inner, Redactor())
    span = ReadableSpan("x", attributes={"mail": EMAIL})
    assert exporter.export([span]) is SpanExportResult.FAILURE
    assert exporter.force_flush(1234) is True and inner.flushed == [1234]
    exporter.shutdown()
    assert inner.shut


# --------------------------------------------------------------------------------------------
# Log exporter, with the real SDK
# --------------------------------------------------------------------------------------------


def test_log_body_and_attributes_are_redacted_keeping_correlation() -> None:
    before = redaction_counts()
    log_provider, memory, _ = _logging(Redactor())
    tracer = TracerProvider().get_tracer("t")
    logger = log_provider.get_logger("app.payments", "0.9")
    with tracer.start_as_current_span("request") as span:
        logger.emit(
            body=f"charging {CARD_VISA} for {EMAIL}",
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            timestamp=1_717_171_717_000_000_000,
            attributes={"user.email": EMAIL, "retries": 2, "headers": (f"Bearer {BEARER}", "x")},
            event_name="payment.attempt",
        )
        span_context = span.get_span_context()

    (exported,) = memory.get_finished_logs()
    record = exported.log_record
    assert record.body == "charging [REDACTED:card_number] for [REDACTED:email]"
    attrs = dict(record.attributes or {})
    assert attrs["user.email"] == "[REDACTED:email]"
    assert attrs["retries"] == 2
    assert attrs["headers"] == ("Bearer [REDACTED:bearer_token]", "x")
    assert attrs[REDACTED_COUNT_ATTRIBUTE] == 4
    assert attrs[REDACTED_KINDS_ATTRIBUTE] == ("bearer_token", "card_number", "email")
    assert record.trace_id == span_context.trace_id
    assert record.span_id == span_context.span_id
    assert record.trace_flags == span_context.trace_flags
    assert record.severity_number is SeverityNumber.WARN and record.severity_text == "WARN"
    assert record.timestamp == 1_717_171_717_000_000_000 and record.observed_timestamp
    assert record.event_name == "payment.attempt"
    assert exported.resource.attributes["service.name"] == "redaction-test"
    assert exported.instrumentation_scope is not None
    assert exported.instrumentation_scope.name == "app.payments"
    assert exported.dropped_attributes == 0
    dumped = exported.to_json()
    assert CARD_VISA not in dumped and EMAIL not in dumped and BEARER not in dumped
    assert _counted_since(before) == Counter({"email": 2, "card_number": 1, "bearer_token": 1})


def test_structured_log_body_is_redacted_recursively() -> None:
    log_provider, memory, _ = _logging(Redactor())
    body = {
        "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": f"I am {EMAIL}"}]}],
        "count": 3,
        "raw": b"bytes untouched",
    }
    log_provider.get_logger("genai").emit(body=body, event_name="gen_ai.client.inference.operation.details")
    (exported,) = memory.get_finished_logs()
    new_body = exported.log_record.body
    assert isinstance(new_body, dict)
    assert new_body["gen_ai.input.messages"][0]["parts"][0]["content"] == "I am [REDACTED:email]"
    assert new_body["count"] == 3 and new_body["raw"] == b"bytes untouched"
    assert body["gen_ai.input.messages"][0]["parts"][0]["content"] == f"I am {EMAIL}"


def test_python_logging_through_the_sdk_handler_is_redacted() -> None:
    import logging

    log_provider, memory, _ = _logging(Redactor())
    handler = LoggingHandler(logger_provider=log_provider)
    py_logger = logging.getLogger("test_redaction.python")
    py_logger.addHandler(handler)
    py_logger.propagate = False
    try:
        py_logger.warning("login for %s with key %s", EMAIL, OPENAI_PROJECT_KEY)
    finally:
        py_logger.removeHandler(handler)
    (exported,) = memory.get_finished_logs()
    assert exported.log_record.body == "login for [REDACTED:email] with key [REDACTED:openai_key]"
    assert OPENAI_PROJECT_KEY not in exported.to_json()


def test_clean_log_record_is_passed_through_as_the_same_object() -> None:
    memory = InMemoryLogRecordExporter()
    exporter = RedactingLogExporter(memory, Redactor())
    clean = _readable("answered a question with gpt-4o-mini", {"gen_ai.usage.input_tokens": 12})
    dirty = _readable(f"mail {EMAIL}")
    assert exporter.export([clean, dirty, clean]) is LogRecordExportResult.SUCCESS
    out = memory.get_finished_logs()
    assert out[0] is clean and out[2] is clean
    assert out[1] is not dirty
    assert out[1].log_record.body == "mail [REDACTED:email]"
    assert dirty.log_record.body == f"mail {EMAIL}"  # original untouched
    assert out[1].instrumentation_scope == dirty.instrumentation_scope
    assert out[1].limits == dirty.limits


def test_log_fails_closed_when_redaction_raises() -> None:
    memory = InMemoryLogRecordExporter()
    exporter = RedactingLogExporter(memory, _ExplodingRedactor())
    item = _readable({"msg": "boom", "nested": ["a", 1]}, {"k": "v", "n": 3})
    exporter.export([item])
    (exported,) = memory.get_finished_logs()
    assert exported.log_record.body == {"msg": "[REDACTED:error]", "nested": ["[REDACTED:error]", 1]}
    attrs = dict(exported.log_record.attributes or {})
    assert attrs["k"] == "[REDACTED:error]" and attrs["n"] == 3
    assert attrs[REDACTED_KINDS_ATTRIBUTE] == ("error",)
    assert attrs[REDACTED_COUNT_ATTRIBUTE] == 3


class _RaisingLogExporter(LogRecordExporter):
    def __init__(self) -> None:
        self.shut = False

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        raise ConnectionError("collector down")

    def shutdown(self) -> None:
        self.shut = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return False


def test_log_exporter_never_raises_and_delegates_lifecycle() -> None:
    inner = _RaisingLogExporter()
    exporter = RedactingLogExporter(inner, Redactor())
    assert exporter.export([_readable(f"x {EMAIL}")]) is LogRecordExportResult.FAILURE
    assert exporter.force_flush() is False
    exporter.shutdown()
    assert inner.shut


# --------------------------------------------------------------------------------------------
# One walk for span attributes, event and link attributes and log bodies
# --------------------------------------------------------------------------------------------


def test_one_walk_treats_log_bodies_event_and_link_attributes_alike() -> None:
    flat = {"m": f"mail {EMAIL}", "t": ("ok", f"key {AWS_ACCESS_KEY}"), "n": 1}
    flat_redacted = {"m": "mail [REDACTED:email]", "t": ("ok", "key [REDACTED:aws_access_key]"), "n": 1}
    nested = {"outer": [flat, {"deeper": (f"to {EMAIL}",)}], "raw": b"bytes"}
    nested_redacted = {"outer": [flat_redacted, {"deeper": ("to [REDACTED:email]",)}], "raw": b"bytes"}

    counts: Counter[str] = Counter()
    assert walk(nested, Redactor().leaf(counts)) == nested_redacted
    assert counts == Counter({"email": 2, "aws_access_key": 1})
    clean = {"a": ["x", ("y", 1)]}
    assert walk(clean, Redactor().leaf(Counter())) is clean

    before = redaction_counts()
    spans = InMemorySpanExporter()
    linked = SpanContext(0x1, 0x2, is_remote=True)
    span = ReadableSpan("s", attributes={"k": "v"}, events=[Event("e", flat)], links=[Link(linked, flat)])
    assert RedactingSpanExporter(spans, Redactor()).export([span]) is SpanExportResult.SUCCESS
    (exported,) = spans.get_finished_spans()
    assert dict(exported.events[0].attributes or {}) == flat_redacted
    assert dict(exported.links[0].attributes or {}) == flat_redacted
    assert (exported.attributes or {})["k"] == "v"

    logs = InMemoryLogRecordExporter()
    RedactingLogExporter(logs, Redactor()).export([_readable(nested, flat)])
    (record,) = logs.get_finished_logs()
    assert record.log_record.body == nested_redacted
    attrs = dict(record.log_record.attributes or {})
    assert {k: attrs[k] for k in flat} == flat_redacted
    assert _counted_since(before) == Counter({"email": 5, "aws_access_key": 4})


def test_fail_closed_uses_the_same_walk_for_links_and_log_bodies() -> None:
    counts: Counter[str] = Counter()
    assert walk({"a": ["x", 1, ("y",)]}, fail_closed_leaf(counts)) == {
        "a": ["[REDACTED:error]", 1, ("[REDACTED:error]",)]
    }
    assert counts == Counter({"error": 2})

    spans = InMemorySpanExporter()
    linked = SpanContext(0x1, 0x2, is_remote=True)
    span = ReadableSpan("s", attributes={"n": 1}, links=[Link(linked, {"why": "boom", "n": 2})])
    RedactingSpanExporter(spans, _ExplodingRedactor()).export([span])
    (exported,) = spans.get_finished_spans()
    assert dict(exported.links[0].attributes or {}) == {"why": "[REDACTED:error]", "n": 2}
    assert (exported.attributes or {})[REDACTED_COUNT_ATTRIBUTE] == 2  # the link's string and the span name


# --------------------------------------------------------------------------------------------
# Span names
# --------------------------------------------------------------------------------------------


def test_span_names_are_redacted():
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory, Redactor())))
    with provider.get_tracer("t").start_as_current_span("chat ft:gpt-4o-mini:acme:jane@example.com"):
        pass
    (span,) = memory.get_finished_spans()
    assert span.name == "chat ft:gpt-4o-mini:acme:[REDACTED:email]"
    assert span.attributes[REDACTED_COUNT_ATTRIBUTE] == 1


# --- what a redacted span copy keeps ------------------------------------------------------------------------


class _Keeping(RedactingSpanExporter):
    """Remembers the spans the SDK handed over, to compare the exported copies with."""

    def __init__(self, inner: SpanExporter) -> None:
        super().__init__(inner, Redactor())
        self.received: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.received.extend(spans)
        return super().export(spans)


def context(n: int) -> SpanContext:
    return SpanContext(n, n, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))


def test_a_redacted_span_copy_keeps_everything_but_the_values():
    limits = SpanLimits(max_span_attributes=3, max_events=2, max_links=2,
                        max_event_attributes=2, max_link_attributes=2)
    provider = TracerProvider(span_limits=limits)
    memory = InMemorySpanExporter()
    keeping = _Keeping(memory)
    provider.add_span_processor(SimpleSpanProcessor(keeping))
    tracer = provider.get_tracer("scope", "1.0")
    links = [
        Link(context(3)),  # a third link: the first is dropped
        Link(context(1), {"a": 1, "b": 2, "mail": ANN_EMAIL}),  # one attribute dropped, one redacted
        Link(context(2), {"clean": "nothing here"}),
    ]
    with tracer.start_as_current_span("parent"), tracer.start_as_current_span(
        "child", kind=SpanKind.CLIENT, links=links
    ) as span:
        for key in ("dropped", "x", "y"):
            span.set_attribute(key, 1)
        span.set_attribute("mail", ANN_EMAIL)  # the oldest attribute is dropped
        span.add_event("dropped")
        span.add_event("leaky", {"a": 1, "b": 2, "mail": ANN_EMAIL})
        span.add_event("clean", {"m": "fine"})
    provider.shutdown()

    original = next(s for s in keeping.received if s.name == "child")
    [exported] = [s for s in memory.get_finished_spans() if s.name == "child"]
    assert exported is not original
    assert exported.attributes["mail"] == "[REDACTED:email]"
    for field in ("name", "context", "parent", "kind", "resource", "instrumentation_scope",
                  "start_time", "end_time", "dropped_attributes", "dropped_events", "dropped_links"):
        assert getattr(exported, field) == getattr(original, field), field
    assert (original.dropped_attributes, original.dropped_events, original.dropped_links) == (1, 1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert exported.instrumentation_info == original.instrumentation_info
        assert original.instrumentation_info is not None
    assert exported.status.status_code == original.status.status_code

    leaky, clean = exported.events
    assert clean is original.events[1]  # unchanged events and links are kept as they are
    assert (leaky.name, leaky.timestamp, leaky.dropped_attributes) == ("leaky", original.events[0].timestamp, 1)
    assert dict(leaky.attributes) == {"b": 2, "mail": "[REDACTED:email]"}
    changed_link, clean_link = exported.links
    assert clean_link is original.links[1]
    assert (changed_link.context, changed_link.dropped_attributes) == (context(1), 1)
    assert dict(changed_link.attributes) == {"b": 2, "mail": "[REDACTED:email]"}
    for attributes in (exported.attributes, leaky.attributes, changed_link.attributes):
        with pytest.raises(TypeError):
            attributes["added"] = "later"  # type: ignore[index]


def test_a_span_with_clean_events_and_links_keeps_them_when_only_its_attributes_change():
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory, Redactor())))
    with provider.get_tracer("t").start_as_current_span("op", links=[Link(context(4), {"k": "v"})]) as span:
        span.set_attribute("mail", ANN_EMAIL)
        span.add_event("clean", {"m": "fine"})
    [exported] = memory.get_finished_spans()
    assert [e.name for e in exported.events] == ["clean"]
    assert [link.context for link in exported.links] == [context(4)]


# --- failures inside the exporters --------------------------------------------------------------------------


class _Unreadable:
    name = "broken"

    @property
    def attributes(self) -> Any:
        raise RuntimeError("cannot read")


def test_an_unreadable_span_is_dropped_counted_and_both_failures_reported(reports, caplog):
    before = redaction_counts()
    memory = InMemorySpanExporter()
    assert RedactingSpanExporter(memory, Redactor()).export([_Unreadable()]) is SpanExportResult.SUCCESS  # type: ignore[list-item]
    assert memory.get_finished_spans() == ()
    assert Counter(redaction_counts()) - Counter(before) == Counter({"error": 1})
    assert reports == {"redaction.span": 1, "redaction.span_fail_closed": 1}
    for where in reports:
        assert isinstance(logged_exception(caplog, where), RuntimeError)


class _BrokenShape:
    name = "span"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def redact_batch(self, items: Any, redactor: Redactor) -> Any:
        raise self.exc


def test_a_batch_that_cannot_be_redacted_is_not_exported_and_is_reported(reports, caplog, monkeypatch):
    exc = RuntimeError("batch unusable")
    memory = InMemorySpanExporter()
    exporter = RedactingSpanExporter(memory, Redactor())
    monkeypatch.setattr(exporter, "_shape", _BrokenShape(exc))
    assert exporter.export([]) is SpanExportResult.FAILURE
    assert reports == {"redaction.span_batch": 1}
    assert logged_exception(caplog, "redaction.span_batch") is exc


class _DownExporter(SpanExporter):
    def __init__(self) -> None:
        self.flushed: list[int] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ConnectionError("collector down")

    def force_flush(self, timeout_millis: int = 1) -> bool:
        self.flushed.append(timeout_millis)
        return True


def test_a_failing_exporter_is_named_in_the_error_log(caplog):
    caplog.set_level(logging.ERROR, logger="otel_ai.privacy.exporters")
    exporter = RedactingSpanExporter(_DownExporter(), Redactor())
    assert exporter.export([ReadableSpan("x")]) is SpanExportResult.FAILURE
    [record] = caplog.records
    assert record.getMessage() == "otel_ai: span exporter _DownExporter failed"
    assert record.exc_info is not None and isinstance(record.exc_info[1], ConnectionError)


def test_force_flush_passes_the_sdk_default_timeout():
    inner = _DownExporter()
    assert RedactingSpanExporter(inner, Redactor()).force_flush() is True
    assert inner.flushed == [30000]


# --- what a redacted log record copy keeps ----------------------------------------------------------------------


def test_a_redacted_log_record_keeps_mutable_attributes_like_the_sdks_own():
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(RedactingLogExporter(memory, Redactor())))
    provider.get_logger("t").emit(body=f"mail {ANN_EMAIL}", attributes={"clean": "yes"})
    [exported] = memory.get_finished_logs()
    attributes = exported.log_record.attributes
    assert exported.log_record.body == "mail [REDACTED:email]"
    assert attributes["clean"] == "yes"
    attributes["added"] = "by a later processor"
    assert attributes["added"] == "by a later processor"


def test_log_exporter_drops_and_counts_a_record_that_cannot_be_read():
    class Unreadable:
        @property
        def log_record(self) -> Any:
            raise RuntimeError("cannot read")

    before = redaction_counts()
    memory = InMemoryLogRecordExporter()
    exporter = RedactingLogExporter(memory, Redactor())
    assert exporter.export([Unreadable()]) is LogRecordExportResult.SUCCESS  # type: ignore[list-item]
    assert memory.get_finished_logs() == ()
    assert Counter(redaction_counts()) - Counter(before) == Counter({"error": 1})
