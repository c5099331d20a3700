"""Cohere `chat_stream` (sync and async): the span ends exactly once however the stream stops."""

from __future__ import annotations

import gc
import time

import pytest
from inline_snapshot import snapshot
from opentelemetry.trace import StatusCode

from otel_ai.testing.cohere_simulator import DEFAULT_REPLY
from tests.cohere.conftest import MESSAGES, cohere_span, scenario
from tests.conftest import Telemetry, exception_type_of
from tests.support.snapshots import span_snapshot

WORDS = len(DEFAULT_REPLY.split())
A_IN, A_OUT = 2.5, 10.0
MODEL = "command-a-03-2025"


def _count(telemetry: Telemetry, metric: str) -> int:
    return sum(point.count for _, point in telemetry.points(metric))


def _text(events: list) -> str:
    return "".join(e.delta.message.content.text or "" for e in events if e.type == "content-delta")


def test_an_exhausted_stream_records_usage_from_message_end(client, co_tel, cohere_sim):
    events = list(client.chat_stream(model=MODEL, messages=MESSAGES, max_tokens=50))
    assert _text(events) == DEFAULT_REPLY
    span = cohere_span(co_tel)
    assert span_snapshot(span, known={
        "server.port": cohere_sim.port,
        "gen_ai.response.id": events[0].id,
        "otel_ai.cost.usd": pytest.approx((3 * A_IN + WORDS * A_OUT) / 1e6),
        "otel_ai.cost.input_usd": pytest.approx(3 * A_IN / 1e6),
        "otel_ai.cost.output_usd": pytest.approx(WORDS * A_OUT / 1e6),
    }) == snapshot({
        "name": "chat command-a-03-2025",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "cohere",
            "gen_ai.request.max_tokens": 50,
            "gen_ai.request.model": "command-a-03-2025",
            "gen_ai.request.stream": True,
            "gen_ai.response.finish_reasons": ["COMPLETE"],
            "gen_ai.response.id": "<gen_ai.response.id>",
            "gen_ai.response.time_to_first_chunk": "<float>",
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
    assert _count(co_tel, "gen_ai.client.operation.duration") == 1
    assert _count(co_tel, "gen_ai.client.operation.time_to_first_chunk") == 1
    assert _count(co_tel, "gen_ai.client.operation.time_per_output_chunk") == 1


def test_nothing_is_sent_until_the_stream_is_read(client, co_tel, cohere_sim):
    cohere_sim.clear()
    stream = client.chat_stream(model=MODEL, messages=MESSAGES)
    assert cohere_sim.requests == [] and co_tel.genai_spans() == []
    next(stream)
    assert len(cohere_sim.requests) == 1
    stream.close()
    assert len(co_tel.genai_spans()) == 1


def test_the_span_ends_after_the_last_event_of_a_slow_stream(client, co_tel):
    last_read = 0
    for _ in client.chat_stream(model=MODEL, messages=MESSAGES,
                                request_options=scenario("slow_stream", delay="0.03")):
        last_read = time.time_ns()
        assert co_tel.genai_spans() == []  # in flight while events arrive
    span = cohere_span(co_tel)
    assert span.end_time >= last_read
    assert (span.end_time - span.start_time) / 1e9 > 0.2  # eight 30 ms gaps: the whole stream


def test_breaking_out_and_closing_ends_the_span_once_with_what_was_read(client, co_tel):
    stream = client.chat_stream(model=MODEL, messages=MESSAGES)
    for event in stream:
        if event.type == "content-delta":
            break
    assert co_tel.genai_spans() == []  # the caller may read on
    stream.close()
    span = cohere_span(co_tel)
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.usage.input_tokens" not in span.attributes  # message-end never arrived
    assert span.attributes["gen_ai.response.id"]
    stream.close()  # closing again records nothing more
    assert len(co_tel.genai_spans()) == 1
    assert _count(co_tel, "gen_ai.client.operation.duration") == 1


def test_an_abandoned_stream_ends_its_span_when_collected(client, co_tel):
    stream = client.chat_stream(model=MODEL, messages=MESSAGES)
    next(stream)
    del stream
    gc.collect()
    assert len(co_tel.genai_spans()) == 1


def test_a_stream_cut_mid_body_fails_the_span_and_the_error_reaches_the_caller(client, co_tel):
    read = 0
    with pytest.raises(Exception) as caught:
        for _ in client.chat_stream(model=MODEL, messages=MESSAGES, request_options=scenario("cut_stream")):
            read += 1
    assert read == 3
    assert type(caught.value).__name__ == "RemoteProtocolError"
    span = cohere_span(co_tel)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span) == "httpx.RemoteProtocolError"
    assert span.attributes["otel_ai.error.category"] == "connection"
    [(labels, point)] = co_tel.points("otel_ai.client.requests")
    assert (point.value, labels["otel_ai.outcome"]) == (1, "error")


def test_an_error_in_message_end_is_the_finish_reason(client, co_tel):
    events = list(client.chat_stream(model=MODEL, messages=MESSAGES, request_options=scenario("stream_error")))
    assert events[-1].delta.error
    attrs = cohere_span(co_tel).attributes
    assert attrs["gen_ai.response.finish_reasons"] == ("ERROR",)
    assert attrs["gen_ai.usage.output_tokens"] == WORDS


def test_a_streamed_tool_call_finishes_with_tool_call(client, co_tel):
    events = list(client.chat_stream(model=MODEL, messages=MESSAGES, request_options=scenario("tool_call")))
    assert any(e.type == "tool-call-start" for e in events)
    attrs = cohere_span(co_tel).attributes
    assert attrs["gen_ai.response.finish_reasons"] == ("TOOL_CALL",)
    assert attrs["gen_ai.usage.output_tokens"] > 0


async def test_async_chat_stream_records_usage_and_ends_once(aclient, co_tel):
    stream = aclient.chat_stream(model=MODEL, messages=MESSAGES)
    assert co_tel.genai_spans() == []
    text = "".join([e.delta.message.content.text async for e in stream if e.type == "content-delta"])
    assert text == DEFAULT_REPLY
    attrs = cohere_span(co_tel).attributes
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, WORDS)
    assert attrs["gen_ai.request.stream"] is True
    await stream.aclose()
    assert len(co_tel.genai_spans()) == 1


async def test_async_break_and_aclose_ends_the_span(aclient, co_tel):
    stream = aclient.chat_stream(model=MODEL, messages=MESSAGES)
    async for _ in stream:
        break
    assert co_tel.genai_spans() == []
    await stream.aclose()
    assert len(co_tel.genai_spans()) == 1
    assert _count(co_tel, "gen_ai.client.operation.duration") == 1


async def test_an_async_cut_stream_fails_the_span(aclient, co_tel):
    with pytest.raises(Exception, match=r"incomplete|peer closed"):
        async for _ in aclient.chat_stream(model=MODEL, messages=MESSAGES, request_options=scenario("cut_stream")):
            pass
    assert cohere_span(co_tel).attributes["otel_ai.error.category"] == "connection"


def test_the_raw_stream_with_block_ends_the_span_when_left(client, co_tel):
    with client.with_raw_response.chat_stream(model=MODEL, messages=MESSAGES) as response:
        first = next(iter(response.data))
        assert first.type == "message-start"
        assert co_tel.genai_spans() == []
    span = cohere_span(co_tel)
    assert span.attributes["gen_ai.response.id"] == first.id
    assert span.status.status_code is StatusCode.UNSET
