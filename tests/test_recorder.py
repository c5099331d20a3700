"""The GenAI recorder and its in-process sums, driven directly with in-memory SDK pipelines.

The end-to-end tests go through the openai client and the simulator; these pin down what those cannot
see: exact metric values (with a fake clock), metric metadata, each call recorded exactly once, bounded
caches, the guard's failure reports, and content encoding. They close the gaps mutation testing found
(docs/mutation.md).
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

import otel_ai
from otel_ai import guard
from otel_ai.genai import recorder as recorder_module
from otel_ai.genai import semconv as sc
from otel_ai.genai import sums as sums_module
from otel_ai.genai.model import ContentMode, GenAIRequest, GenAIResponse, Usage
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.pricing.catalog import PricingCatalog

CATALOG = PricingCatalog.load()


class Clock:
    """Stands in for the `time` module inside the recorder: perf_counter returns `now`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now


@dataclass
class Pipeline:
    recorder: GenAIRecorder
    spans_exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    logs_exporter: InMemoryLogRecordExporter

    def spans(self) -> list[ReadableSpan]:
        return list(self.spans_exporter.get_finished_spans())

    def one_span(self) -> ReadableSpan:
        [span] = self.spans()
        return span

    def metrics(self) -> dict[str, Any]:
        data = self.reader.get_metrics_data()
        found: dict[str, Any] = {}
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    found[metric.name] = (scope_metrics.scope, metric)
        return found

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        found = self.metrics().get(name)
        if found is None:
            return []
        return [(dict(p.attributes or {}), p) for p in found[1].data.data_points]

    def logs(self) -> list[Any]:
        return list(self.logs_exporter.get_finished_logs())


def make_pipeline(content: ContentMode = ContentMode.NO_CONTENT, **tracer_options: Any) -> Pipeline:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(**tracer_options)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    recorder = GenAIRecorder(
        CATALOG,
        content=content,
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[reader]),
        logger_provider=logger_provider,
    )
    return Pipeline(recorder, spans, reader, logs)


@pytest.fixture
def pipe() -> Pipeline:
    return make_pipeline()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(recorder_module, "time", fake)
    return fake


