"""Streams read in pieces, every way a stream ends (each path alone), and metrics recorded exactly once.

Each ending path is exercised while the caller still holds the stream, so a span that ends only
because the proxy was collected would fail these tests.
"""

from __future__ import annotations

import gc

import openai
import pytest

from tests.conftest import scenario

MESSAGES = [{"role": "user", "content": "Stream a short greeting for the tests"}]
WITH_USAGE = {"include_usage": True}


def _create(client, **extra):
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options=WITH_USAGE, **extra
    )


def _counts(telemetry) -> dict[str, float]:
    """How many times each per-call metric was recorded."""
    [(_, duration)] = telemetry.points("gen_ai.client.operation.duration")
    [(_, requests)] = telemetry.points("otel_ai.client.requests")
    ttfc = telemetry.points("gen_ai.client.operation.time_to_first_chunk")
    return {
        "duration": duration.count,
        "requests": requests.value,
        "ttfc": sum(p.count for _, p in ttfc),
        "spans": len(telemetry.genai_spans()),
    }


ONCE = {"duration": 1, "requests": 1, "ttfc": 1, "spans": 1}


# -- read in pieces -----------------------------------------------------------------------------


def test_next_iter_then_list_accounts_every_chunk_and_the_usage(client, telemetry):
    stream = _create(client)
    first = next(iter(stream))
    rest = list(stream)
    chunks = [first, *rest]
    usage = chunks[-1].usage

    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert attrs["otel_ai.cost.usd"] > 0
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert _counts(telemetry) == ONCE


def test_two_loops_over_one_stream_are_one_call(client, telemetry):
    stream = _create(client)
    seen = []
    for chunk in stream:
        seen.append(chunk)
        if len(seen) == 2:
            break
    assert telemetry.genai_spans() == []  # the caller may still read on
    seen.extend(stream)

    assert seen[-1].usage is not None
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.usage.output_tokens"] == seen[-1].usage.completion_tokens
    assert _counts(telemetry) == ONCE


async def test_async_stream_read_in_pieces(aclient, telemetry):
    stream = await aclient.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options=WITH_USAGE
    )
    first = await stream.__aiter__().__anext__()
    rest = [chunk async for chunk in stream]

    assert first.choices
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.usage.output_tokens"] == rest[-1].usage.completion_tokens
    assert _counts(telemetry) == ONCE


# -- every ending path, alone, while the caller still holds the stream ----------------------------


def test_with_exit_alone_ends_the_call(client, telemetry):
    with _create(client) as stream:
        next(stream)
        assert telemetry.genai_spans() == []
    assert stream is not None  # still referenced: only __exit__ can have ended it
    assert _counts(telemetry) == ONCE


def test_close_alone_ends_the_call(client, telemetry):
    stream = _create(client)
    next(stream)
    stream.close()
    assert _counts(telemetry) == ONCE
    assert stream.response.is_closed


async def test_async_with_exit_alone_ends_the_call(aclient, telemetry):
    async with await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True) as stream:
        await stream.__anext__()
        assert telemetry.genai_spans() == []
    assert stream is not None
    assert _counts(telemetry) == ONCE


async def test_async_close_alone_ends_the_call(aclient, telemetry):
    stream = await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    await stream.__anext__()
    assert telemetry.genai_spans() == []
    await stream.close()
    assert _counts(telemetry) == ONCE


def test_collection_alone_ends_the_call(client, telemetry):
    stream = _create(client)
    next(stream)
    assert telemetry.genai_spans() == []
    del stream
    gc.collect()
    assert _counts(telemetry) == ONCE


async def test_async_collection_alone_ends_the_call(aclient, telemetry):
    stream = await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    await stream.__anext__()
    assert telemetry.genai_spans() == []
    del stream
    gc.collect()
    assert _counts(telemetry) == ONCE


# -- exactly once, counted in metrics ------------------------------------------------------------


def test_every_ending_after_exhaustion_records_nothing_more(client, telemetry):
    with _create(client) as stream:
        list(stream)
        stream.close()
        stream.close()
    del stream
    gc.collect()
    assert _counts(telemetry) == ONCE


async def test_async_every_ending_after_exhaustion_records_nothing_more(aclient, telemetry):
    async with await aclient.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options=WITH_USAGE
    ) as stream:
        [chunk async for chunk in stream]
        await stream.close()
    del stream
    gc.collect()
    assert _counts(telemetry) == ONCE


def test_failed_stream_then_close_records_once(client, telemetry):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=scenario("cut_stream")
    )
    with pytest.raises(Exception):  # noqa: B017 - whatever the client raises for a cut connection
        list(stream)
    stream.close()
    [(labels, requests)] = telemetry.points("otel_ai.client.requests")
    assert requests.value == 1
    assert labels["otel_ai.outcome"] == "error"
    [(_, duration)] = telemetry.points("gen_ai.client.operation.duration")
    assert duration.count == 1


# -- chunk timing values, not only counts ----------------------------------------------------------


def test_time_per_output_chunk_is_the_mean_gap_between_chunks(client, telemetry):
    delay = 0.05
    chunks = list(_create(client, extra_headers=scenario("slow_stream", delay=str(delay))))
    content_chunks = [c for c in chunks if c.choices]
    assert len(content_chunks) >= 3

    [(_, per_chunk)] = telemetry.points("gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == 1
    assert delay * 0.8 <= per_chunk.sum <= delay * 5
    [(_, ttfc)] = telemetry.points("gen_ai.client.operation.time_to_first_chunk")
    attrs = telemetry.one_genai_span().attributes
    assert ttfc.sum == pytest.approx(attrs["gen_ai.response.time_to_first_chunk"])
    assert 0 < ttfc.sum < 5


# -- raw and streaming responses -------------------------------------------------------------------


def test_raw_response_stream_carries_usage_and_time_to_first_chunk(client, telemetry):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options=WITH_USAGE
    )
    assert raw.headers.get("content-type", "").startswith("text/event-stream")
    assert telemetry.genai_spans() == []  # the body has not been read yet
    stream = raw.parse()
    assert isinstance(stream, openai.Stream)
    chunks = list(stream)

    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.usage.input_tokens"] == chunks[-1].usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == chunks[-1].usage.completion_tokens
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert attrs["otel_ai.cost.usd"] > 0
    assert {labels["gen_ai.token.type"] for labels, _ in telemetry.points("gen_ai.client.token.usage")} == {
        "input", "output",
    }
    assert _counts(telemetry) == ONCE


def test_raw_response_stream_never_parsed_ends_when_collected(client, telemetry):
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert telemetry.genai_spans() == []
    del raw
    gc.collect()
    assert len(telemetry.genai_spans()) == 1


def test_streaming_response_records_usage_when_parsed(client, telemetry):
    with client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=MESSAGES) as response:
        completion = response.parse()
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    assert attrs["gen_ai.response.id"] == completion.id


def test_streaming_response_with_stream_true_carries_usage(client, telemetry):
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options=WITH_USAGE
    ) as response:
        chunks = list(response.parse())
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.usage.output_tokens"] == chunks[-1].usage.completion_tokens
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert _counts(telemetry) == ONCE


def test_streaming_response_never_parsed_ends_on_exit(client, telemetry):
    with client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=MESSAGES) as response:
        assert response.http_response.status_code == 200
    assert len(telemetry.genai_spans()) == 1
    assert "gen_ai.usage.input_tokens" not in telemetry.one_genai_span().attributes


async def test_async_streaming_response_records_usage_when_parsed(aclient, telemetry):
    async with aclient.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    ) as response:
        completion = await response.parse()
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
