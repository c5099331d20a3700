"""Bedrock `converse_stream` / `invoke_model_with_response_stream`: AWS event-stream framing, one span end."""

from __future__ import annotations

import gc
import json

import pytest
from opentelemetry.trace import StatusCode

from otel_ai.testing.bedrock_simulator import DEFAULT_REPLY
from tests.bedrock.conftest import NOVA, SONNET, bedrock_span, scenario, user
from tests.conftest import Telemetry, exception_type_of

MESSAGES = [user("Hello the simulator")]  # 3 input tokens
WORDS = len(DEFAULT_REPLY.split())
NOVA_IN, NOVA_OUT = 0.8, 3.2


def _count(telemetry: Telemetry, metric: str) -> int:
    return sum(point.count for _, point in telemetry.points(metric))


def _ended_once(telemetry: Telemetry) -> None:
    assert len([s for s in telemetry.genai_spans() if s.attributes["gen_ai.provider.name"] == "aws.bedrock"]) == 1
    assert _count(telemetry, "gen_ai.client.operation.duration") == 1


def test_an_exhausted_converse_stream_records_usage_from_its_metadata_event(client, br):
    response = client.converse_stream(modelId=NOVA, messages=MESSAGES, inferenceConfig={"maxTokens": 50})
    events = list(response["stream"])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == DEFAULT_REPLY
    attrs = bedrock_span(br).attributes
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, WORDS)
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["gen_ai.response.id"] == response["ResponseMetadata"]["RequestId"]
    assert attrs["otel_ai.cost.usd"] == pytest.approx((3 * NOVA_IN + WORDS * NOVA_OUT) / 1e6)
    _ended_once(br)


def test_a_closed_stream_ends_the_span_once_with_what_was_read(client, br):
    stream = client.converse_stream(modelId=NOVA, messages=MESSAGES)["stream"]
    next(iter(stream))
    assert br.genai_spans() == []  # still open
    stream.close()
    stream.close()
    span = bedrock_span(br)
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.usage.input_tokens" not in span.attributes  # the metadata event never came
    _ended_once(br)


def test_break_then_collect_ends_the_span_once(client, br):
    response = client.converse_stream(modelId=NOVA, messages=MESSAGES)
    for _event in response["stream"]:
        break
    del response, _event
    gc.collect()
    bedrock_span(br)
    _ended_once(br)


def test_an_exception_event_mid_stream_fails_the_span(client, br):
    undo = scenario(client, "stream_error")
    try:
        stream = client.converse_stream(modelId=NOVA, messages=MESSAGES)["stream"]
        with pytest.raises(Exception) as caught:
            list(stream)
    finally:
        undo()
    assert type(caught.value).__name__ == "EventStreamError"
    span = bedrock_span(br)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span) == "botocore.exceptions.EventStreamError"
    assert span.attributes["otel_ai.error.code"] == "modelstreamerrorexception"
    assert span.attributes["otel_ai.error.category"] == "server_error"
    _ended_once(br)


def test_a_cut_stream_fails_the_span(client, br):
    undo = scenario(client, "cut_stream")
    try:
        stream = client.converse_stream(modelId=NOVA, messages=MESSAGES)["stream"]
        with pytest.raises(Exception):  # noqa: B017 - whatever urllib3/botocore raise for a cut body
            list(stream)
    finally:
        undo()
    assert bedrock_span(br).status.status_code is StatusCode.ERROR
    _ended_once(br)


def test_a_slow_stream_times_the_first_and_last_chunks(client, br):
    undo = scenario(client, "slow_stream", delay="0.05")
    try:
        list(client.converse_stream(modelId=NOVA, messages=MESSAGES)["stream"])
    finally:
        undo()
    span = bedrock_span(br)
    assert span.end_time - span.start_time >= 0.05 * (WORDS - 1) * 1e9
    _ended_once(br)


def test_a_converse_stream_tool_call(client, br):
    undo = scenario(client, "tool_call")
    try:
        list(client.converse_stream(modelId=NOVA, messages=MESSAGES)["stream"])
    finally:
        undo()
    assert bedrock_span(br).attributes["gen_ai.response.finish_reasons"] == ("tool_use",)


@pytest.mark.parametrize("model", [SONNET, "meta.llama3-3-70b-instruct-v1:0", "mistral.mistral-large-2407-v1:0",
                                   NOVA, "cohere.command-r-plus-v1:0"])
def test_invoke_stream_usage_comes_from_the_invocation_metrics(client, br, model):
    body = json.dumps({"prompt": "Hello the simulator"})
    response = client.invoke_model_with_response_stream(modelId=model, body=body)
    chunks = [json.loads(e["chunk"]["bytes"]) for e in response["body"]]
    assert "amazon-bedrock-invocationMetrics" in chunks[-1]
    attrs = bedrock_span(br).attributes
    assert attrs["gen_ai.request.stream"] is True
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, WORDS)
    assert attrs["gen_ai.response.finish_reasons"]
    _ended_once(br)


def test_a_closed_invoke_stream_ends_once(client, br):
    body = client.invoke_model_with_response_stream(modelId=SONNET, body=json.dumps({"prompt": "x"}))["body"]
    next(iter(body))
    body.close()
    bedrock_span(br)
    _ended_once(br)
