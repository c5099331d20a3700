"""The console exporter: one readable line per GenAI call, nothing for other spans."""

from __future__ import annotations

import io

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_ai.instrumentation.openai import OpenAIInstrumentor
from otel_ai.runtime.console import ConsoleGenAISpanExporter, format_call, format_cost
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
    assert "cost=$0.00000" in line  # a fraction of a cent, shown with its digits
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


def test_embeddings_show_input_tokens_only(console):
    client, out = console
    result = client.embeddings.create(model="text-embedding-3-small", input="two words")

    [line] = out.getvalue().splitlines()
    assert f"tokens={result.usage.prompt_tokens}in " in line + " "
    assert "out" not in line.split("tokens=")[1].split()[0]


def test_a_cost_below_a_cent_is_never_printed_as_zero(console):
    client, out = console
    client.embeddings.create(model="text-embedding-3-small", input="hi")

    [line] = out.getvalue().splitlines()
    cost = line.split("cost=$")[1].split()[0]
    assert float(cost) > 0
    digits = cost.split(".")[1].lstrip("0")
    assert 1 <= len(digits) <= 4  # up to four significant digits, trailing zeros dropped


def _span(**attributes: object) -> ReadableSpan:
    return ReadableSpan(name="x", attributes=attributes, start_time=0, end_time=2_000_000)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cost", "shown"),
    [
        (0.000042, "$0.000042"),
        (0.00000012345, "$0.0000001235"),
        (0.0099, "$0.0099"),
        (0.0123456, "$0.01235"),
        (1.5, "$1.50"),
        (1234.5, "$1,234.50"),
        (0.0, "$0.00"),
    ],
)
def test_cost_digits(cost, shown):
    assert format_cost(cost) == shown
    line = format_call(_span(**{"gen_ai.operation.name": "chat", "otel_ai.cost.usd": cost}))
    assert line is not None and f"cost={shown} " in line


def test_tokens_field_shapes():
    def tokens(**usage: int) -> str:
        attrs = {"gen_ai.operation.name": "chat", **{f"gen_ai.usage.{k}": v for k, v in usage.items()}}
        line = format_call(_span(**attrs))
        assert line is not None
        return line.split("tokens=")[1].split()[0] if "tokens=" in line else ""

    assert tokens(input_tokens=2) == "2in"
    assert tokens(input_tokens=2, output_tokens=0) == "2in/0out"
    assert tokens(input_tokens=12, output_tokens=7) == "12in/7out"
    assert tokens(output_tokens=7) == "-in/7out"
    assert tokens() == ""


def test_speech_calls_show_characters_audio_seconds_and_real_time_factor():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from otel_ai.runtime.console import format_call

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("text_to_speech eleven_multilingual_v2") as span:
        span.set_attributes({
            "gen_ai.operation.name": "text_to_speech", "gen_ai.provider.name": "elevenlabs",
            "gen_ai.request.model": "eleven_multilingual_v2", "otel_ai.usage.characters": 31,
            "otel_ai.audio.seconds": 1.86, "otel_ai.audio.real_time_factor": 0.021, "otel_ai.cost.usd": 0.0031,
        })
    line = format_call(memory.get_finished_spans()[0])
    assert line is not None
    assert "chars=31" in line and "audio=1.86s rtf=0.02" in line and "cost=$0.0031" in line
    assert "tokens=" not in line


def test_units_of_work_show_their_roll_up_not_a_provider():
    attrs = {
        "gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "digest",
        "otel_ai.task.calls": 4, "otel_ai.task.calls.failed": 1, "otel_ai.task.usage.input_tokens": 26,
        "otel_ai.task.usage.output_tokens": 16, "otel_ai.task.cost.usd": 0.0000136,
    }
    line = format_call(ReadableSpan(name="invoke_workflow digest", attributes=attrs, start_time=0, end_time=2_000_000))
    assert line is not None
    assert line.startswith("[otel-ai] invoke_workflow digest  calls=4 (1 failed)  tokens=26in/16out  cost=$0.0000136  ")
    assert "provider=" not in line and "status=ok" in line
    empty = format_call(_span(**{"otel_ai.task.calls": 0}))
    assert empty is not None and "calls=0" in empty and "tokens=" not in empty and "cost=" not in empty
