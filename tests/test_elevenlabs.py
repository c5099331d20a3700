"""ElevenLabs: the real `elevenlabs` client over real HTTP against the ElevenLabs simulator.

The span covers the work: it starts when the request is sent (the client's generators send
nothing until iterated) and ends when the audio has been delivered, never when the call returns.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from typing import Any

import pytest
from inline_snapshot import snapshot
from opentelemetry.trace import StatusCode

from otel_ai.runtime import state as _state
from otel_ai.testing.elevenlabs_simulator import ElevenLabsSimulator, speech_seconds
from tests.conftest import Telemetry, exception_type_of
from tests.support.snapshots import span_snapshot

elevenlabs = pytest.importorskip("elevenlabs")  # the examples extra installs it; CI always has it

KEY = "sk_" + "0123456789abcdef" * 3
TEXT = "Hello from the speech test."
VOICE = "voice-abc"


def opts(scenario: str = "ok", **extra: str) -> dict[str, Any]:
    headers = {"x-simulator-scenario": scenario}
    headers.update({f"x-simulator-{k.replace('_', '-')}": v for k, v in extra.items()})
    return {"additional_headers": headers, "max_retries": 0}


@pytest.fixture(scope="module")
def el_sim() -> Iterator[ElevenLabsSimulator]:
    with ElevenLabsSimulator() as sim:
        yield sim


@pytest.fixture
def el(telemetry: Telemetry) -> Iterator[Telemetry]:
    from otel_ai.instrumentation.elevenlabs import ElevenLabsInstrumentor

    ElevenLabsInstrumentor().instrument(**telemetry.providers)
    try:
        yield telemetry
    finally:
        ElevenLabsInstrumentor().uninstrument()
        _state.reset()


@pytest.fixture
def client(el_sim: ElevenLabsSimulator, el: Telemetry) -> Any:
    return elevenlabs.ElevenLabs(api_key=KEY, **el_sim.client_options())


@pytest.fixture
def aclient(el_sim: ElevenLabsSimulator, el: Telemetry) -> Any:
    return elevenlabs.AsyncElevenLabs(api_key=KEY, **el_sim.client_options())


def _speech_span(telemetry: Telemetry) -> Any:
    spans = [s for s in telemetry.genai_spans() if s.attributes["gen_ai.provider.name"] == "elevenlabs"]
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def _count(telemetry: Telemetry, metric: str) -> int:
    return sum(point.count for _, point in telemetry.points(metric))


# --------------------------------------------------------------------------------------------
# Text to speech: the span covers the audio
# --------------------------------------------------------------------------------------------


def test_nothing_is_sent_and_no_span_starts_until_the_caller_iterates(client, el, el_sim):
    before = len(el_sim.requests)
    audio = client.text_to_speech.convert(VOICE, text=TEXT, output_format="pcm_24000")
    time.sleep(0.05)
    assert len(el_sim.requests) == before
    assert el.genai_spans() == []
    assert b"".join(audio)
    assert len(el.genai_spans()) == 1


def test_convert_pcm_records_exact_audio_seconds_characters_cost_and_headers(client, el, el_sim):
    audio = b"".join(client.text_to_speech.convert(VOICE, text=TEXT, output_format="pcm_24000"))
    span = _speech_span(el)
    attrs = span.attributes
    request = el_sim.requests[-1]
    assert span_snapshot(span, volatile=["otel_ai.audio.chunks"], known={
        "server.port": el_sim.port,
        "gen_ai.response.id": request.response_headers["request-id"],
        "elevenlabs.history_item_id": request.response_headers["history-item-id"],
        "otel_ai.audio.bytes": len(audio),
        "otel_ai.audio.seconds": pytest.approx(speech_seconds(len(TEXT), "pcm_24000"), abs=1e-9),
        "otel_ai.cost.usd": pytest.approx(len(TEXT) / 1000 * 0.1),
    }) == snapshot({
        "name": "text_to_speech eleven_multilingual_v2",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "elevenlabs.history_item_id": "<elevenlabs.history_item_id>",
            "elevenlabs.tts_latency_ms": "<float>",
            "gen_ai.operation.name": "text_to_speech",
            "gen_ai.output.type": "speech",
            "gen_ai.provider.name": "elevenlabs",
            "gen_ai.request.model": "eleven_multilingual_v2",
            "gen_ai.response.id": "<gen_ai.response.id>",
            "gen_ai.response.time_to_first_chunk": "<float>",
            "gen_ai.speech.voice": "voice-abc",
            "otel_ai.audio.bytes": "<otel_ai.audio.bytes>",
            "otel_ai.audio.chunks": "<int>",
            "otel_ai.audio.format": "pcm_24000",
            "otel_ai.audio.real_time_factor": "<float>",
            "otel_ai.audio.seconds": "<otel_ai.audio.seconds>",
            "otel_ai.cost.input_usd": 0.0027,
            "otel_ai.cost.output_usd": 0.0,
            "otel_ai.cost.usd": "<otel_ai.cost.usd>",
            "otel_ai.pricing.source": "header",
            "otel_ai.usage.characters": 27,
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })
    assert attrs["otel_ai.audio.chunks"] >= 2
    duration = (span.end_time - span.start_time) / 1e9
    assert attrs["otel_ai.audio.real_time_factor"] == pytest.approx(
        duration / attrs["otel_ai.audio.seconds"], rel=0.05
    )
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert el_sim.requests[-1].api_key == KEY


def test_the_http_request_is_a_child_span(client, el):
    b"".join(client.text_to_speech.convert(VOICE, text=TEXT))
    span = _speech_span(el)
    children = [s for s in el.http_spans() if s.parent is not None and s.parent.span_id == span.context.span_id]
    assert len(children) == 1


def test_the_span_ends_after_the_last_chunk_of_a_slow_stream(client, el):
    started = time.time_ns()
    last_read = 0
    for _ in client.text_to_speech.stream(
        VOICE, text=TEXT, output_format="pcm_16000", request_options=opts("slow_stream", delay="0.03")
    ):
        last_read = time.time_ns()
        assert el.genai_spans() == []  # still in flight while audio arrives
    span = _speech_span(el)
    assert span.start_time >= started
    assert span.end_time >= last_read
    assert span.attributes["gen_ai.request.stream"] is True
    assert (span.end_time - span.start_time) / 1e9 > 0.1  # several 30 ms gaps: the whole download


def test_mp3_seconds_come_from_the_frame_headers(client, el):
    audio = b"".join(client.text_to_speech.convert(VOICE, text=TEXT))
    attrs = _speech_span(el).attributes
    assert attrs["otel_ai.audio.format"] == "mp3_44100_128"
    assert attrs["otel_ai.audio.bytes"] == len(audio)
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(speech_seconds(len(TEXT), "mp3_44100_128"), rel=0.01)


@pytest.mark.parametrize("fmt", ["ulaw_8000", "alaw_8000", "pcm_44100"])
def test_other_exact_formats(client, el, fmt):
    b"".join(client.text_to_speech.convert(VOICE, text=TEXT, output_format=fmt))
    attrs = _speech_span(el).attributes
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(speech_seconds(len(TEXT), fmt), abs=1e-9)


def test_metrics_are_recorded_once_per_call(client, el):
    for _ in range(3):
        b"".join(client.text_to_speech.convert(VOICE, text=TEXT, output_format="pcm_24000"))
    assert _count(el, "gen_ai.client.operation.duration") == 3
    assert _count(el, "gen_ai.client.operation.time_to_first_chunk") == 3
    assert _count(el, "otel_ai.client.audio.duration") == 3
    assert _count(el, "otel_ai.client.audio.real_time_factor") == 3
    [(labels, point)] = el.points("otel_ai.client.characters")
    assert point.value == 3 * len(TEXT)
    assert labels["gen_ai.operation.name"] == "text_to_speech"
    [(audio_labels, seconds)] = el.points("otel_ai.client.audio.duration")
    assert seconds.sum == pytest.approx(3 * speech_seconds(len(TEXT), "pcm_24000"))
    [(rtf_labels, rtf)] = el.points("otel_ai.client.audio.real_time_factor")
    durations = [s.end_time - s.start_time for s in el.genai_spans()]  # ns, the calls' own
    assert rtf.sum == pytest.approx(sum(d / 1e9 for d in durations) / speech_seconds(len(TEXT), "pcm_24000"), rel=0.25)
    [(duration_labels, _)] = el.points("gen_ai.client.operation.duration")
    assert audio_labels == rtf_labels == duration_labels  # the duration histogram's attributes
    assert audio_labels["gen_ai.provider.name"] == "elevenlabs"


def test_character_count_header_alternatives(client, el):
    b"".join(client.text_to_speech.convert(VOICE, text=TEXT, request_options=opts(cost_header="x-character-count")))
    assert _speech_span(el).attributes["otel_ai.pricing.source"] == "header"
    el.spans_exporter.clear()
    b"".join(client.text_to_speech.convert(VOICE, text=TEXT, request_options=opts(cost_header="none")))
    attrs = _speech_span(el).attributes
    assert attrs["otel_ai.usage.characters"] == len(TEXT)
    assert attrs["otel_ai.pricing.source"] == "catalog"


def test_billed_characters_follow_the_header(client, el):
    b"".join(client.text_to_speech.convert(VOICE, text=TEXT, request_options=opts(character_cost="7")))
    attrs = _speech_span(el).attributes
    assert attrs["otel_ai.usage.characters"] == 7
    assert attrs["otel_ai.cost.usd"] == pytest.approx(7 / 1000 * 0.1)


def test_model_and_language_from_the_request(client, el):
    b"".join(client.text_to_speech.convert(VOICE, text=TEXT, model_id="eleven_flash_v2_5", language_code="de"))
    span = _speech_span(el)
    assert span.name == "text_to_speech eleven_flash_v2_5"
    assert span.attributes["gen_ai.speech.input.language"] == "de"
    assert span.attributes["otel_ai.cost.usd"] == pytest.approx(len(TEXT) / 1000 * 0.05)


# --------------------------------------------------------------------------------------------
# Endings: abandoned, raw response, errors
# --------------------------------------------------------------------------------------------


def test_an_abandoned_iterator_ends_its_span_when_collected(client, el):
    audio = client.text_to_speech.convert(VOICE, text=TEXT * 5, output_format="pcm_24000")
    first = next(audio)
    assert el.genai_spans() == []
    del audio
    gc.collect()
    span = _speech_span(el)
    assert span.attributes["otel_ai.audio.bytes"] == len(first)
    assert span.attributes["otel_ai.audio.chunks"] == 1
    assert span.status.status_code is StatusCode.UNSET
    assert _count(el, "gen_ai.client.operation.duration") == 1


def test_with_raw_response_gives_headers_and_ends_on_exit(client, el):
    with client.text_to_speech.with_raw_response.convert(VOICE, text=TEXT, output_format="pcm_24000") as raw:
        request_id = raw.headers["request-id"]
        first = next(iter(raw.data))
        assert el.genai_spans() == []
    span = _speech_span(el)
    assert span.attributes["gen_ai.response.id"] == request_id
    assert span.attributes["otel_ai.audio.bytes"] == len(first)


def test_with_raw_response_read_whole(client, el):
    with client.text_to_speech.with_raw_response.stream(VOICE, text=TEXT, output_format="pcm_24000") as raw:
        audio = b"".join(raw.data)
    assert _speech_span(el).attributes["otel_ai.audio.bytes"] == len(audio)


@pytest.mark.parametrize(
    ("scenario", "category", "exc_name"),
    [
        ("auth_error", "auth", "ApiError"),
        ("unprocessable", "bad_request", "UnprocessableEntityError"),
        ("rate_limit", "rate_limit", "ApiError"),
        ("server_error", "server_error", "ApiError"),
    ],
)
def test_errors_before_audio_pass_through_and_end_the_span(client, el, el_sim, scenario, category, exc_name):
    uninstrumented = elevenlabs.ElevenLabs(api_key=KEY, **el_sim.client_options())
    from otel_ai.instrumentation.elevenlabs import ElevenLabsInstrumentor

    ElevenLabsInstrumentor().uninstrument()
    with pytest.raises(Exception) as plain:
        b"".join(uninstrumented.text_to_speech.convert(VOICE, text=TEXT, request_options=opts(scenario)))
    ElevenLabsInstrumentor().instrument(**el.providers)
    with pytest.raises(Exception) as raised:
        b"".join(client.text_to_speech.convert(VOICE, text=TEXT, request_options=opts(scenario)))
    assert type(raised.value) is type(plain.value)
    assert type(raised.value).__name__ == exc_name
    assert getattr(raised.value, "status_code", None) == getattr(plain.value, "status_code", None)
    assert getattr(raised.value, "body", None) == getattr(plain.value, "body", None)
    span = _speech_span(el)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span)
    assert span.attributes["otel_ai.error.category"] == category
    [(labels, point)] = el.points("otel_ai.client.requests")
    assert labels["otel_ai.outcome"] == "error" and point.value == 1


def test_a_connection_cut_mid_audio_fails_the_span_with_what_was_delivered(client, el):
    received = 0
    with pytest.raises(Exception) as raised:
        for chunk in client.text_to_speech.stream(
            VOICE, text=TEXT * 4, output_format="pcm_24000", request_options=opts("cut_stream")
        ):
            received += len(chunk)
    span = _speech_span(el)
    assert received > 0
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span)
    assert span.attributes["otel_ai.error.category"] == "connection"
    assert span.attributes["otel_ai.audio.bytes"] == received
    assert type(raised.value).__module__.startswith(("httpx", "httpcore", "h11"))


# --------------------------------------------------------------------------------------------
# Async
# --------------------------------------------------------------------------------------------


async def test_async_convert_and_stream(aclient, el):
    audio = b"".join([c async for c in aclient.text_to_speech.convert(VOICE, text=TEXT, output_format="pcm_24000")])
    span = _speech_span(el)
    assert span.attributes["otel_ai.audio.bytes"] == len(audio)
    assert span.attributes["otel_ai.audio.seconds"] == pytest.approx(speech_seconds(len(TEXT), "pcm_24000"))
    el.spans_exporter.clear()
    last_read = 0
    async for _ in aclient.text_to_speech.stream(
        VOICE, text=TEXT, output_format="pcm_16000", request_options=opts("slow_stream", delay="0.02")
    ):
        last_read = time.time_ns()
    span = _speech_span(el)
    assert span.end_time >= last_read
    assert span.attributes["gen_ai.request.stream"] is True


async def test_async_error_passes_through(aclient, el):
    with pytest.raises(Exception) as raised:
        async for _ in aclient.text_to_speech.convert(VOICE, text=TEXT, request_options=opts("auth_error")):
            pass
    assert type(raised.value).__name__ == "ApiError"
    span = _speech_span(el)
    assert span.attributes["otel_ai.error.category"] == "auth"


async def test_async_with_raw_response(aclient, el):
    async with aclient.text_to_speech.with_raw_response.convert(VOICE, text=TEXT, output_format="pcm_24000") as raw:
        audio = b"".join([c async for c in raw.data])
    assert _speech_span(el).attributes["otel_ai.audio.bytes"] == len(audio)


# --------------------------------------------------------------------------------------------
# The other APIs
# --------------------------------------------------------------------------------------------


def test_dialogue_is_text_to_speech_marked_with_every_voice(client, el):
    if not hasattr(client, "text_to_dialogue"):  # elevenlabs 2.0 has none (CI runs the newest 2.x)
        pytest.skip("this elevenlabs version has no text_to_dialogue")
    inputs = [{"text": "Hi there.", "voice_id": "v1"}, {"text": "Hello back!", "voice_id": "v2"}]
    b"".join(client.text_to_dialogue.convert(inputs=inputs, output_format="pcm_24000"))
    attrs = _speech_span(el).attributes
    assert attrs["gen_ai.operation.name"] == "text_to_speech"
    assert attrs["otel_ai.speech.dialogue"] is True
    assert attrs["gen_ai.speech.voice"] == ("v1", "v2")
    assert attrs["otel_ai.usage.characters"] == len("Hi there.") + len("Hello back!")


def test_timestamps_forms(client, el):
    result = client.text_to_speech.convert_with_timestamps(VOICE, text=TEXT, output_format="pcm_24000")
    attrs = _speech_span(el).attributes
    assert result.audio_base_64
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(speech_seconds(len(TEXT), "pcm_24000"))
    el.spans_exporter.clear()
    chunks = list(client.text_to_speech.stream_with_timestamps(VOICE, text=TEXT, output_format="pcm_24000"))
    attrs = _speech_span(el).attributes
    assert attrs["otel_ai.audio.chunks"] == len([c for c in chunks if c.audio_base_64])
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(speech_seconds(len(TEXT), "pcm_24000"))


def test_sound_generation(client, el):
    b"".join(client.text_to_sound_effects.convert(text="rain on a tin roof", output_format="pcm_24000"))
    attrs = _speech_span(el).attributes
    assert attrs["gen_ai.operation.name"] == "sound_generation"
    assert attrs["otel_ai.audio.bytes"] > 0


def test_speech_to_speech(client, el, el_sim):
    upload = b"".join(elevenlabs.ElevenLabs(api_key=KEY, **el_sim.client_options()).text_to_speech.convert(
        VOICE, text=TEXT, output_format="pcm_24000"))
    el.spans_exporter.clear()
    b"".join(client.speech_to_speech.convert(VOICE, audio=upload, output_format="pcm_24000"))
    attrs = _speech_span(el).attributes
    assert attrs["gen_ai.operation.name"] == "speech_to_speech"
    assert attrs["gen_ai.speech.voice"] == VOICE
    assert attrs["otel_ai.audio.seconds"] > 0


def test_speech_to_text_records_duration_language_transcript_and_cost(client, el):
    upload = b"\x00\x01" * 8000
    result = client.speech_to_text.convert(model_id="scribe_v1", file=upload)
    span = _speech_span(el)
    attrs = span.attributes
    assert span.name == "speech_to_text scribe_v1"
    assert attrs["gen_ai.speech.input.language"] == result.language_code
    assert attrs["otel_ai.transcript.characters"] == len(result.text)
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(result.audio_duration_secs)
    assert attrs["otel_ai.cost.usd"] == pytest.approx(result.audio_duration_secs / 3600 * 0.22)
    assert "gen_ai.output.type" not in attrs


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_text_is_captured_only_when_asked_and_redacted_on_export(client, el, content_mode):
    b"".join(client.text_to_speech.convert(VOICE, text="mail jane@example.com now"))
    attrs = _speech_span(el).attributes
    assert "jane@example.com" in attrs["gen_ai.input.messages"]  # in memory; the exporter redacts
    from otel_ai.privacy.redactor import Redactor

    assert "jane@example.com" not in Redactor().redact(attrs["gen_ai.input.messages"])[0]


def test_no_content_by_default(client, el):
    b"".join(client.text_to_speech.convert(VOICE, text=TEXT))
    assert "gen_ai.input.messages" not in _speech_span(el).attributes


def test_the_client_key_is_registered_for_redaction(client, el):
    from otel_ai.privacy import secrets

    b"".join(client.text_to_speech.convert(VOICE, text=TEXT))
    assert KEY in secrets._known


# --------------------------------------------------------------------------------------------
# The realtime websocket session
# --------------------------------------------------------------------------------------------

realtime = pytest.mark.filterwarnings("ignore:ConnectionClosed.*deprecated:DeprecationWarning")


def _realtime_options() -> dict[str, Any]:
    from elevenlabs import VoiceSettings

    # Clients before ~2.60 crash without voice_settings and send model_id=Ellipsis without a model_id.
    return {"model_id": "eleven_flash_v2_5", "voice_settings": VoiceSettings(stability=0.5, similarity_boost=0.75)}


@realtime
def test_a_realtime_session_is_one_span_with_its_chunks_and_characters(client, el, el_sim):
    from elevenlabs.realtime_tts import text_chunker

    parts = ["Hello ", "there, ", "how are", " you?"]
    el_sim.point_realtime(client)
    session = client.text_to_speech.convert_realtime(VOICE, text=iter(parts), output_format="pcm_16000",
                                                     **_realtime_options())
    assert el.genai_spans() == []  # nothing sent yet
    audio = b"".join(session)
    span = _speech_span(el)
    attrs = span.attributes
    spoken = "".join(text_chunker(iter(parts)))
    assert span.name == "text_to_speech eleven_flash_v2_5"
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["otel_ai.audio.bytes"] == len(audio)
    assert attrs["otel_ai.audio.chunks"] >= 2
    assert attrs["otel_ai.audio.seconds"] == pytest.approx(len(audio) / (2 * 16000))
    assert attrs["otel_ai.usage.characters"] == len("".join(parts))
    assert len(spoken) >= len("".join(parts))  # the client adds spaces of its own; the caller's text is counted
    assert el_sim.requests[-1].websocket


@realtime
def test_a_failing_realtime_session_fails_its_span(client, el, el_sim):
    el_sim.point_realtime(client)
    with pytest.raises(elevenlabs.core.api_error.ApiError):
        list(client.text_to_speech.convert_realtime(
            VOICE, text=iter(["Hi"]), request_options=opts("auth_error"), **_realtime_options()))
    span = _speech_span(el)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span)
