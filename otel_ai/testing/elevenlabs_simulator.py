"""An ElevenLabs API simulator: a real HTTP and websocket server, standard library only.

The example app, the demo and the test suite drive the real ``elevenlabs`` 2.x client against it
over real HTTP. Run it as a script::

    python -m otel_ai.testing.elevenlabs_simulator --port 0
    listening on http://127.0.0.1:PORT

or use it in-process::

    with ElevenLabsSimulator() as sim:
        client = ElevenLabs(api_key="xi-test", base_url=sim.base_url)   # or AsyncElevenLabs
        client = ElevenLabs(api_key="xi-test", **sim.client_options())  # the same, any 2.x client
        sim.point_realtime(client)  # convert_realtime: plain ws:// on the same port (see below)

Endpoints (``POST`` unless said otherwise; ``output_format`` is a query parameter everywhere):

* ``/v1/text-to-speech/{voice_id}`` and ``/stream`` (audio bytes; ``/stream`` chunked),
  ``/with-timestamps`` (JSON: ``audio_base64``, ``alignment``, ``normalized_alignment``) and
  ``/stream/with-timestamps`` (newline-delimited JSON of the same, one line per word);
* ``/v1/text-to-dialogue`` with the same four forms (``inputs``: text and voice id per line; the
  timestamp forms add ``voice_segments``);
* ``/v1/speech-to-speech/{voice_id}`` and ``/v1/voice-changer/{voice_id}`` (the path of recent
  clients), each with ``/stream``: multipart upload ``audio``;
* ``/v1/sound-generation`` (JSON ``text``, optional ``duration_seconds``);
* ``/v1/speech-to-text`` (multipart ``file`` and ``model_id``): a transcript with
  ``language_code``, ``language_probability``, ``text``, ``words`` and ``audio_duration_secs``;
* ``GET /v1/text-to-speech/{voice_id}/stream-input`` as a websocket (``convert_realtime``): JSON
  text messages in (an initial ``" "``, text chunks, ``""`` to finish), JSON messages out
  (base64 ``audio`` with ``alignment``, then ``{"isFinal": true}``, then a 1000 close);
* ``GET /health``.

Audio is deterministic: ``SECONDS_PER_CHARACTER`` (0.06 s) of audio per character of text
(Python ``len``: dialogue sums its inputs; sound generation uses ``duration_seconds`` when given;
speech-to-speech lasts as long as the upload, see ``audio_duration``). Samples =
characters x rate x 0.06, exactly. Output formats: ``mp3_<rate>_<kbps>`` (default
``mp3_44100_128``: CBR MPEG Layer III frames of silence, mono, valid headers, no Xing tag, so
the audio is rounded up to whole frames of 1152 samples, 576 below 32 kHz), ``pcm_<rate>``
(16-bit little-endian mono 440 Hz sine), ``ulaw_8000``, ``alaw_8000``, ``wav_<rate>``.
``opus_*`` answers 422. ``speech_seconds(characters, output_format)`` is the exact duration
produced and ``render_speech`` its bytes. The realtime websocket speaks each non-blank text
message (``len`` of the message as sent, ``text_chunker``'s added spaces included).

Answer headers like the real service: ``request-id``, ``history-item-id`` (synthesis endpoints,
not with ``enable_logging=false``), ``character-cost`` (characters of the text; none for
speech-to-speech and speech-to-text), ``tts-latency-ms`` (milliseconds to the first byte),
``current-concurrent-requests``, ``maximum-concurrent-requests``, ``content-type``
(``audio/mpeg``, ``audio/pcm``, ``audio/basic``, ``audio/x-alaw-basic``, ``audio/wav``).

Behaviour is chosen per request with the ``x-simulator-scenario`` header (the client sends extra
headers with ``request_options={"additional_headers": {...}}``, the websocket too):

* ``ok`` (default): the answer;
* ``slow``: ``x-simulator-delay`` seconds (default 2) before the first byte;
* ``slow_stream``: that delay (default 0.05) between 1024-byte chunks of audio and between
  websocket audio messages (JSON answers: once, before answering);
* ``cut_stream``: about half of the body, then the TCP connection drops (websocket: one audio
  message, then no close frame: the client raises ``ApiError`` with status 1006);
* ``auth_error`` (401 ``invalid_api_key``), ``quota_exceeded`` (401), ``unprocessable`` (422),
  ``rate_limit`` (429 ``too_many_concurrent_requests``), ``server_error`` (500): before any audio;
  on the websocket an error message then close code 1008 (the client raises ``ApiError`` 1008);
* ``echo_error``: 400 whose message repeats the text and the ``xi-api-key`` (leak tests).

Other request headers:

* ``x-simulator-delay``: seconds for ``slow`` (default 2) and ``slow_stream`` (default 0.05,
  between 1024-byte chunks / websocket messages);
* ``x-simulator-cost-header``: ``character-cost`` (default), ``x-character-count`` or ``none``;
* ``x-simulator-character-cost``: the cost value to send instead of the characters (any endpoint);
* ``x-simulator-reply``: the speech-to-text transcript (default ``DEFAULT_TRANSCRIPT``).

Errors have the real bodies: ``{"detail": {"status": ..., "message": ...}}`` (401, 429, 400) and
FastAPI's ``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`` (422). Requests without an
``xi-api-key`` header get 401 ``needs_authorization``.

Client facts this relies on (elevenlabs 2.x): ``base_url`` is the host without ``/v1`` (paths
start with ``v1/``); early clients (2.5 and before; 2.10 is fine) drop the port and the scheme
of ``base_url``, hence ``client_options()``. The realtime client always connects to ``wss://`` (it rewrites the scheme
of its base URL), so ``point_realtime`` sets its ``_ws_base_url`` to ``ws_url``; up to 2.55 at
least (fixed by 2.78) ``convert_realtime`` crashes unless given ``voice_settings`` (and sends
``model_id=Ellipsis`` without a ``model_id``). ``AsyncElevenLabs`` has no ``convert_realtime``.
Audio methods are (async) generator functions that send nothing until iterated; only the
non-streaming methods retry 429/5xx (twice, from 1 s, unless
``request_options={"max_retries": 0}``). Speech-to-speech is ``/v1/speech-to-speech`` up to
2.55 at least and ``/v1/voice-changer`` in 2.78: both are served.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import functools
import hashlib
import importlib
import json
import math
import re
import secrets
import string
import struct
import sys
import time
import urllib.parse
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from fractions import Fraction
from io import BytesIO
from typing import Any, Literal, cast

from otel_ai._net import LoopbackHandler, parse_float
from otel_ai.testing.base import SCENARIO_HEADER, ScenarioService, serve_until_stopped
from otel_ai.testing.base import Aborted as _Aborted

__all__ = [
    "CHARACTER_COST_HEADER",
    "CHUNK_SIZE",
    "COST_HEADER_HEADER",
    "DEFAULT_OUTPUT_FORMAT",
    "DEFAULT_TRANSCRIPT",
    "DELAY_HEADER",
    "REPLY_HEADER",
    "SCENARIOS",
    "SCENARIO_HEADER",
    "SECONDS_PER_CHARACTER",
    "AudioFormat",
    "ElevenLabsSimulator",
    "RecordedRequest",
    "UploadedFile",
    "audio_duration",
    "client_options",
    "main",
    "parse_output_format",
    "render_speech",
    "speech_seconds",
]

SECONDS_PER_CHARACTER = 0.06
_PER_CHARACTER = Fraction(3, 50)  # the same, exactly
CHUNK_SIZE = 1024
DEFAULT_OUTPUT_FORMAT = "mp3_44100_128"
DEFAULT_TRANSCRIPT = "Hello from the simulator."
DEFAULT_LANGUAGE = "eng"

DELAY_HEADER = "x-simulator-delay"
COST_HEADER_HEADER = "x-simulator-cost-header"
CHARACTER_COST_HEADER = "x-simulator-character-cost"
REPLY_HEADER = "x-simulator-reply"

SCENARIOS: Mapping[str, str] = {
    "ok": "normal answer",
    "slow": "waits x-simulator-delay seconds (default 2) before the first byte",
    "slow_stream": "waits x-simulator-delay seconds (default 0.05) between 1024-byte audio chunks "
    "(websocket: between audio messages; JSON answers: once before answering)",
    "cut_stream": "sends about half of the answer, then drops the connection mid-body "
    "(websocket: one audio message, then the TCP connection goes without a close frame)",
    "auth_error": "401 invalid_api_key (websocket: an error message, then close 1008)",
    "quota_exceeded": "401 quota_exceeded",
    "unprocessable": "422 validation error on body.text",
    "rate_limit": "429 too_many_concurrent_requests (websocket: an error message, then close 1008)",
    "server_error": "500 internal error",
    "echo_error": "400 whose message repeats the text and the xi-api-key header (a careless gateway)",
}

_SLOW_DEFAULT_DELAY = 2.0
_SLOW_STREAM_DEFAULT_DELAY = 0.05
_COST_HEADERS = ("character-cost", "x-character-count", "none")
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

_ERRORS: dict[str, tuple[int, Any]] = {
    "auth_error": (401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}),
    "quota_exceeded": (
        401,
        {
            "detail": {
                "status": "quota_exceeded",
                "message": "This request exceeds your quota of 10000. You have 3 credits remaining, while 42 "
                "credits are required for this request.",
            }
        },
    ),
    "unprocessable": (
        422,
        {"detail": [{"loc": ["body", "text"], "msg": "field required", "type": "value_error.missing"}]},
    ),
    "rate_limit": (
        429,
        {
            "detail": {
                "status": "too_many_concurrent_requests",
                "message": "Too many concurrent requests. Your current subscription is associated with a maximum of "
                "10 concurrent requests (simulated).",
            }
        },
    ),
    "server_error": (
        500,
        {"detail": {"status": "internal_error", "message": "We are sorry, something went wrong (simulated)."}},
    ),
}


class _ApiError(Exception):
    """An error answer: status code and JSON body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body



