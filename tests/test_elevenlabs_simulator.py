"""The ElevenLabs simulator (otel_ai/testing/elevenlabs_simulator.py) against the real `elevenlabs` client."""

from __future__ import annotations

import base64
import enum
import io
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

elevenlabs = pytest.importorskip("elevenlabs")
mutagen_mp3 = pytest.importorskip("mutagen.mp3")

from elevenlabs import AsyncElevenLabs, ElevenLabs, VoiceSettings  # noqa: E402
from elevenlabs.core.api_error import ApiError  # noqa: E402
from elevenlabs.errors import UnprocessableEntityError  # noqa: E402
from elevenlabs.realtime_tts import text_chunker  # noqa: E402

from otel_ai.testing.elevenlabs_simulator import (  # noqa: E402
    CHUNK_SIZE,
    DEFAULT_TRANSCRIPT,
    SCENARIOS,
    ElevenLabsSimulator,
    audio_duration,
    client_options,
    parse_output_format,
    render_speech,
    speech_seconds,
)

API_KEY = "xi-test-0123456789abcdef0123456789abcdef"
VOICE = "JBFqnCBsd6RMkjVDRZzb"
MODEL = "eleven_multilingual_v2"
TEXT = "The quick brown fox jumps over the lazy dog."
DIALOGUE = [{"text": "Knock knock.", "voice_id": "voice-a"}, {"text": "Who is there?", "voice_id": "voice-b"}]
DIALOGUE_CHARS = sum(len(line["text"]) for line in DIALOGUE)


def options(scenario: str, **extra: str) -> dict[str, Any]:
    """`request_options` choosing the simulator's behaviour for one call."""
    headers = {"x-simulator-scenario": scenario, **{f"x-simulator-{k.replace('_', '-')}": v for k, v in extra.items()}}
    return {"additional_headers": headers, "max_retries": 0}


@pytest.fixture(scope="module")
def sim() -> Iterator[ElevenLabsSimulator]:
    with ElevenLabsSimulator() as server:
        yield server


@pytest.fixture
def client(sim: ElevenLabsSimulator) -> Iterator[ElevenLabs]:
    sim.clear()
    yield ElevenLabs(api_key=API_KEY, **sim.client_options())


@pytest.fixture
async def aclient(sim: ElevenLabsSimulator) -> AsyncElevenLabs:
    sim.clear()
    return AsyncElevenLabs(api_key=API_KEY, **sim.client_options())


def first_loc(body: Any) -> list[Any]:
    """The ``loc`` of the first 422 detail (a dict, or an ``HttpValidationError`` in early 2.x)."""
    detail = body["detail"] if isinstance(body, dict) else body.detail
    first = detail[0]
    return list(first["loc"] if isinstance(first, dict) else first.loc)


def mp3_info(data: bytes) -> Any:
    return mutagen_mp3.MP3(io.BytesIO(data)).info


# --------------------------------------------------------------------------- audio rules


@pytest.mark.parametrize(
    "output_format",
    ["mp3_22050_32", "mp3_24000_48", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128", "mp3_44100_192"],
)
def test_mp3_frames_read_by_mutagen(output_format: str) -> None:
    fmt = parse_output_format(output_format)
    data = render_speech(len(TEXT), output_format)
    info = mp3_info(data)
    assert (info.bitrate, info.sample_rate, info.channels) == (fmt.bitrate, fmt.sample_rate, 1)
    exact = speech_seconds(len(TEXT), output_format)
    assert exact >= len(TEXT) * 0.06 > exact - fmt.samples_per_unit / fmt.sample_rate  # rounded up to a frame
    assert audio_duration(data) == pytest.approx(exact)
    assert info.length == pytest.approx(exact, abs=1e-3)  # mutagen estimates CBR length from the size


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 24000, 32000, 44100, 48000])
def test_pcm_and_wav_lengths_are_exact(rate: int) -> None:
    pcm = render_speech(len(TEXT), f"pcm_{rate}")
    assert len(pcm) == len(TEXT) * rate * 6 // 100 * 2
    assert speech_seconds(len(TEXT), f"pcm_{rate}") == pytest.approx(len(TEXT) * 0.06)
    with wave.open(io.BytesIO(render_speech(len(TEXT), f"wav_{rate}"))) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (rate, 1, 2)
        assert reader.readframes(reader.getnframes()) == pcm


