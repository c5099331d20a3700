"""Shared fixtures: a real OpenAI-compatible server and in-memory OpenTelemetry pipelines."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from otel_ai.runtime import state as _state  # noqa: E402
from tests.support.fake_openai import FakeOpenAI  # noqa: E402

API_KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123456789"


@pytest.fixture(scope="session")
def sim() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@dataclass
class Telemetry:
    spans_exporter: InMemorySpanExporter
    metric_reader: InMemoryMetricReader
    log_exporter: InMemoryLogRecordExporter
    providers: dict[str, Any]

    def reinstrument(self) -> None:
        """Re-read settings from the environment and instrument OpenAI again (same providers)."""
        from otel_ai.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().uninstrument()
        _state.reset()
        OpenAIInstrumentor().instrument(**self.providers)

    def spans(self) -> list[ReadableSpan]:
        return list(self.spans_exporter.get_finished_spans())

    def genai_spans(self) -> list[ReadableSpan]:
        return [s for s in self.spans() if (s.attributes or {}).get("gen_ai.operation.name")]

    def one_genai_span(self) -> ReadableSpan:
        spans = self.genai_spans()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def http_spans(self) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name in ("POST", "GET") or s.name.startswith("POST ")]

    def metric(self, name: str) -> Any:
        data = self.metric_reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        return metric
        return None

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        metric = self.metric(name)
        if metric is None:
            return []
        return [(dict(p.attributes or {}), p) for p in metric.data.data_points]

    def logs(self) -> list[Any]:
        return list(self.log_exporter.get_finished_logs())


@pytest.fixture
def content_mode() -> str:
    """Override in a test module (or parametrize) to turn on content capture."""
    return ""


@pytest.fixture
def telemetry(monkeypatch: pytest.MonkeyPatch, content_mode: str) -> Iterator[Telemetry]:
    """OpenAI + httpx/httpx2 instrumented into in-memory exporters; everything undone afterwards."""
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor

    from otel_ai.instrumentation.openai import OpenAIInstrumentor

    for var in list(os.environ):
        if var.startswith("OTEL_AI_") or var == "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT":
            monkeypatch.delenv(var)
    if content_mode:
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", content_mode)
    _state.reset()

    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))

    providers = {
        "tracer_provider": tracer_provider, "meter_provider": meter_provider, "logger_provider": logger_provider,
    }
    instrumentors = [OpenAIInstrumentor(), HTTPX2ClientInstrumentor(), HTTPXClientInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument(**providers)
    try:
        yield Telemetry(spans, reader, logs, providers)
    finally:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
        tracer_provider.shutdown()
        meter_provider.shutdown()
        logger_provider.shutdown()
        _state.reset()


@pytest.fixture
def client(sim: FakeOpenAI, telemetry: Telemetry) -> Iterator[Any]:
    import openai

    with openai.OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient(sim: FakeOpenAI, telemetry: Telemetry) -> Any:
    import openai

    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0) as c:
        yield c


def exception_type_of(span: ReadableSpan) -> str:
    """The `exception.type` the SDK wrote on the span's exception event (what `error.type` must equal)."""
    [event] = [e for e in span.events if e.name == "exception"]
    return str(event.attributes["exception.type"])


def scenario(name: str, **extra: str) -> dict[str, str]:
    """`extra_headers` choosing the simulator's behaviour for one request."""
    headers = {"x-simulator-scenario": name}
    headers.update({f"x-simulator-{k.replace('_', '-')}": v for k, v in extra.items()})
    return headers
