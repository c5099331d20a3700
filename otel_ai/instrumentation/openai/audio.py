"""Speech (`audio.speech`), transcriptions and translations (`audio.transcriptions`, `audio.translations`).

The same audio model as ElevenLabs (docs/speech.md): `text_to_speech` counts the characters sent
(`otel_ai.usage.characters`) and the audio returned (bytes, chunks, seconds where the format tells
them); `speech_to_text` counts the seconds of audio transcribed. Translations are `speech_to_text`
too (audio in, text out, billed per minute like transcriptions), marked `otel_ai.speech.translation`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
from typing import Any

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse, Usage
from otel_ai.guard import report
from otel_ai.instrumentation.openai._shared import number
from otel_ai.instrumentation.openai.content import get, truncate
from otel_ai.instrumentation.openai.media import RequestBound

__all__ = ["Speech", "SpeechToText", "audio_seconds", "upload_seconds"]

_PCM_RATE = 24_000  # OpenAI's `pcm`: 24 kHz, 16-bit signed little-endian, mono
_HEAD = 4096  # bytes kept from the start of MP3 or WAV audio, for its frame or format header
_SSE_DONE = b'"speech.audio.done"'


def audio_seconds(kind: str, nbytes: int, head: bytes) -> float | None:
    """Seconds of `nbytes` of speech audio in OpenAI's `response_format` (None where it cannot tell)."""
    if kind == "pcm":
        return nbytes / (2 * _PCM_RATE)
    if kind == "wav" and head[:4] == b"RIFF" and len(head) >= 44:
        channels, rate = struct.unpack_from("<HI", head, 22)
        bits = struct.unpack_from("<H", head, 34)[0]
        per_second = channels * rate * bits // 8
        return max(nbytes - 44, 0) / per_second if per_second else None
    if kind == "mp3" and head:
        try:
            from mutagen.mp3 import MP3

            info: Any = MP3(io.BytesIO(head)).info  # type: ignore[no-untyped-call]
            bitrate = int(info.bitrate)
        except Exception:  # not enough of a frame: no seconds
            return None
        return nbytes * 8 / bitrate if bitrate else None
    return None


def upload_seconds(file: Any) -> float | None:
    """Seconds of an uploaded audio file, read from its header without consuming it (None if unknown).

    Bytes, `(name, bytes, ...)` tuples and paths are read directly; a seekable binary file is put
    back where it was. Anything else (a one-shot stream) is left alone.
    """
    if isinstance(file, tuple) and len(file) >= 2:
        file = file[1]
    try:
        from mutagen import File as AudioFile

        if isinstance(file, (bytes, bytearray)):
            info = AudioFile(io.BytesIO(bytes(file)))
        elif isinstance(file, (str, os.PathLike)):
            info = AudioFile(os.fspath(file))
        elif callable(getattr(file, "seekable", None)) and file.seekable():
            position = file.tell()
            try:
                info = AudioFile(file)
            finally:
                file.seek(position)
        else:
            return None
    except Exception:  # not audio mutagen knows, or unreadable: no seconds
        return None
    length = getattr(getattr(info, "info", None), "length", None)
    return float(length) if isinstance(length, (int, float)) and length > 0 else None


