"""Streams (`create(stream=True)` and the `messages.stream()` helper): the span ends exactly once, however
the stream stops, with the usage the stream itself reported and the time to its first chunk."""

from __future__ import annotations

import gc
import json

import pytest
from opentelemetry.trace import StatusCode

from tests.anthropic.conftest import MESSAGES, MODEL, anthropic, one, opts


def _requests(telemetry) -> list[tuple[str, int]]:
    return [(labels["otel_ai.outcome"], point.value) for labels, point in telemetry.points("otel_ai.client.requests")]


def test_an_exhausted_stream_ends_once_with_usage_and_chunk_timings(client, anth):
    events = list(client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True))
    deltas = [e for e in events if e.type == "content_block_delta"]
    span = one(anth)
    attrs = span.attributes
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["gen_ai.usage.output_tokens"] == len(deltas)  # message_delta's count, not added to message_start's
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    [(_, ttfc)] = anth.points("gen_ai.client.operation.time_to_first_chunk")
    [(_, per_chunk)] = anth.points("gen_ai.client.operation.time_per_output_chunk")
    assert (ttfc.count, per_chunk.count) == (1, 1)
    assert _requests(anth) == [("ok", 1)]


def test_the_helper_text_stream_and_final_message(client, anth):
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        assert anth.genai_spans() == [] or one(anth)  # read to the end: the span may already have ended
        final = stream.get_final_message()
    assert text == final.content[0].text
    span = one(anth)
    assert span.attributes["gen_ai.response.id"] == final.id
    assert span.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert _requests(anth) == [("ok", 1)]


async def test_the_async_helper(aclient, anth):
    async with aclient.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES, **opts("cached")) as stream:
        pieces = [t async for t in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(pieces) == final.content[0].text
    attrs = one(anth).attributes
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 2048
    assert attrs["gen_ai.usage.input_tokens"] == final.usage.input_tokens + 2048 + 1536


async def test_an_async_stream(aclient, anth):
    stream = await aclient.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)
    events = [e async for e in stream]
    assert events[-1].type == "message_stop"
    assert one(anth).attributes["gen_ai.response.finish_reasons"] == ("end_turn",)


def test_closing_early_ends_the_span_with_what_was_read(client, anth):
    stream = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)
    first = next(iter(stream))
    assert first.type == "message_start"
    assert anth.genai_spans() == []
    stream.close()
    span = one(anth)
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["gen_ai.usage.input_tokens"] == first.message.usage.input_tokens
    assert "gen_ai.response.finish_reasons" not in span.attributes
    assert _requests(anth) == [("ok", 1)]


def test_leaving_the_helper_early_ends_the_span(client, anth):
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        next(iter(stream))
    one(anth)
    assert _requests(anth) == [("ok", 1)]


def test_a_stream_broken_out_of_and_dropped_ends_when_collected(client, anth):
    stream = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)
    for _ in stream:
        break
    assert anth.genai_spans() == []
    del stream
    gc.collect()
    one(anth)
    assert _requests(anth) == [("ok", 1)]


def test_a_cut_stream_fails_the_span_once_and_the_error_passes_through(client, anth):
    import httpx2

    # Up to 2.10 the SDK lets the transport's error through; later releases wrap it in APIConnectionError.
    with pytest.raises((httpx2.RemoteProtocolError, anthropic.APIConnectionError)) as caught:
        list(client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True, **opts("cut_stream")))
    raised = type(caught.value)
    span = one(anth)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["otel_ai.error.category"] == "connection"
    assert span.attributes["error.type"] == f"{raised.__module__.split('._')[0]}.{raised.__qualname__}"
    assert _requests(anth) == [("error", 1)]


def test_an_error_event_mid_stream_fails_the_span_with_the_usage_so_far(client, anth):
    with pytest.raises(anthropic.APIStatusError) as caught:
        list(client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True,
                                    **opts("stream_error")))
    assert caught.value.type == "overloaded_error"
    span = one(anth)
    attrs = span.attributes
    assert attrs["error.type"] == "anthropic.APIStatusError"
    assert attrs["otel_ai.error.code"] == "overloaded_error"
    assert attrs["otel_ai.error.category"] == "server_error"  # by its code: the answer's status was 200
    assert attrs["gen_ai.usage.input_tokens"] > 0  # message_start came before the error
    assert _requests(anth) == [("error", 1)]


def test_a_slow_stream_span_covers_the_whole_read(client, anth):
    stream = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True,
                                    **opts("slow_stream", delay="0.02"))
    for _ in stream:
        assert anth.genai_spans() == []
    span = one(anth)
    assert (span.end_time - span.start_time) / 1e9 > 0.1


def test_tool_use_in_a_stream(client, anth):
    events = list(client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True,
                                         **opts("tool_use")))
    arguments = "".join(e.delta.partial_json for e in events
                        if e.type == "content_block_delta" and e.delta.type == "input_json_delta")
    assert json.loads(arguments) == {"location": "Paris", "unit": "celsius"}
    assert one(anth).attributes["gen_ai.response.finish_reasons"] == ("tool_use",)
