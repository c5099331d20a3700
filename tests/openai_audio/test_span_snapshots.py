"""Whole spans of each OpenAI media call (tests/support/snapshots.py): any attribute added, dropped or
changed fails here."""

from __future__ import annotations

import math

import pytest
from inline_snapshot import snapshot

from otel_ai.testing.simulator import speech_audio, speech_audio_seconds
from tests.openai_audio.common import TEXT, price, wav_bytes
from tests.support.snapshots import span_snapshot


def test_speech_span(client, telemetry, sim):
    client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="pcm")
    usd = len(TEXT) * price("tts-1").per_kchar / 1000
    assert span_snapshot(telemetry.one_genai_span(), known={
        "server.port": sim.port,
        "otel_ai.audio.bytes": len(speech_audio(len(TEXT), "pcm")),
        "otel_ai.audio.seconds": pytest.approx(speech_audio_seconds(len(TEXT), "pcm")),
        "otel_ai.cost.usd": pytest.approx(usd),
        "otel_ai.cost.input_usd": pytest.approx(usd),
    }) == snapshot({
        "name": "text_to_speech tts-1",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "text_to_speech",
            "gen_ai.output.type": "speech",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "tts-1",
            "gen_ai.speech.voice": "alloy",
            "otel_ai.audio.bytes": "<otel_ai.audio.bytes>",
            "otel_ai.audio.chunks": 1,
            "otel_ai.audio.format": "pcm",
            "otel_ai.audio.real_time_factor": "<float>",
            "otel_ai.audio.seconds": "<otel_ai.audio.seconds>",
            "otel_ai.cost.input_usd": "<otel_ai.cost.input_usd>",
            "otel_ai.cost.output_usd": 0.0,
            "otel_ai.cost.usd": "<otel_ai.cost.usd>",
            "otel_ai.pricing.catalog_date": "2026-11-22",
            "otel_ai.pricing.source": "catalog",
            "otel_ai.usage.characters": 44,
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })


def test_transcription_span(client, telemetry, sim):
    client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_bytes(2.5)), language="en")
    usd = 3 * price("whisper-1").per_hour / 3600
    assert span_snapshot(telemetry.one_genai_span(), known={
        "server.port": sim.port,
        "otel_ai.audio.seconds": math.ceil(2.5),
        "otel_ai.cost.usd": pytest.approx(usd),
        "otel_ai.cost.input_usd": pytest.approx(usd),
    }) == snapshot({
        "name": "speech_to_text whisper-1",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "speech_to_text",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "whisper-1",
            "gen_ai.speech.input.language": "en",
            "otel_ai.audio.real_time_factor": "<float>",
            "otel_ai.audio.seconds": "<otel_ai.audio.seconds>",
            "otel_ai.cost.input_usd": "<otel_ai.cost.input_usd>",
            "otel_ai.cost.output_usd": 0.0,
            "otel_ai.cost.usd": "<otel_ai.cost.usd>",
            "otel_ai.pricing.catalog_date": "2026-11-22",
            "otel_ai.pricing.source": "catalog",
            "otel_ai.transcript.characters": 25,
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })


def test_translation_span(client, telemetry, sim):
    client.audio.translations.create(model="whisper-1", file=("a.wav", wav_bytes(2.5)), response_format="text")
    usd = 2.5 * price("whisper-1").per_hour / 3600
    assert span_snapshot(telemetry.one_genai_span(), known={
        "server.port": sim.port,
        "otel_ai.audio.seconds": pytest.approx(2.5),
        "otel_ai.cost.usd": pytest.approx(usd),
        "otel_ai.cost.input_usd": pytest.approx(usd),
    }) == snapshot({
        "name": "speech_to_text whisper-1",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "speech_to_text",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "whisper-1",
            "otel_ai.audio.real_time_factor": "<float>",
            "otel_ai.audio.seconds": "<otel_ai.audio.seconds>",
            "otel_ai.cost.input_usd": "<otel_ai.cost.input_usd>",
            "otel_ai.cost.output_usd": 0.0,
            "otel_ai.cost.usd": "<otel_ai.cost.usd>",
            "otel_ai.pricing.catalog_date": "2026-11-22",
            "otel_ai.pricing.source": "catalog",
            "otel_ai.speech.translation": True,
            "otel_ai.transcript.characters": 26,
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })


def test_image_span(client, telemetry, sim):
    client.images.generate(model="dall-e-3", prompt="a lighthouse", quality="hd")
    assert span_snapshot(telemetry.one_genai_span(), known={"server.port": sim.port}) == snapshot({
        "name": "generate_content dall-e-3",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "generate_content",
            "gen_ai.output.type": "image",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "dall-e-3",
            "otel_ai.cost.input_usd": 0.0,
            "otel_ai.cost.output_usd": 0.08,
            "otel_ai.cost.usd": 0.08,
            "otel_ai.image.quality": "hd",
            "otel_ai.image.size": "1024x1024",
            "otel_ai.pricing.catalog_date": "2026-11-22",
            "otel_ai.pricing.source": "catalog",
            "otel_ai.usage.images": 1,
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })


def test_moderation_span(client, telemetry, sim):
    result = client.moderations.create(model="omni-moderation-latest", input="I hate mondays")
    assert span_snapshot(telemetry.one_genai_span(), known={
        "server.port": sim.port, "gen_ai.response.id": result.id,
    }) == snapshot({
        "name": "moderations omni-moderation-latest",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "moderations",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "omni-moderation-latest",
            "gen_ai.response.id": "<gen_ai.response.id>",
            "gen_ai.response.model": "omni-moderation-2024-09-26",
            "otel_ai.moderation.categories": ["hate"],
            "otel_ai.moderation.flagged": True,
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })
