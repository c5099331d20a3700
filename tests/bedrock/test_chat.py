"""Bedrock `converse` and `invoke_model`: the real boto3 client over real HTTP against the simulator."""

from __future__ import annotations

import json

import pytest
from inline_snapshot import snapshot

from otel_ai.testing.bedrock_simulator import DEFAULT_REPLY
from tests.bedrock.conftest import NOVA, SONNET, bedrock_span, make_client, scenario, user
from tests.conftest import Telemetry
from tests.support.snapshots import span_snapshot

MESSAGES = [user("Hello the simulator")]  # 3 input tokens
OUTPUT = len(DEFAULT_REPLY.split())  # 5 output tokens
SONNET_IN, SONNET_OUT, SONNET_READ = 3.3, 16.5, 0.33  # USD per MTok, regional endpoint (pricing/data/bedrock.json)


def _count(telemetry: Telemetry, metric: str) -> int:
    return sum(point.count for _, point in telemetry.points(metric))


def test_converse_records_the_whole_span(client, br, bedrock_sim):
    result = client.converse(
        modelId=SONNET, messages=MESSAGES,
        inferenceConfig={"maxTokens": 64, "temperature": 0.3, "topP": 0.9, "stopSequences": ["END"]},
        additionalModelRequestFields={"top_k": 40},
    )
    span = bedrock_span(br)
    assert span_snapshot(span, known={
        "server.port": bedrock_sim.port,
        "gen_ai.response.id": result["ResponseMetadata"]["RequestId"],
        "otel_ai.cost.usd": pytest.approx((3 * SONNET_IN + OUTPUT * SONNET_OUT) / 1e6),
        "otel_ai.cost.input_usd": pytest.approx(3 * SONNET_IN / 1e6),
        "otel_ai.cost.output_usd": pytest.approx(OUTPUT * SONNET_OUT / 1e6),
    }) == snapshot({
        "name": "chat anthropic.claude-sonnet-4-5-20250929-v1:0",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "aws.bedrock",
            "gen_ai.request.max_tokens": 64,
            "gen_ai.request.model": "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "gen_ai.request.stop_sequences": ["END"],
            "gen_ai.request.temperature": 0.3,
            "gen_ai.request.top_k": 40,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.response.finish_reasons": ["end_turn"],
            "gen_ai.response.id": "<gen_ai.response.id>",
            "gen_ai.usage.input_tokens": 3,
            "gen_ai.usage.output_tokens": 5,
            "otel_ai.cost.input_usd": "<otel_ai.cost.input_usd>",
            "otel_ai.cost.output_usd": "<otel_ai.cost.output_usd>",
            "otel_ai.cost.usd": "<otel_ai.cost.usd>",
            "otel_ai.pricing.catalog_date": "2026-11-22",
            "otel_ai.pricing.source": "catalog",
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })
    assert result["output"]["message"]["content"] == [{"text": DEFAULT_REPLY}]  # the caller's result is untouched
    assert _count(br, "gen_ai.client.operation.duration") == 1
    assert _count(br, "gen_ai.client.token.usage") == 2


def test_a_region_prefixed_inference_profile_is_priced_as_its_model(client, br):
    client.converse(modelId="us." + SONNET, messages=MESSAGES)
    attrs = bedrock_span(br).attributes
    assert attrs["gen_ai.request.model"] == "us." + SONNET
    assert attrs["otel_ai.cost.usd"] == pytest.approx((3 * SONNET_IN + OUTPUT * SONNET_OUT) / 1e6)


def test_the_global_inference_profile_is_priced_below_the_regional_one(client, br):
    """Sonnet 4.5's global profile is about 10% cheaper than in-region and geographic profiles."""
    client.converse(modelId="global." + SONNET, messages=MESSAGES)
    attrs = bedrock_span(br).attributes
    assert attrs["gen_ai.request.model"] == "global." + SONNET
    assert attrs["otel_ai.cost.usd"] == pytest.approx((3 * 3.0 + OUTPUT * 15.0) / 1e6)


