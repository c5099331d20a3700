"""`images.generate`: images counted, DALL-E priced per image by quality and size, GPT image per token."""

from __future__ import annotations

import pytest

from tests.conftest import scenario
from tests.openai_audio.common import price


def test_dall_e_3_is_priced_per_image_by_quality_and_size(client, telemetry):
    result = client.images.generate(model="dall-e-3", prompt="a lighthouse", size="1792x1024", quality="hd")

    span = telemetry.one_genai_span()
    attrs = dict(span.attributes)
    assert span.name == "generate_content dall-e-3"
    assert attrs["gen_ai.operation.name"] == "generate_content"
    assert attrs["gen_ai.output.type"] == "image"
    assert attrs["otel_ai.image.size"] == "1792x1024"
    assert attrs["otel_ai.image.quality"] == "hd"
    assert attrs["otel_ai.usage.images"] == len(result.data) == 1
    assert attrs["otel_ai.cost.usd"] == pytest.approx(price("dall-e-3").per_image["hd 1792x1024"])
    assert attrs["otel_ai.cost.output_usd"] == attrs["otel_ai.cost.usd"]
    assert "gen_ai.usage.input_tokens" not in attrs


def test_dall_e_2_defaults_and_count(client, telemetry):
    client.images.generate(model="dall-e-2", prompt="a lighthouse", n=3)
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.request.choice.count"] == 3
    assert attrs["otel_ai.image.size"] == "1024x1024"
    assert attrs["otel_ai.cost.usd"] == pytest.approx(3 * price("dall-e-2").per_image["standard 1024x1024"])


def test_unlisted_size_is_an_unknown_price(client, telemetry):
    client.images.generate(model="dall-e-2", prompt="a lighthouse", size="640x480")
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.pricing.source"] == "unknown"
    assert "otel_ai.cost.usd" not in attrs


def test_gpt_image_is_priced_per_token_and_reports_what_it_made(client, telemetry):
    result = client.images.generate(model="gpt-image-1", prompt="a lighthouse at dusk", quality="high", n=2)
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.usage.input_tokens"] == result.usage.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == result.usage.output_tokens
    assert attrs["otel_ai.usage.images"] == 2
    assert attrs["otel_ai.image.quality"] == "high"
    p = price("gpt-image-1")
    expected = (result.usage.input_tokens * p.input_per_mtok + result.usage.output_tokens * p.output_per_mtok) / 1e6
    assert attrs["otel_ai.cost.usd"] == pytest.approx(expected)


def test_streamed_generation(client, telemetry):
    events = list(client.images.generate(model="gpt-image-1", prompt="a lighthouse", stream=True, partial_images=2))
    completed = events[-1]
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["otel_ai.usage.images"] == 1
    assert attrs["gen_ai.usage.output_tokens"] == completed.usage.output_tokens
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0


def test_error_passes_through(client, telemetry):
    import openai

    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="dall-e-3", prompt="two lighthouses", n=2)
    assert "n=1" in str(caught.value)
    span = telemetry.one_genai_span()
    assert span.attributes["error.type"] == "openai.BadRequestError"
    assert "otel_ai.usage.images" not in span.attributes


def test_content_filter_error(client, telemetry):
    import openai

    with pytest.raises(openai.BadRequestError):
        client.images.generate(model="dall-e-3", prompt="x", extra_headers=scenario("content_filter"))
    assert telemetry.one_genai_span().attributes["otel_ai.error.category"] == "content_filter"


async def test_async_generate_and_stream(aclient, telemetry):
    await aclient.images.generate(model="dall-e-3", prompt="a lighthouse")
    stream = await aclient.images.generate(model="gpt-image-1-mini", prompt="a lighthouse", stream=True)
    async for _ in stream:
        pass
    first, second = sorted(telemetry.genai_spans(), key=lambda s: s.start_time)
    assert first.attributes["otel_ai.cost.usd"] == pytest.approx(price("dall-e-3").per_image["standard 1024x1024"])
    assert second.attributes["otel_ai.usage.images"] == 1
    assert second.attributes["otel_ai.cost.usd"] > 0
