"""Ollama streams (newline-delimited JSON): the span ends exactly once however the stream stops, with the
counts, reason and timings of the last (`done: true`) object; the first read sends the request under
the call's span."""

from __future__ import annotations

import gc
from typing import Any

import httpx
import pytest
from opentelemetry.trace import StatusCode

from otel_ai.testing.ollama_simulator import OllamaSimulator
from tests.conftest import Telemetry
from tests.ollama.conftest import count, make_async_client, make_client, one_span

ollama = pytest.importorskip("ollama")

MESSAGES = [{"role": "user", "content": "Tell me about tracing please"}]


def test_an_exhausted_chat_stream_records_usage_from_the_last_line(
    client: Any, ol: Telemetry, ol_sim: OllamaSimulator,
) -> None:
    before = len(ol_sim.requests)
    stream = client.chat(model="llama3.2", messages=MESSAGES, stream=True)
    assert len(ol_sim.requests) == before  # nothing sent until read
    text = "".join(part.message.content for part in stream)
    assert text == "Hello from the Ollama simulator."
    span = one_span(ol)
    attrs = span.attributes
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.usage.input_tokens"] == 5 and attrs["gen_ai.usage.output_tokens"] == 5
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["otel_ai.ollama.eval_duration"] == 0.025
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert attrs["otel_ai.pricing.source"] == "local" and attrs["otel_ai.cost.usd"] == 0.0
    [http] = ol.http_spans()
    assert http.parent is not None and http.parent.span_id == span.context.span_id
    assert count(ol, "gen_ai.client.operation.duration") == 1
    assert count(ol, "gen_ai.client.operation.time_to_first_chunk") == 1
    assert count(ol, "gen_ai.client.operation.time_per_output_chunk") == 1


def test_a_generate_stream_and_thinking_chunks(client: Any, ol: Telemetry) -> None:
    parts = list(client.generate(model="qwen3", prompt="Think about spans", stream=True, options={"num_predict": 2}))
    assert parts[-1].done and parts[-1].done_reason == "length"
    attrs = one_span(ol).attributes
    assert (attrs["gen_ai.operation.name"], attrs["gen_ai.response.finish_reasons"]) == ("text_completion", ("length",))
    assert attrs["gen_ai.usage.output_tokens"] == 2


def test_breaking_out_and_closing_ends_the_span_once_without_usage(client: Any, ol: Telemetry) -> None:
    stream = client.chat(model="llama3.2", messages=MESSAGES, stream=True)
    for _ in stream:
        break
    assert ol.genai_spans() == []  # the caller may read on
    stream.close()
    stream.close()
    attrs = one_span(ol).attributes
    assert "gen_ai.usage.input_tokens" not in attrs and "error.type" not in attrs
    assert count(ol, "gen_ai.client.operation.duration") == 1


def test_an_abandoned_stream_ends_when_collected(client: Any, ol: Telemetry) -> None:
    stream = client.chat(model="llama3.2", messages=MESSAGES, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    one_span(ol)


def test_a_stream_cut_mid_line_fails_the_span(ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    stream = make_client(ol_sim, "cut_stream").chat(model="llama3.2", messages=MESSAGES, stream=True)
    with pytest.raises(httpx.RemoteProtocolError):
        for _ in stream:
            pass
    span = one_span(ol)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "httpx.RemoteProtocolError"
    assert span.attributes["otel_ai.error.category"] == "connection"


def test_an_error_line_mid_stream_fails_the_span(ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    stream = make_client(ol_sim, "stream_error").chat(model="llama3.2", messages=MESSAGES, stream=True)
    received = []
    with pytest.raises(ollama.ResponseError) as caught:
        for part in stream:
            received.append(part)
    assert len(received) == 2 and caught.value.status_code == -1
    attrs = one_span(ol).attributes
    assert attrs["error.type"] == "ollama._types.ResponseError"
    assert count(ol, "gen_ai.client.operation.duration") == 1


def test_a_stream_error_before_the_first_line_fails_the_span(ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    stream = make_client(ol_sim).chat(model="missing-model", messages=MESSAGES, stream=True)
    with pytest.raises(ollama.ResponseError) as caught:
        next(iter(stream))
    assert caught.value.status_code == 404
    attrs = one_span(ol).attributes
    assert (attrs["error.type"], attrs["otel_ai.error.category"]) == ("ollama._types.ResponseError", "not_found")


async def test_an_async_stream_exhausted(aclient: Any, ol: Telemetry) -> None:
    text = "".join([part.message.content async for part in await aclient.chat(
        model="llama3.2", messages=MESSAGES, stream=True)])
    assert text == "Hello from the Ollama simulator."
    span = one_span(ol)
    assert span.attributes["gen_ai.usage.output_tokens"] == 5
    [http] = ol.http_spans()
    assert http.parent is not None and http.parent.span_id == span.context.span_id


async def test_an_async_stream_closed_early(aclient: Any, ol: Telemetry) -> None:
    stream = await aclient.generate(model="llama3.2", prompt="Hello there", stream=True)
    async for _ in stream:
        break
    assert ol.genai_spans() == []
    await stream.aclose()
    attrs = one_span(ol).attributes
    assert "gen_ai.usage.output_tokens" not in attrs and "error.type" not in attrs


async def test_an_async_stream_cut(ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    stream = await make_async_client(ol_sim, "cut_stream").chat(model="llama3.2", messages=MESSAGES, stream=True)
    with pytest.raises(httpx.RemoteProtocolError):
        async for _ in stream:
            pass
    assert one_span(ol).attributes["otel_ai.error.category"] == "connection"


def test_slow_stream_times_first_chunk_and_per_chunk(ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    stream = make_client(ol_sim, "slow_stream", delay="0.05").chat(model="llama3.2", messages=MESSAGES, stream=True)
    assert len(list(stream)) == 6
    span = one_span(ol)
    duration = (span.end_time - span.start_time) / 1e9
    assert duration >= 0.25 and span.attributes["gen_ai.response.time_to_first_chunk"] < 0.05 + duration / 2
    [(_, point)] = ol.points("gen_ai.client.operation.time_per_output_chunk")
    assert point.sum / point.count == pytest.approx(0.05, abs=0.04)