def _missing(*loc: str) -> _ApiError:
    return _ApiError(422, {"detail": [{"loc": list(loc), "msg": "field required", "type": "value_error.missing"}]})


def _invalid(loc: tuple[str, ...], message: str) -> _ApiError:
    return _ApiError(422, {"detail": [{"loc": list(loc), "msg": message, "type": "value_error"}]})


# --------------------------------------------------------------------------- audio

_Codec = Literal["mp3", "pcm", "ulaw", "alaw", "wav"]

# MPEG Layer III bitrates (kbps) by bitrate index, and sample rates by index, per MPEG version.
_MP3_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {1: (44100, 48000, 32000), 2: (22050, 24000, 16000)}
_MP3_VERSION_BITS = {1: 0b11, 2: 0b10}
_WAV_HEADER_BYTES = 44
_LINEAR_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
_PCM_RATES: dict[str, tuple[int, ...]] = {"pcm": _LINEAR_RATES, "wav": _LINEAR_RATES, "ulaw": (8000,), "alaw": (8000,)}


@dataclass(frozen=True)
class AudioFormat:
    """One ElevenLabs ``output_format`` the simulator can produce."""

    name: str
    codec: _Codec
    sample_rate: int
    bitrate: int = 0
    """Bits per second (MP3 only)."""

    @property
    def content_type(self) -> str:
        return {
            "mp3": "audio/mpeg",
            "pcm": "audio/pcm",
            "ulaw": "audio/basic",
            "alaw": "audio/x-alaw-basic",
            "wav": "audio/wav",
        }[self.codec]

    @property
    def mpeg_version(self) -> int:
        return 1 if self.sample_rate >= 32000 else 2

    @property
    def samples_per_unit(self) -> int:
        """Samples per unit of output: one MP3 frame, else one sample."""
        if self.codec != "mp3":
            return 1
        return 1152 if self.mpeg_version == 1 else 576

    def units(self, samples: int, *, final: bool = True) -> int:
        """Units covering ``samples`` (MP3: whole frames, rounded up when ``final``, else down)."""
        per = self.samples_per_unit
        return -(-samples // per) if final else samples // per

    def byte_offset(self, unit: int) -> int:
        """Where unit ``unit`` starts in the rendered audio (the WAV header belongs to the first unit)."""
        if self.codec == "mp3":
            return (unit * self._mp3_frame_scale) // self.sample_rate
        if self.codec in ("ulaw", "alaw"):
            return unit
        if self.codec == "wav":
            return _WAV_HEADER_BYTES + 2 * unit if unit else 0
        return 2 * unit

    def render(self, samples: int) -> bytes:
        """The whole audio for ``samples`` samples (WAV: with its header)."""
        units = self.units(samples)
        data = self.render_units(0, units)
        if self.codec == "wav":
            return _wav_header(self.sample_rate, len(data)) + data
        return data

    def render_units(self, start: int, end: int) -> bytes:
        """Units ``start`` to ``end`` (exclusive) of the signal, without any container header."""
        if end <= start:
            return b""
        if self.codec == "mp3":
            return b"".join(self._mp3_frame(i) for i in range(start, end))
        if self.codec in ("ulaw", "alaw"):
            return _tile(_g711_second(self.sample_rate, self.codec), 1, start, end)
        return _tile(_sine_second(self.sample_rate), 2, start, end)

    def seconds(self, samples: int) -> float:
        """Seconds of the audio rendered for ``samples`` samples."""
        return self.units(samples) * self.samples_per_unit / self.sample_rate

    # -- MP3 frames: CBR, mono, no CRC, side info and main data all zero (silence) --------

    @property
    def _mp3_frame_scale(self) -> int:
        # Bytes per frame = scale / sample_rate (MPEG-1 Layer III: 144 x bitrate, MPEG-2: 72 x).
        return (144 if self.mpeg_version == 1 else 72) * self.bitrate

    def _mp3_frame(self, index: int) -> bytes:
        # Frame i spans bytes floor(i x scale / rate) .. floor((i+1) x scale / rate): the padding bit
        # is set on exactly the frames that keep the average at the nominal bitrate.
        length = self.byte_offset(index + 1) - self.byte_offset(index)
        padding = length - self._mp3_frame_scale // self.sample_rate
        return _mp3_frame_bytes(self.mpeg_version, self.bitrate, self.sample_rate, padding, length)


@functools.lru_cache(maxsize=64)
def _mp3_frame_bytes(version: int, bitrate: int, sample_rate: int, padding: int, length: int) -> bytes:
    bitrate_index = _MP3_BITRATES[version].index(bitrate // 1000)
    rate_index = _MP3_RATES[version].index(sample_rate)
    header = (
        0xFFE00000  # frame sync
        | _MP3_VERSION_BITS[version] << 19
        | 0b01 << 17  # Layer III
        | 1 << 16  # no CRC
        | bitrate_index << 12
        | rate_index << 10
        | padding << 9
        | 0b11 << 6  # mono
        | 1 << 2  # original
    )
    return struct.pack(">I", header) + bytes(length - 4)


def _mp3_header(data: bytes, offset: int) -> tuple[int, int, int] | None:
    """(frame length, samples, sample rate) of an MPEG-1/2 Layer III frame header at ``offset``."""
    if offset + 4 > len(data):
        return None
    (word,) = struct.unpack_from(">I", data, offset)
    if word & 0xFFE00000 != 0xFFE00000 or (word >> 17) & 0b11 != 0b01:
        return None
    version = {0b11: 1, 0b10: 2}.get((word >> 19) & 0b11)
    bitrate_index, rate_index = (word >> 12) & 0xF, (word >> 10) & 0b11
    if version is None or bitrate_index in (0, 15) or rate_index == 3:
        return None
    bitrate = _MP3_BITRATES[version][bitrate_index] * 1000
    rate = _MP3_RATES[version][rate_index]
    coefficient, samples = (144, 1152) if version == 1 else (72, 576)
    return coefficient * bitrate // rate + ((word >> 9) & 1), samples, rate


def _mp3_seconds(data: bytes) -> float | None:
    """Seconds of MPEG Layer III audio (frame by frame, after any ID3v2 tag); None if not MP3."""
    offset = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = data[6:10]
        offset = 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])
    seconds = 0.0
    frames = 0
    while (header := _mp3_header(data, offset)) is not None:
        length, samples, rate = header
        seconds += samples / rate
        frames += 1
        offset += length
    return seconds if frames else None


