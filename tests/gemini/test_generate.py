"""Gemini generate_content, embed_content, count_tokens and chats: the real `google-genai` client over HTTP."""

from __future__ import annotations

import pytest
from inline_snapshot import snapshot

from otel_ai.testing.gemini_simulator import DEFAULT_REPLY, THOUGHTS
from tests.conftest import Telemetry
from tests.gemini.conftest import count_points, gemini_span, genai, scenario
from tests.support.snapshots import span_snapshot

PROMPT = "Hello there simulator"  # 3 input tokens
OUT = len(DEFAULT_REPLY.split())  # 5 output tokens
FLASH_IN, FLASH_OUT, FLASH_CACHE = 0.30, 2.50, 0.03  # gemini-2.5-flash (pricing/data/gemini.json)


def test_generate_content_records_the_whole_span(client, gm, gemini_sim):
    result = client.models.generate_content(model="gemini-2.5-flash", contents=PROMPT, config={
        "temperature": 0.3, "top_p": 0.9, "top_k": 40, "max_output_tokens": 64, "seed": 7,
        "stop_sequences": ["END"], "response_mime_type": "application/json",
    })
    assert result.text == DEFAULT_REPLY
    span = gemini_span(gm)
    assert span_snapshot(span, known={
        "server.port": gemini_sim.port,
        "gen_ai.response.id": result.response_id,
        "otel_ai.cost.usd": pytest.approx((3 * FLASH_IN + OUT * FLASH_OUT) / 1e6),
        "otel_ai.cost.input_usd": pytest.approx(3 * FLASH_IN / 1e6),
        "otel_ai.cost.output_usd": pytest.approx(OUT * FLASH_OUT / 1e6),
    }) == snapshot({
        "name": "generate_content gemini-2.5-flash",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "generate_content",
            "gen_ai.output.type": "json",
            "gen_ai.provider.name": "gcp.gemini",
            "gen_ai.request.max_tokens": 64,
            "gen_ai.request.model": "gemini-2.5-flash",
            "gen_ai.request.seed": 7,
            "gen_ai.request.stop_sequences": [
                "END"
            ],
            "gen_ai.request.temperature": 0.3,
            "gen_ai.request.top_k": 40,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.response.finish_reasons": [
                "stop"
            ],
            "gen_ai.response.id": "<gen_ai.response.id>",
            "gen_ai.response.model": "gemini-2.5-flash",
            "gen_ai.usage.input_tokens": 3,
            "gen_ai.usage.output_tokens": 5,
            "otel_ai.cost.input_usd": "<otel_ai.cost.input_usd>",
            "otel_ai.cost.output_usd": "<otel_ai.cost.output_usd>",
            "otel_ai.cost.usd": "<otel_ai.cost.usd>",
            "otel_ai.pricing.catalog_date": "2026-11-22",
            "otel_ai.pricing.source": "catalog",
            "server.address": "127.0.0.1",
            "server.port": "<server.port>"
        },
        "scope": "otel_ai"
    })
    assert count_points(gm, "gen_ai.client.operation.duration") == 1
    assert count_points(gm, "gen_ai.client.token.usage") == 2


def test_thoughts_are_output_tokens_and_reasoning_tokens(client, gm):
    client.models.generate_content(model="gemini-2.5-flash", contents=PROMPT, config=scenario("thinking"))
    attrs = gemini_span(gm).attributes
    assert attrs["gen_ai.usage.output_tokens"] == OUT + THOUGHTS
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == THOUGHTS
    assert attrs["otel_ai.cost.output_usd"] == pytest.approx((OUT + THOUGHTS) * FLASH_OUT / 1e6)


def test_cache_reads_are_priced_at_the_cache_price(client, gm):
    client.models.generate_content(model="gemini-2.5-flash", contents="one two three four", config=scenario("cached"))
    attrs = gemini_span(gm).attributes
    assert attrs["gen_ai.usage.input_tokens"] == 4
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 2
    assert attrs["otel_ai.cost.input_usd"] == pytest.approx((2 * FLASH_IN + 2 * FLASH_CACHE) / 1e6)


async def test_async_generate_content(client, gm):
    result = await client.aio.models.generate_content(model="models/gemini-2.5-flash", contents=PROMPT)
    assert result.text == DEFAULT_REPLY
    attrs = gemini_span(gm).attributes
    assert attrs["gen_ai.request.model"] == "gemini-2.5-flash"
    assert attrs["gen_ai.operation.name"] == "generate_content"
    assert attrs["gen_ai.usage.output_tokens"] == OUT
    assert "gen_ai.request.stream" not in attrs or attrs["gen_ai.request.stream"] is False


def test_finish_reasons_are_the_conventions_names(client, gm):
    client.models.generate_content(model="gemini-2.5-flash", contents=PROMPT, config=scenario("max_tokens"))
    assert gemini_span(gm).attributes["gen_ai.response.finish_reasons"] == ("length",)


def test_a_chat_turn_is_one_span(client, gm, gemini_sim):
    chat = client.chats.create(model="gemini-2.5-flash")
    assert chat.send_message(PROMPT).text == DEFAULT_REPLY
    assert gemini_span(gm).attributes["gen_ai.usage.input_tokens"] == 3
    gm.spans_exporter.clear()
    chunks = list(chat.send_message_stream("and again"))
    assert "".join(c.text for c in chunks) == DEFAULT_REPLY
    span = gemini_span(gm)
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.usage.input_tokens"] == 3 + OUT + 2  # the history is sent again


async def test_an_async_chat_turn_is_one_span(client, gm):
    chat = client.aio.chats.create(model="gemini-2.5-flash")
    assert (await chat.send_message(PROMPT)).text == DEFAULT_REPLY
    gemini_span(gm)
    gm.spans_exporter.clear()
    texts = [c.text async for c in await chat.send_message_stream("more")]
    assert "".join(texts) == DEFAULT_REPLY
    assert gemini_span(gm).attributes["gen_ai.request.stream"] is True


def test_embed_content(client, gm):
    result = client.models.embed_content(model="gemini-embedding-001", contents=["a b", "c"],
                                         config={"output_dimensionality": 8})
    assert len(result.embeddings[0].values) == 8
    attrs = gemini_span(gm).attributes
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.embeddings.dimension.count"] == 8
    assert attrs["gen_ai.request.model"] == "gemini-embedding-001"


async def test_count_tokens_sync_and_async(client, gm: Telemetry):
    assert client.models.count_tokens(model="gemini-2.5-flash", contents="a b c").total_tokens == 3
    assert (await client.aio.models.count_tokens(model="gemini-2.5-flash", contents="a b")).total_tokens == 2
    spans = gm.genai_spans()
    assert [s.attributes["gen_ai.operation.name"] for s in spans] == ["count_tokens", "count_tokens"]
    assert [s.attributes["otel_ai.gemini.count_tokens.total_tokens"] for s in spans] == [3, 2]
    assert all("otel_ai.cost.usd" not in s.attributes for s in spans)


def test_vertex_clients_are_gcp_vertex_ai(gemini_sim, gm):
    client = genai.Client(vertexai=True, api_key="AIzaSyVertexExpressKey0123456789abcdefg",
                          http_options={"base_url": gemini_sim.url + "/", "api_version": "v1"})
    client.models.generate_content(model="gemini-2.5-flash", contents=PROMPT)
    spans = gm.genai_spans()
    assert [s.attributes["gen_ai.provider.name"] for s in spans] == ["gcp.vertex_ai"]