def test_g711_and_unknown_formats() -> None:
    for name in ("ulaw_8000", "alaw_8000"):
        data = render_speech(10, name)
        assert len(data) == 10 * 480 and len(set(data)) > 10
        assert audio_duration(data, name) == pytest.approx(0.6)
    with pytest.raises(ValueError):
        parse_output_format("opus_48000_64")
    with pytest.raises(ValueError):
        parse_output_format("mp3_44100_100")
    assert parse_output_format(None).name == "mp3_44100_128"


# --------------------------------------------------------------------------- text to speech


def test_convert_default_mp3(client: ElevenLabs, sim: ElevenLabsSimulator) -> None:
    chunks = list(client.text_to_speech.convert(VOICE, text=TEXT, model_id=MODEL))
    data = b"".join(chunks)
    assert data == render_speech(len(TEXT))
    assert all(len(c) == CHUNK_SIZE for c in chunks[:-1]) and 0 < len(chunks[-1]) <= CHUNK_SIZE
    info = mp3_info(data)
    assert (info.bitrate, info.sample_rate) == (128_000, 44_100)
    (record,) = sim.requests
    assert (record.method, record.path, record.query) == ("POST", f"/v1/text-to-speech/{VOICE}", "")
    assert record.json == {"text": TEXT, "model_id": MODEL}
    assert record.api_key == API_KEY
    assert (record.status, record.characters, record.output_format) == (200, len(TEXT), "mp3_44100_128")
    assert record.audio_bytes == len(data) and record.audio_seconds == speech_seconds(len(TEXT))


def test_raw_response_headers(client: ElevenLabs, sim: ElevenLabsSimulator) -> None:
    with client.text_to_speech.with_raw_response.convert(VOICE, text=TEXT, output_format="pcm_24000") as response:
        headers = response.headers
        data = b"".join(response.data)
    assert len(data) == len(TEXT) * 1440 * 2
    assert headers["content-type"] == "audio/pcm"
    assert headers["character-cost"] == str(len(TEXT))
    assert len(headers["request-id"]) == 20 and len(headers["history-item-id"]) == 20
    assert int(headers["tts-latency-ms"]) >= 0
    assert "x-character-count" not in headers
    (record,) = sim.requests
    assert record.params == {"output_format": "pcm_24000"}
    assert record.response_headers["request-id"] == headers["request-id"]


def test_cost_header_choices(client: ElevenLabs) -> None:
    def head(**extra: str) -> dict[str, str]:
        with client.text_to_speech.with_raw_response.convert(
            VOICE, text=TEXT, request_options=options("ok", **extra)
        ) as r:
            return dict(r.headers)

    alt = head(cost_header="x-character-count")
    assert alt["x-character-count"] == str(len(TEXT)) and "character-cost" not in alt
    none = head(cost_header="none")
    assert "character-cost" not in none and "x-character-count" not in none
    assert head(character_cost="7")["character-cost"] == "7"


def test_no_history_item_without_logging(client: ElevenLabs, sim: ElevenLabsSimulator) -> None:
    with client.text_to_speech.with_raw_response.convert(VOICE, text="Hi", enable_logging=False) as r:
        assert "history-item-id" not in r.headers and r.headers["character-cost"] == "2"
        b"".join(r.data)
    assert sim.requests[0].params == {"enable_logging": "false"}


@pytest.mark.parametrize("output_format", ["mp3_44100_128", "pcm_16000", "ulaw_8000", "alaw_8000", "wav_22050"])
def test_stream_is_chunked_and_matches_convert(
    client: ElevenLabs, sim: ElevenLabsSimulator, output_format: str
) -> None:
    with client.text_to_speech.with_raw_response.stream(VOICE, text=TEXT, output_format=output_format) as r:
        assert r.headers["transfer-encoding"] == "chunked"
        assert r.headers["content-type"] == parse_output_format(output_format).content_type
        data = b"".join(r.data)
    assert data == render_speech(len(TEXT), output_format)
    assert audio_duration(data, output_format) == pytest.approx(speech_seconds(len(TEXT), output_format))
    assert sim.requests[0].path == f"/v1/text-to-speech/{VOICE}/stream"