def _tile(table: bytes, width: int, start: int, end: int) -> bytes:
    """Items ``start`` to ``end`` of ``table`` repeated forever (items of ``width`` bytes)."""
    period = len(table) // width
    out = bytearray()
    index = start
    while index < end:
        offset = index % period
        take = min(end - index, period - offset)
        out += table[offset * width : (offset + take) * width]
        index += take
    return bytes(out)


@functools.lru_cache(maxsize=16)
def _sine_values(sample_rate: int) -> tuple[int, ...]:
    # One second of a 440 Hz tone: a whole number of periods, so seconds tile seamlessly.
    return tuple(round(8192 * math.sin(2 * math.pi * 440 * i / sample_rate)) for i in range(sample_rate))


@functools.lru_cache(maxsize=16)
def _sine_second(sample_rate: int) -> bytes:
    values = _sine_values(sample_rate)
    return struct.pack(f"<{len(values)}h", *values)


@functools.lru_cache(maxsize=4)
def _g711_second(sample_rate: int, codec: str) -> bytes:
    encode = _lin2ulaw if codec == "ulaw" else _lin2alaw
    return bytes(encode(v) for v in _sine_values(sample_rate))


def _lin2ulaw(sample: int) -> int:
    """G.711 mu-law of a 16-bit sample (Sun's g711.c, as Python's former ``audioop``)."""
    value = sample >> 2
    if value < 0:
        mask = 0x7F
        value = -value
    else:
        mask = 0xFF
    value = min(value, 8159) + 0x21
    segment = max(value.bit_length() - 6, 0)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def _lin2alaw(sample: int) -> int:
    """G.711 A-law of a 16-bit sample (Sun's g711.c)."""
    value = sample >> 3
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1
    segment = max(value.bit_length() - 5, 0)
    if segment >= 8:
        return 0x7F ^ mask
    shift = 1 if segment < 2 else segment
    return ((segment << 4) | ((value >> shift) & 0x0F)) ^ mask


