"""The tracer and the duration histograms of units of work, from the current global providers.

Unit spans and metrics go to the global providers (as under `opentelemetry-instrument`), which an app
may replace after units were created: the pair is rebuilt only when those providers change.
"""

from __future__ import annotations

from typing import Final

from opentelemetry import metrics, trace
from opentelemetry.metrics import Histogram, MeterProvider
from opentelemetry.trace import Tracer, TracerProvider

from otel_ai.genai import semconv as sc

__all__ = ["Instruments", "telemetry"]

_SCOPE: Final = "otel_ai"
_SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.37.0"


class Instruments:
    """The conventions' duration histograms, with util-genai's names, units, descriptions and buckets."""

    __slots__ = ("agent", "tool", "workflow")

    def __init__(self, provider: MeterProvider) -> None:
        from otel_ai.version import __version__

        meter = metrics.get_meter(_SCOPE, __version__, provider, schema_url=_SCHEMA_URL)
        self.workflow: Histogram = meter.create_histogram(
            sc.METRIC_INVOKE_WORKFLOW_DURATION, unit="s", description="Measures the duration of a workflow execution.",
            explicit_bucket_boundaries_advisory=list(sc.WORKFLOW_SECONDS_BUCKETS),
        )
        self.agent: Histogram = meter.create_histogram(
            sc.METRIC_INVOKE_AGENT_DURATION, unit="s",
            description="Measures the duration of an in-process agent invocation.",
            explicit_bucket_boundaries_advisory=list(sc.AGENT_SECONDS_BUCKETS),
        )
        self.tool: Histogram = meter.create_histogram(
            sc.METRIC_EXECUTE_TOOL_DURATION, unit="s", description="Measures the duration of a tool execution.",
            explicit_bucket_boundaries_advisory=list(sc.SECONDS_BUCKETS),
        )


_telemetry_cache: tuple[TracerProvider, MeterProvider, Tracer, Instruments] | None = None


def telemetry() -> tuple[Tracer, Instruments]:
    """The tracer and instruments of the current global providers (rebuilt only when those change)."""
    global _telemetry_cache
    tracer_provider = trace.get_tracer_provider()
    meter_provider = metrics.get_meter_provider()
    cached = _telemetry_cache
    if cached is None or cached[0] is not tracer_provider or cached[1] is not meter_provider:
        from otel_ai.version import __version__

        tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider, schema_url=_SCHEMA_URL)
        cached = _telemetry_cache = (tracer_provider, meter_provider, tracer, Instruments(meter_provider))
    return cached[2], cached[3]
