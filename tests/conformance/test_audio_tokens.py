"""Audio tokens on spans, by the registry's names: `gen_ai.usage.audio.input_tokens` / `.output_tokens`.

Whatever provider reports them (the `Usage` model's `audio_input_tokens` / `audio_output_tokens`); the OpenAI
Realtime spans (tests/test_openai_realtime.py) also under the previous names with `OTEL_AI_SEMCONV`.
"""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_ai.genai.model import GenAIResponse, Usage
from otel_ai.genai.recorder import GenAIRecorder
from tests.test_recorder import CATALOG, chat


def span_attributes(usage: Usage) -> dict[str, object]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    made = GenAIRecorder(CATALOG, tracer_provider=provider)
    inv = made.start(chat("gpt-4o-audio-preview"))
    assert inv is not None
    made.end(inv, GenAIResponse(usage=usage))
    [span] = spans.get_finished_spans()
    return dict(span.attributes or {})


def test_reported_audio_tokens_go_on_the_span_by_the_registry_names() -> None:
    attributes = span_attributes(Usage(input_tokens=40, output_tokens=90, audio_input_tokens=30,
                                       audio_output_tokens=0))
    assert attributes["gen_ai.usage.audio.input_tokens"] == 30
    assert attributes["gen_ai.usage.audio.output_tokens"] == 0  # a reported zero is a fact too
    assert "gen_ai.usage.input_audio_tokens" not in attributes and "gen_ai.usage.output_audio_tokens" not in attributes


def test_unreported_audio_tokens_are_absent() -> None:
    attributes = span_attributes(Usage(input_tokens=40, output_tokens=90))
    assert not [name for name in attributes if "audio" in name]