def _wav_header(sample_rate: int, data_bytes: int) -> bytes:
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def parse_output_format(name: str | None) -> AudioFormat:
    """The `AudioFormat` of an ElevenLabs ``output_format`` (None: ``mp3_44100_128``); ValueError if
    the simulator cannot produce it."""
    name = name or DEFAULT_OUTPUT_FORMAT
    parts = name.split("_")
    try:
        codec, rate = parts[0], int(parts[1])
        if codec == "mp3" and len(parts) == 3:
            bitrate = int(parts[2]) * 1000
            version = 1 if rate >= 32000 else 2
            if rate in _MP3_RATES[version] and bitrate // 1000 in _MP3_BITRATES[version][1:]:
                return AudioFormat(name, "mp3", rate, bitrate)
        elif len(parts) == 2 and rate in _PCM_RATES.get(codec, ()):
            return AudioFormat(name, cast("_Codec", codec), rate)
    except (IndexError, ValueError):
        pass
    raise ValueError(f"output format {name!r} is not simulated")


def _character_samples(characters: int, sample_rate: int) -> int:
    return round(characters * sample_rate * _PER_CHARACTER)


def speech_seconds(characters: int, output_format: str | None = None) -> float:
    """Exact seconds of the audio the simulator speaks for ``characters`` characters (MP3: whole frames)."""
    fmt = parse_output_format(output_format)
    return fmt.seconds(_character_samples(characters, fmt.sample_rate))


def render_speech(characters: int, output_format: str | None = None) -> bytes:
    """The audio bytes the simulator answers for ``characters`` characters of text."""
    fmt = parse_output_format(output_format)
    return fmt.render(_character_samples(characters, fmt.sample_rate))


def audio_duration(data: bytes, output_format: str | None = None) -> float:
    """Seconds of audio in ``data``: of the given ``output_format``, else guessed (WAV, MP3 frames,
    otherwise 16-bit 16 kHz PCM, ElevenLabs' ``pcm_s16le_16``)."""
    if output_format is not None:
        fmt = parse_output_format(output_format)
        if fmt.codec == "pcm":
            return len(data) / 2 / fmt.sample_rate
        if fmt.codec in ("ulaw", "alaw"):
            return len(data) / fmt.sample_rate
    if data[:4] == b"RIFF":
        with contextlib.suppress(wave.Error, EOFError, struct.error), wave.open(BytesIO(data)) as reader:
            return float(reader.getnframes() / reader.getframerate())
    mp3 = _mp3_seconds(data)
    if mp3 is not None:
        return mp3
    return len(data) / 2 / 16000