def clean_guard(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> dict[str, int]:
    """A clean guard: its failure counts (returned) and first-failure log start empty."""
    failures: dict[str, int] = {}
    monkeypatch.setattr(guard, "failures", failures)
    monkeypatch.setattr(guard, "_seen", set())
    caplog.set_level(logging.DEBUG, logger="otel_ai")
    return failures


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> dict[str, int]:
    return clean_guard(monkeypatch, caplog)


def assert_reported(caplog: pytest.LogCaptureFixture, reports: dict[str, int], where: str, exc: BaseException) -> None:
    """`exc` was reported once under `where`, and logged with its traceback."""
    assert reports == {where: 1}
    [record] = [r for r in caplog.records if where in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[1] is exc


def chat(model: str | None = "gpt-4o-mini", **fields: Any) -> GenAIRequest:
    values: dict[str, Any] = {"operation": "chat", "provider": "openai", "model": model,
                              "server_address": "api.example.com", "server_port": 8443}
    values.update(fields)
    return GenAIRequest(**values)


def start(pipe: Pipeline, request: GenAIRequest) -> Invocation:
    inv = pipe.recorder.start(request)
    assert inv is not None
    return inv


def call(pipe: Pipeline, request: GenAIRequest, response: GenAIResponse | None = None) -> None:
    pipe.recorder.end(start(pipe, request), response if response is not None else GenAIResponse())


TIMED = {
    sc.OPERATION: "chat", sc.PROVIDER: "openai", sc.REQUEST_MODEL: "gpt-4o-mini",
    sc.SERVER_ADDRESS: "api.example.com", sc.SERVER_PORT: 8443,
}
COUNTED = {sc.OPERATION: "chat", sc.PROVIDER: "openai", sc.REQUEST_MODEL: "gpt-4o-mini"}


# --- span naming and start attributes ---------------------------------------------------------------


def test_span_name_kind_and_start_attributes(pipe):
    call(pipe, chat(stream=True, attributes={sc.REQUEST_TEMPERATURE: 0.5}))
    span = pipe.one_span()
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes) == {**TIMED, sc.REQUEST_STREAM: True, sc.REQUEST_TEMPERATURE: 0.5}


def test_span_without_a_model_is_named_by_its_operation(pipe):
    call(pipe, GenAIRequest(operation="embeddings", provider="openai", model=None))
    span = pipe.one_span()
    assert span.name == "embeddings"
    assert dict(span.attributes) == {sc.OPERATION: "embeddings", sc.PROVIDER: "openai"}


def test_each_call_shape_keeps_its_own_attributes_on_one_recorder(pipe):
    call(pipe, chat("gpt-4o-mini"))
    call(pipe, chat("gpt-4o", server_port=9000))
    first, second = pipe.spans()
    assert (first.name, first.attributes[sc.REQUEST_MODEL], first.attributes[sc.SERVER_PORT]) == (
        "chat gpt-4o-mini", "gpt-4o-mini", 8443)
    assert (second.name, second.attributes[sc.REQUEST_MODEL], second.attributes[sc.SERVER_PORT]) == (
        "chat gpt-4o", "gpt-4o", 9000)
    by_model = {attrs[sc.REQUEST_MODEL]: attrs for attrs, _ in pipe.points(sc.METRIC_DURATION)}
    assert by_model["gpt-4o"][sc.SERVER_PORT] == 9000
    assert by_model["gpt-4o-mini"][sc.SERVER_PORT] == 8443


def test_attribute_sets_are_built_once_per_call_shape(pipe, monkeypatch):
    # The hot path's design (module docstring): a repeated call shape reuses its cached attribute sets.
    built = {"start": 0, "shape": 0}
    original_start = GenAIRecorder._start_attributes
    original_shape = recorder_module._Shape

    def counting_start(request: GenAIRequest) -> Any:
        built["start"] += 1
        return original_start(request)

    class CountingShape(original_shape):  # type: ignore[misc, valid-type]
        __slots__ = ()

        def __init__(self, *args: Any) -> None:
            built["shape"] += 1
            super().__init__(*args)

    monkeypatch.setattr(GenAIRecorder, "_start_attributes", staticmethod(counting_start))
    monkeypatch.setattr(recorder_module, "_Shape", CountingShape)
    for _ in range(3):
        call(pipe, chat(), GenAIResponse(model="gpt-4o-mini-2024-07-18"))
    assert built == {"start": 1, "shape": 1}
    call(pipe, chat("gpt-4o"), GenAIResponse(model="gpt-4o-2024-08-06"))
    assert built == {"start": 2, "shape": 2}


def test_per_shape_caches_and_warned_models_are_bounded(pipe, caplog):
    caplog.set_level(logging.ERROR, logger="otel_ai")  # 2048 "no price" warnings are expected
    limit = recorder_module._CACHE_LIMIT
    for i in range(limit + 5):
        call(pipe, chat(f"private-model-{i}"), GenAIResponse(usage=Usage(input_tokens=1)))
    recorder = pipe.recorder
    assert (len(recorder._starts), len(recorder._shapes), len(recorder._warned_models)) == (limit, limit, limit)
    # Calls beyond the limit are still recorded correctly, just not cached.
    last = pipe.spans()[-1]
    assert last.name == f"chat private-model-{limit + 4}"
    assert last.attributes[sc.PRICING_SOURCE] == "unknown"


# --- what the end of a call writes ----------------------------------------------------------------------


def test_response_usage_and_cost_attributes_are_exact(pipe):
    usage = Usage(input_tokens=1000, output_tokens=200, cache_read_input_tokens=400,
                  cache_creation_input_tokens=30, reasoning_output_tokens=50)
    call(pipe, chat(), GenAIResponse(response_id="resp-1", model="gpt-4o-mini-2024-07-18", finish_reasons=["stop"],
                                     usage=usage, attributes={sc.OPENAI_RESPONSE_SERVICE_TIER: "default"}))
    cost = CATALOG.cost("gpt-4o-mini-2024-07-18", input_tokens=1000, output_tokens=200, cached_input_tokens=400)
    assert cost is not None
    assert dict(pipe.one_span().attributes) == {
        **TIMED,
        sc.RESPONSE_ID: "resp-1",
        sc.RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        sc.RESPONSE_FINISH_REASONS: ("stop",),
        sc.USAGE_INPUT_TOKENS: 1000,
        sc.USAGE_OUTPUT_TOKENS: 200,
        sc.USAGE_CACHE_READ_INPUT_TOKENS: 400,
        sc.USAGE_CACHE_WRITE_INPUT_TOKENS: 30,
        sc.USAGE_REASONING_OUTPUT_TOKENS: 50,
        sc.OPENAI_RESPONSE_SERVICE_TIER: "default",
        sc.COST_USD: cost.total_usd,
        sc.COST_INPUT_USD: cost.input_usd,
        sc.COST_OUTPUT_USD: cost.output_usd,
        sc.PRICING_SOURCE: "catalog",
        sc.PRICING_CATALOG_DATE: CATALOG.catalog_date,
        # OTEL_AI_COST_ATTRIBUTES' default: the GenAI cost proposal's names too (tests/test_cost_shapes.py)
        "gen_ai.usage.cost.amount": cost.total_usd,
        "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local",
    }


def test_speech_call_is_billed_and_counted_by_characters(pipe):
    request = GenAIRequest(operation="text_to_speech", provider="elevenlabs", model="eleven_multilingual_v2")
    call(pipe, request, GenAIResponse(usage=Usage(characters=1200)))
    cost = CATALOG.character_cost("eleven_multilingual_v2", 1200)
    assert cost is not None
    attrs = pipe.one_span().attributes
    assert attrs[sc.USAGE_CHARACTERS] == 1200
    assert attrs[sc.COST_USD] == cost.total_usd
    assert sc.AUDIO_SECONDS not in attrs and sc.USAGE_INPUT_TOKENS not in attrs
    counted = {sc.OPERATION: "text_to_speech", sc.PROVIDER: "elevenlabs", sc.REQUEST_MODEL: "eleven_multilingual_v2"}
    assert [(a, p.value) for a, p in pipe.points(sc.METRIC_CHARACTERS)] == [(counted, 1200)]
    assert [(a, p.value) for a, p in pipe.points(sc.METRIC_COST)] == [(counted, cost.total_usd)]


def test_transcription_is_billed_by_audio_seconds(pipe):
    request = GenAIRequest(operation="speech_to_text", provider="elevenlabs", model="scribe_v1")
    call(pipe, request, GenAIResponse(usage=Usage(audio_seconds=1800.0)))
    cost = CATALOG.audio_duration_cost("scribe_v1", 1800.0)
    assert cost is not None
    attrs = pipe.one_span().attributes
    assert attrs[sc.AUDIO_SECONDS] == 1800.0
    assert attrs[sc.COST_USD] == cost.total_usd
    assert sc.USAGE_CHARACTERS not in attrs
    assert pipe.points(sc.METRIC_CHARACTERS) == []


def test_provider_reported_pricing_source_is_kept(pipe):
    call(pipe, chat(), GenAIResponse(usage=Usage(input_tokens=10, output_tokens=1), pricing_source="header"))
    assert pipe.one_span().attributes[sc.PRICING_SOURCE] == "header"


def test_a_local_providers_call_costs_a_known_zero_whatever_its_model(pipe):
    request = GenAIRequest(operation="chat", provider="ollama", model="llama3.2:1b")
    call(pipe, request, GenAIResponse(model="llama3.2:1b", usage=Usage(input_tokens=500, output_tokens=80)))
    attrs = pipe.one_span().attributes
    assert (attrs[sc.COST_USD], attrs[sc.COST_INPUT_USD], attrs[sc.COST_OUTPUT_USD]) == (0.0, 0.0, 0.0)
    assert attrs[sc.PRICING_SOURCE] == "local"
    counted = {sc.OPERATION: "chat", sc.PROVIDER: "ollama", sc.REQUEST_MODEL: "llama3.2:1b"}
    assert [(a, p.value) for a, p in pipe.points(sc.METRIC_COST)] == [(counted, 0.0)]


def test_unpriced_model_warns_once_naming_the_requested_model(pipe, capsys):
    from otel_ai import agent_warnings

    agent_warnings.reset()
    for _ in range(2):
        call(pipe, chat("my-private-model"), GenAIResponse(model=None, usage=Usage(input_tokens=3)))
    # On stderr, once per model: a log record would stop at the OTLP handler, which drops ours.
    [line] = [line for line in capsys.readouterr().err.splitlines() if "no price" in line]
    assert "'my-private-model'" in line
    assert "OTEL_AI_PRICING_FILE" in line
    assert agent_warnings.counts() == {"pricing.unknown_model": 1}
    assert all(span.attributes[sc.PRICING_SOURCE] == "unknown" for span in pipe.spans())


# --- exactly once ------------------------------------------------------------------------------------------


def test_a_call_ends_exactly_once_whatever_ends_it(pipe):
    inv = start(pipe, chat())
    pipe.recorder.end(inv, GenAIResponse(usage=Usage(input_tokens=5, output_tokens=1)))
    pipe.recorder.end(inv, GenAIResponse(usage=Usage(input_tokens=5, output_tokens=1)))
    pipe.recorder.fail(inv, RuntimeError("late"))
    assert inv.ended
    assert len(pipe.spans()) == 1
    assert pipe.one_span().status.status_code is StatusCode.UNSET
    [(_, requests)] = pipe.points(sc.METRIC_REQUESTS)
    assert requests.value == 1
    [(_, duration)] = pipe.points(sc.METRIC_DURATION)
    assert duration.count == 1
    assert [p.count for _, p in pipe.points(sc.METRIC_TOKEN_USAGE)] == [1, 1]


def test_claim_end_is_true_for_the_first_caller_only(pipe):
    inv = start(pipe, chat())
    assert not inv.ended
    assert [inv.claim_end(), inv.claim_end(), inv.claim_end()] == [True, False, False]
    assert inv.ended


# --- failures -------------------------------------------------------------------------------------------------


class ProviderError(Exception):
    status_code = 429


def test_failed_call_has_error_status_escaped_exception_and_error_metrics(pipe):
    exc = ProviderError("slow down " * 60)
    pipe.recorder.fail(start(pipe, chat()), exc)
    span = pipe.one_span()
    assert span.status.status_code is StatusCode.ERROR
    # Cut to 512 characters at a word (never through a token-like run: a key's piece would outlive it).
    assert span.status.description == ("slow down " * 60)[:510] + "…[truncated]"
    [event] = span.events
    assert event.name == "exception"
    assert event.attributes["exception.escaped"] == "True"
    etype = f"{__name__}.ProviderError"
    assert span.attributes[sc.ERROR_TYPE] == etype
    assert span.attributes[sc.ERROR_CATEGORY] == "rate_limit"
    assert [a for a, _ in pipe.points(sc.METRIC_REQUESTS)] == [
        {**COUNTED, sc.OUTCOME: "error", sc.ERROR_CATEGORY: "rate_limit"}
    ]
    assert [a for a, _ in pipe.points(sc.METRIC_DURATION)] == [{**TIMED, sc.ERROR_TYPE: etype}]


def test_start_failure_returns_none_and_is_reported(pipe, reports, caplog, monkeypatch):
    exc = RuntimeError("tracer broke")

    class BrokenTracer:
        def start_span(self, *args: Any, **kwargs: Any) -> Any:
            raise exc

    monkeypatch.setattr(pipe.recorder, "_tracer", BrokenTracer())
    assert pipe.recorder.start(chat()) is None
    assert_reported(caplog, reports, "recorder.start", exc)


def test_finish_failure_still_ends_the_span_and_is_reported(pipe, reports, caplog, monkeypatch):
    exc = RuntimeError("finish broke")

    def broken_finish(*args: Any) -> None:
        raise exc

    inv = start(pipe, chat())
    monkeypatch.setattr(pipe.recorder, "_finish", broken_finish)
    pipe.recorder.end(inv, None)
    assert [s.name for s in pipe.spans()] == ["chat gpt-4o-mini"]
    assert_reported(caplog, reports, "recorder.finish", exc)


def test_span_end_failure_after_a_finish_failure_is_reported_too(pipe, reports, caplog, monkeypatch):
    first, last = RuntimeError("finish broke"), RuntimeError("end broke")

    def broken_finish(*args: Any) -> None:
        raise first

    def broken_end(*args: Any) -> None:
        raise last

    inv = start(pipe, chat())
    monkeypatch.setattr(pipe.recorder, "_finish", broken_finish)
    monkeypatch.setattr(inv.span, "end", broken_end)
    pipe.recorder.end(inv, None)  # must not raise
    assert reports == {"recorder.finish": 1, "recorder.end_span": 1}
    [record] = [r for r in caplog.records if "recorder.end_span" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[1] is last


# --- context ----------------------------------------------------------------------------------------------------


def test_activate_makes_the_span_current_and_deactivate_restores_the_previous_context(pipe):
    inv = start(pipe, chat())
    before = trace.get_current_span()
    token = GenAIRecorder.activate(inv)
    assert trace.get_current_span() is inv.span
    GenAIRecorder.deactivate(token)
    assert trace.get_current_span() is before
    pipe.recorder.end(inv, None)


def test_activate_failure_is_swallowed_reported_and_gives_a_token_deactivate_ignores(pipe, reports, caplog,
                                                                                  monkeypatch):
    exc = RuntimeError("attach broke")

    def broken_attach(context: object) -> object:
        raise exc

    def unexpected_detach(token: object) -> None:
        raise AssertionError("nothing was attached, so nothing may be detached")

    inv = start(pipe, chat())
    monkeypatch.setattr(otel_context, "attach", broken_attach)
    monkeypatch.setattr(otel_context, "detach", unexpected_detach)
    token = GenAIRecorder.activate(inv)
    assert token is None
    GenAIRecorder.deactivate(token)
    assert_reported(caplog, reports, "recorder.activate", exc)
    pipe.recorder.end(inv, None)


def test_deactivate_failure_is_swallowed_and_reported(reports, caplog, monkeypatch):
    exc = RuntimeError("detach broke")

    def broken_detach(token: object) -> None:
        raise exc

    monkeypatch.setattr(otel_context, "detach", broken_detach)
    GenAIRecorder.deactivate(object())
    assert_reported(caplog, reports, "recorder.deactivate", exc)


# --- metric values, with a fake clock ---------------------------------------------------------------------------


def test_duration_is_the_time_from_start_to_end(pipe, clock):
    inv = start(pipe, chat())
    clock.now += 2.5
    pipe.recorder.end(inv, GenAIResponse(usage=Usage(input_tokens=7, output_tokens=3)))
    [(attrs, point)] = pipe.points(sc.METRIC_DURATION)
    assert (attrs, point.count, point.sum) == (TIMED, 1, 2.5)
    tokens = {a[sc.TOKEN_TYPE]: (a, p.sum) for a, p in pipe.points(sc.METRIC_TOKEN_USAGE)}
    assert tokens == {
        "input": ({**TIMED, sc.TOKEN_TYPE: "input"}, 7),
        "output": ({**TIMED, sc.TOKEN_TYPE: "output"}, 3),
    }
    assert pipe.points(sc.METRIC_TIME_TO_FIRST_CHUNK) == []
    assert sc.RESPONSE_TIME_TO_FIRST_CHUNK not in pipe.one_span().attributes


def stream(pipe: Pipeline, clock: Clock, gaps: list[float]) -> None:
    """A streamed call: 0.5 s to the first chunk, then one chunk after each gap."""
    inv = start(pipe, chat(stream=True))
    clock.now += 0.5
    inv.chunk()
    for gap in gaps:
        clock.now += gap
        inv.chunk()
    pipe.recorder.end(inv, GenAIResponse())


def test_one_chunk_stream_has_time_to_first_chunk_and_no_time_per_chunk(pipe, clock, reports):
    stream(pipe, clock, [])
    assert reports == {}  # nothing failed on the way (no division by zero chunks)
    assert [(a, p.sum) for a, p in pipe.points(sc.METRIC_TIME_TO_FIRST_CHUNK)] == [(TIMED, 0.5)]
    assert pipe.points(sc.METRIC_TIME_PER_OUTPUT_CHUNK) == []
    assert pipe.one_span().attributes[sc.RESPONSE_TIME_TO_FIRST_CHUNK] == 0.5


def test_two_chunk_stream_has_one_time_per_chunk_of_the_gap(pipe, clock):
    stream(pipe, clock, [0.25])
    assert [(a, p.count, p.sum) for a, p in pipe.points(sc.METRIC_TIME_PER_OUTPUT_CHUNK)] == [(TIMED, 1, 0.25)]


def test_time_per_chunk_is_the_mean_gap_after_the_first(pipe, clock):
    stream(pipe, clock, [0.25, 0.75])
    assert [(a, p.sum) for a, p in pipe.points(sc.METRIC_TIME_PER_OUTPUT_CHUNK)] == [(TIMED, 0.5)]


def test_failed_stream_metrics_carry_the_error_type(pipe, clock):
    inv = start(pipe, chat(stream=True))
    clock.now += 0.5
    inv.chunk()
    clock.now += 0.5
    inv.chunk()
    pipe.recorder.fail(inv, ConnectionResetError("cut"))
    expected = {**TIMED, sc.ERROR_TYPE: "ConnectionResetError"}
    assert [a for a, _ in pipe.points(sc.METRIC_TIME_TO_FIRST_CHUNK)] == [expected]
    assert [a for a, _ in pipe.points(sc.METRIC_TIME_PER_OUTPUT_CHUNK)] == [expected]


# --- metric and telemetry metadata --------------------------------------------------------------------------------


def test_instruments_carry_their_units_descriptions_and_bucket_advice(pipe, clock):
    stream(pipe, clock, [0.25])
    call(pipe, GenAIRequest(operation="text_to_speech", provider="elevenlabs", model="eleven_multilingual_v2"),
         GenAIResponse(usage=Usage(characters=10)))
    call(pipe, chat(), GenAIResponse(usage=Usage(input_tokens=1, output_tokens=1)))
    found = pipe.metrics()
    assert {name: (metric.unit, metric.description) for name, (_, metric) in found.items()} == {
        sc.METRIC_DURATION: ("s", "GenAI operation duration."),
        sc.METRIC_TOKEN_USAGE: ("{token}", "Number of input and output tokens used."),
        sc.METRIC_TIME_TO_FIRST_CHUNK: ("s", "Time to receive the first chunk of a stream."),
        sc.METRIC_TIME_PER_OUTPUT_CHUNK: ("s", "Time between chunks of a stream, after the first."),
        sc.METRIC_COST: ("{USD}", "Cost of GenAI calls in US dollars, from the pricing catalog."),
        sc.METRIC_REQUESTS: ("{request}", "GenAI calls by outcome and error category."),
        sc.METRIC_CHARACTERS: ("{character}", "Characters sent to speech synthesis."),
    }
    seconds = tuple(float(b) for b in sc.SECONDS_BUCKETS)
    tokens = tuple(float(b) for b in sc.TOKEN_BUCKETS)
    for name, bounds in [(sc.METRIC_DURATION, seconds), (sc.METRIC_TIME_TO_FIRST_CHUNK, seconds),
                         (sc.METRIC_TIME_PER_OUTPUT_CHUNK, seconds), (sc.METRIC_TOKEN_USAGE, tokens)]:
        for _, point in pipe.points(name):
            assert tuple(point.explicit_bounds) == bounds, name
    scopes = {(scope.name, scope.version, scope.schema_url) for scope, _ in found.values()}
    assert scopes == {("otel_ai", otel_ai.__version__, "https://opentelemetry.io/schemas/1.37.0")}


def test_spans_and_events_carry_the_agents_instrumentation_scope():
    pipe = make_pipeline(ContentMode.SPAN_AND_EVENT)
    call(pipe, chat(input_messages=[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]))
    expected = ("otel_ai", otel_ai.__version__, "https://opentelemetry.io/schemas/1.37.0")
    scope = pipe.one_span().instrumentation_scope
    assert (scope.name, scope.version, scope.schema_url) == expected
    [log] = pipe.logs()
    scope = log.instrumentation_scope
    assert (scope.name, scope.version, scope.schema_url) == expected


# --- content ----------------------------------------------------------------------------------------------------------


USER = [{"role": "user", "parts": [{"type": "text", "content": "Grüße aus Köln, 東京"}]}]


def test_content_keeps_non_ascii_text_and_stringifies_other_values():
    pipe = make_pipeline(ContentMode.SPAN_ONLY)
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    output = [{"role": "assistant", "parts": [{"type": "text", "content": "ok"}], "at": when}]
    call(pipe, chat(input_messages=USER), GenAIResponse(output_messages=output))
    attrs = pipe.one_span().attributes
    assert attrs[sc.INPUT_MESSAGES] == json.dumps(USER, ensure_ascii=False)
    assert "Grüße aus Köln, 東京" in attrs[sc.INPUT_MESSAGES]
    assert json.loads(attrs[sc.OUTPUT_MESSAGES])[0]["at"] == str(when)


def test_content_without_output_messages_has_no_output_attribute():
    pipe = make_pipeline(ContentMode.SPAN_ONLY)
    call(pipe, chat(input_messages=USER), GenAIResponse(output_messages=None))
    pipe.recorder.fail(start(pipe, chat(input_messages=USER)), TimeoutError())
    for span in pipe.spans():
        assert json.loads(span.attributes[sc.INPUT_MESSAGES]) == USER
        assert sc.OUTPUT_MESSAGES not in span.attributes


def test_event_is_emitted_even_when_the_span_is_sampled_out():
    pipe = make_pipeline(ContentMode.EVENT_ONLY, sampler=ALWAYS_OFF)
    call(pipe, chat(input_messages=USER), GenAIResponse(usage=Usage(input_tokens=2)))
    assert pipe.spans() == []
    [log] = pipe.logs()
    assert log.log_record.event_name == sc.DETAILS_EVENT
    assert _plain(log.log_record.attributes[sc.INPUT_MESSAGES]) == USER
    assert log.log_record.attributes[sc.USAGE_INPUT_TOKENS] == 2


def _plain(value: Any) -> Any:
    """A structured attribute as the SDK keeps it (sequences as tuples) in plain JSON terms; a string stays one."""
    assert not isinstance(value, str), f"a JSON string, not a structured value: {value[:80]}"
    return json.loads(json.dumps(value))


def test_the_event_carries_the_spans_content_as_structured_values_at_debug():
    """On spans the content attributes are JSON strings; on the details event the same documents are AnyValue maps
    and arrays (the conventions' MUST for events), the event has no body and its severity is DEBUG."""
    pipe = make_pipeline(ContentMode.SPAN_AND_EVENT)
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    output = [{"role": "assistant", "parts": [{"type": "text", "content": "ok"}], "at": when, "n": 7}]
    tools = [{"type": "function", "name": "f", "parameters": {"type": "object", "required": ["city"]}}]
    system = [{"type": "text", "content": "be terse"}]
    call(pipe, chat(input_messages=USER, system_instructions=system, tool_definitions=tools),
         GenAIResponse(output_messages=output))
    span = pipe.one_span().attributes
    [log] = pipe.logs()
    record = log.log_record
    names = (sc.INPUT_MESSAGES, sc.OUTPUT_MESSAGES, sc.SYSTEM_INSTRUCTIONS, sc.TOOL_DEFINITIONS)
    for name in names:
        assert isinstance(span[name], str)
        assert _plain(record.attributes[name]) == json.loads(span[name]), name
    assert _plain(record.attributes[sc.OUTPUT_MESSAGES])[0]["at"] == str(when)  # stringified as on the span
    assert record.attributes[sc.OUTPUT_MESSAGES][0]["n"] == 7
    assert record.attributes[sc.INPUT_MESSAGES][0]["parts"][0]["content"] == "Grüße aus Köln, 東京"
    assert record.body is None
    assert record.severity_number is SeverityNumber.DEBUG and record.severity_text == "DEBUG"
    assert record.attributes["gen_ai.operation.name"] == "chat"
    assert record.trace_id == pipe.one_span().context.trace_id


# --- the in-process sums behind the cost, request and character counters --------------------------------------------


def observed(sums: sums_module.Sums) -> list[tuple[dict[str, Any], float]]:
    return sorted(((dict(o.attributes or {}), o.value) for o in sums.observe(None)),  # type: ignore[arg-type]
                  key=lambda item: sorted(item[0].items()))


def test_sums_add_up_per_attribute_set():
    sums = sums_module.Sums()
    sums.add(1, {"a": "x"})
    sums.add(2, {"a": "x"})
    sums.add(5, {"a": "y"})
    assert observed(sums) == [({"a": "x"}, 3), ({"a": "y"}, 5)]


def test_sums_merge_one_set_built_in_two_key_orders():
    sums = sums_module.Sums()
    sums.add(1, {"a": 1, "b": 2})
    sums.add(2, {"b": 2, "a": 1})
    assert observed(sums) == [({"a": 1, "b": 2}, 3)]


def test_sums_fold_sets_beyond_the_series_limit_into_the_overflow_series():
    sums = sums_module.Sums()
    limit = sums_module._MAX_SERIES
    for i in range(limit):
        sums.add(1, {"i": i})
    sums.add(5, {"i": limit})
    sums.add(7, {"i": limit + 1})
    sums.add(1, {"i": 0})  # known sets keep counting in their own series
    result = dict((tuple(sorted(a.items())), v) for a, v in observed(sums))
    assert len(result) == limit + 1
    assert result[(("otel.metric.overflow", True),)] == 12
    assert result[(("i", 0),)] == 2


class RecordingMeter:
    """Just enough of a Meter for `sums_for`: notes every observable counter registered."""

    def __init__(self) -> None:
        self.registered: list[tuple[str, str, str]] = []

    def create_observable_counter(self, name: str, callbacks: Any, unit: str, description: str) -> None:
        self.registered.append((name, unit, description))


class SlottedMeter:
    """The same, for a meter that cannot be weakly referenced (no __weakref__ slot)."""

    __slots__ = ("registered",)

    def __init__(self) -> None:
        self.registered: list[tuple[str, str, str]] = []

    def create_observable_counter(self, name: str, callbacks: Any, unit: str, description: str) -> None:
        self.registered.append((name, unit, description))


@pytest.mark.parametrize("meter_class", [RecordingMeter, SlottedMeter])
def test_sums_for_registers_each_counter_once_per_meter(meter_class):
    first, second = meter_class(), meter_class()
    cost = sums_module.sums_for(first, "cost", "{USD}", "Cost.")
    assert sums_module.sums_for(first, "cost", "{USD}", "Cost.") is cost
    requests = sums_module.sums_for(first, "requests", "{request}", "Calls.")
    other = sums_module.sums_for(second, "cost", "{USD}", "Cost.")
    assert len({id(cost), id(requests), id(other)}) == 3
    assert first.registered == [("cost", "{USD}", "Cost."), ("requests", "{request}", "Calls.")]
    assert second.registered == [("cost", "{USD}", "Cost.")]


def test_a_new_meter_gets_its_own_counter_after_an_old_one_is_collected():
    # The store is keyed weakly by meter: a collected meter's sums go with it, so a new meter (which
    # CPython often places at the same address) still registers its own counter.
    for _ in range(20):
        meter = RecordingMeter()
        sums_module.sums_for(meter, "cost", "{USD}", "Cost.")
        assert meter.registered == [("cost", "{USD}", "Cost.")]
        del meter


# --- OTEL_AI_GC_FREEZE -----------------------------------------------------------------------------------------------


class FakeGC:
    def __init__(self) -> None:
        self.freezes = 0

    def freeze(self) -> None:
        self.freezes += 1

    def get_freeze_count(self) -> int:
        return 0


@pytest.mark.parametrize(("enabled", "expected"), [(True, 1), (False, 0)])
def test_gc_freeze_happens_once_after_the_first_call_only_when_enabled(monkeypatch, enabled, expected):
    # OTEL_AI_GC_FREEZE is a set-up concern: the runtime's recorder factory hooks it on the seam.
    from otel_ai.genai import hooks
    from otel_ai.runtime import gc_freeze, state

    fake = FakeGC()
    monkeypatch.setattr(gc_freeze, "gc", fake)
    monkeypatch.setenv("OTEL_AI_GC_FREEZE", "true" if enabled else "false")
    state.reset()
    try:
        recorder = state.recorder(TracerProvider(), MeterProvider())
        first = recorder.start(chat())
        assert first is not None and fake.freezes == 0
        recorder.end(first, None)
        assert fake.freezes == expected
        for _ in range(2):
            later = recorder.start(chat())
            assert later is not None
            recorder.end(later, None)
        assert fake.freezes == expected
        assert gc_freeze._freeze not in hooks.SEAM.listeners  # left the seam: later calls pay nothing
    finally:
        hooks.unsubscribe(gc_freeze._freeze)
        state.reset()


def test_repeated_calls_of_one_shape_add_up_in_their_counters(pipe, monkeypatch):
    # Each shape looks its counter cells up once (the per-shape cells of `genai.sums`), then adds.
    looked_up: list[dict[str, Any]] = []
    original_cell = sums_module.Sums.cell

    def counting_cell(self: sums_module.Sums, attributes: Any) -> Any:
        looked_up.append(dict(attributes))
        return original_cell(self, attributes)

    monkeypatch.setattr(sums_module.Sums, "cell", counting_cell)
    speech = GenAIRequest(operation="text_to_speech", provider="elevenlabs", model="eleven_multilingual_v2")
    for _ in range(3):
        call(pipe, speech, GenAIResponse(usage=Usage(characters=100)))
    assert len(looked_up) == 3  # requests (ok), characters, cost: once each for three calls
    call(pipe, chat("my-private-model"), GenAIResponse(usage=Usage(input_tokens=1)))  # unpriced: no cost series
    one = CATALOG.character_cost("eleven_multilingual_v2", 100)
    assert one is not None
    counted = {sc.OPERATION: "text_to_speech", sc.PROVIDER: "elevenlabs", sc.REQUEST_MODEL: "eleven_multilingual_v2"}
    assert [(a, p.value) for a, p in pipe.points(sc.METRIC_CHARACTERS)] == [(counted, 300)]
    assert [(a, p.value) for a, p in pipe.points(sc.METRIC_COST)] == [
        (counted, one.total_usd + one.total_usd + one.total_usd)
    ]
    requests = {a[sc.REQUEST_MODEL]: (a, p.value) for a, p in pipe.points(sc.METRIC_REQUESTS)}
    assert requests == {
        "eleven_multilingual_v2": ({**counted, sc.OUTCOME: "ok"}, 3),
        "my-private-model": ({**COUNTED, sc.REQUEST_MODEL: "my-private-model", sc.OUTCOME: "ok"}, 1),
    }


def test_the_call_scope_carries_the_task_conversation_and_user_with_or_without_a_call_in_flight() -> None:
    """What the budget gate is asked about: from the call in flight, else from the caller's context."""
    from otel_ai.genai import hooks
    from otel_ai.genai.model import GenAIRequest
    from otel_ai.genai.recorder import GenAIRecorder, call_scope
    from otel_ai.work.conversation import conversation

    request = GenAIRequest(operation="chat", provider="openai", model="gpt-4o-mini")
    recorder = GenAIRecorder(None, tracer_provider=TracerProvider())
    assert call_scope(request, None) == hooks.CallScope("openai", "chat", "gpt-4o-mini", None, None, None)
    with otel_ai.task("triage"), conversation(id="c-9", user="zoe"):
        outside = call_scope(request, None)
        inv = recorder.start(request)
    assert inv is not None
    assert outside == hooks.CallScope("openai", "chat", "gpt-4o-mini", "triage", "c-9", "zoe")
    assert call_scope(request, inv) == outside  # read from the call, wherever it ends
    recorder.end(inv, None)
