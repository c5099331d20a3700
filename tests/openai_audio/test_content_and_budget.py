"""Content capture (off by default, the conventions' parts shape, redacted on export) and the budget gate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import otel_ai.budgets as B
from otel_ai.errors import BudgetExceeded
from otel_ai.notify import notification as notify
from otel_ai.privacy.redactor import Redactor
from tests.conftest import Telemetry
from tests.openai_audio.common import wav_bytes

SECRET = "mail jane@example.com now"


def _messages(span: Any, name: str) -> Any:
    return json.loads(span.attributes[name])


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_speech_text_and_instructions_are_captured_and_redacted(client, telemetry, content_mode):
    client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input=SECRET, instructions="Whisper it")
    span = telemetry.one_genai_span()
    assert _messages(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": SECRET}]}
    ]
    assert _messages(span, "gen_ai.system_instructions") == [{"type": "text", "content": "Whisper it"}]
    assert "jane@example.com" not in Redactor().redact(span.attributes["gen_ai.input.messages"])[0]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_transcript_is_captured(client, telemetry, content_mode):
    client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_bytes(1.0)),
                                       extra_headers={"x-simulator-reply": SECRET})
    span = telemetry.one_genai_span()
    assert _messages(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [{"type": "text", "content": SECRET}], "finish_reason": "stop"}
    ]
    assert "gen_ai.input.messages" not in span.attributes  # the audio itself is never captured


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_image_prompt_and_revised_prompt_are_captured_but_no_image(client, telemetry, content_mode):
    result = client.images.generate(model="dall-e-3", prompt=SECRET)
    span = telemetry.one_genai_span()
    assert _messages(span, "gen_ai.input.messages")[0]["parts"][0]["content"] == SECRET
    output = span.attributes["gen_ai.output.messages"]
    assert json.loads(output)[0]["parts"][0]["content"] == result.data[0].revised_prompt
    assert result.data[0].url not in output


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_moderation_input_is_captured(client, telemetry, content_mode):
    client.moderations.create(input=[SECRET, {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}])
    parts = _messages(telemetry.one_genai_span(), "gen_ai.input.messages")[0]["parts"]
    assert parts == [{"type": "text", "content": SECRET}]


def test_no_content_by_default(client, telemetry):
    client.audio.speech.create(model="tts-1", voice="alloy", input=SECRET)
    client.images.generate(model="dall-e-3", prompt=SECRET)
    client.moderations.create(input=SECRET)
    for span in telemetry.genai_spans():
        assert not any(SECRET in str(value) for value in span.attributes.values()), span.name


@pytest.fixture
def budget(telemetry: Telemetry) -> Iterator[None]:
    notify.set_dispatcher(lambda _: None)
    tracker = B.install(B.BudgetConfig((B.Budget("media", 1e-9, scope={"provider": "openai"}, action="block"),)),
                        meter_provider=telemetry.providers["meter_provider"],
                        tracer_provider=telemetry.providers["tracer_provider"])
    assert tracker is not None
    yield
    notify.set_dispatcher(None)
    B.uninstall()


def test_speech_and_images_are_blocked_before_sending(client, sim, telemetry, budget):
    sim.clear()
    client.audio.speech.create(model="tts-1", voice="alloy", input="spend it")
    with pytest.raises(BudgetExceeded):
        client.audio.speech.create(model="tts-1", voice="alloy", input="again")
    with pytest.raises(BudgetExceeded):
        client.images.generate(model="dall-e-3", prompt="a lighthouse")
    with pytest.raises(BudgetExceeded):
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_bytes(1.0)))
    assert len(sim.requests) == 1  # only the first call reached the server
    blocked = [s for s in telemetry.genai_spans() if s.attributes.get("error.type") == "otel_ai.errors.BudgetExceeded"]
    assert len(blocked) == 3


async def test_async_speech_is_blocked_too(aclient, sim, telemetry, budget):
    sim.clear()
    await aclient.audio.speech.create(model="tts-1", voice="alloy", input="spend it")
    with pytest.raises(BudgetExceeded):
        async with aclient.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input="again"):
            pass
    assert len(sim.requests) == 1


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_transcription_prompt_is_captured_as_system_instructions(client, telemetry, content_mode):
    client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_bytes(1.0)), prompt="Names: Zoë, Åsa")
    span = telemetry.one_genai_span()
    assert _messages(span, "gen_ai.system_instructions") == [{"type": "text", "content": "Names: Zoë, Åsa"}]
