"""Metric attribute values are redacted: by the wrapped push exporter, and for pull readers."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from otel_ai.privacy.exporters import (
    RedactingMetricExporter,
    protect_metric_readers,
)
from otel_ai.privacy.redactor import Redactor


class _Capture(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        self.batches.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


def _labels(data: MetricsData) -> list[dict[str, Any]]:
    return [
        dict(point.attributes or {})
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        for point in metric.data.data_points
    ]


def test_metric_attribute_values_are_redacted_by_the_wrapped_exporter():
    inner = _Capture()
    reader = PeriodicExportingMetricReader(inner, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({}))
    assert protect_metric_readers(provider, Redactor()) == 1
    assert protect_metric_readers(provider, Redactor()) == 0  # never wrapped twice
    counter = provider.get_meter("m").create_counter("calls")
    counter.add(1, {"gen_ai.request.model": "ft:gpt-4o-mini:acme:jane@example.com", "n": 1})
    counter.add(1, {"gen_ai.request.model": "gpt-4o-mini"})
    reader.force_flush()
    labels = _labels(inner.batches[-1])
    models = sorted(str(label["gen_ai.request.model"]) for label in labels)
    assert models == ["ft:gpt-4o-mini:acme:[REDACTED:email]", "gpt-4o-mini"]
    assert "jane@example.com" not in inner.batches[-1].to_json()
    provider.shutdown()


def test_clean_metrics_pass_through_as_the_same_object():
    inner = _Capture()
    exporter = RedactingMetricExporter(inner, Redactor())
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("m").create_counter("calls").add(1, {"gen_ai.request.model": "gpt-4o-mini"})
    data = reader.get_metrics_data()
    assert data is not None
    exporter.export(data)
    assert inner.batches[-1] is data


def test_recorder_metric_labels_are_cleaned_for_pull_readers():
    """Prometheus reads metric attributes without an exporter: the recorder cleans them per shape."""
    from otel_ai.genai.model import GenAIRequest, GenAIResponse
    from otel_ai.genai.recorder import GenAIRecorder

    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    redactor = Redactor()
    recorder = GenAIRecorder(
        None, tracer_provider=TracerProvider(), meter_provider=meter_provider,
        clean=lambda value: redactor.redact_cached(value)[0],
    )
    inv = recorder.start(GenAIRequest(operation="chat", provider="openai", model="ft:x:jane@example.com"))
    assert inv is not None
    recorder.end(inv, GenAIResponse(model="ft:x:jane@example.com"))
    data = reader.get_metrics_data()
    assert data is not None
    assert "jane@example.com" not in data.to_json()
    assert "ft:x:[REDACTED:email]" in data.to_json()
