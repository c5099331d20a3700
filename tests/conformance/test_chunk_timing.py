"""`gen_ai.client.operation.time_per_output_chunk`: one value per stream (`mean`, the default) or one per chunk.

The conventions want one value per chunk after the first; an SDK histogram record costs several µs, over the
2 µs per chunk budget, so that is `OTEL_AI_CHUNK_TIMING=each` (docs/benchmarks.md, "Chunk timing").
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from otel_ai.genai import recorder as recorder_module
from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIResponse
from otel_ai.genai.recorder import GenAIRecorder
from otel_ai.runtime.settings import Settings
from tests.conftest import Telemetry, scenario
from tests.test_recorder import CATALOG, TIMED, Clock, chat

MESSAGES = [{"role": "user", "content": "Stream a short greeting for the tests"}]


def recorder(chunk_timing: str) -> tuple[GenAIRecorder, InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    made = GenAIRecorder(CATALOG, chunk_timing=chunk_timing, tracer_provider=TracerProvider(),
                         meter_provider=MeterProvider(metric_readers=[reader]))
    return made, reader


def per_chunk_points(reader: InMemoryMetricReader) -> list[tuple[dict[str, Any], Any]]:
    data = reader.get_metrics_data()
    return [(dict(p.attributes or {}), p) for rm in (data.resource_metrics if data else ())
            for sm in rm.scope_metrics for m in sm.metrics if m.name == sc.METRIC_TIME_PER_OUTPUT_CHUNK
            for p in m.data.data_points]


def stream(made: GenAIRecorder, clock: Clock, gaps: list[float], *, streaming: bool = True) -> None:
    """A call: 0.5 s to the first chunk, then one chunk after each gap."""
    inv = made.start(chat(stream=streaming))
    assert inv is not None
    clock.now += 0.5
    inv.chunk()
    for gap in gaps:
        clock.now += gap
        inv.chunk()
    made.end(inv, GenAIResponse())


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(recorder_module, "time", fake)
    return fake


def test_each_records_one_value_per_chunk_after_the_first(clock: Clock) -> None:
    made, reader = recorder("each")
    stream(made, clock, [0.25, 0.75, 0.5])
    [(attributes, point)] = per_chunk_points(reader)
    assert attributes == TIMED
    assert (point.count, point.sum, point.min, point.max) == (3, 1.5, 0.25, 0.75)


def test_mean_records_one_value_per_stream(clock: Clock) -> None:
    made, reader = recorder("mean")
    stream(made, clock, [0.25, 0.75, 0.5])
    [(_, point)] = per_chunk_points(reader)
    assert (point.count, point.sum) == (1, 0.5)


def test_each_keeps_no_gaps_for_a_call_that_does_not_stream(clock: Clock) -> None:
    made, reader = recorder("each")
    inv = made.start(chat())
    assert inv is not None and inv.gaps is None
    made.end(inv, GenAIResponse())
    stream(made, clock, [], streaming=True)  # one chunk: nothing after the first
    assert per_chunk_points(reader) == []


@pytest.mark.parametrize(("value", "expected", "problem"), [
    (None, "mean", False), ("each", "each", False), (" EACH ", "each", False), ("mean", "mean", False),
    ("every", "mean", True),
])
def test_the_setting_falls_back_to_mean_naming_the_variable(value: str | None, expected: str, problem: bool) -> None:
    settings = Settings.from_env({} if value is None else {"OTEL_AI_CHUNK_TIMING": value})
    assert settings.chunk_timing == expected
    lines = [line for line in settings.problems if "OTEL_AI_CHUNK_TIMING" in line]
    assert len(lines) == problem
    if problem:
        assert lines[0].endswith("using mean")


def test_each_over_the_real_client_records_one_value_per_output_chunk(
    client: Any, telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_AI_CHUNK_TIMING", "each")
    telemetry.reinstrument()
    delay = 0.05
    chunks = list(client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True},
        extra_headers=scenario("slow_stream", delay=str(delay))))
    output = [c for c in chunks if c.choices]  # the last chunk carries the usage only
    assert len(output) >= 3 and len(chunks) == len(output) + 1
    [(attributes, point)] = telemetry.points("gen_ai.client.operation.time_per_output_chunk")
    assert point.count == len(output) - 1  # each gap, not their mean (which is one value)
    # The simulator waits `delay` before each frame; two chunks read from one read come a gap near 0 apart.
    assert delay * 0.8 * (point.count - 1) <= point.sum <= delay * 20 * point.count
    assert point.min <= point.max and delay * 0.8 <= point.max <= delay * 20
    assert attributes["gen_ai.provider.name"] == "openai"