def test_convert_with_timestamps(client: ElevenLabs) -> None:
    reply = client.text_to_speech.convert_with_timestamps(VOICE, text=TEXT, output_format="pcm_16000")
    assert base64.b64decode(reply.audio_base_64) == render_speech(len(TEXT), "pcm_16000")
    assert reply.alignment is not None and reply.normalized_alignment is not None
    assert "".join(reply.alignment.characters) == TEXT
    assert reply.alignment.character_start_times_seconds[1] == pytest.approx(0.06)
    assert reply.alignment.character_end_times_seconds[-1] == pytest.approx(len(TEXT) * 0.06)


def test_stream_with_timestamps_lines(client: ElevenLabs, sim: ElevenLabsSimulator) -> None:
    lines = list(client.text_to_speech.stream_with_timestamps(VOICE, text=TEXT))
    assert len(lines) == len(TEXT.split())
    assert b"".join(base64.b64decode(line.audio_base_64) for line in lines) == render_speech(len(TEXT))
    assert "".join("".join(line.alignment.characters) for line in lines) == TEXT
    assert lines[1].alignment.character_start_times_seconds[0] == pytest.approx(4 * 0.06)  # "quick" after "The "
    (record,) = sim.requests
    assert (
        record.path.endswith("/stream/with-timestamps")
        and record.response_headers["Content-Type"] == "application/json"
    )


def test_unknown_output_format_is_422(client: ElevenLabs) -> None:
    with pytest.raises(UnprocessableEntityError) as caught:
        b"".join(client.text_to_speech.convert(VOICE, text=TEXT, output_format="opus_48000_64"))
    assert first_loc(caught.value.body) == ["query", "output_format"]


# --------------------------------------------------------------------------- other endpoints


def test_dialogue_all_forms(client: ElevenLabs, sim: ElevenLabsSimulator) -> None:
    if not hasattr(client, "text_to_dialogue"):
        pytest.skip("this elevenlabs client has no text_to_dialogue (2.0)")
    audio = b"".join(client.text_to_dialogue.convert(inputs=DIALOGUE, output_format="pcm_22050"))
    assert len(audio) == DIALOGUE_CHARS * 1323 * 2
    streamed = b"".join(client.text_to_dialogue.stream(inputs=DIALOGUE, output_format="pcm_22050"))
    assert streamed == audio
    reply = client.text_to_dialogue.convert_with_timestamps(inputs=DIALOGUE, output_format="pcm_22050")
    assert base64.b64decode(reply.audio_base_64) == audio
    first, second = reply.voice_segments
    assert (first.voice_id, first.character_end_index, second.dialogue_input_index) == ("voice-a", 12, 1)
    assert second.end_time_seconds == pytest.approx(DIALOGUE_CHARS * 0.06)
    lines = list(client.text_to_dialogue.stream_with_timestamps(inputs=DIALOGUE, output_format="pcm_22050"))
    assert b"".join(base64.b64decode(line.audio_base_64) for line in lines) == audio
    assert {line.voice_segments[0].voice_id for line in lines} == {"voice-a", "voice-b"}
    assert [r.path for r in sim.requests] == [
        "/v1/text-to-dialogue",
        "/v1/text-to-dialogue/stream",
        "/v1/text-to-dialogue/with-timestamps",
        "/v1/text-to-dialogue/stream/with-timestamps",
    ]
    assert {r.response_headers["character-cost"] for r in sim.requests} == {str(DIALOGUE_CHARS)}


