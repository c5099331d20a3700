"""Gemini `generate_content_stream` (SSE): the span ends exactly once however the stream stops."""

from __future__ import annotations

import gc

import pytest
from opentelemetry.trace import StatusCode

from otel_ai.testing.gemini_simulator import DEFAULT_REPLY, THOUGHTS
from tests.gemini.conftest import count_points, gemini_span, scenario

WORDS = len(DEFAULT_REPLY.split())
FLASH_IN, FLASH_OUT = 0.30, 2.50


def test_an_exhausted_stream_counts_the_last_usage_not_the_sum(client, gm, gemini_sim):
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="Hello there simulator"))
    assert len(chunks) == WORDS and "".join(c.text for c in chunks) == DEFAULT_REPLY
    assert gemini_sim.requests[-1].path.endswith(":streamGenerateContent")
    assert gemini_sim.requests[-1].query == "alt=sse"
    attrs = gemini_span(gm).attributes
    assert attrs["gen_ai.request.stream"] is True
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, WORDS)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.id"] == chunks[-1].response_id
    assert attrs["otel_ai.cost.usd"] == pytest.approx((3 * FLASH_IN + WORDS * FLASH_OUT) / 1e6)
    assert count_points(gm, "gen_ai.client.operation.duration") == 1


def test_a_thinking_stream_counts_thoughts_once(client, gm):
    list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi", config=scenario("thinking")))
    attrs = gemini_span(gm).attributes
    assert attrs["gen_ai.usage.output_tokens"] == WORDS + THOUGHTS
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == THOUGHTS


def test_break_then_close_ends_the_span_once_with_what_was_read(client, gm):
    stream = client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
    for _ in stream:
        break
    assert gm.genai_spans() == []  # still open
    stream.close()
    stream.close()
    span = gemini_span(gm)
    assert span.status.status_code is not StatusCode.ERROR
    assert span.attributes["gen_ai.usage.output_tokens"] == 1  # the first chunk's running total


def test_an_abandoned_stream_ends_its_span_when_collected(client, gm):
    stream = client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
    next(stream)
    del stream
    gc.collect()
    gemini_span(gm)


def test_a_slow_stream_ends_after_its_last_chunk(client, gm):
    chunks = list(client.models.generate_content_stream(
        model="gemini-2.5-flash", contents="hi",
        config={"http_options": {"headers": {"x-simulator-scenario": "slow_stream", "x-simulator-delay": "0.05"}}}))
    span = gemini_span(gm)
    assert len(chunks) == WORDS
    assert (span.end_time - span.start_time) / 1e9 >= 0.05 * (WORDS - 1)


def test_a_cut_stream_fails_the_span_and_the_error_reaches_the_caller(client, gm):
    with pytest.raises(Exception) as caught:
        list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi",
                                                   config=scenario("cut_stream")))
    span = gemini_span(gm)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"].endswith(type(caught.value).__qualname__)


async def test_an_async_stream_records_usage_and_ends_once(client, gm):
    stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="a b c")
    texts = [c.text async for c in stream]
    assert "".join(texts) == DEFAULT_REPLY
    attrs = gemini_span(gm).attributes
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, WORDS)
    assert count_points(gm, "gen_ai.client.operation.duration") == 1


async def test_an_async_stream_left_early_ends_its_span(client, gm):
    stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
    async for _ in stream:
        break
    assert gm.genai_spans() == []
    await stream.aclose()  # ends the span: no collection needed
    span = gemini_span(gm)
    assert span.status.status_code is not StatusCode.ERROR


async def test_an_async_cut_stream_fails_the_span(client, gm):
    stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi",
                                                             config=scenario("cut_stream"))
    with pytest.raises(Exception):  # noqa: B017 - the transport's own error, whatever it is
        async for _ in stream:
            pass
    assert gemini_span(gm).status.status_code is StatusCode.ERROR
