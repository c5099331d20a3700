"""Streaming: the span ends exactly once however the stream ends, and the stream keeps its behaviour."""

from __future__ import annotations

import asyncio
import gc

import openai
import pytest
from opentelemetry.trace import StatusCode

from tests.conftest import exception_type_of, scenario

MESSAGES = [{"role": "user", "content": "Stream a short greeting for the tests"}]
WITH_USAGE = {"include_usage": True}


def test_stream_with_usage_chunk_records_tokens_and_chunk_timing(client, telemetry):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options=WITH_USAGE
    )
    assert telemetry.genai_spans() == []  # still open while the stream is being read
    chunks = list(stream)
    usage = chunks[-1].usage

    span = telemetry.one_genai_span()
    attrs = dict(span.attributes)
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.id"] == chunks[0].id
    assert 0 < attrs["gen_ai.response.time_to_first_chunk"] < 5
    assert attrs["otel_ai.cost.usd"] > 0
    [(_, ttfc)] = telemetry.points("gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.count == 1
    assert ttfc.sum == pytest.approx(attrs["gen_ai.response.time_to_first_chunk"])
    [(_, per_chunk)] = telemetry.points("gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == 1
    assert {labels["gen_ai.token.type"] for labels, _ in telemetry.points("gen_ai.client.token.usage")} == {
        "input", "output",
    }


def test_stream_without_usage_reports_no_tokens_and_no_cost(client, telemetry):
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert all(chunk.usage is None for chunk in chunks)

    attrs = dict(telemetry.one_genai_span().attributes)
    assert "gen_ai.usage.input_tokens" not in attrs
    assert "otel_ai.cost.usd" not in attrs
    assert "otel_ai.pricing.source" not in attrs
    assert telemetry.points("gen_ai.client.token.usage") == []
    assert telemetry.points("otel_ai.client.cost") == []
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


def test_stream_tool_call_finish_reason(client, telemetry):
    list(client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=scenario("tool_call"),
    ))
    assert telemetry.one_genai_span().attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)


def test_break_leaves_the_call_open_until_the_stream_is_closed(client, telemetry):
    """Breaking out of a loop is not the end of the call: the caller may read on (see below)."""
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    for _ in stream:
        break
    assert telemetry.genai_spans() == []

    stream.close()
    span = telemetry.one_genai_span()
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.response.time_to_first_chunk" in span.attributes
    stream.close()
    assert len(telemetry.genai_spans()) == 1  # exactly once


def test_close_ends_the_span_once(client, telemetry):
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(stream)
    stream.close()
    stream.close()
    assert len(telemetry.genai_spans()) == 1
    assert stream.response.is_closed


def test_with_block_ends_the_span_and_returns_the_proxy(client, telemetry):
    with client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True) as stream:
        assert isinstance(stream, openai.Stream)
        first = next(iter(stream))
        assert first.choices
    assert len(telemetry.genai_spans()) == 1


def test_garbage_collected_unfinished_stream_ends_the_span(client, telemetry):
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(stream)
    del stream
    gc.collect()
    assert len(telemetry.genai_spans()) == 1


def test_connection_cut_mid_stream_marks_the_span_and_reraises(client, telemetry):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=scenario("cut_stream")
    )
    received = []
    with pytest.raises(Exception) as raised:
        for chunk in stream:
            received.append(chunk)

    assert received  # some chunks arrived before the cut
    span = telemetry.one_genai_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span)
    assert span.attributes["error.type"].endswith("." + type(raised.value).__qualname__)
    assert span.attributes["otel_ai.error.category"] == "connection"
    assert span.attributes["gen_ai.response.id"] == received[0].id


def test_malformed_stream_chunk_marks_the_span(client, telemetry):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=scenario("malformed")
    )
    with pytest.raises(Exception) as raised:
        list(stream)
    span = telemetry.one_genai_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span)
    assert span.attributes["error.type"].endswith("." + type(raised.value).__qualname__)


def test_stream_helper_manager_records_the_call(client, telemetry):
    with client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES, stream_options=WITH_USAGE) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()

    span = telemetry.one_genai_span()
    assert span.attributes["gen_ai.usage.output_tokens"] == final.usage.completion_tokens
    assert span.attributes["gen_ai.request.stream"] is True


def test_raw_response_stream_still_works(client, telemetry):
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    chunks = list(raw.parse())
    assert chunks
    assert len(telemetry.genai_spans()) == 1


async def test_async_stream_records_usage(aclient, telemetry):
    stream = await aclient.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options=WITH_USAGE
    )
    assert isinstance(stream, openai.AsyncStream)
    chunks = [chunk async for chunk in stream]

    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.usage.output_tokens"] == chunks[-1].usage.completion_tokens
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0


async def test_async_stream_context_manager_and_close(aclient, telemetry):
    async with await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True) as stream:
        async for _ in stream:
            break
    await stream.close()
    await asyncio.sleep(0)
    assert len(telemetry.genai_spans()) == 1


async def test_cancelled_async_stream_is_recorded_as_cancelled(aclient, telemetry):
    started = asyncio.Event()

    async def consume() -> None:
        stream = await aclient.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=scenario("slow_stream", delay="0.5"),
        )
        async for _ in stream:
            started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    span = telemetry.one_genai_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "asyncio.exceptions.CancelledError" == exception_type_of(span)
    assert span.attributes["otel_ai.error.category"] == "cancelled"


def test_the_service_tier_of_the_first_chunk_is_kept_when_the_last_one_lacks_it():
    """Servers may send `service_tier` on the first chunk only; the usage chunk at the end then has none."""
    from openai.types.chat import ChatCompletionChunk

    from otel_ai.instrumentation.openai.chat import ChatStream

    def chunk(tier: str | None, *, last: bool = False) -> ChatCompletionChunk:
        choices = [] if last else [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]
        usage = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4} if last else None
        return ChatCompletionChunk.model_validate({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
            "choices": choices, "usage": usage, "service_tier": tier})

    stream = ChatStream(capture=False, limit=100)
    for c in (chunk("priority"), chunk(None), chunk(None, last=True)):
        stream.add(c)
    assert stream.response().attributes["openai.response.service_tier"] == "priority"