def test_speech_to_speech_keeps_the_upload_duration(client: ElevenLabs, sim: ElevenLabsSimulator) -> None:
    upload = render_speech(25, "wav_16000")  # 1.5 s
    out = b"".join(client.speech_to_speech.convert(VOICE, audio=("in.wav", upload, "audio/wav"), model_id="eleven_sts"))
    assert out == render_speech(25)
    with client.speech_to_speech.with_raw_response.stream(
        VOICE, audio=("in.wav", upload, "audio/wav"), output_format="pcm_16000"
    ) as r:
        assert "character-cost" not in r.headers and r.headers["transfer-encoding"] == "chunked"
        assert len(b"".join(r.data)) == 24_000 * 2
    first, second = sim.requests
    assert first.form == {"model_id": "eleven_sts"}
    assert (first.files["audio"].filename, first.files["audio"].data) == ("in.wav", upload)
    assert second.path.endswith("/stream") and second.audio_seconds == pytest.approx(1.5)


def test_speech_to_speech_path_of_older_clients(sim: ElevenLabsSimulator) -> None:
    response = httpx.post(
        f"{sim.base_url}/v1/speech-to-speech/{VOICE}?output_format=ulaw_8000",
        headers={"xi-api-key": API_KEY},
        files={"audio": ("a.pcm", b"\0" * 32_000)},  # unknown container: 16 kHz 16-bit PCM, 1 s
    )
    assert response.status_code == 200 and len(response.content) == 8000


def test_sound_generation(client: ElevenLabs, sim: ElevenLabsSimulator) -> None:
    timed = b"".join(client.text_to_sound_effects.convert(text="rain", duration_seconds=1.5, output_format="pcm_44100"))
    assert len(timed) == round(1.5 * 44100) * 2
    untimed = b"".join(client.text_to_sound_effects.convert(text="thunder", output_format="pcm_44100"))
    assert len(untimed) == 7 * 2646 * 2
    assert sim.requests[0].json == {"text": "rain", "duration_seconds": 1.5}
    assert sim.requests[1].response_headers["character-cost"] == "7"


def test_speech_to_text(client: ElevenLabs, sim: ElevenLabsSimulator) -> None:
    upload = render_speech(len(TEXT))
    reply = client.speech_to_text.convert(model_id="scribe_v1", file=("speech.mp3", upload, "audio/mpeg"))
    assert (reply.text, reply.language_code) == (DEFAULT_TRANSCRIPT, "eng")
    assert 0 < reply.language_probability <= 1
    assert reply.audio_duration_secs == pytest.approx(speech_seconds(len(TEXT)))
    assert "".join(w.text for w in reply.words) == DEFAULT_TRANSCRIPT
    assert reply.words[-1].end == pytest.approx(reply.audio_duration_secs, abs=1e-3)
    raw = client.speech_to_text.with_raw_response.convert(  # not a context manager: the answer is read already
        model_id="scribe_v1", file=("s.wav", render_speech(5, "wav_8000")), language_code="fr",
        request_options=options("ok", reply="Bonjour tout le monde"),
    )  # fmt: skip
    assert raw.data.language_code == "fr" and raw.data.text == "Bonjour tout le monde"
    assert raw.data.audio_duration_secs == pytest.approx(0.3)
    assert "character-cost" not in raw.headers and "request-id" in raw.headers
    record = sim.requests[-1]
    assert record.form["model_id"] == "scribe_v1" and record.files["file"].filename == "s.wav"


