"""Leak-suite places of the OpenAI audio, image and moderation APIs (``PROVIDERS`` name ``openai_audio``).

What their telemetry reads: the text sent to speech (in pieces: the API takes 4,096 characters),
its instructions and voice, the transcript of a transcription or translation (plain and streamed),
an image prompt and its revised prompt, moderation inputs, and error bodies that repeat the text and
the client's key. The calls go to an OpenAI simulator of this module's own (``start``), with the
app's OpenAI key. ``leak`` is ``tests/support/leak_app.py``, passed in (see its docstring).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import wave
from collections.abc import Callable
from typing import Any

NAME = "openai_audio"
SPEECH_MAX = 4000  # under the API's 4,096 characters per speech request
SPEECH_FORMAT = "opus"  # the simulator's smallest audio: a blob is about 11 minutes of speech


def _wav(seconds: float = 0.5, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\0\0" * round(seconds * rate))
    return buffer.getvalue()


AUDIO = _wav()


def start(stack: contextlib.ExitStack) -> Any:
    from otel_ai.testing.simulator import OpenAISimulator

    return stack.enter_context(OpenAISimulator())


def _client(ctx: Any) -> Any:
    import openai

    return openai.OpenAI(base_url=ctx.app.providers[NAME].base_url, api_key=ctx.app.api_key, max_retries=0)


def _async_client(ctx: Any) -> Any:
    import openai

    return openai.AsyncOpenAI(base_url=ctx.app.providers[NAME].base_url, api_key=ctx.app.api_key, max_retries=0)


def _pieces(text: str) -> list[str]:
    """The text in pieces of whole lines, each short enough for one speech request."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        if current and len(current) + 1 + len(line) > SPEECH_MAX:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    return [*pieces, current]


def _reply(ctx: Any) -> dict[str, str]:
    """The transcript: the blob as the ``x-simulator-reply`` header (one line: a header holds no break)."""
    return {"x-simulator-reply": ctx.blob().replace("\n", " ")}


def _expect_error(ctx: Any, call: Callable[[], Any], *, log: bool = False) -> int:
    import openai

    try:
        call()
    except openai.BadRequestError:
        if log:
            logging.getLogger("app").exception("the media gateway refused the call")
        return 1
    raise AssertionError(f"{ctx.place.name}: the echo_error scenario did not fail")


def _run_speech_input(ctx: Any) -> int:
    pieces = _pieces(ctx.blob())
    client = _client(ctx)
    for piece in pieces:
        client.audio.speech.create(model="tts-1", voice="alloy", input=piece, response_format=SPEECH_FORMAT)
    return len(pieces)


def _run_speech_async_input(ctx: Any) -> int:
    pieces = _pieces(ctx.blob())

    async def call() -> None:
        client = _async_client(ctx)
        for piece in pieces:
            async with client.audio.speech.with_streaming_response.create(
                model="tts-1", voice="alloy", input=piece, response_format=SPEECH_FORMAT,
            ) as response:
                async for _ in response.iter_bytes():
                    pass

    asyncio.run(call())
    return len(pieces)


def _run_speech_instructions(ctx: Any) -> int:
    _client(ctx).audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="hi", instructions=ctx.blob(),
                                     response_format=SPEECH_FORMAT)
    return 1


def _run_speech_voice(ctx: Any, kinds: tuple[Any, ...]) -> int:
    client = _client(ctx)
    client.audio.speech.create(model="tts-1", voice=ctx.canary, input="hi", response_format=SPEECH_FORMAT)
    for kind in kinds:
        client.audio.speech.create(model="tts-1", voice={"id": ctx.value("voice", kind.name).text}, input="hi",
                                   response_format=SPEECH_FORMAT)
    return len(kinds) + 1


def _run_speech_error(ctx: Any) -> int:
    return _expect_error(ctx, lambda: _client(ctx).audio.speech.create(
        model="tts-1", voice="alloy", input=ctx.blob(), extra_headers={"x-simulator-scenario": "echo_error"},
    ), log=True)