def client_options(base_url: str) -> dict[str, Any]:
    """Keyword arguments pointing ``ElevenLabs``/``AsyncElevenLabs`` at ``base_url``, for any 2.x client.

    Recent clients take ``base_url``; early 2.x ones (``ElevenLabsEnvironment`` a class with
    ``base`` and ``wss``, not an enum) keep only the host of ``base_url`` and force ``https``, so
    they get an ``environment`` instead. Needs ``elevenlabs`` installed.
    """
    environment: Any = importlib.import_module("elevenlabs.environment").ElevenLabsEnvironment
    if isinstance(environment, enum.EnumMeta):
        return {"base_url": base_url}
    return {"environment": environment(base=base_url, wss="ws" + base_url.removeprefix("http"))}


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedRequest:
    """One request (or websocket session) as the simulator received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    scenario: str
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    """Multipart text fields (the last value of each name)."""
    files: dict[str, UploadedFile] = field(default_factory=dict)
    messages: list[Any] = field(default_factory=list)
    """Websocket only: the JSON messages the client sent."""
    received_at: float = field(default_factory=time.time)
    status: int | None = None
    """Status of the answer once sent (101 for a websocket; None while in flight or for dropped answers)."""
    response_headers: dict[str, str] = field(default_factory=dict)
    output_format: str | None = None
    characters: int | None = None
    """Characters spoken (the cost before any override); None where no text is spoken."""
    audio_seconds: float | None = None
    """Seconds of audio answered (speech-to-text: of the upload)."""
    audio_bytes: int | None = None
    """Bytes of audio answered (decoded from base64 in the JSON forms)."""

    @property
    def params(self) -> dict[str, str]:
        """The query parameters (the last value of each)."""
        return dict(urllib.parse.parse_qsl(self.query, keep_blank_values=True))

    @property
    def api_key(self) -> str | None:
        return self.headers.get("xi-api-key")

    @property
    def websocket(self) -> bool:
        return self.status == 101 or self.headers.get("upgrade", "").lower() == "websocket"


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message: Message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    form: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    if not message.is_multipart():
        return form, files
    for part in cast("list[Message]", message.get_payload()):
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None or part.get_content_type() not in ("text/plain", "application/json"):
            files[name] = UploadedFile(filename, part.get("content-type"), data)
        else:
            form[name] = data.decode("utf-8", "replace")
    return form, files


def _random_id(length: int = 20) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _alignment(text: str, first_char: int = 0) -> dict[str, Any]:
    """Character alignment: character i of the whole text spans [i, i+1) x 0.06 s."""
    starts = [round(float((first_char + i) * _PER_CHARACTER), 6) for i in range(len(text))]
    return {
        "characters": list(text),
        "character_start_times_seconds": starts,
        "character_end_times_seconds": [round(s + SECONDS_PER_CHARACTER, 6) for s in starts],
    }


def _pieces(text: str) -> list[str]:
    """Words with their trailing spaces (leading spaces on their own): they join back to ``text``."""
    return [p for p in re.findall(r"\S*\s*", text) if p] or [text]


# --------------------------------------------------------------------------- exchanges


@dataclass
class _Speech:
    """What one synthesis answer says: text lines (dialogue: one per input) and the audio format."""

    lines: list[tuple[str, str | None]]  # (text, voice id)
    fmt: AudioFormat
    samples: int
    characters: int | None

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.lines)


@dataclass
class _Exchange:
    record: RecordedRequest
    scenario: str
    delay: float
    started: float = field(default_factory=time.monotonic)
    synthesis: bool = False
    """Whether the answer carries ``tts-latency-ms``."""
    extra_headers: dict[str, str] = field(default_factory=dict)


_Kind = Literal["tts", "dialogue", "sts", "sound", "stt"]
_Form = Literal["audio", "stream", "timestamps", "stream_timestamps"]

_ROUTES: list[tuple[re.Pattern[str], _Kind, _Form]] = [
    (re.compile(r"/v1/text-to-speech/(?P<voice>[^/]+)"), "tts", "audio"),
    (re.compile(r"/v1/text-to-speech/(?P<voice>[^/]+)/stream"), "tts", "stream"),
    (re.compile(r"/v1/text-to-speech/(?P<voice>[^/]+)/with-timestamps"), "tts", "timestamps"),
    (re.compile(r"/v1/text-to-speech/(?P<voice>[^/]+)/stream/with-timestamps"), "tts", "stream_timestamps"),
    (re.compile(r"/v1/text-to-dialogue"), "dialogue", "audio"),
    (re.compile(r"/v1/text-to-dialogue/stream"), "dialogue", "stream"),
    (re.compile(r"/v1/text-to-dialogue/with-timestamps"), "dialogue", "timestamps"),
    (re.compile(r"/v1/text-to-dialogue/stream/with-timestamps"), "dialogue", "stream_timestamps"),
    (re.compile(r"/v1/(?:speech-to-speech|voice-changer)/(?P<voice>[^/]+)"), "sts", "audio"),
    (re.compile(r"/v1/(?:speech-to-speech|voice-changer)/(?P<voice>[^/]+)/stream"), "sts", "stream"),
    (re.compile(r"/v1/sound-generation"), "sound", "audio"),
    (re.compile(r"/v1/speech-to-text"), "stt", "audio"),
]
_WS_ROUTE = re.compile(r"/v1/text-to-speech/(?P<voice>[^/]+)/stream-input")


class _Handler(LoopbackHandler):
    server_version = "elevenlabs-simulator/1.0"
    dropped = (_Aborted, OSError)

    @property
    def simulator(self) -> ElevenLabsSimulator:
        return cast("ElevenLabsSimulator", self.server.owner)

    def do_GET(self) -> None:
        self.simulator._handle(self)

    def do_POST(self) -> None:
        self.simulator._handle(self)

    # -- HTTP --------------------------------------------------------------

    def send_head(self, status: int, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    # -- websocket (RFC 6455, server side: text, close, ping; no extensions) -------------

    def ws_accept(self) -> bool:
        key = self.headers.get("Sec-WebSocket-Key", "")
        if self.headers.get("Upgrade", "").lower() != "websocket" or not key:
            return False
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        self.send_head(101, {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": accept})
        self.close_connection = True
        return True

    def ws_send(self, payload: bytes, opcode: int = 0x1) -> None:
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        self.wfile.write(head + payload)

    def ws_send_json(self, payload: Any) -> None:
        self.ws_send(json.dumps(payload).encode())

    def ws_close(self, code: int, reason: str = "") -> None:
        """Send a close frame, wait briefly for the client's, then end the connection."""
        with contextlib.suppress(OSError, _Aborted):
            self.ws_send(struct.pack("!H", code) + reason.encode()[:120], opcode=0x8)
            self.connection.settimeout(2.0)
            while self.ws_receive()[0] != 0x8:
                pass
        self.abort()

    def _read_exact(self, size: int) -> bytes:
        data = self.rfile.read(size)
        if len(data) < size:
            raise _Aborted
        return data

    def ws_receive(self) -> tuple[int, bytes]:
        """The next data message (opcode, payload) or close frame (0x8); answers pings on the way."""
        message = bytearray()
        message_opcode = 0
        while True:
            first, second = self._read_exact(2)
            opcode, size = first & 0x0F, second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", self._read_exact(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", self._read_exact(8))
            mask = self._read_exact(4) if second & 0x80 else b"\0\0\0\0"
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read_exact(size)))
            if opcode == 0x9:
                self.ws_send(payload, opcode=0xA)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                return opcode, payload
            if opcode != 0x0:
                message_opcode = opcode
                message.clear()
            message += payload
            if first & 0x80:
                return message_opcode, bytes(message)


# --------------------------------------------------------------------------- the simulator


