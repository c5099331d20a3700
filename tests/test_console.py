"""The console exporter: one readable line per GenAI call, nothing for other spans."""

from __future__ import annotations

import io

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_ai.instrumentation.openai import OpenAIInstrumentor
from otel_ai.sdk.console import ConsoleGenAISpanExporter
from tests.conftest import API_KEY, scenario


@pytest.fixture
def console(sim):
    out = io.StringIO()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ConsoleGenAISpanExporter(out)))
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    try:
        with openai.OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0) as client:
            yield client, out
    finally:
        OpenAIInstrumentor().uninstrument()


def test_one_line_per_call_with_model_tokens_cost_latency_status_and_trace(console):
    client, out = console
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

    [line] = out.getvalue().splitlines()
    usage = completion.usage
    assert line.startswith(f"[otel-ai] chat {completion.model}  provider=openai")
    assert f"tokens={usage.prompt_tokens}in/{usage.completion_tokens}out" in line
    assert "cost=$0.0000" in line
    assert "latency=" in line and "ms" in line
    assert "status=ok" in line
    assert len(line.split("trace=")[1]) == 32


def test_errors_show_type_and_category(console):
    client, out = console
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers=scenario("rate_limit")
        )
    assert "status=ERROR openai.RateLimitError (rate_limit)" in out.getvalue()


def test_non_genai_spans_are_not_printed():
    out = io.StringIO()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ConsoleGenAISpanExporter(out)))
    with provider.get_tracer("t").start_as_current_span("GET /health"):
        pass
    assert out.getvalue() == ""
