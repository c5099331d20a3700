"""Cohere chat, embed and rerank: the real `cohere` client over real HTTP against the Cohere simulator."""

from __future__ import annotations

import pytest
from inline_snapshot import snapshot

from otel_ai.testing.cohere_simulator import DEFAULT_REPLY, EMBEDDING_DIMENSIONS, TEMPLATE_TOKENS
from tests.cohere.conftest import KEY, MESSAGES, cohere, cohere_span, scenario
from tests.conftest import Telemetry
from tests.support.snapshots import span_snapshot

OUTPUT = len(DEFAULT_REPLY.split())  # 5 output tokens
A_IN, A_OUT = 2.5, 10.0  # command-a-03-2025, USD per million tokens (pricing/data/cohere.json)
R_IN, R_OUT = 0.15, 0.6  # command-r-08-2024


def _count(telemetry: Telemetry, metric: str) -> int:
    return sum(point.count for _, point in telemetry.points(metric))


def test_chat_records_the_whole_span(client, co_tel, cohere_sim):
    result = client.chat(
        model="command-a-03-2025", messages=MESSAGES, temperature=0.3, p=0.9, k=40, max_tokens=64, seed=7,
        presence_penalty=0.1, frequency_penalty=0.2, stop_sequences=["END"], response_format={"type": "json_object"},
    )
    span = cohere_span(co_tel)
    assert span_snapshot(span, known={
        "server.port": cohere_sim.port,
        "gen_ai.response.id": result.id,
        "otel_ai.cost.usd": pytest.approx((3 * A_IN + OUTPUT * A_OUT) / 1e6),
        "otel_ai.cost.input_usd": pytest.approx(3 * A_IN / 1e6),
        "otel_ai.cost.output_usd": pytest.approx(OUTPUT * A_OUT / 1e6),
    }) == snapshot({
        "name": "chat command-a-03-2025",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.output.type": "json",
            "gen_ai.provider.name": "cohere",
            "gen_ai.request.frequency_penalty": 0.2,
            "gen_ai.request.max_tokens": 64,
            "gen_ai.request.model": "command-a-03-2025",
            "gen_ai.request.presence_penalty": 0.1,
            "gen_ai.request.seed": 7,
            "gen_ai.request.stop_sequences": ["END"],
            "gen_ai.request.temperature": 0.3,
            "gen_ai.request.top_k": 40,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.response.finish_reasons": ["COMPLETE"],
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
    assert result.message.content[0].text == DEFAULT_REPLY  # the caller's result is untouched
    assert cohere_sim.requests[-1].api_key == KEY


def test_usage_is_the_billed_units_not_the_tokens(client, co_tel):
    result = client.chat(model="command-r-08-2024", messages=MESSAGES)
    assert result.usage.tokens.input_tokens == 3 + TEMPLATE_TOKENS  # what Cohere's template added
    attrs = cohere_span(co_tel).attributes
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, OUTPUT)
    assert attrs["otel_ai.cost.usd"] == pytest.approx((3 * R_IN + OUTPUT * R_OUT) / 1e6, abs=1e-15)


async def test_async_chat_records_the_same_span(aclient, co_tel):
    result = await aclient.chat(model="command-a-03-2025", messages=MESSAGES, temperature=0.5)
    attrs = cohere_span(co_tel).attributes
    assert attrs["gen_ai.response.id"] == result.id
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, OUTPUT)
    assert attrs["gen_ai.request.temperature"] == 0.5
    assert attrs["otel_ai.cost.usd"] == pytest.approx((3 * A_IN + OUTPUT * A_OUT) / 1e6)
    assert "gen_ai.request.stream" not in attrs


def test_the_http_request_is_a_child_span(client, co_tel):
    client.chat(model="command-a-03-2025", messages=MESSAGES)
    span = cohere_span(co_tel)
    children = [s for s in co_tel.http_spans() if s.parent is not None and s.parent.span_id == span.context.span_id]
    assert len(children) == 1  # httpx, the client's transport, under the GenAI span


def test_metrics_are_recorded_once_per_call(client, co_tel):
    for _ in range(3):
        client.chat(model="command-a-03-2025", messages=MESSAGES)
    assert _count(co_tel, "gen_ai.client.operation.duration") == 3
    tokens = {labels["gen_ai.token.type"]: point for labels, point in co_tel.points("gen_ai.client.token.usage")}
    assert (tokens["input"].sum, tokens["output"].sum) == (9, 3 * OUTPUT)
    [(labels, cost)] = co_tel.points("otel_ai.client.cost")
    assert cost.value == pytest.approx(3 * (3 * A_IN + OUTPUT * A_OUT) / 1e6)
    assert labels["gen_ai.provider.name"] == "cohere"
    [(labels, requests)] = co_tel.points("otel_ai.client.requests")
    assert (requests.value, labels["otel_ai.outcome"]) == (3, "ok")


@pytest.mark.parametrize(("name", "kwargs", "reason"), [
    ("tool_call", {}, "TOOL_CALL"),
    ("ok", {"max_tokens": 2}, "MAX_TOKENS"),
])
def test_finish_reasons_are_the_services(client, co_tel, name, kwargs, reason):
    client.chat(model="command-a-03-2025", messages=MESSAGES, request_options=scenario(name), **kwargs)
    assert cohere_span(co_tel).attributes["gen_ai.response.finish_reasons"] == (reason,)