def test_cache_reads_count_as_input_and_are_priced_apart(client, br):
    undo = scenario(client, "cached")
    try:
        result = client.converse(modelId=SONNET, messages=MESSAGES)
    finally:
        undo()
    usage = result["usage"]
    read = usage["cacheReadInputTokens"]
    attrs = bedrock_span(br).attributes
    assert attrs["gen_ai.usage.input_tokens"] == usage["inputTokens"] + read == 4
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == read == 1
    assert attrs["otel_ai.cost.usd"] == pytest.approx((3 * SONNET_IN + read * SONNET_READ + OUTPUT * SONNET_OUT) / 1e6)


def test_stop_reasons_are_kept_as_bedrock_sends_them(client, br):
    undo = scenario(client, "max_tokens")
    try:
        client.converse(modelId=NOVA, messages=MESSAGES)
    finally:
        undo()
    assert bedrock_span(br).attributes["gen_ai.response.finish_reasons"] == ("max_tokens",)


# family, model id, request body, (max tokens, temperature) attributes expected, finish reason
FAMILIES = [
    ("anthropic", SONNET, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "temperature": 0.2,
                           "messages": [{"role": "user", "content": "Hello the simulator"}]}, "end_turn"),
    ("meta", "meta.llama3-3-70b-instruct-v1:0", {"prompt": "Hello the simulator", "max_gen_len": 64,
                                                 "temperature": 0.2}, "stop"),
    ("mistral", "mistral.mistral-large-2407-v1:0", {"prompt": "Hello the simulator", "max_tokens": 64,
                                                    "temperature": 0.2}, "stop"),
    ("amazon", NOVA, {"messages": [user("Hello the simulator")],
                      "inferenceConfig": {"max_new_tokens": 64, "temperature": 0.2}}, "end_turn"),
    ("cohere", "cohere.command-r-plus-v1:0", {"message": "Hello the simulator", "max_tokens": 64,
                                              "temperature": 0.2}, "COMPLETE"),
]
PRICES = {SONNET: (3.3, 16.5), "meta.llama3-3-70b-instruct-v1:0": (0.72, 0.72),
          "mistral.mistral-large-2407-v1:0": (2.0, 6.0), NOVA: (0.8, 3.2), "cohere.command-r-plus-v1:0": (3.0, 15.0)}


@pytest.mark.parametrize(("family", "model", "body", "reason"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_invoke_model_reads_each_family(client, br, family, model, body, reason):
    result = client.invoke_model(modelId=model, body=json.dumps(body))
    answer = json.loads(result["body"].read())  # the caller still reads the whole body
    assert DEFAULT_REPLY in json.dumps(answer)
    attrs = bedrock_span(br).attributes
    assert attrs["gen_ai.request.model"] == model
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.response.finish_reasons"] == (reason,)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, OUTPUT)
    price_in, price_out = PRICES[model]
    assert attrs["otel_ai.cost.usd"] == pytest.approx((3 * price_in + OUTPUT * price_out) / 1e6)
    assert "gen_ai.request.stream" not in attrs


def test_other_services_and_operations_are_left_alone(bedrock_sim, br):
    import boto3

    other = boto3.client("sts", aws_access_key_id="AKIAZ7QEXAMPLE4TESTS", aws_secret_access_key="x" * 40,
                         endpoint_url=bedrock_sim.url, region_name="us-east-1")
    with pytest.raises(Exception):  # noqa: B017 - the simulator is no STS: any answer will do
        other.get_caller_identity()
    assert br.genai_spans() == []


def test_uninstrument_removes_the_wrapper(bedrock_sim, br):
    from otel_ai.instrumentation.bedrock import BedrockInstrumentor

    BedrockInstrumentor().uninstrument()
    make_client(bedrock_sim).converse(modelId=NOVA, messages=MESSAGES)
    assert br.genai_spans() == []
    BedrockInstrumentor().instrument(**br.providers)
    make_client(bedrock_sim).converse(modelId=NOVA, messages=MESSAGES)
    assert len(br.genai_spans()) == 1
