"""ElevenLabs client instrumentation (`elevenlabs` 2.x): text to speech and dialogue, speech to speech,
sound effects, speech to text, sync and async, and their `with_raw_response` forms.

The public methods (`client.text_to_speech.convert(...)`) are generator functions over the raw
client's context managers, which send the request when entered. Wrapping the raw clients' methods
therefore covers both forms, and the span covers the work: it starts when the request is sent and
ends when the audio has been delivered (exhausted, closed, abandoned and collected, or failed
mid-audio), never when the call returns.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from otel_ai.genai.model import GenAIRequest
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import AsyncStreamProxy, SyncStreamProxy
from otel_ai.instrumentation.base import Endpoint, ProviderInstrumentor, Target
from otel_ai.instrumentation.elevenlabs.audio import AudioAccumulator, headers_of
from otel_ai.instrumentation.elevenlabs.speech import (
    SoundEffects,
    SpeechEndpoint,
    SpeechToSpeech,
    SpeechToText,
    TextToDialogue,
    TextToSpeech,
)
from otel_ai.privacy.secrets import remember

__all__ = ["ElevenLabsInstrumentor"]

_TTS, _DIALOGUE, _STS, _SFX, _STT = TextToSpeech(), TextToDialogue(), SpeechToSpeech(), SoundEffects(), SpeechToText()
_TTS_STREAM = TextToSpeech(streaming=True)
_REALTIME = TextToSpeech(streaming=True)
_DIALOGUE_STREAM = TextToDialogue(streaming=True)
_STS_STREAM = SpeechToSpeech(streaming=True)
# (module, raw client class, method, endpoint, returns a context manager that streams audio)
_METHODS: tuple[tuple[str, str, str, Endpoint, bool], ...] = (
    ("elevenlabs.text_to_speech.raw_client", "RawTextToSpeechClient", "convert", _TTS, True),
    ("elevenlabs.text_to_speech.raw_client", "RawTextToSpeechClient", "stream", _TTS_STREAM, True),
    ("elevenlabs.text_to_speech.raw_client", "RawTextToSpeechClient", "stream_with_timestamps", _TTS_STREAM, True),
    ("elevenlabs.text_to_speech.raw_client", "RawTextToSpeechClient", "convert_with_timestamps", _TTS, False),
    ("elevenlabs.text_to_dialogue.raw_client", "RawTextToDialogueClient", "convert", _DIALOGUE, True),
    ("elevenlabs.text_to_dialogue.raw_client", "RawTextToDialogueClient", "stream", _DIALOGUE_STREAM, True),
    ("elevenlabs.text_to_dialogue.raw_client", "RawTextToDialogueClient", "stream_with_timestamps", _DIALOGUE_STREAM,
     True),
    ("elevenlabs.text_to_dialogue.raw_client", "RawTextToDialogueClient", "convert_with_timestamps", _DIALOGUE, False),
    ("elevenlabs.speech_to_speech.raw_client", "RawSpeechToSpeechClient", "convert", _STS, True),
    ("elevenlabs.speech_to_speech.raw_client", "RawSpeechToSpeechClient", "stream", _STS_STREAM, True),
    ("elevenlabs.text_to_sound_effects.raw_client", "RawTextToSoundEffectsClient", "convert", _SFX, True),
    ("elevenlabs.speech_to_text.raw_client", "RawSpeechToTextClient", "convert", _STT, False),
)


class CountingText:
    """Passes the caller's text chunks on unchanged, counting their characters (a realtime session)."""

    __slots__ = ("_iterator", "characters")

    def __init__(self, text: Any) -> None:
        self._iterator = iter(text)
        self.characters = 0

    def __iter__(self) -> CountingText:
        return self

    def __next__(self) -> Any:
        chunk = next(self._iterator)
        if isinstance(chunk, str):
            self.characters += len(chunk)
        return chunk


