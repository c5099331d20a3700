"""Mistral chat and embeddings: the real `mistralai` client over real HTTP against the Mistral simulator."""

from __future__ import annotations

import pytest
from inline_snapshot import snapshot

from otel_ai.testing.mistral_simulator import DEFAULT_REPLY, EMBEDDING_DIMENSIONS
from tests.conftest import Telemetry
from tests.mistral.conftest import KEY, mistral_span, mistralai, scenario
from tests.support.snapshots import span_snapshot

MESSAGES = [{"role": "user", "content": "Bonjour the simulator"}]  # 3 input tokens
OUTPUT = len(DEFAULT_REPLY.split())  # 5 output tokens
SMALL_IN, SMALL_OUT = 0.15, 0.6  # mistral-small-latest = Small 4, USD per MTok (pricing/data/mistral.json)


def _count(telemetry: Telemetry, metric: str) -> int:
    return sum(point.count for _, point in telemetry.points(metric))


def test_complete_records_the_whole_span(client, mi, mistral_sim):
    result = client.chat.complete(
        model="mistral-small-latest", messages=MESSAGES, temperature=0.3, top_p=0.9, max_tokens=64, random_seed=7,
        top_k=40, presence_penalty=0.1, frequency_penalty=0.2, stop=["END"], response_format={"type": "json_object"},
    )
    span = mistral_span(mi)
    assert span_snapshot(span, known={
        "server.port": mistral_sim.port,
        "gen_ai.response.id": result.id,
        "otel_ai.cost.usd": pytest.approx((3 * SMALL_IN + OUTPUT * SMALL_OUT) / 1e6),
        "otel_ai.cost.input_usd": pytest.approx(3 * SMALL_IN / 1e6),
        "otel_ai.cost.output_usd": pytest.approx(OUTPUT * SMALL_OUT / 1e6),
    }) == snapshot({
        "name": "chat mistral-small-latest",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.output.type": "json",
            "gen_ai.provider.name": "mistral_ai",
            "gen_ai.request.frequency_penalty": 0.2,
            "gen_ai.request.max_tokens": 64,
            "gen_ai.request.model": "mistral-small-latest",
            "gen_ai.request.presence_penalty": 0.1,
            "gen_ai.request.seed": 7,
            "gen_ai.request.stop_sequences": ["END"],
            "gen_ai.request.temperature": 0.3,
            "gen_ai.request.top_k": 40,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.response.id": "<gen_ai.response.id>",
            "gen_ai.response.model": "mistral-small-latest",
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
    assert result.choices[0].message.content == DEFAULT_REPLY  # the caller's result is untouched
    assert mistral_sim.requests[-1].api_key == KEY


async def test_complete_async_records_the_same_span(client, mi):
    result = await client.chat.complete_async(model="mistral-small-latest", messages=MESSAGES, temperature=0.5)
    attrs = mistral_span(mi).attributes
    assert attrs["gen_ai.response.id"] == result.id
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, OUTPUT)
    assert attrs["gen_ai.request.temperature"] == 0.5
    assert attrs["otel_ai.cost.usd"] == pytest.approx((3 * SMALL_IN + OUTPUT * SMALL_OUT) / 1e6)
    assert "gen_ai.request.stream" not in attrs


def test_the_http_request_is_a_child_span(client, mi):
    client.chat.complete(model="mistral-small-latest", messages=MESSAGES)
    span = mistral_span(mi)
    children = [s for s in mi.http_spans() if s.parent is not None and s.parent.span_id == span.context.span_id]
    assert len(children) == 1  # httpx2, the client's transport, under the GenAI span


def test_metrics_are_recorded_once_per_call(client, mi):
    for _ in range(3):
        client.chat.complete(model="mistral-small-latest", messages=MESSAGES)
    assert _count(mi, "gen_ai.client.operation.duration") == 3
    tokens = {labels["gen_ai.token.type"]: point for labels, point in mi.points("gen_ai.client.token.usage")}
    assert (tokens["input"].sum, tokens["output"].sum) == (9, 3 * OUTPUT)
    [(labels, cost)] = mi.points("otel_ai.client.cost")
    assert cost.value == pytest.approx(3 * (3 * SMALL_IN + OUTPUT * SMALL_OUT) / 1e6)
    assert labels["gen_ai.provider.name"] == "mistral_ai"
    [(labels, requests)] = mi.points("otel_ai.client.requests")
    assert (requests.value, labels["otel_ai.outcome"]) == (3, "ok")


def test_cached_tokens_are_read_from_the_prompt_details(client, mi):
    client.chat.complete(model="mistral-small-latest", messages=MESSAGES, http_headers=scenario("cached"))
    attrs = mistral_span(mi).attributes
    assert attrs["gen_ai.usage.input_tokens"] == 3
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 1


@pytest.mark.parametrize(("name", "kwargs", "reason"), [
    ("tool_call", {}, "tool_calls"),
    ("model_length", {}, "model_length"),
    ("ok", {"max_tokens": 2}, "length"),
])
def test_finish_reasons_are_the_services(client, mi, name, kwargs, reason):
    client.chat.complete(model="mistral-small-latest", messages=MESSAGES, http_headers=scenario(name), **kwargs)
    assert mistral_span(mi).attributes["gen_ai.response.finish_reasons"] == (reason,)


def test_a_choice_count_and_every_finish_reason(client, mi):
    client.chat.complete(model="mistral-small-latest", messages=MESSAGES, n=2)
    attrs = mistral_span(mi).attributes
    assert attrs["gen_ai.request.choice.count"] == 2
    assert attrs["gen_ai.response.finish_reasons"] == ("stop", "stop")
    assert attrs["gen_ai.usage.output_tokens"] == 2 * OUTPUT


def test_a_per_call_server_url_names_the_server(mistral_sim, mi):
    client = mistralai.Mistral(api_key=KEY)  # the default server, overridden on the call
    client.chat.complete(model="mistral-small-latest", messages=MESSAGES, server_url=mistral_sim.base_url)
    attrs = mistral_span(mi).attributes
    assert (attrs["server.address"], attrs["server.port"]) == ("127.0.0.1", mistral_sim.port)


@pytest.mark.parametrize(("options", "host"), [({}, "api.mistral.ai"), ({"server": "eu"}, "api.eu.mistral.ai")])
def test_the_default_servers_are_named_without_a_call(mi, options, host):
    from otel_ai.instrumentation.mistral import _CHAT, MistralInstrumentor

    client = mistralai.Mistral(api_key=KEY, **options)
    request = MistralInstrumentor().describe(client.chat, {"model": "mistral-large-latest"}, _CHAT)
    assert (request.provider, request.server_address, request.server_port) == ("mistral_ai", host, 443)


def test_an_unknown_model_is_unpriced_not_guessed(client, mi):
    client.chat.complete(model="mistral-medium-latest", messages=MESSAGES)  # the alias moved: left unpriced
    attrs = mistral_span(mi).attributes
    assert attrs["otel_ai.pricing.source"] == "unknown"
    assert "otel_ai.cost.usd" not in attrs


# --------------------------------------------------------------------------------------------
# Embeddings
# --------------------------------------------------------------------------------------------


def test_embeddings_create(client, mi, mistral_sim):
    result = client.embeddings.create(model="mistral-embed", inputs=["one two", "three"], encoding_format="float")
    span = mistral_span(mi)
    assert span_snapshot(span, known={
        "server.port": mistral_sim.port,
        "gen_ai.response.id": result.id,
        "otel_ai.cost.usd": pytest.approx(3 * 0.1 / 1e6),
        "otel_ai.cost.input_usd": pytest.approx(3 * 0.1 / 1e6),
    }) == snapshot({
        "name": "embeddings mistral-embed",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.embeddings.dimension.count": 1024,
            "gen_ai.operation.name": "embeddings",
            "gen_ai.provider.name": "mistral_ai",
            "gen_ai.request.encoding_formats": ["float"],
            "gen_ai.request.model": "mistral-embed",
            "gen_ai.response.id": "<gen_ai.response.id>",
            "gen_ai.response.model": "mistral-embed",
            "gen_ai.usage.input_tokens": 3,
            "otel_ai.cost.input_usd": "<otel_ai.cost.input_usd>",
            "otel_ai.cost.output_usd": 0.0,
            "otel_ai.cost.usd": "<otel_ai.cost.usd>",
            "otel_ai.pricing.catalog_date": "2026-11-22",
            "otel_ai.pricing.source": "catalog",
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })
    assert len(result.data[0].embedding) == EMBEDDING_DIMENSIONS


async def test_embeddings_create_async_with_an_output_dimension(client, mi):
    await client.embeddings.create_async(model="codestral-embed", inputs="def f(): pass", output_dimension=256)
    attrs = mistral_span(mi).attributes
    assert attrs["gen_ai.embeddings.dimension.count"] == 256
    assert attrs["gen_ai.usage.input_tokens"] == 3
    assert attrs["otel_ai.cost.usd"] == pytest.approx(3 * 0.15 / 1e6)


def test_uninstrument_stops_recording(client, mi):
    from otel_ai.instrumentation.mistral import MistralInstrumentor

    MistralInstrumentor().uninstrument()
    client.chat.complete(model="mistral-small-latest", messages=MESSAGES)
    assert mi.genai_spans() == []
    MistralInstrumentor().instrument(**mi.providers)
    client.chat.complete(model="mistral-small-latest", messages=MESSAGES)
    assert len(mi.genai_spans()) == 1