class _SpeechAudio:
    """Counts one speech response's audio; per chunk only adds (SSE events are read at line ends)."""

    __slots__ = ("_buffer", "bytes", "characters", "chunks", "head", "input_tokens", "kind", "output_tokens", "sse")

    def __init__(self, kind: str, characters: int | None, sse: bool) -> None:
        self.kind = kind
        self.characters = characters
        self.sse = sse
        self.bytes = 0
        self.chunks = 0
        self.head = b""
        self._buffer = b""
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def add(self, chunk: Any) -> bool:
        if not isinstance(chunk, (bytes, bytearray, memoryview)) or not chunk:
            return False
        if self.sse:
            return self._add_sse(bytes(chunk))
        n = len(chunk)
        if len(self.head) < _HEAD:
            self.head += bytes(chunk[: _HEAD - len(self.head)])
        self.bytes += n
        self.chunks += 1
        return True

    def _add_sse(self, chunk: bytes) -> bool:
        """`data: {"type":"speech.audio.delta","audio":"<base64>"}` lines; the done event carries usage."""
        lines = (self._buffer + chunk).split(b"\n")
        self._buffer = lines.pop()
        audio = False
        for line in lines:
            if line.startswith(b"data:"):
                audio = self._event(line[5:].strip()) or audio
        return audio

    def _event(self, data: bytes) -> bool:
        if _SSE_DONE in data:
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                usage = json.loads(data).get("usage") or {}
                self.input_tokens = usage.get("input_tokens")
                self.output_tokens = usage.get("output_tokens")
            return False
        start = data.find(b'"audio":"')
        if start < 0:
            return False
        end = data.find(b'"', start + 9)
        encoded = data[start + 9 : end]
        if not encoded:
            return False
        if len(self.head) < _HEAD:
            import base64
            import binascii

            with contextlib.suppress(binascii.Error, ValueError):
                self.head += base64.b64decode(encoded[: _HEAD // 3 * 4])[: _HEAD - len(self.head)]
        self.bytes += len(encoded) * 3 // 4 - encoded[-2:].count(b"=")
        self.chunks += 1
        return True

    def response(self) -> GenAIResponse:
        if self.sse and self._buffer.startswith(b"data:"):  # a last event without its newline
            self._event(self._buffer[5:].strip())
            self._buffer = b""
        usage = Usage(characters=self.characters, input_tokens=self.input_tokens, output_tokens=self.output_tokens)
        resp = GenAIResponse(usage=usage)
        resp.attributes[sc.AUDIO_BYTES] = self.bytes
        resp.attributes[sc.AUDIO_CHUNKS] = self.chunks
        if self.bytes:
            try:
                usage.audio_seconds = audio_seconds(self.kind, self.bytes, self.head)
            except Exception as exc:
                report("openai.audio_seconds", exc)
        return resp


class _SpeechReader(RequestBound):
    """One speech call: its format, characters and framing, as the request said."""

    operation = "text_to_speech"

    def __init__(self, kind: str, characters: int | None) -> None:
        self.kind = kind
        self.characters = characters

    def accumulator_for(self, headers: Any) -> _SpeechAudio:
        """`stream_format="sse"` answers events (base64 audio, then usage) instead of audio bytes."""
        content_type = headers.get("content-type", "") if headers is not None else ""
        return _SpeechAudio(self.kind, self.characters, content_type.startswith("text/event-stream"))

    def body_accumulator(self, result: Any) -> _SpeechAudio | None:
        http = getattr(result, "http_response", None)
        if http is None or getattr(http, "is_stream_consumed", True):  # `with_raw_response`: read already
            return None
        return self.accumulator_for(http.headers)

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        """A whole body (`create`, `with_raw_response`): read already, counted as one piece."""
        acc = self.accumulator_for(getattr(getattr(result, "response", None), "headers", None))
        content = getattr(result, "content", result)
        if acc.add(content) or acc.sse:
            acc.chunks = 1
        return acc.response()


class Speech(RequestBound):
    """`audio.speech.create`: the text in, the voice, the audio format; audio counted as returned."""

    operation = "text_to_speech"

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        attrs[sc.OUTPUT_TYPE] = "speech"
        kind = kwargs.get("response_format")
        attrs[sc.AUDIO_FORMAT] = kind if isinstance(kind, str) else "mp3"
        voice = kwargs.get("voice")
        voice = get(voice, "id") if not isinstance(voice, str) else voice  # a custom voice: {"id": ...}
        if isinstance(voice, str):
            attrs[sc.SPEECH_VOICE] = voice
        text = kwargs.get("input")
        if isinstance(text, str):
            attrs[sc.USAGE_CHARACTERS] = len(text)
            if capture:
                req.input_messages = [{"role": "user", "parts": [{"type": "text", "content": truncate(text, limit)}]}]
        instructions = kwargs.get("instructions")
        if capture and isinstance(instructions, str) and instructions:
            req.system_instructions = [{"type": "text", "content": truncate(instructions, limit)}]

    def bind(self, req: GenAIRequest) -> _SpeechReader:
        attrs = req.attributes
        kind = attrs.get(sc.AUDIO_FORMAT)
        characters = attrs.get(sc.USAGE_CHARACTERS)
        kind = kind if isinstance(kind, str) else "mp3"
        return _SpeechReader(kind, characters if isinstance(characters, int) else None)

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        return _SpeechReader("mp3", None).response(result, capture, limit)


class _TranscriptAccumulator:
    """A streamed transcript: `transcript.text.delta` events, then `transcript.text.done` with usage."""

    __slots__ = ("capture", "limit", "parts", "reader", "text", "usage")

    def __init__(self, reader: _TranscriptReader, capture: bool, limit: int) -> None:
        self.reader = reader
        self.capture = capture
        self.limit = limit
        self.text: str | None = None
        self.usage: Any = None
        self.parts: list[str] = []

    def add(self, chunk: Any) -> bool:
        kind = get(chunk, "type")
        if kind == "transcript.text.delta":
            delta = get(chunk, "delta")
            if isinstance(delta, str) and delta:
                self.parts.append(delta)
                return True
            return False
        if kind == "transcript.text.done":
            self.text = get(chunk, "text")
            self.usage = get(chunk, "usage")
        return False

    def response(self) -> GenAIResponse:
        text = self.text if isinstance(self.text, str) else "".join(self.parts)
        return self.reader.read(text, self.usage, None, None, self.capture, self.limit)


class _TranscriptReader(RequestBound):
    """One transcription or translation: what the response reports, the upload's seconds otherwise."""

    operation = "speech_to_text"

    def __init__(self, upload_seconds: float | None) -> None:
        self.upload_seconds = upload_seconds

    def accumulator(self, capture: bool, limit: int) -> _TranscriptAccumulator:
        return _TranscriptAccumulator(self, capture, limit)

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        if isinstance(result, str):  # text, srt, vtt
            return self.read(result, None, None, None, capture, limit)
        return self.read(get(result, "text"), get(result, "usage"), get(result, "duration"),
                         get(result, "language"), capture, limit)

    def read(
        self, text: Any, usage: Any, duration: Any, language: Any, capture: bool, limit: int
    ) -> GenAIResponse:
        resp = GenAIResponse()
        counts = resp.usage
        if usage is not None:
            if get(usage, "type") == "duration":
                counts.audio_seconds = _seconds(get(usage, "seconds"))
            else:
                counts.input_tokens = get(usage, "input_tokens")
                counts.output_tokens = get(usage, "output_tokens")
        if counts.audio_seconds is None:
            counts.audio_seconds = _seconds(duration) or self.upload_seconds
        if isinstance(language, str) and language:
            resp.attributes[sc.SPEECH_INPUT_LANGUAGE] = language
        if isinstance(text, str):
            resp.attributes[sc.TRANSCRIPT_CHARACTERS] = len(text)
            if capture:
                resp.output_messages = [{"role": "assistant", "parts": [{"type": "text",
                                         "content": truncate(text, limit)}], "finish_reason": "stop"}]
        return resp


def _seconds(value: Any) -> float | None:
    value = number(value)
    return float(value) if value is not None and value > 0 else None


class SpeechToText(RequestBound):
    """`audio.transcriptions.create` and `audio.translations.create` (`translation=True`)."""

    operation = "speech_to_text"

    def __init__(self, *, translation: bool = False) -> None:
        self.translation = translation

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        if self.translation:
            attrs[sc.SPEECH_TRANSLATION] = True
        language = kwargs.get("language")
        if isinstance(language, str) and language:
            attrs[sc.SPEECH_INPUT_LANGUAGE] = language
        prompt = kwargs.get("prompt")  # text that steers the transcript: captured as system instructions
        if capture and isinstance(prompt, str) and prompt:
            req.system_instructions = [{"type": "text", "content": truncate(prompt, limit)}]
        kind = kwargs.get("response_format")
        kind = kind if isinstance(kind, str) else "json"
        if kind == "verbose_json" or (kind == "json" and not self.translation and req.model == "whisper-1"):
            return  # the response says how long the audio was (the token models' usage does not)
        seconds = upload_seconds(kwargs.get("file"))
        if seconds is not None:
            attrs[sc.AUDIO_SECONDS] = seconds

    def bind(self, req: GenAIRequest) -> _TranscriptReader:
        seconds = req.attributes.get(sc.AUDIO_SECONDS)
        return _TranscriptReader(float(seconds) if isinstance(seconds, (int, float)) else None)

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        return _TranscriptReader(None).response(result, capture, limit)

    def accumulator(self, capture: bool, limit: int) -> _TranscriptAccumulator:
        return _TranscriptReader(None).accumulator(capture, limit)
