"""`audio.speech`: characters in, audio out (bytes, chunks, seconds), per-character or per-token cost."""

from __future__ import annotations

import pytest

from otel_ai.testing.simulator import speech_audio, speech_audio_seconds
from tests.conftest import exception_type_of, scenario
from tests.openai_audio.common import TEXT, price


def test_speech_create_counts_characters_audio_and_cost(client, telemetry):
    result = client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT)

    span = telemetry.one_genai_span()
    attrs = dict(span.attributes)
    assert span.name == "text_to_speech tts-1"
    assert attrs["gen_ai.operation.name"] == "text_to_speech"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.output.type"] == "speech"
    assert attrs["gen_ai.speech.voice"] == "alloy"
    assert attrs["otel_ai.audio.format"] == "mp3"
    assert attrs["otel_ai.usage.characters"] == len(TEXT)
    assert attrs["otel_ai.audio.bytes"] == len(result.content) == len(speech_audio(len(TEXT)))
    assert attrs["otel_ai.audio.chunks"] == 1
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(speech_audio_seconds(len(TEXT)), rel=1e-3)
    assert attrs["otel_ai.audio.real_time_factor"] > 0
    assert attrs["otel_ai.cost.usd"] == pytest.approx(len(TEXT) * price("tts-1").per_kchar / 1000)
    assert attrs["otel_ai.pricing.source"] == "catalog"
    [(labels, point)] = telemetry.points("otel_ai.client.characters")
    assert point.value == len(TEXT) and labels["gen_ai.operation.name"] == "text_to_speech"
    [(_, rtf)] = telemetry.points("otel_ai.client.audio.real_time_factor")
    assert rtf.count == 1


@pytest.mark.parametrize("kind", ["pcm", "wav"])
def test_speech_seconds_are_exact_for_pcm_and_wav(client, telemetry, kind):
    client.audio.speech.create(model="tts-1-hd", voice="nova", input=TEXT, response_format=kind)
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.audio.format"] == kind
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(speech_audio_seconds(len(TEXT), kind))


def test_speech_opus_has_bytes_but_no_seconds(client, telemetry):
    client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="opus")
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.audio.bytes"] == len(speech_audio(len(TEXT), "opus"))
    assert "otel_ai.audio.seconds" not in attrs
    assert attrs["otel_ai.cost.usd"] > 0  # still billed per character


def test_gpt_4o_mini_tts_without_usage_is_priced_per_minute_of_audio(client, telemetry):
    client.audio.speech.create(model="gpt-4o-mini-tts", voice={"id": "voice_custom1"}, input=TEXT,
                               response_format="pcm", instructions="Speak cheerfully")
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.speech.voice"] == "voice_custom1"
    seconds = speech_audio_seconds(len(TEXT), "pcm")
    assert attrs["otel_ai.cost.usd"] == pytest.approx(seconds * price("gpt-4o-mini-tts").per_hour / 3600)


def test_speech_sse_reads_audio_and_token_usage(client, telemetry):
    result = client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input=TEXT, stream_format="sse",
                                        response_format="pcm")
    assert result.content.startswith(b"data: ")
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.audio.bytes"] == len(speech_audio(len(TEXT), "pcm"))
    assert attrs["gen_ai.usage.input_tokens"] == len(TEXT.split())
    assert attrs["gen_ai.usage.output_tokens"] == round(len(TEXT) * 0.75)
    p = price("gpt-4o-mini-tts")
    expected = (len(TEXT.split()) * p.input_per_mtok + round(len(TEXT) * 0.75) * p.output_per_mtok) / 1e6
    assert attrs["otel_ai.cost.usd"] == pytest.approx(expected)


def test_streaming_response_counts_chunks_as_read(client, telemetry):
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=TEXT, response_format="pcm",
    ) as response:
        assert not telemetry.genai_spans()  # the span covers the reading
        chunks = list(response.iter_bytes(1024))
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.audio.bytes"] == sum(map(len, chunks))
    assert attrs["otel_ai.audio.chunks"] >= 2
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(speech_audio_seconds(len(TEXT), "pcm"))


def test_streaming_response_stream_to_file(client, telemetry, tmp_path):
    target = tmp_path / "speech.mp3"
    with client.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input=TEXT) as response:
        response.stream_to_file(target)
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.audio.bytes"] == target.stat().st_size
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(speech_audio_seconds(len(TEXT)), rel=1e-3)


def test_streaming_response_left_unread_ends_once_with_nothing(client, telemetry):
    with client.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input=TEXT):
        pass
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.audio.bytes"] == 0
    assert attrs["otel_ai.usage.characters"] == len(TEXT)
    [(_, point)] = telemetry.points("otel_ai.client.requests")
    assert point.value == 1


def test_streaming_response_cut_mid_audio_fails_the_span(client, telemetry):
    import httpx2

    speech = client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=TEXT * 4, response_format="pcm", extra_headers=scenario("cut_stream"),
    )
    with pytest.raises(httpx2.HTTPError) as caught, speech as response:
        for _ in response.iter_bytes():
            pass
    span = telemetry.one_genai_span()
    assert span.attributes["error.type"] == exception_type_of(span) == type(caught.value).__module__ + "." + (
        type(caught.value).__qualname__)
    assert span.attributes["otel_ai.audio.bytes"] > 0


def test_raw_response(client, telemetry):
    raw = client.audio.speech.with_raw_response.create(model="tts-1", voice="alloy", input=TEXT)
    assert raw.headers["content-type"] == "audio/mpeg"
    audio = raw.parse()
    assert telemetry.one_genai_span().attributes["otel_ai.audio.bytes"] == len(audio.content)


def test_error_passes_through(client, telemetry):
    import openai

    with pytest.raises(openai.RateLimitError):
        client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, extra_headers=scenario("rate_limit"))
    span = telemetry.one_genai_span()
    assert span.attributes["error.type"] == "openai.RateLimitError"
    assert span.attributes["otel_ai.error.category"] == "rate_limit"


async def test_async_speech(aclient, telemetry):
    result = await aclient.audio.speech.create(model="tts-1", voice="echo", input=TEXT, response_format="wav")
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.audio.bytes"] == len(result.content)
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(speech_audio_seconds(len(TEXT), "wav"))


async def test_async_streaming_response(aclient, telemetry):
    async with aclient.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=TEXT, response_format="pcm",
    ) as response:
        total = 0
        async for chunk in response.iter_bytes():
            total += len(chunk)
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.audio.bytes"] == total == len(speech_audio(len(TEXT), "pcm"))
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0


async def test_async_streaming_response_closed_unread(aclient, telemetry):
    async with aclient.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input=TEXT):
        pass
    assert telemetry.one_genai_span().attributes["otel_ai.audio.bytes"] == 0
