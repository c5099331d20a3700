"""Audio accounting for ElevenLabs responses: bytes, chunks, and the seconds of audio they hold.

Seconds are exact from the byte count for PCM and WAV (16-bit mono) and 8-bit μ-law/A-law; for MP3 the
bitrate comes from the first frame header (read with `mutagen`), falling back to the bitrate the
output format names (ElevenLabs MP3 is constant bitrate). Other codecs (Opus) report no seconds.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from typing import Any

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIResponse, Usage
from otel_ai.guard import report

__all__ = [
    "DEFAULT_OUTPUT_FORMAT",
    "AudioAccumulator",
    "audio_seconds",
    "base64_audio",
    "billed_characters",
    "headers_of",
    "response_from_headers",
]

DEFAULT_OUTPUT_FORMAT = "mp3_44100_128"
# Bytes of the first MP3 chunks kept for the frame-header read (a 128 kbps frame is 418 bytes).
_MP3_HEAD = 4096
CHARACTER_HEADERS = ("character-cost", "x-character-count")  # both are seen in the wild


def audio_seconds(output_format: str, nbytes: int, head: bytes = b"") -> float | None:
    """Seconds of audio in `nbytes` of `output_format` (`pcm_24000`, `ulaw_8000`, `mp3_44100_128`, ...)."""
    codec, _, rest = output_format.partition("_")
    parts = rest.split("_")
    try:
        rate = int(parts[0])
    except ValueError:
        return None
    if codec == "pcm":
        return nbytes / (2 * rate)
    if codec in ("ulaw", "alaw"):
        return nbytes / rate
    if codec == "wav":  # 16-bit mono after a 44-byte header
        return max(nbytes - 44, 0) / (2 * rate)
    if codec == "mp3":
        bitrate = _mp3_bitrate(head)
        if bitrate is None and len(parts) > 1 and parts[1].isdigit():
            bitrate = int(parts[1]) * 1000
        return nbytes * 8 / bitrate if bitrate else None
    return None


def _mp3_bitrate(head: bytes) -> int | None:
    if not head:
        return None
    try:
        from mutagen.mp3 import MP3

        info: Any = MP3(io.BytesIO(head)).info  # type: ignore[no-untyped-call]
        bitrate = info.bitrate
    except Exception:  # not enough of a frame, or not MP3 at all: use the format's nominal rate
        return None
    return int(bitrate) if bitrate else None


def headers_of(response: Any) -> dict[str, str]:
    """An HttpResponse's headers, names lower-cased."""
    headers = getattr(response, "headers", None) or {}
    return {str(k).lower(): str(v) for k, v in dict(headers).items()}


def billed_characters(headers: Mapping[str, str], sent: int | None) -> tuple[int | None, bool]:
    """(characters billed, whether the provider's header said so); else the characters sent."""
    for name in CHARACTER_HEADERS:
        value = headers.get(name)
        if value is not None and value.strip().isdigit():
            return int(value.strip()), True
    return sent, False


def response_from_headers(headers: Mapping[str, str], characters: int | None) -> GenAIResponse:
    """What every ElevenLabs response says in its headers: request id, history item, latency, cost."""
    billed, from_header = billed_characters(headers, characters)
    resp = GenAIResponse(response_id=headers.get("request-id"), usage=Usage(characters=billed))
    if from_header:
        resp.pricing_source = "header"
    history = headers.get("history-item-id")
    if history:
        resp.attributes[sc.ELEVENLABS_HISTORY_ITEM_ID] = history
    latency = headers.get("tts-latency-ms")
    if latency is not None:
        with contextlib.suppress(ValueError):
            resp.attributes[sc.ELEVENLABS_TTS_LATENCY_MS] = float(latency)
    return resp


def base64_audio(value: Any) -> str | None:
    """The base64 audio of a timestamps response or chunk (`audio_base_64`, aliased `audio_base64`)."""
    for name in ("audio_base_64", "audio_base64"):
        audio = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
        if isinstance(audio, str):
            return audio
    return None


def _b64_length(text: str) -> int:
    return len(text) * 3 // 4 - (2 if text.endswith("==") else 1 if text.endswith("=") else 0)


class AudioAccumulator:
    """Counts the audio a response delivers; per chunk only adds (the seconds are worked out at the end)."""

    __slots__ = ("_want_head", "bytes", "characters", "chunks", "format", "head", "headers")

    def __init__(self, output_format: str, headers: Mapping[str, str], characters: int | None) -> None:
        self.format = output_format
        self.headers = headers
        self.characters = characters
        self.bytes = 0
        self.chunks = 0
        self.head = b""
        self._want_head = output_format.startswith("mp3")  # only MP3 needs its first bytes kept

    def add(self, chunk: Any) -> bool:
        """Per chunk: a length and two additions (the first MP3 bytes are kept once)."""
        if type(chunk) is bytes:
            n = len(chunk)
            if not n:
                return False
            if self._want_head:
                self._keep_head(chunk)
            self.bytes += n
            self.chunks += 1
            return True
        return self._add_other(chunk)

    def _keep_head(self, chunk: bytes) -> None:
        self.head += chunk[: _MP3_HEAD - len(self.head)]
        self._want_head = len(self.head) < _MP3_HEAD

    def _add_other(self, chunk: Any) -> bool:
        if isinstance(chunk, (bytearray, memoryview)):
            return self.add(bytes(chunk))
        audio = base64_audio(chunk)  # a timestamps chunk: base64 audio and its alignment
        if not isinstance(audio, str):
            return False
        n = _b64_length(audio)
        if not n:
            return False
        if self._want_head:
            self.head = _decode_head(audio)
            self._want_head = False
        self.bytes += n
        self.chunks += 1
        return True

    def response(self) -> GenAIResponse:
        resp = response_from_headers(self.headers, self.characters)
        resp.attributes[sc.AUDIO_BYTES] = self.bytes
        resp.attributes[sc.AUDIO_CHUNKS] = self.chunks
        if self.bytes:
            try:
                resp.usage.audio_seconds = audio_seconds(self.format, self.bytes, self.head)
            except Exception as exc:
                report("elevenlabs.audio_seconds", exc)
        return resp


def _decode_head(audio: str) -> bytes:
    import base64
    import binascii

    try:
        return base64.b64decode(audio[: (_MP3_HEAD // 3) * 4])
    except (ValueError, binascii.Error):
        return b""
