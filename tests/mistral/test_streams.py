"""Mistral `chat.stream` / `stream_async`: the span ends exactly once however the stream stops."""

from __future__ import annotations

import gc
import time

import pytest
from inline_snapshot import snapshot
from opentelemetry.trace import StatusCode

from otel_ai.testing.mistral_simulator import DEFAULT_REPLY
from tests.conftest import Telemetry, exception_type_of
from tests.mistral.conftest import mistral_span, scenario
from tests.support.snapshots import span_snapshot

MESSAGES = [{"role": "user", "content": "Bonjour the simulator"}]  # 3 input tokens
WORDS = len(DEFAULT_REPLY.split())
SMALL_IN, SMALL_OUT = 0.15, 0.6  # mistral-small-latest (Mistral Small 4, pricing/data/mistral.json)


def _count(telemetry: Telemetry, metric: str) -> int:
    return sum(point.count for _, point in telemetry.points(metric))


def test_an_exhausted_stream_records_usage_from_its_last_chunk(client, mi, mistral_sim):
    events = list(client.chat.stream(model="mistral-small-latest", messages=MESSAGES, max_tokens=50))
    assert "".join(e.data.choices[0].delta.content for e in events) == DEFAULT_REPLY
    span = mistral_span(mi)
    assert span_snapshot(span, known={
        "server.port": mistral_sim.port,
        "gen_ai.response.id": events[-1].data.id,
        "otel_ai.cost.usd": pytest.approx((3 * SMALL_IN + WORDS * SMALL_OUT) / 1e6),
        "otel_ai.cost.input_usd": pytest.approx(3 * SMALL_IN / 1e6),
        "otel_ai.cost.output_usd": pytest.approx(WORDS * SMALL_OUT / 1e6),
    }) == snapshot({
        "name": "chat mistral-small-latest",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "mistral_ai",
            "gen_ai.request.max_tokens": 50,
            "gen_ai.request.model": "mistral-small-latest",
            "gen_ai.request.stream": True,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.response.id": "<gen_ai.response.id>",
            "gen_ai.response.model": "mistral-small-latest",
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
    assert _count(mi, "gen_ai.client.operation.duration") == 1
    assert _count(mi, "gen_ai.client.operation.time_to_first_chunk") == 1
    assert _count(mi, "gen_ai.client.operation.time_per_output_chunk") == 1


def test_the_span_ends_after_the_last_chunk_of_a_slow_stream(client, mi):
    last_read = 0
    for _ in client.chat.stream(model="mistral-small-latest", messages=MESSAGES,
                                http_headers=scenario("slow_stream", delay="0.03")):
        last_read = time.time_ns()
        assert mi.genai_spans() == []  # in flight while events arrive
    span = mistral_span(mi)
    assert span.end_time >= last_read
    assert (span.end_time - span.start_time) / 1e9 > 0.15  # six 30 ms gaps: the whole stream


def test_leaving_with_early_ends_the_span_once_with_what_was_read(client, mi):
    with client.chat.stream(model="mistral-small-latest", messages=MESSAGES) as stream:
        for event in stream:
            if event.data.choices[0].delta.content:
                break
        assert mi.genai_spans() == []  # the caller may read on inside the with
    span = mistral_span(mi)
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.usage.input_tokens" not in span.attributes  # the usage chunk never arrived
    assert span.attributes["gen_ai.response.model"] == "mistral-small-latest"
    stream.close()  # closing again records nothing more
    assert len(mi.genai_spans()) == 1
    assert _count(mi, "gen_ai.client.operation.duration") == 1


def test_close_after_a_break_ends_the_span(client, mi):
    stream = client.chat.stream(model="mistral-small-latest", messages=MESSAGES)
    next(iter(stream))
    assert mi.genai_spans() == []
    stream.close()
    assert len(mi.genai_spans()) == 1


def test_an_abandoned_stream_ends_its_span_when_collected(client, mi):
    stream = client.chat.stream(model="mistral-small-latest", messages=MESSAGES)
    next(stream)
    del stream
    gc.collect()
    assert len(mi.genai_spans()) == 1


def test_a_stream_cut_mid_body_fails_the_span_and_the_error_reaches_the_caller(client, mi):
    stream = client.chat.stream(model="mistral-small-latest", messages=MESSAGES, http_headers=scenario("cut_stream"))
    read = 0
    with pytest.raises(Exception) as caught:
        for _ in stream:
            read += 1
    assert read == 2
    assert type(caught.value).__name__ == "RemoteProtocolError"
    span = mistral_span(mi)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span) == "httpx2.RemoteProtocolError"
    assert span.attributes["otel_ai.error.category"] == "connection"
    [(labels, point)] = mi.points("otel_ai.client.requests")
    assert (point.value, labels["otel_ai.outcome"]) == (1, "error")


def test_a_streamed_tool_call_finishes_with_tool_calls(client, mi):
    events = list(client.chat.stream(model="mistral-small-latest", messages=MESSAGES,
                                     http_headers=scenario("tool_call")))
    assert events[1].data.choices[0].delta.tool_calls[0].function.name == "get_weather"
    assert mistral_span(mi).attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)


async def test_stream_async_records_usage_and_ends_once(client, mi):
    stream = await client.chat.stream_async(model="mistral-small-latest", messages=MESSAGES)
    assert mi.genai_spans() == []
    text = "".join([event.data.choices[0].delta.content async for event in stream])
    assert text == DEFAULT_REPLY
    attrs = mistral_span(mi).attributes
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, WORDS)
    assert attrs["gen_ai.request.stream"] is True
    await stream.close()
    assert len(mi.genai_spans()) == 1


async def test_async_with_left_early_ends_the_span(client, mi):
    async with await client.chat.stream_async(model="mistral-small-latest", messages=MESSAGES) as stream:
        async for _ in stream:
            break
    assert len(mi.genai_spans()) == 1
    assert _count(mi, "gen_ai.client.operation.duration") == 1


async def test_an_async_cut_stream_fails_the_span(client, mi):
    stream = await client.chat.stream_async(model="mistral-small-latest", messages=MESSAGES,
                                            http_headers=scenario("cut_stream"))
    with pytest.raises(Exception, match=r"incomplete|peer closed"):
        async for _ in stream:
            pass
    assert mistral_span(mi).attributes["otel_ai.error.category"] == "connection"
