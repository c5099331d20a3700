"""`audio.transcriptions` and `audio.translations`: audio seconds, transcript, per-minute or per-token cost."""

from __future__ import annotations

import io
import math

import pytest

from otel_ai.testing.simulator import DEFAULT_REPLY
from tests.conftest import scenario
from tests.openai_audio.common import price, wav_bytes

SECONDS = 3.5
AUDIO = wav_bytes(SECONDS)


def test_whisper_json_reports_billed_seconds(client, telemetry):
    result = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", AUDIO), language="en")

    span = telemetry.one_genai_span()
    attrs = dict(span.attributes)
    assert span.name == "speech_to_text whisper-1"
    assert attrs["gen_ai.operation.name"] == "speech_to_text"
    assert attrs["gen_ai.speech.input.language"] == "en"
    assert attrs["otel_ai.audio.seconds"] == result.usage.seconds == math.ceil(SECONDS)
    assert attrs["otel_ai.transcript.characters"] == len(DEFAULT_REPLY)
    assert attrs["otel_ai.cost.usd"] == pytest.approx(math.ceil(SECONDS) * price("whisper-1").per_hour / 3600)
    assert attrs["otel_ai.audio.real_time_factor"] > 0
    assert "otel_ai.speech.translation" not in attrs
    [(_, point)] = telemetry.points("otel_ai.client.audio.duration")
    assert point.sum == math.ceil(SECONDS)


def test_verbose_json_duration_and_language(client, telemetry):
    client.audio.transcriptions.create(model="whisper-1", file=("a.wav", AUDIO), response_format="verbose_json")
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.audio.seconds"] == math.ceil(SECONDS)  # billed seconds win over the exact duration
    assert attrs["gen_ai.speech.input.language"] == "english"


@pytest.mark.parametrize("kind", ["text", "srt", "vtt"])
def test_text_formats_are_timed_from_the_upload(client, telemetry, kind):
    result = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", AUDIO), response_format=kind)
    assert isinstance(result, str)
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(SECONDS)
    assert attrs["otel_ai.cost.usd"] == pytest.approx(SECONDS * price("whisper-1").per_hour / 3600)


def test_upload_from_a_file_is_left_where_it_was(client, telemetry, tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(AUDIO)
    handle = io.BytesIO(AUDIO)
    handle.name = "a.wav"
    handle.seek(7)
    client.audio.transcriptions.create(model="whisper-1", file=path, response_format="text")
    assert telemetry.one_genai_span().attributes["otel_ai.audio.seconds"] == pytest.approx(SECONDS)
    from otel_ai.instrumentation.openai.audio import upload_seconds

    assert upload_seconds(handle) == pytest.approx(SECONDS)
    assert handle.tell() == 7


def test_gpt_4o_transcribe_is_billed_per_token(client, telemetry):
    result = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("a.wav", AUDIO))
    attrs = dict(telemetry.one_genai_span().attributes)
    usage = result.usage
    assert attrs["gen_ai.usage.input_tokens"] == usage.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == usage.output_tokens
    p = price("gpt-4o-transcribe")
    expected = (usage.input_tokens * p.input_per_mtok + usage.output_tokens * p.output_per_mtok) / 1e6
    assert attrs["otel_ai.cost.usd"] == pytest.approx(expected)  # billed on tokens ...
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(SECONDS)  # ... timed from the upload (real-time factor)
    assert attrs["otel_ai.audio.real_time_factor"] > 0


def test_streamed_transcript(client, telemetry):
    stream = client.audio.transcriptions.create(model="gpt-4o-mini-transcribe", file=("a.wav", AUDIO), stream=True)
    assert not telemetry.genai_spans()
    events = list(stream)
    done = events[-1]
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.usage.input_tokens"] == done.usage.input_tokens
    assert attrs["otel_ai.transcript.characters"] == len(done.text)
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    [(_, per_chunk)] = telemetry.points("gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == 1


def test_streamed_transcript_closed_early_ends_once(client, telemetry):
    stream = client.audio.transcriptions.create(model="gpt-4o-mini-transcribe", file=("a.wav", AUDIO), stream=True)
    next(iter(stream))
    stream.close()
    stream.close()
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.transcript.characters"] == len(DEFAULT_REPLY.split()[0])


def test_translation_is_speech_to_text_marked_and_timed_from_the_upload(client, telemetry):
    client.audio.translations.create(model="whisper-1", file=("a.wav", AUDIO))
    span = telemetry.one_genai_span()
    attrs = dict(span.attributes)
    assert span.name == "speech_to_text whisper-1"
    assert attrs["otel_ai.speech.translation"] is True
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(SECONDS)
    assert attrs["otel_ai.cost.usd"] == pytest.approx(SECONDS * price("whisper-1").per_hour / 3600)


def test_bad_request_passes_through(client, telemetry):
    import openai

    with pytest.raises(openai.BadRequestError):
        client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("a.wav", AUDIO), response_format="srt")
    span = telemetry.one_genai_span()
    assert span.attributes["error.type"] == "openai.BadRequestError"
    assert span.attributes["otel_ai.error.category"] == "bad_request"


def test_server_error_category(client, telemetry):
    import openai

    with pytest.raises(openai.InternalServerError):
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", AUDIO),
                                           extra_headers=scenario("server_error"))
    assert telemetry.one_genai_span().attributes["otel_ai.error.category"] == "server_error"


async def test_async_transcription_and_translation(aclient, telemetry):
    await aclient.audio.transcriptions.create(model="whisper-1", file=("a.wav", AUDIO))
    await aclient.audio.translations.create(model="whisper-1", file=("a.wav", AUDIO), response_format="verbose_json")
    first, second = sorted(telemetry.genai_spans(), key=lambda s: s.start_time)
    assert first.attributes["otel_ai.audio.seconds"] == math.ceil(SECONDS)
    assert second.attributes["otel_ai.speech.translation"] is True
    assert second.attributes["otel_ai.audio.seconds"] == pytest.approx(SECONDS)


async def test_async_streamed_transcript(aclient, telemetry):
    stream = await aclient.audio.transcriptions.create(model="gpt-4o-transcribe", file=("a.wav", AUDIO), stream=True)
    texts = [event async for event in stream]
    assert telemetry.one_genai_span().attributes["otel_ai.transcript.characters"] == len(texts[-1].text)
