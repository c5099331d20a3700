"""The response's service tier on the duration and token metrics, where the conventions recommend it.

OpenAI's page of the conventions adds `openai.response.service_tier` to `gen_ai.client.operation.duration`
and `gen_ai.client.token.usage` (genai_registry.json, `provider_metrics`); Anthropic's tier
(`anthropic.response.service_tier`, the name of the anthropic SDK's own spans) goes the same way. Not on the
chunk timings, whose definition lists no provider attribute. The tier is part of the cached call shape, so a
call builds no attribute set for it.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIResponse, Usage
from otel_ai.genai.recorder import GenAIRecorder
from tests.conftest import Telemetry
from tests.test_recorder import CATALOG, TIMED, chat

MESSAGES = [{"role": "user", "content": "Say hello to the service tier"}]
TIER = "openai.response.service_tier"


def test_openai_duration_and_tokens_carry_the_response_service_tier(client: Any, telemetry: Telemetry) -> None:
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert answer.service_tier  # the simulator answers with one, as the API does
    [span] = telemetry.genai_spans()
    assert span.attributes[TIER] == answer.service_tier
    [(duration, _)] = telemetry.points("gen_ai.client.operation.duration")
    assert duration[TIER] == answer.service_tier
    tokens = telemetry.points("gen_ai.client.token.usage")
    assert {labels["gen_ai.token.type"]: labels[TIER] for labels, _ in tokens} == {
        "input": answer.service_tier, "output": answer.service_tier}


def test_a_stream_has_the_tier_on_its_duration_and_not_on_its_chunk_timings(client: Any, telemetry: Telemetry) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                                 stream_options={"include_usage": True}))
    tier = chunks[0].service_tier
    assert tier
    [(duration, _)] = telemetry.points("gen_ai.client.operation.duration")
    assert duration[TIER] == tier
    for name in ("gen_ai.client.operation.time_to_first_chunk", "gen_ai.client.operation.time_per_output_chunk"):
        [(labels, _)] = telemetry.points(name)
        assert TIER not in labels, name


def points(reader: InMemoryMetricReader, name: str) -> list[dict[str, Any]]:
    data = reader.get_metrics_data()
    return [dict(p.attributes or {}) for rm in (data.resource_metrics if data else ()) for sm in rm.scope_metrics
            for m in sm.metrics if m.name == name for p in m.data.data_points]


def test_anthropic_tier_a_failed_call_and_the_shape_cache() -> None:
    reader = InMemoryMetricReader()
    made = GenAIRecorder(CATALOG, tracer_provider=TracerProvider(),
                         meter_provider=MeterProvider(metric_readers=[reader]))
    usage = Usage(input_tokens=3, output_tokens=2)
    anthropic = chat("claude-sonnet-4-6", provider="anthropic")
    for _ in range(2):
        inv = made.start(anthropic)
        assert inv is not None
        made.end(inv, GenAIResponse(usage=usage, attributes={sc.ANTHROPIC_RESPONSE_SERVICE_TIER: "priority"}))
    assert len(made._shapes) == 1  # the tier is in the shape: the second call reused the first one's sets
    inv = made.start(anthropic)
    assert inv is not None
    made.fail(inv, TimeoutError("late"), GenAIResponse(attributes={sc.ANTHROPIC_RESPONSE_SERVICE_TIER: "batch"}))
    assert len(made._shapes) == 2
    base = {**TIMED, sc.PROVIDER: "anthropic", sc.REQUEST_MODEL: "claude-sonnet-4-6"}
    assert sorted(points(reader, sc.METRIC_DURATION), key=len) == [
        {**base, sc.ANTHROPIC_RESPONSE_SERVICE_TIER: "priority"},
        {**base, sc.ANTHROPIC_RESPONSE_SERVICE_TIER: "batch", sc.ERROR_TYPE: "TimeoutError"},
    ]
    assert {labels[sc.TOKEN_TYPE]: labels[sc.ANTHROPIC_RESPONSE_SERVICE_TIER]
            for labels in points(reader, sc.METRIC_TOKEN_USAGE)} == {"input": "priority", "output": "priority"}
    # The cost and call counters stay low-cardinality: no tier.
    assert all(sc.ANTHROPIC_RESPONSE_SERVICE_TIER not in labels for labels in points(reader, sc.METRIC_REQUESTS))


def test_no_tier_no_attribute() -> None:
    reader = InMemoryMetricReader()
    made = GenAIRecorder(CATALOG, tracer_provider=TracerProvider(),
                         meter_provider=MeterProvider(metric_readers=[reader]))
    inv = made.start(chat())
    assert inv is not None
    made.end(inv, GenAIResponse(usage=Usage(input_tokens=1), attributes={TIER: ""}))  # empty: not a tier
    assert points(reader, sc.METRIC_DURATION) == [TIMED]