def test_speech_to_text_needs_a_model(sim: ElevenLabsSimulator) -> None:
    response = httpx.post(f"{sim.base_url}/v1/speech-to-text", headers={"xi-api-key": API_KEY}, files={"file": b"x"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "model_id"]


# --------------------------------------------------------------------------- scenarios


@pytest.mark.parametrize(
    ("scenario", "status", "error"),
    [("auth_error", 401, ApiError), ("quota_exceeded", 401, ApiError), ("rate_limit", 429, ApiError),
     ("server_error", 500, ApiError), ("unprocessable", 422, UnprocessableEntityError)],
)  # fmt: skip
def test_error_scenarios(client: ElevenLabs, sim: ElevenLabsSimulator, scenario: str, status: int, error: type) -> None:
    audio = client.text_to_speech.convert(VOICE, text=TEXT, request_options=options(scenario))
    assert not sim.requests  # a generator: nothing is sent before iteration
    with pytest.raises(error) as caught:
        next(iter(audio))
    assert caught.value.status_code == status
    assert "request-id" in caught.value.headers
    if status == 422:
        assert first_loc(caught.value.body) == ["body", "text"]
    else:
        assert set(caught.value.body["detail"]) == {"status", "message"}
    with (
        pytest.raises(error),
        client.text_to_speech.with_raw_response.stream(VOICE, text=TEXT, request_options=options(scenario)),
    ):
        pass  # the raw forms raise on entering the context
    with pytest.raises(error):
        client.speech_to_text.convert(model_id="scribe_v1", file=b"\0\0", request_options=options(scenario))
    assert [r.status for r in sim.requests] == [status] * 3


def test_missing_key_and_unknown_scenario_and_route(sim: ElevenLabsSimulator) -> None:
    keyless = ElevenLabs(api_key=None, **sim.client_options())
    with pytest.raises(ApiError) as caught:
        b"".join(keyless.text_to_speech.convert(VOICE, text=TEXT))
    assert caught.value.status_code == 401 and caught.value.body["detail"]["status"] == "needs_authorization"
    client = ElevenLabs(api_key=API_KEY, **sim.client_options())
    with pytest.raises(ApiError) as caught:
        b"".join(client.text_to_speech.convert(VOICE, text=TEXT, request_options=options("bogus")))
    assert caught.value.status_code == 400
    assert httpx.post(f"{sim.base_url}/v1/nowhere", headers={"xi-api-key": API_KEY}).status_code == 404
    assert httpx.get(f"{sim.base_url}/health").json() == {"status": "ok"}


def test_echo_error_repeats_text_and_key(client: ElevenLabs) -> None:
    with pytest.raises(ApiError) as caught:
        b"".join(client.text_to_speech.stream(VOICE, text="my card is 4111", request_options=options("echo_error")))
    message = caught.value.body["detail"]["message"]
    assert caught.value.status_code == 400 and "my card is 4111" in message and API_KEY in message


def test_slow_delays_the_first_byte(client: ElevenLabs) -> None:
    started = time.monotonic()
    with client.text_to_speech.with_raw_response.convert(
        VOICE, text="Hi", request_options=options("slow", delay="0.3")
    ) as r:
        assert time.monotonic() - started >= 0.3
        assert int(r.headers["tts-latency-ms"]) >= 300
        b"".join(r.data)


def test_slow_stream_spaces_the_chunks(client: ElevenLabs) -> None:
    text = "x" * 20  # 1.2 s of PCM at 16 kHz: 38,400 bytes, 38 chunks
    arrivals = []
    started = time.monotonic()
    for _chunk in client.text_to_speech.stream(
        VOICE, text=text, output_format="pcm_16000", request_options=options("slow_stream", delay="0.01")
    ):
        arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 38
    # 37 pauses of 10 ms between the chunks; the first arrival can itself be late by a few ms on a
    # loaded machine, so allow 10% (a stream without the pauses spreads over ~0.01 s).
    assert arrivals[-1] >= 37 * 0.01
    assert arrivals[-1] - arrivals[0] >= 0.9 * 37 * 0.01


@pytest.mark.parametrize("method", ["convert", "stream"])
def test_cut_stream_drops_mid_audio(client: ElevenLabs, sim: ElevenLabsSimulator, method: str) -> None:
    received = []
    with pytest.raises(httpx.RemoteProtocolError):
        for chunk in getattr(client.text_to_speech, method)(VOICE, text=TEXT, request_options=options("cut_stream")):
            received.append(chunk)
    assert 0 < len(b"".join(received)) < len(render_speech(len(TEXT)))
    assert sim.requests[0].status is None


def test_cut_stream_on_json(client: ElevenLabs) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.text_to_speech.convert_with_timestamps(VOICE, text=TEXT, request_options=options("cut_stream"))


def test_scenarios_are_documented() -> None:
    import otel_ai.testing.elevenlabs_simulator as module

    assert module.__doc__ is not None
    for name in SCENARIOS:
        assert f"``{name}``" in module.__doc__
    with pytest.raises(ValueError):
        ElevenLabsSimulator(default_scenario="nope")


# --------------------------------------------------------------------------- async


async def test_async_forms(aclient: AsyncElevenLabs, sim: ElevenLabsSimulator) -> None:
    chunks = [c async for c in aclient.text_to_speech.convert(VOICE, text=TEXT)]
    assert b"".join(chunks) == render_speech(len(TEXT))
    async with aclient.text_to_speech.with_raw_response.stream(VOICE, text=TEXT, output_format="pcm_48000") as r:
        assert r.headers["character-cost"] == str(len(TEXT))
        pcm = b"".join([c async for c in r.data])
    assert len(pcm) == len(TEXT) * 2880 * 2
    reply = await aclient.text_to_speech.convert_with_timestamps(VOICE, text=TEXT)
    assert "".join(reply.alignment.characters) == TEXT
    lines = [line async for line in aclient.text_to_speech.stream_with_timestamps(VOICE, text=TEXT)]
    assert len(lines) == len(TEXT.split())
    if hasattr(aclient, "text_to_dialogue"):  # not in 2.0
        stream = aclient.text_to_dialogue.stream(inputs=DIALOGUE, output_format="ulaw_8000")
        assert len(b"".join([c async for c in stream])) == DIALOGUE_CHARS * 480
    sts = [c async for c in aclient.speech_to_speech.convert(VOICE, audio=("a.mp3", render_speech(3)))]
    assert b"".join(sts) == render_speech(3)
    sound = [c async for c in aclient.text_to_sound_effects.convert(text="wind", duration_seconds=0.5)]
    assert mp3_info(b"".join(sound)).length == pytest.approx(0.5, abs=0.03)
    transcript = await aclient.speech_to_text.convert(model_id="scribe_v1", file=("a.mp3", render_speech(10)))
    assert transcript.audio_duration_secs == pytest.approx(speech_seconds(10))
    assert len(sim.requests) == (8 if hasattr(aclient, "text_to_dialogue") else 7)


async def test_async_errors(aclient: AsyncElevenLabs) -> None:
    with pytest.raises(ApiError) as caught:
        async for _ in aclient.text_to_speech.stream(VOICE, text=TEXT, request_options=options("rate_limit")):
            pass
    assert caught.value.status_code == 429
    received = []
    with pytest.raises(httpx.RemoteProtocolError):
        async for chunk in aclient.text_to_speech.convert(VOICE, text=TEXT, request_options=options("cut_stream")):
            received.append(chunk)
    assert received


# --------------------------------------------------------------------------- realtime websocket


# The client reads ConnectionClosed.code, deprecated since websockets 13.1, at the end of every session.
realtime = pytest.mark.filterwarnings("ignore:ConnectionClosed.*deprecated:DeprecationWarning")


# Clients before ~2.60 crash without voice_settings and send model_id=Ellipsis without a model_id.
REALTIME: dict[str, Any] = {"model_id": MODEL, "voice_settings": VoiceSettings(stability=0.5, similarity_boost=0.75)}


def realtime_text(parts: list[str]) -> str:
    """What ``convert_realtime`` sends (it re-chunks the text and adds spaces)."""
    return "".join(text_chunker(iter(parts)))


@realtime
def test_realtime_pcm(client: ElevenLabs, sim: ElevenLabsSimulator) -> None:
    parts = ["Hello ", "there, ", "how are", " you?"]
    sim.point_realtime(client)
    assert client.text_to_speech._ws_base_url == sim.ws_url
    audio = b"".join(
        client.text_to_speech.convert_realtime(VOICE, text=iter(parts), output_format="pcm_16000", **REALTIME)
    )
    spoken = realtime_text(parts)
    assert len(audio) == len(spoken) * 960 * 2
    (record,) = sim.requests
    assert record.websocket and record.status == 101 and record.api_key == API_KEY
    assert record.path == f"/v1/text-to-speech/{VOICE}/stream-input"
    assert record.params == {"model_id": MODEL, "output_format": "pcm_16000"}
    assert record.messages[0]["text"] == " " and record.messages[-1] == {"text": ""}
    assert record.messages[0]["voice_settings"]["stability"] == 0.5
    assert "".join(m["text"] for m in record.messages[1:]) == spoken
    assert (record.characters, record.audio_bytes) == (len(spoken), len(audio))


@realtime
def test_realtime_mp3_matches_http(client: ElevenLabs, sim: ElevenLabsSimulator) -> None:
    sim.point_realtime(client)
    parts = ["One, ", "two, ", "three."]
    audio = b"".join(client.text_to_speech.convert_realtime(VOICE, text=iter(parts), **REALTIME))
    assert audio == render_speech(len(realtime_text(parts)))
    assert sim.requests[0].params == {"model_id": MODEL, "output_format": "mp3_44100_128"}


@realtime
def test_realtime_failures(client: ElevenLabs, sim: ElevenLabsSimulator) -> None:
    sim.point_realtime(client)
    with pytest.raises(ApiError) as caught:
        list(
            client.text_to_speech.convert_realtime(
                VOICE, text=iter(["Hi"]), request_options=options("auth_error"), **REALTIME
            )
        )
    assert caught.value.status_code == 1008
    received = []
    with pytest.raises(ApiError) as caught:
        for chunk in client.text_to_speech.convert_realtime(
            VOICE, text=iter(["One, ", "two, ", "three."]), request_options=options("cut_stream"), **REALTIME
        ):
            received.append(chunk)
    assert caught.value.status_code == 1006 and received
    with pytest.raises(ApiError) as caught:
        list(client.text_to_speech.convert_realtime(VOICE, text=iter(["x"]), output_format="wav_16000", **REALTIME))
    assert caught.value.status_code == 1008


@realtime
def test_realtime_slow_stream(client: ElevenLabs, sim: ElevenLabsSimulator) -> None:
    sim.point_realtime(client)
    started = time.monotonic()
    chunks = list(
        client.text_to_speech.convert_realtime(
            VOICE, text=iter(["a, ", "b, ", "c."]), output_format="pcm_16000",
            request_options=options("slow_stream", delay="0.1"), **REALTIME,
        )
    )  # fmt: skip
    assert len(chunks) == 3 and time.monotonic() - started >= 0.2


def test_client_options(sim: ElevenLabsSimulator) -> None:
    from elevenlabs.environment import ElevenLabsEnvironment

    options = sim.client_options()
    if isinstance(ElevenLabsEnvironment, type) and issubclass(ElevenLabsEnvironment, enum.Enum):
        assert options == {"base_url": sim.base_url}  # recent 2.x: base_url as is
    else:  # early 2.x: base_url would become https://127.0.0.1 (port dropped)
        assert (options["environment"].base, options["environment"].wss) == (sim.base_url, sim.ws_url)


def test_point_realtime_needs_the_sync_client(sim: ElevenLabsSimulator) -> None:
    with pytest.raises(TypeError):
        sim.point_realtime(AsyncElevenLabs(api_key=API_KEY, **sim.client_options()))


# --------------------------------------------------------------------------- lifecycle


def test_stop_interrupts_a_slow_answer() -> None:
    simulator = ElevenLabsSimulator().start()
    client = ElevenLabs(api_key=API_KEY, timeout=10, **simulator.client_options())
    stream = client.text_to_speech.stream(VOICE, text="Hi", request_options=options("slow", delay="30"))
    started = time.monotonic()
    threading.Timer(0.2, simulator.stop).start()
    with pytest.raises(httpx.HTTPError):
        list(stream)
    assert time.monotonic() - started < 5


def test_runs_as_a_script() -> None:
    command = [sys.executable, "-m", "otel_ai.testing.elevenlabs_simulator", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line.startswith("listening on http://127.0.0.1:")
            base_url = line.removeprefix("listening on ")
            script_client = ElevenLabs(api_key=API_KEY, **client_options(base_url))
            assert b"".join(script_client.text_to_speech.convert(VOICE, text="Hi")) == render_speech(2)
        finally:
            proc.terminate()
        assert proc.wait(timeout=5) == 0