class ElevenLabsSimulator(ScenarioService[RecordedRequest]):
    """ElevenLabs HTTP API (and the ``stream-input`` websocket) on 127.0.0.1 (port 0 picks a free port)."""

    handler = _Handler
    thread_name = "elevenlabs-simulator"
    scenarios = SCENARIOS

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, default_scenario: str = "ok") -> None:
        super().__init__(host, port, default_scenario=default_scenario)

    # -- addresses ---------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``: the ``base_url`` for ``ElevenLabs``/``AsyncElevenLabs`` (no ``/v1``)."""
        return self.url

    @property
    def ws_url(self) -> str:
        """``ws://HOST:PORT``: the websocket base (same port) for ``convert_realtime``."""
        return "ws" + self.url.removeprefix("http")

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments pointing ``ElevenLabs``/``AsyncElevenLabs`` here, for any 2.x: `client_options`."""
        return client_options(self.base_url)

    def point_realtime(self, client: Any) -> Any:
        """Point a sync ``ElevenLabs`` client's ``text_to_speech.convert_realtime`` at ``ws_url``.

        The client derives its websocket base from ``base_url`` but always with the ``wss`` scheme
        (``RealtimeTextToSpeechClient._ws_base_url``); this sets that attribute. Returns ``client``.
        """
        tts = client.text_to_speech
        if not hasattr(tts, "_ws_base_url"):
            raise TypeError(f"{type(tts).__name__} has no _ws_base_url: not the realtime text-to-speech client")
        tts._ws_base_url = self.ws_url
        return client

    # -- lifecycle and inspection --------------------------------------------

    # -- request handling --------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        path, _, query = handler.path.partition("?")
        path = path.rstrip("/") or "/"
        headers = {k.lower(): v for k, v in handler.headers.items()}
        if path == "/health":
            self._send_json(handler, None, 200, {"status": "ok"}, {})
            return
        body = handler.read_body() if handler.command == "POST" else b""
        scenario = headers.get(SCENARIO_HEADER, self.default_scenario).strip()
        record = RecordedRequest(handler.command, path, query, headers, body, scenario)
        with self._lock:
            self.requests.append(record)
        default_delay = _SLOW_STREAM_DEFAULT_DELAY if scenario == "slow_stream" else _SLOW_DEFAULT_DELAY
        exchange = _Exchange(record, scenario, parse_float(headers.get(DELAY_HEADER), default_delay))

        content_type = headers.get("content-type", "")
        if body and content_type.startswith("multipart/"):
            record.form, record.files = _parse_multipart(content_type, body)
        elif body:
            with contextlib.suppress(ValueError):
                record.json = json.loads(body)

        ws_match = _WS_ROUTE.fullmatch(path) if handler.command == "GET" else None
        if ws_match is not None and handler.ws_accept():
            record.status = 101
            self._websocket(handler, exchange, urllib.parse.unquote(ws_match["voice"]))
            return
        try:
            route = self._route(handler.command, path)
            if route is None:
                raise _ApiError(404, {"detail": "Not Found"})
            kind, form, voice = route
            self._check(exchange)
            self._serve(handler, exchange, kind, form, voice)
        except _ApiError as err:
            self._send_json(handler, exchange, err.status, err.body, {})

    def _route(self, method: str, path: str) -> tuple[_Kind, _Form, str | None] | None:
        if method != "POST":
            return None
        for pattern, kind, form in _ROUTES:
            match = pattern.fullmatch(path)
            if match is not None:
                voice = match.groupdict().get("voice")
                return kind, form, urllib.parse.unquote(voice) if voice else None
        return None

    def _check(self, ex: _Exchange) -> None:
        """Key, scenario and scripted errors: the checks every endpoint makes first."""
        if not ex.record.api_key and "authorization" not in ex.record.headers:
            raise _ApiError(
                401,
                {
                    "detail": {
                        "status": "needs_authorization",
                        "message": "Neither authorization header nor xi-api-key received, please provide one.",
                    }
                },
            )
        if ex.scenario not in SCENARIOS:
            raise _ApiError(
                400,
                {
                    "detail": {
                        "status": "invalid_simulator_scenario",
                        "message": f"Unknown simulator scenario {ex.scenario!r}; known: {', '.join(SCENARIOS)}",
                    }
                },
            )
        if ex.scenario in _ERRORS:
            status, body = _ERRORS[ex.scenario]
            raise _ApiError(status, json.loads(json.dumps(body)))

    def _serve(self, handler: _Handler, ex: _Exchange, kind: _Kind, form: _Form, voice: str | None) -> None:
        record = ex.record
        if kind == "stt":
            self._speech_to_text(handler, ex)
            return
        try:
            fmt = parse_output_format(record.params.get("output_format"))
        except ValueError as err:
            raise _invalid(("query", "output_format"), str(err)) from None
        record.output_format = fmt.name
        speech = self._speech(ex, kind, fmt, voice)
        if ex.scenario == "echo_error":
            raise _ApiError(
                400,
                {
                    "detail": {
                        "status": "invalid_request",
                        "message": f"Voice {voice} cannot speak {speech.text!r} for xi-api-key "
                        f"{record.api_key} (simulated careless gateway).",
                    }
                },
            )
        ex.synthesis = True
        if kind in ("tts", "dialogue", "sound"):
            ex.extra_headers["character-cost"] = str(speech.characters)
        if kind in ("tts", "dialogue") and record.params.get("enable_logging", "true").lower() != "false":
            ex.extra_headers["history-item-id"] = _random_id()
        record.characters = speech.characters
        record.audio_seconds = fmt.seconds(speech.samples)
        audio = fmt.render(speech.samples)
        if form in ("audio", "stream"):
            record.audio_bytes = len(audio)
            self._send_audio(handler, ex, fmt, audio, chunked=form == "stream")
            return
        lines = self._timestamp_lines(speech, audio, kind == "dialogue")
        record.audio_bytes = len(audio)
        if form == "timestamps":
            document: dict[str, Any] = {
                "audio_base64": base64.b64encode(audio).decode(),
                "alignment": _alignment(speech.text),
                "normalized_alignment": _alignment(speech.text),
            }
            if kind == "dialogue":
                document["voice_segments"] = self._voice_segments(speech)
            self._send_json(handler, ex, 200, document, ex.extra_headers)
        else:
            self._send_lines(handler, ex, [json.dumps(line).encode() + b"\n" for line in lines])

    def _speech(self, ex: _Exchange, kind: _Kind, fmt: AudioFormat, voice: str | None) -> _Speech:
        """The text and length of the audio a synthesis request asks for (422 when the body is wrong)."""
        record, body = ex.record, ex.record.json
        if kind == "sts":
            upload = record.files.get("audio")
            if upload is None:
                raise _missing("body", "audio")
            samples = round(audio_duration(upload.data) * fmt.sample_rate)
            return _Speech([], fmt, samples, None)
        if not isinstance(body, dict):
            raise _invalid(("body",), "a JSON object is required")
        if kind == "dialogue":
            inputs = body.get("inputs")
            if not isinstance(inputs, list) or not inputs:
                raise _missing("body", "inputs")
            lines: list[tuple[str, str | None]] = []
            for index, item in enumerate(inputs):
                if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                    raise _missing("body", "inputs", str(index), "text")
                if not isinstance(item.get("voice_id"), str):
                    raise _missing("body", "inputs", str(index), "voice_id")
                lines.append((item["text"], item["voice_id"]))
        else:
            text = body.get("text")
            if not isinstance(text, str):
                raise _missing("body", "text")
            lines = [(text, voice)]
        characters = sum(len(text) for text, _ in lines)
        samples = _character_samples(characters, fmt.sample_rate)
        duration = body.get("duration_seconds") if kind == "sound" else None
        if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration > 0:
            samples = round(duration * fmt.sample_rate)
        return _Speech(lines, fmt, samples, characters)

    def _timestamp_lines(self, speech: _Speech, audio: bytes, dialogue: bool) -> list[dict[str, Any]]:
        """The ``stream/with-timestamps`` lines: one per word, audio cut at the unit nearest its end."""
        fmt = speech.fmt
        total = len("".join(text for text, _ in speech.lines))
        segments = self._voice_segments(speech) if dialogue else []
        lines: list[dict[str, Any]] = []
        position = 0
        cut = 0
        for index, (text, _) in enumerate(speech.lines):
            for piece in _pieces(text):
                end = position + len(piece)
                end_samples = _character_samples(end, fmt.sample_rate)
                next_cut = len(audio) if end >= total else fmt.byte_offset(fmt.units(end_samples, final=False))
                line: dict[str, Any] = {
                    "audio_base64": base64.b64encode(audio[cut:next_cut]).decode(),
                    "alignment": _alignment(piece, position),
                    "normalized_alignment": _alignment(piece, position),
                }
                if dialogue:
                    line["voice_segments"] = [segments[index]]
                lines.append(line)
                position, cut = end, max(cut, next_cut)
        if cut < len(audio):  # no text at all: the audio (if any) in one line
            lines.append({"audio_base64": base64.b64encode(audio[cut:]).decode(), "alignment": None})
        return lines

    def _voice_segments(self, speech: _Speech) -> list[dict[str, Any]]:
        segments = []
        position = 0
        for index, (text, voice) in enumerate(speech.lines):
            end = position + len(text)
            segments.append(
                {
                    "voice_id": voice,
                    "start_time_seconds": float(position * _PER_CHARACTER),
                    "end_time_seconds": float(end * _PER_CHARACTER),
                    "character_start_index": position,
                    "character_end_index": end,
                    "dialogue_input_index": index,
                }
            )
            position = end
        return segments

    def _speech_to_text(self, handler: _Handler, ex: _Exchange) -> None:
        record = ex.record
        upload = record.files.get("file")
        if not record.form.get("model_id"):
            raise _missing("body", "model_id")
        if upload is None and not (record.form.get("cloud_storage_url") or record.form.get("source_url")):
            raise _ApiError(
                400,
                {
                    "detail": {
                        "status": "invalid_parameters",
                        "message": "Must provide either file or cloud_storage_url",
                    }
                },
            )
        text = record.headers.get(REPLY_HEADER) or DEFAULT_TRANSCRIPT
        if ex.scenario == "echo_error":
            raise _ApiError(
                400,
                {
                    "detail": {
                        "status": "invalid_request",
                        "message": f"Cannot transcribe for xi-api-key {record.api_key}: {text!r} (simulated).",
                    }
                },
            )
        duration = audio_duration(upload.data) if upload is not None else float(len(text) * _PER_CHARACTER)
        record.audio_seconds = duration
        words: list[dict[str, Any]] = []
        per_char = duration / max(len(text), 1)
        position = 0
        for token in re.findall(r"\S+|\s+", text):
            words.append(
                {
                    "text": token,
                    "start": round(position * per_char, 3),
                    "end": round((position + len(token)) * per_char, 3),
                    "type": "spacing" if token.isspace() else "word",
                    "speaker_id": "speaker_0",
                    "logprob": 0.0,
                }
            )
            position += len(token)
        document = {
            "language_code": record.form.get("language_code") or DEFAULT_LANGUAGE,
            "language_probability": 0.98,
            "text": text,
            "words": words,
            "transcription_id": _random_id(),
            "audio_duration_secs": duration,
        }
        self._send_json(handler, ex, 200, document, {})

    # -- writing -----------------------------------------------------------

    def _headers(self, ex: _Exchange | None, extra: Mapping[str, str]) -> dict[str, str]:
        headers = {"request-id": _random_id()}
        if ex is None:
            return headers
        extra = dict(extra)
        cost = extra.pop("character-cost", None)
        override = ex.record.headers.get(CHARACTER_COST_HEADER)
        if override is not None:
            cost = override
        cost_header = ex.record.headers.get(COST_HEADER_HEADER, "character-cost").strip().lower()
        if cost is not None and cost_header in _COST_HEADERS[:2]:
            headers[cost_header] = cost
        if ex.synthesis:
            headers["tts-latency-ms"] = str(round((time.monotonic() - ex.started) * 1000))
        headers.update(extra)
        headers["current-concurrent-requests"] = "1"
        headers["maximum-concurrent-requests"] = "10"
        return headers

    def _before_first_byte(self, ex: _Exchange) -> None:
        if ex.scenario == "slow":
            self._sleep(ex.delay)

    def _send_json(
        self, handler: _Handler, ex: _Exchange | None, status: int, payload: Any, extra: Mapping[str, str]
    ) -> None:
        body = json.dumps(payload).encode()
        if ex is not None and status == 200:
            self._before_first_byte(ex)
            if ex.scenario == "slow_stream":
                self._sleep(ex.delay)
        headers = {
            **(self._headers(ex, extra) if status == 200 else {"request-id": _random_id()}),
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
        }
        if ex is not None and ex.scenario == "cut_stream" and status == 200:
            handler.send_head(status, headers)
            handler.wfile.write(body[: len(body) // 2])
            handler.abort()
            return
        if ex is not None:
            ex.record.status = status
            ex.record.response_headers = headers
        handler.send_head(status, headers)
        handler.wfile.write(body)
        handler.wfile.flush()

    def _send_audio(self, handler: _Handler, ex: _Exchange, fmt: AudioFormat, audio: bytes, *, chunked: bool) -> None:
        chunks = [audio[i : i + CHUNK_SIZE] for i in range(0, len(audio), CHUNK_SIZE)]
        self._write_body(handler, ex, fmt.content_type, chunks, chunked=chunked)

    def _send_lines(self, handler: _Handler, ex: _Exchange, lines: list[bytes]) -> None:
        self._write_body(handler, ex, "application/json", lines, chunked=True)

    def _write_body(
        self, handler: _Handler, ex: _Exchange, content_type: str, chunks: list[bytes], *, chunked: bool
    ) -> None:
        self._before_first_byte(ex)
        headers = {**self._headers(ex, ex.extra_headers), "Content-Type": content_type}
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(sum(len(c) for c in chunks))
        cut = ex.scenario == "cut_stream"
        if not cut:
            ex.record.status = 200
        ex.record.response_headers = headers
        handler.send_head(200, headers)
        keep = max(1, len(chunks) // 2) if cut else len(chunks)
        for index, chunk in enumerate(chunks[:keep]):
            if ex.scenario == "slow_stream" and index > 0:
                self._sleep(ex.delay)
            if self._stopping.is_set():
                raise _Aborted
            if chunked:
                handler.write_chunk(chunk)
            else:
                handler.wfile.write(chunk)
                handler.wfile.flush()
        if cut:
            rest = b"".join(chunks[keep:]) or b"\0" * 16
            partial = rest[: max(1, len(rest) // 2)]
            handler.wfile.write((b"%X\r\n" % len(rest) if chunked else b"") + partial)
            handler.abort()
        elif chunked:
            handler.end_chunks()

    # -- the realtime websocket --------------------------------------------

    def _websocket(self, handler: _Handler, ex: _Exchange, voice: str) -> None:
        """``stream-input``: speak each non-blank text message, finish on ``""``."""
        record = ex.record
        params = record.params
        record.characters = 0
        record.audio_bytes = 0
        samples = 0
        sent_units = 0
        first_audio = True
        try:
            fmt = parse_output_format(params.get("output_format"))
            if fmt.codec == "wav":
                raise ValueError("wav is not a streaming format")
        except ValueError as err:
            handler.ws_send_json({"message": str(err), "error": "invalid_output_format", "code": 1008})
            handler.ws_close(1008, str(err))
            return
        record.output_format = fmt.name
        while True:
            opcode, payload = handler.ws_receive()
            if opcode == 0x8:
                handler.ws_close(1000)
                return
            try:
                message = json.loads(payload)
            except ValueError:
                message = None
            record.messages.append(message)
            text = message.get("text") if isinstance(message, dict) else None
            if not isinstance(text, str):
                handler.ws_send_json({"message": "Invalid message: 'text' is required", "error": "invalid_message"})
                handler.ws_close(1008, "Invalid message")
                return
            if ex.scenario in _ERRORS or ex.scenario not in SCENARIOS:
                status, body = _ERRORS.get(ex.scenario, (400, {"detail": {"message": "Unknown simulator scenario"}}))
                detail = body["detail"]
                error_message = detail["message"] if isinstance(detail, dict) else json.dumps(detail)
                handler.ws_send_json({"message": error_message, "error": ex.scenario, "code": 1008, "status": status})
                handler.ws_close(1008, error_message)
                return
            if ex.scenario == "echo_error" and text.strip():
                error_message = f"Cannot speak {text!r} for xi-api-key {record.api_key} (simulated careless gateway)."
                handler.ws_send_json({"message": error_message, "error": "invalid_request", "code": 1008})
                handler.ws_close(1008, error_message[:120])
                return
            final = text == ""
            if not final and not text.strip():
                continue  # the opening " " (or any blank text) is not spoken
            start_char = record.characters
            record.characters += len(text)
            samples = _character_samples(record.characters, fmt.sample_rate)
            units = fmt.units(samples, final=final)
            audio = fmt.render_units(sent_units, units)
            sent_units = max(sent_units, units)
            record.audio_seconds = sent_units * fmt.samples_per_unit / fmt.sample_rate
            if audio:
                if first_audio:
                    self._before_first_byte(ex)
                elif ex.scenario == "slow_stream":
                    self._sleep(ex.delay)
                first_audio = False
                alignment = {
                    "chars": list(text),
                    "charStartTimesMs": [round(float(i * _PER_CHARACTER) * 1000) for i in range(len(text))],
                    "charDurationsMs": [round(SECONDS_PER_CHARACTER * 1000)] * len(text),
                }
                record.audio_bytes += len(audio)
                handler.ws_send_json(
                    {
                        "audio": base64.b64encode(audio).decode(),
                        "isFinal": None,
                        "normalizedAlignment": alignment if text else None,
                        "alignment": alignment if text else None,
                        "characterStart": start_char,
                    }
                )
                if ex.scenario == "cut_stream":
                    handler.abort()
                    return
            if final:
                handler.ws_send_json({"isFinal": True})
                handler.ws_close(1000)
                return


# --------------------------------------------------------------------------- script


def main(argv: list[str] | None = None) -> int:
    return serve_until_stopped(
        lambda host, port, scenario: ElevenLabsSimulator(host, port, default_scenario=scenario),
        "ElevenLabs API simulator (offline, deterministic).", SCENARIOS, argv,
    )


if __name__ == "__main__":
    sys.exit(main())