class RealtimeAccumulator:
    """Audio of a websocket session; the characters are those of the text the client streamed."""

    __slots__ = ("audio", "counter")

    def __init__(self, audio: AudioAccumulator, counter: Any) -> None:
        self.audio = audio
        self.counter = counter

    def add(self, chunk: Any) -> bool:
        return self.audio.add(chunk)

    def response(self) -> Any:
        if isinstance(self.counter, CountingText):
            self.audio.characters = self.counter.characters
        return self.audio.response()


def _async_name(owner: str) -> str:
    return "AsyncRaw" + owner[len("Raw") :]


class ElevenLabsInstrumentor(ProviderInstrumentor):
    """Instruments the `elevenlabs` package; `ElevenLabsInstrumentor().instrument()` or auto-instrumentation."""

    provider_library = "elevenlabs"
    instruments: ClassVar[tuple[str, ...]] = ("elevenlabs >= 2.0, < 3",)
    targets: ClassVar[tuple[Target, ...]] = (
        *(
            Target(module, name, method, endpoint, context)
            for module, owner, method, endpoint, context in _METHODS
            for name in (owner, _async_name(owner))
        ),
        # The websocket session (sync client only): a generator over the text the caller streams in.
        Target("elevenlabs.realtime_tts", "RealtimeTextToSpeechClient", "convert_realtime", _REALTIME, generator=True),
    )

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """`voice_id` is the one argument the client passes positionally."""
        if args and isinstance(args[0], str) and "voice_id" not in kwargs:
            return {**kwargs, "voice_id": args[0]}
        return kwargs

    def describe(self, instance: Any, kwargs: dict[str, Any], endpoint: Endpoint) -> GenAIRequest:
        wrapper = getattr(instance, "_client_wrapper", None)
        remember(getattr(wrapper, "_api_key", None))
        host, port = None, None
        try:
            parts = urlsplit(wrapper.get_base_url()) if wrapper is not None else None
            if parts is not None:
                host = parts.hostname
                port = parts.port or (443 if parts.scheme == "https" else 80)
        except Exception:  # an odd base URL: the span just goes without the server
            host, port = None, None
        model = kwargs.get("model_id")
        if not isinstance(model, str):
            model = getattr(endpoint, "default_model", None)  # what the API uses when none is given
        return GenAIRequest(
            operation=endpoint.operation,
            provider="elevenlabs",
            model=model,
            server_address=host,
            server_port=port,
            stream=bool(getattr(endpoint, "streaming", False)),
        )

    def generator_arguments(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """`convert_realtime` takes the text as an iterator: count it as the client reads it."""
        text = kwargs.get("text")
        if text is None or isinstance(text, str):
            return kwargs
        return {**kwargs, "text": CountingText(text)}

    def generator_accumulator(
        self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, kwargs: dict[str, Any]
    ) -> Any:
        if not isinstance(endpoint, SpeechEndpoint):
            return super().generator_accumulator(recorder, endpoint, inv, kwargs)
        return RealtimeAccumulator(endpoint.accumulator_for(inv.request, {}), kwargs.get("text"))

    def result(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, result: Any) -> Any:
        """A whole response (timestamps, transcripts): read with what the request said (the format)."""
        if not isinstance(endpoint, SpeechEndpoint):
            return super().result(recorder, endpoint, inv, result)
        recorder.end(inv, endpoint.whole(result, inv.request, recorder.capture_content, recorder.content_limit))
        return result

    def entered(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, value: Any) -> Any:
        """The request was sent and the status is good: count the audio as the caller reads it."""
        if not isinstance(endpoint, SpeechEndpoint):
            return super().entered(recorder, endpoint, inv, value)
        acc = endpoint.accumulator_for(inv.request, headers_of(value))
        data = value._data
        proxy_type = AsyncStreamProxy if hasattr(data, "__anext__") else SyncStreamProxy
        proxy = proxy_type(data, recorder, inv, acc)
        finisher = proxy._self_finisher
        inv.closer = lambda exc: finisher.end() if exc is None else finisher.fail(exc)
        value._data = proxy
        return value
