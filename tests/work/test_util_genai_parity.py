"""Workflow, agent and tool spans and metrics match what opentelemetry-util-genai emits for the same work.

The same work runs once through our units and once through util-genai's `TelemetryHandler`, each into
its own in-memory providers; spans (name, kind, status, parent, every attribute but our `otel_ai.*`
extras) and the duration histograms (name, unit, description, buckets, point attributes) must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util.genai.handler import TelemetryHandler

import otel_ai
from tests.work.units_support import use_global_providers

HISTOGRAMS = ("gen_ai.invoke_workflow.duration", "gen_ai.invoke_agent.duration", "gen_ai.execute_tool.duration")


class Booking(Exception):
    pass


def ours_success() -> None:
    with otel_ai.workflow("trip"), otel_ai.agent("planner", model="gpt-4o", description="plans trips"):
        with otel_ai.tool("search", type="function", description="searches flights"):
            pass
        with pytest.raises(Booking), otel_ai.tool("book", type="function"):
            raise Booking("sold out")


def util_success(handler: TelemetryHandler) -> None:
    with handler.workflow("trip"), handler.invoke_local_agent(agent_name="planner", request_model="gpt-4o") as ag:
        ag.agent_description = "plans trips"
        with handler.tool("search", tool_type="function", agent_name="planner") as search:
            search.tool_description = "searches flights"
        with pytest.raises(Booking), handler.tool("book", tool_type="function", agent_name="planner"):
            raise Booking("sold out")


def ours_failure() -> None:
    @otel_ai.workflow("import")
    def run() -> None:
        with otel_ai.agent("loader"):
            raise KeyError("missing")

    with pytest.raises(KeyError):
        run()


def util_failure(handler: TelemetryHandler) -> None:
    with pytest.raises(KeyError), handler.workflow("import"), handler.invoke_local_agent(agent_name="loader"):
        raise KeyError("missing")


def util_run(work: Callable[[TelemetryHandler], None]) -> tuple[list[ReadableSpan], InMemoryMetricReader]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    work(TelemetryHandler(tracer_provider=tracer_provider, meter_provider=meter_provider))
    return list(exporter.get_finished_spans()), reader


def described(spans: list[ReadableSpan]) -> dict[str, dict[str, Any]]:
    """Per span name: kind, status, parent's name and the attributes the conventions define."""
    names = {s.context.span_id: s.name for s in spans}
    out: dict[str, dict[str, Any]] = {}
    for span in spans:
        assert span.name not in out, span.name
        out[span.name] = {
            "kind": span.kind,
            "status": span.status.status_code,
            "parent": names.get(span.parent.span_id) if span.parent else None,
            "attributes": {k: v for k, v in dict(span.attributes).items() if not k.startswith("otel_ai.")},
        }
    return out


def histograms(reader: InMemoryMetricReader) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name not in HISTOGRAMS:
                    continue
                points = metric.data.data_points
                out[metric.name] = {
                    "unit": metric.unit,
                    "description": metric.description,
                    "buckets": {tuple(p.explicit_bounds) for p in points},
                    "attributes": sorted((sorted(dict(p.attributes).items()) for p in points), key=str),
                    "count": sum(p.count for p in points),
                }
    return out


@pytest.mark.parametrize(
    ("ours", "theirs"), [(ours_success, util_success), (ours_failure, util_failure)], ids=["success", "failure"]
)
def test_spans_and_metrics_match_util_genai(
    telemetry: Any, monkeypatch: pytest.MonkeyPatch, ours: Callable[[], None],
    theirs: Callable[[TelemetryHandler], None],
) -> None:
    use_global_providers(telemetry, monkeypatch)
    ours()
    their_spans, their_reader = util_run(theirs)

    mine, expected = described(telemetry.spans()), described(their_spans)
    assert sorted(mine) == sorted(expected)
    for name in expected:
        assert mine[name]["kind"] == expected[name]["kind"], name
        assert mine[name]["status"] == expected[name]["status"], name
        assert mine[name]["parent"] == expected[name]["parent"], name
        for key in sorted(set(mine[name]["attributes"]) | set(expected[name]["attributes"])):
            assert mine[name]["attributes"].get(key) == expected[name]["attributes"].get(key), (name, key)

    my_metrics, their_metrics = histograms(telemetry.metric_reader), histograms(their_reader)
    assert set(their_metrics) and my_metrics.keys() == their_metrics.keys()
    for name, theirs_metric in their_metrics.items():
        assert my_metrics[name] == theirs_metric, name


def test_the_success_case_really_covers_every_kind_and_an_error() -> None:
    """Guards the parity test against comparing two empty sets."""
    their_spans, reader = util_run(util_success)
    described_spans = described(their_spans)
    assert set(described_spans) == {"invoke_workflow trip", "invoke_agent planner", "execute_tool search",
                                     "execute_tool book"}
    assert described_spans["execute_tool book"]["attributes"]["error.type"] == f"{__name__}.Booking"
    assert set(histograms(reader)) == set(HISTOGRAMS)