def _run_transcription_output(ctx: Any) -> int:
    _client(ctx).audio.transcriptions.create(model="whisper-1", file=("a.wav", AUDIO), extra_headers=_reply(ctx))
    return 1


def _run_transcription_stream_output(ctx: Any) -> int:
    stream = _client(ctx).audio.transcriptions.create(
        model="gpt-4o-mini-transcribe", file=("a.wav", AUDIO), stream=True, extra_headers=_reply(ctx),
    )
    for _ in stream:
        pass
    return 1


def _run_translation_output(ctx: Any) -> int:
    _client(ctx).audio.translations.create(model="whisper-1", file=("a.wav", AUDIO), response_format="text",
                                           extra_headers=_reply(ctx))
    return 1


def _run_transcription_error(ctx: Any) -> int:
    # The careless gateway repeats the request's `prompt` (and the key) in its error body.
    return _expect_error(ctx, lambda: _client(ctx).audio.transcriptions.create(
        model="whisper-1", file=("a.wav", AUDIO), prompt=ctx.blob(),
        extra_headers={"x-simulator-scenario": "echo_error"},
    ))


def _run_image_input(ctx: Any) -> int:
    _client(ctx).images.generate(model="dall-e-3", prompt=ctx.blob())  # the revised prompt repeats it
    return 1


def _run_image_error(ctx: Any) -> int:
    return _expect_error(ctx, lambda: _client(ctx).images.generate(
        model="gpt-image-1", prompt=ctx.blob(), extra_headers={"x-simulator-scenario": "echo_error"},
    ))


def _run_moderation_input(ctx: Any) -> int:
    lines = ctx.blob().split("\n")
    half = len(lines) // 2
    _client(ctx).moderations.create(input=["\n".join(lines[:half]), {"type": "text", "text": "\n".join(lines[half:])}])
    return 1


def places(leak: Any) -> tuple[Any, ...]:
    def blob(name: str, what: str, run: Callable[[Any], int]) -> Any:
        return leak._blob_place(f"{NAME}.{name}", what, run, needs=NAME, provider="openai")

    return (
        blob("speech.input", "OpenAI audio.speech: the text, in pieces of whole lines", _run_speech_input),
        blob("speech.async.input", "OpenAI async audio.speech, with_streaming_response: the text",
             _run_speech_async_input),
        blob("speech.instructions", "OpenAI audio.speech: the instructions (system instructions)",
             _run_speech_instructions),
        leak.Place(
            f"{NAME}.speech.voice", "OpenAI audio.speech: custom voice ids ({'id': ...})", (("voice", None),),
            lambda ctx: _run_speech_voice(ctx, leak.KINDS), needs=NAME, shows="attribute 'gen_ai.speech.voice'",
            provider="openai",
        ),
        blob("speech.error", "OpenAI audio.speech: a 400 whose body repeats the text and the key (and a log)",
             _run_speech_error),
        blob("transcription.output", "OpenAI audio.transcriptions: the transcript (x-simulator-reply, one line)",
             _run_transcription_output),
        blob("transcription.stream.output", "OpenAI audio.transcriptions, stream=True: the transcript",
             _run_transcription_stream_output),
        blob("translation.output", "OpenAI audio.translations (text): the English transcript",
             _run_translation_output),
        blob("transcription.error", "OpenAI audio.transcriptions: a 400 whose body repeats the prompt and the key",
             _run_transcription_error),
        blob("images.input", "OpenAI images.generate: the prompt (DALL-E 3 repeats it in its revised prompt)",
             _run_image_input),
        blob("images.error", "OpenAI images.generate: a 400 whose body repeats the prompt and the key",
             _run_image_error),
        blob("moderations.input", "OpenAI moderations.create: the inputs (a string and a text part)",
             _run_moderation_input),
    )
