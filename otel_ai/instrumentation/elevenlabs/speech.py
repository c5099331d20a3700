"""The ElevenLabs APIs read: text to speech (and dialogue), speech to speech, sound effects, speech to text.

Each endpoint reads the request (text and its characters, voice, model, output format, language)
and, for the calls that answer at once, the response. Audio streams are read by
`audio.AudioAccumulator` as the caller consumes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.elevenlabs.audio import (
    DEFAULT_OUTPUT_FORMAT,
    AudioAccumulator,
    base64_audio,
    headers_of,
    response_from_headers,
)
from otel_ai.instrumentation.openai.content import get, reiterable, truncate

__all__ = ["SoundEffects", "SpeechEndpoint", "SpeechToSpeech", "SpeechToText", "TextToDialogue", "TextToSpeech"]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class SpeechEndpoint(Endpoint):
    """What every ElevenLabs endpoint shares: output format, voice, language, characters."""

    default_model: ClassVar[str | None] = None
    speech_output: ClassVar[bool] = True

    def __init__(self, *, streaming: bool = False) -> None:
        self.streaming = streaming  # the `stream*` methods: `gen_ai.request.stream`
    def characters(self, kwargs: Mapping[str, Any]) -> int | None:
        text = _text(kwargs.get("text"))
        return None if text is None else len(text)

    def output_format(self, kwargs: Mapping[str, Any]) -> str:
        value = kwargs.get("output_format")
        return value if isinstance(value, str) and value else DEFAULT_OUTPUT_FORMAT

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        if self.speech_output:
            attrs[sc.OUTPUT_TYPE] = "speech"
            attrs[sc.AUDIO_FORMAT] = self.output_format(kwargs)
        voice = kwargs.get("voice_id")
        if isinstance(voice, str):
            attrs[sc.SPEECH_VOICE] = voice
        language = kwargs.get("language_code")
        if isinstance(language, str):
            attrs[sc.SPEECH_INPUT_LANGUAGE] = language
        characters = self.characters(kwargs)
        if characters is not None:
            attrs[sc.USAGE_CHARACTERS] = characters
        if capture:
            text = self.text(kwargs)
            if text:
                req.input_messages = [{"role": "user", "parts": [{"type": "text", "content": truncate(text, limit)}]}]

    def text(self, kwargs: Mapping[str, Any]) -> str | None:
        return _text(kwargs.get("text"))

    def accumulator_for(self, req: GenAIRequest, headers: Mapping[str, str]) -> AudioAccumulator:
        """For an audio stream: format and characters as the request read them."""
        output_format = req.attributes.get(sc.AUDIO_FORMAT)
        characters = req.attributes.get(sc.USAGE_CHARACTERS)
        return AudioAccumulator(
            output_format if isinstance(output_format, str) else DEFAULT_OUTPUT_FORMAT,
            headers,
            characters if isinstance(characters, int) else None,
        )

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        return self.whole(result, None, capture, limit)

    def whole(self, result: Any, req: GenAIRequest | None, capture: bool, limit: int) -> GenAIResponse:
        """A whole response (the `*_with_timestamps` forms): audio as base64 with its alignment."""
        acc = self.accumulator_for(req, headers_of(result)) if req is not None else None
        acc = acc or AudioAccumulator(DEFAULT_OUTPUT_FORMAT, headers_of(result), None)
        data = getattr(result, "data", result)
        if base64_audio(data) is not None:
            acc.add(data)
        return acc.response()


class TextToSpeech(SpeechEndpoint):
    operation = "text_to_speech"
    default_model = "eleven_multilingual_v2"


class TextToDialogue(TextToSpeech):
    """`inputs` is a list of {text, voice_id}: characters summed, every voice named."""

    def _inputs(self, kwargs: Mapping[str, Any]) -> list[Any]:
        inputs = kwargs.get("inputs")
        return list(inputs) if inputs is not None and reiterable(inputs) else []

    def characters(self, kwargs: Mapping[str, Any]) -> int | None:
        texts = [_text(get(item, "text")) for item in self._inputs(kwargs)]
        return sum(len(t) for t in texts if t) if texts else None

    def text(self, kwargs: Mapping[str, Any]) -> str | None:
        texts = [_text(get(item, "text")) for item in self._inputs(kwargs)]
        return "\n".join(t for t in texts if t) or None

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        req.attributes[sc.SPEECH_DIALOGUE] = True
        super().request(kwargs, req, capture, limit)
        named = (get(item, "voice_id") for item in self._inputs(kwargs))
        voices = tuple(dict.fromkeys(v for v in named if isinstance(v, str)))
        if voices:
            req.attributes[sc.SPEECH_VOICE] = voices


class SpeechToSpeech(SpeechEndpoint):
    operation = "speech_to_speech"
    default_model = "eleven_english_sts_v2"

    def characters(self, kwargs: Mapping[str, Any]) -> int | None:
        return None


class SoundEffects(SpeechEndpoint):
    operation = "sound_generation"


class SpeechToText(SpeechEndpoint):
    """Audio in, a transcript out: audio seconds, transcript length, detected language."""

    operation = "speech_to_text"
    speech_output = False

    def characters(self, kwargs: Mapping[str, Any]) -> int | None:
        return None

    def text(self, kwargs: Mapping[str, Any]) -> str | None:
        return None

    def whole(self, result: Any, req: GenAIRequest | None, capture: bool, limit: int) -> GenAIResponse:
        resp = response_from_headers(headers_of(result), None)
        data = getattr(result, "data", result)
        language = get(data, "language_code")
        if isinstance(language, str):
            resp.attributes[sc.SPEECH_INPUT_LANGUAGE] = language
        text = get(data, "text")
        if isinstance(text, str):
            resp.attributes[sc.TRANSCRIPT_CHARACTERS] = len(text)
            if capture:
                resp.output_messages = [
                    {"role": "assistant", "parts": [{"type": "text", "content": truncate(text, limit)}],
                     "finish_reason": "stop"}
                ]
        seconds = get(data, "audio_duration_secs")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
            resp.usage.audio_seconds = float(seconds)
        transcription = get(data, "transcription_id")
        if isinstance(transcription, str) and not resp.response_id:
            resp.response_id = transcription
        return resp