def test_a_client_built_before_instrument_is_recorded_and_one_after_uninstrument_is_not(cohere_sim, telemetry):
    """`ClientV2` copies `chat` onto each instance when built: the raw client is where calls are seen."""
    from otel_ai.instrumentation.cohere import CohereInstrumentor

    early = cohere.ClientV2(api_key=KEY, **cohere_sim.client_options())
    CohereInstrumentor().instrument(**telemetry.providers)
    try:
        early.chat(model="command-a-03-2025", messages=MESSAGES)
        late = cohere.ClientV2(api_key=KEY, **cohere_sim.client_options())
        list(late.chat_stream(model="command-a-03-2025", messages=MESSAGES))
        assert len(telemetry.genai_spans()) == 2
    finally:
        CohereInstrumentor().uninstrument()
    late.chat(model="command-a-03-2025", messages=MESSAGES)
    list(late.chat_stream(model="command-a-03-2025", messages=MESSAGES))
    assert len(telemetry.genai_spans()) == 2


def test_the_v1_clients_v2_namespace_and_raw_responses_are_recorded(cohere_sim, client, co_tel):
    raw = client.with_raw_response.chat(model="command-a-03-2025", messages=MESSAGES)
    assert raw.status_code == 200 and raw.data.id
    v1 = cohere.Client(api_key=KEY, **cohere_sim.client_options())
    v1.v2.chat(model="command-a-03-2025", messages=MESSAGES)
    spans = co_tel.genai_spans()
    assert len(spans) == 2
    assert spans[0].attributes["gen_ai.response.id"] == raw.data.id


def test_the_default_server_is_named_without_a_call(co_tel):
    from otel_ai.instrumentation.cohere import _CHAT, CohereInstrumentor

    client = cohere.ClientV2(api_key=KEY)
    request = CohereInstrumentor().describe(client._raw_client._v2, {"model": "command-a-03-2025"}, _CHAT)
    assert (request.provider, request.server_address, request.server_port) == ("cohere", "api.cohere.com", 443)


def test_an_unknown_model_is_unpriced_not_guessed(client, co_tel):
    client.chat(model="command-a-plus-05-2026", messages=MESSAGES)
    attrs = cohere_span(co_tel).attributes
    assert attrs["otel_ai.pricing.source"] == "unknown"
    assert "otel_ai.cost.usd" not in attrs


# --------------------------------------------------------------------------------------------
# Embed and rerank
# --------------------------------------------------------------------------------------------


def test_embed(client, co_tel, cohere_sim):
    result = client.embed(model="embed-v4.0", texts=["one two", "three"], input_type="search_document",
                          embedding_types=["float"])
    span = cohere_span(co_tel)
    assert span_snapshot(span, known={
        "server.port": cohere_sim.port,
        "gen_ai.response.id": result.id,
        "otel_ai.cost.usd": pytest.approx(3 * 0.12 / 1e6),
        "otel_ai.cost.input_usd": pytest.approx(3 * 0.12 / 1e6),
    }) == snapshot({
        "name": "embeddings embed-v4.0",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.embeddings.dimension.count": 1536,
            "gen_ai.operation.name": "embeddings",
            "gen_ai.provider.name": "cohere",
            "gen_ai.request.encoding_formats": ["float"],
            "gen_ai.request.model": "embed-v4.0",
            "gen_ai.response.id": "<gen_ai.response.id>",
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
    assert len(result.embeddings.float_[0]) == EMBEDDING_DIMENSIONS


async def test_async_embed_with_an_output_dimension(aclient, co_tel):
    await aclient.embed(model="embed-english-v3.0", texts=["def f(): pass"], input_type="search_query",
                        output_dimension=256, embedding_types=["int8"])
    attrs = cohere_span(co_tel).attributes
    assert attrs["gen_ai.embeddings.dimension.count"] == 256
    assert attrs["gen_ai.request.encoding_formats"] == ("int8",)
    assert attrs["gen_ai.usage.input_tokens"] == 3
    assert attrs["otel_ai.cost.usd"] == pytest.approx(3 * 0.1 / 1e6)


def test_rerank_is_billed_per_search_unit(client, co_tel, cohere_sim):
    documents = [f"document {i} about the capital" for i in range(150)]  # two search units
    result = client.rerank(model="rerank-v3.5", query="the capital", documents=documents, top_n=3)
    span = cohere_span(co_tel)
    assert span_snapshot(span, known={
        "server.port": cohere_sim.port,
        "gen_ai.response.id": result.id,
    }) == snapshot({
        "name": "rerank rerank-v3.5",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "rerank",
            "gen_ai.provider.name": "cohere",
            "gen_ai.request.model": "rerank-v3.5",
            "gen_ai.response.id": "<gen_ai.response.id>",
            "otel_ai.cost.input_usd": 0.004,
            "otel_ai.cost.output_usd": 0.0,
            "otel_ai.cost.usd": 0.004,
            "otel_ai.pricing.catalog_date": "2026-11-22",
            "otel_ai.pricing.source": "catalog",
            "otel_ai.rerank.documents": 150,
            "otel_ai.rerank.top_n": 3,
            "otel_ai.usage.search_units": 2,
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })
    assert len(result.results) == 3


async def test_async_rerank(aclient, co_tel):
    await aclient.rerank(model="rerank-v3.5", query="capital", documents=["capital city", "a river"])
    attrs = cohere_span(co_tel).attributes
    assert attrs["otel_ai.usage.search_units"] == 1
    assert attrs["otel_ai.cost.usd"] == pytest.approx(0.002, abs=1e-15)
    assert attrs["gen_ai.operation.name"] == "rerank"


def test_uninstrument_stops_recording(client, co_tel):
    from otel_ai.instrumentation.cohere import CohereInstrumentor

    CohereInstrumentor().uninstrument()
    client.chat(model="command-a-03-2025", messages=MESSAGES)
    assert co_tel.genai_spans() == []
    CohereInstrumentor().instrument(**co_tel.providers)
    client.chat(model="command-a-03-2025", messages=MESSAGES)
    assert len(co_tel.genai_spans()) == 1
