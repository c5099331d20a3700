"""Representative calls of every instrumented provider, through the real clients against the simulators.

Shared by the conformance test (GenAI registry) and the registry-sync test (our own `otel_ai.*` names):
both look at what these calls really emit, so the checks are about telemetry, not about constants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from otel_ai.runtime import state as _state
from tests.conformance.checks import metrics_of
from tests.conftest import API_KEY, Telemetry, scenario

MESSAGES = [{"role": "user", "content": "Say hello to the conformance suite"}]
GEMINI_KEY = "AIzaSyD4kQ2r9XwT4bN8vL1pF6hJ3sD5gA0cE7x"  # the shape of a Google API key


@dataclass
class Sims:
    """The simulators, one of each, started once for the session."""

    openai: Any
    anthropic: Any
    gemini: Any
    bedrock: Any
    mistral: Any
    cohere: Any
    ollama: Any
    stack: ExitStack = field(default_factory=ExitStack)


@contextmanager
def simulators(openai_sim: Any) -> Iterator[Sims]:
    from otel_ai.testing.anthropic_simulator import AnthropicSimulator
    from otel_ai.testing.bedrock_simulator import BedrockSimulator
    from otel_ai.testing.cohere_simulator import CohereSimulator
    from otel_ai.testing.gemini_simulator import GeminiSimulator
    from otel_ai.testing.mistral_simulator import MistralSimulator
    from otel_ai.testing.ollama_simulator import OllamaSimulator

    with ExitStack() as stack:
        yield Sims(
            openai=openai_sim, anthropic=stack.enter_context(AnthropicSimulator()),
            gemini=stack.enter_context(GeminiSimulator()), bedrock=stack.enter_context(BedrockSimulator()),
            mistral=stack.enter_context(MistralSimulator()), cohere=stack.enter_context(CohereSimulator()),
            ollama=stack.enter_context(OllamaSimulator()),
        )


@contextmanager
def instrumented(telemetry: Telemetry, instrumentor: Any) -> Iterator[None]:
    instrumentor.instrument(**telemetry.providers)
    try:
        yield
    finally:
        instrumentor.uninstrument()
        _state.reset()


def _openai(sims: Sims) -> Any:
    import openai

    return openai.OpenAI(base_url=sims.openai.base_url, api_key=API_KEY, max_retries=0)


def openai_chat(telemetry: Telemetry, sims: Sims) -> None:
    with _openai(sims) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, max_tokens=64)


def openai_chat_stream(telemetry: Telemetry, sims: Sims) -> dict[str, int]:
    """Returns the chunks received: time_per_output_chunk is one value per chunk after the first."""
    with _openai(sims) as client:
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                                     stream_options={"include_usage": True}))
    return {"chunks": len(chunks)}


def openai_chat_stream_each(telemetry: Telemetry, sims: Sims) -> dict[str, int]:
    """`OTEL_AI_CHUNK_TIMING=each`: one time_per_output_chunk value per output chunk after the first.

    An output chunk is one with a choice; the usage-only chunk that ends the stream carries no output.
    """
    import os
    from unittest import mock

    with mock.patch.dict(os.environ, {"OTEL_AI_CHUNK_TIMING": "each"}):
        telemetry.reinstrument()
    with _openai(sims) as client:
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                                     stream_options={"include_usage": True}))
    return {"chunks": len([c for c in chunks if c.choices])}


def openai_embeddings(telemetry: Telemetry, sims: Sims) -> None:
    with _openai(sims) as client:
        client.embeddings.create(model="text-embedding-3-small", input="hello")


def openai_responses(telemetry: Telemetry, sims: Sims) -> None:
    with _openai(sims) as client:
        client.responses.create(model="gpt-4o-mini", input="Say hello", max_output_tokens=64)


def openai_chat_error(telemetry: Telemetry, sims: Sims) -> None:
    import openai

    with _openai(sims) as client, pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=scenario("rate_limit"))


def openai_chat_tools_and_image(telemetry: Telemetry, sims: Sims) -> dict[str, int]:
    """A system message in the history, a data-URI image, a tool definition, and a tool call answered."""
    tool = {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                             "parameters": {"type": "object", "properties": {}}}}
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ]},
    ]
    with _openai(sims) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[tool],
                                       extra_headers=scenario("tool_call"))
    return {"system_in_history": 1}


def work_units(telemetry: Telemetry, sims: Sims) -> None:
    """A workflow, an agent and a tool (otel_ai's units of work) around one chat call."""
    from unittest import mock

    from opentelemetry import trace
    from opentelemetry.metrics import _internal as metrics_internal

    import otel_ai
    from otel_ai.work import units

    # Units of work use the global providers: make them the test's for the call.
    with mock.patch.object(trace, "_TRACER_PROVIDER", telemetry.providers["tracer_provider"]), \
            mock.patch.object(metrics_internal, "_METER_PROVIDER", telemetry.providers["meter_provider"]):
        units._ensure_registered()
        with otel_ai.workflow("trip"), otel_ai.agent("planner"), otel_ai.tool("lookup"):
            openai_chat(telemetry, sims)


def anthropic_messages(telemetry: Telemetry, sims: Sims) -> None:
    import anthropic

    from otel_ai.instrumentation.anthropic import AnthropicInstrumentor

    key = "sk-ant-api03-" + "Zq7" * 31 + "AA"
    with instrumented(telemetry, AnthropicInstrumentor()), anthropic.Anthropic(
        api_key=key, base_url=sims.anthropic.base_url, max_retries=0,
    ) as client:
        client.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=MESSAGES)


def anthropic_previous_names_and_proposals(telemetry: Telemetry, sims: Sims) -> None:
    """Both names of the cache writes, and every proposal's metrics (OTEL_AI_SEMCONV=both, _PROPOSALS=all)."""
    import os
    from unittest import mock

    import anthropic

    from otel_ai.instrumentation.anthropic import AnthropicInstrumentor

    key = "sk-ant-api03-" + "Zq7" * 31 + "AA"
    env = {"OTEL_AI_SEMCONV": "both", "OTEL_AI_SEMCONV_PROPOSALS": "all"}
    with mock.patch.dict(os.environ, env):
        _state.reset()  # the settings are read again, with these two
        with instrumented(telemetry, AnthropicInstrumentor()), anthropic.Anthropic(
            api_key=key, base_url=sims.anthropic.base_url, max_retries=0,
        ) as client:
            client.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=MESSAGES,
                                   extra_headers=scenario("cached"))
    names = {metric.name for metric in metrics_of(telemetry.metric_reader)}
    assert "gen_ai.client.inference.duration" in names, "the proposals were not on: the check would be vacuous"
    spans = [s for s in telemetry.spans() if (s.attributes or {}).get("gen_ai.operation.name")]
    assert {"gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens"} <= set(
        spans[-1].attributes or {})


def gemini_generate(telemetry: Telemetry, sims: Sims) -> None:
    from google import genai

    from otel_ai.instrumentation.gemini import GeminiInstrumentor

    with instrumented(telemetry, GeminiInstrumentor()):
        client = genai.Client(api_key=GEMINI_KEY, http_options=sims.gemini.http_options())
        client.models.generate_content(model="gemini-2.5-flash", contents="Say hello", config={"temperature": 0.3})


def bedrock_converse(telemetry: Telemetry, sims: Sims) -> None:
    import boto3
    from botocore.config import Config

    from otel_ai.instrumentation.bedrock import BedrockInstrumentor

    with instrumented(telemetry, BedrockInstrumentor()):
        client = boto3.client(
            "bedrock-runtime", aws_access_key_id="AKIAZ7QEXAMPLE4TESTS",
            aws_secret_access_key="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",
            config=Config(retries={"max_attempts": 1}), **sims.bedrock.client_options(),
        )
        client.converse(modelId="anthropic.claude-sonnet-4-5-20250929-v1:0",
                        messages=[{"role": "user", "content": [{"text": "Say hello"}]}],
                        inferenceConfig={"maxTokens": 64})


def bedrock_guardrail(telemetry: Telemetry, sims: Sims) -> None:
    """Calls that apply a guardrail: `guardrailConfig` (converse) and `guardrailIdentifier` (invoke_model)."""
    import json

    import boto3
    from botocore.config import Config

    from otel_ai.instrumentation.bedrock import BedrockInstrumentor

    model = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    with instrumented(telemetry, BedrockInstrumentor()):
        client = boto3.client(
            "bedrock-runtime", aws_access_key_id="AKIAZ7QEXAMPLE4TESTS",
            aws_secret_access_key="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",
            config=Config(retries={"max_attempts": 1}), **sims.bedrock.client_options(),
        )
        client.converse(modelId=model, messages=[{"role": "user", "content": [{"text": "Say hello"}]}],
                        inferenceConfig={"maxTokens": 64},
                        guardrailConfig={"guardrailIdentifier": "sgi5gkybzqak", "guardrailVersion": "1"})
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                "messages": [{"role": "user", "content": "Say hello"}]}
        client.invoke_model(modelId=model, body=json.dumps(body), guardrailIdentifier="sgi5gkybzqak",
                            guardrailVersion="1")


def mistral_chat(telemetry: Telemetry, sims: Sims) -> None:
    from mistralai.client import Mistral

    from otel_ai.instrumentation.mistral import MistralInstrumentor

    with instrumented(telemetry, MistralInstrumentor()):
        client = Mistral(api_key="Mz7kQ2r9XwT4bN8vL1pF6hJ3sD5gA0cE", **sims.mistral.client_options())
        client.chat.complete(model="mistral-small-latest", messages=MESSAGES)


def cohere_chat(telemetry: Telemetry, sims: Sims) -> None:
    import cohere

    from otel_ai.instrumentation.cohere import CohereInstrumentor

    with instrumented(telemetry, CohereInstrumentor()):
        client = cohere.ClientV2(api_key="Qz7kQ2r9XwT4bN8vL1pF6hJ3sD5gA0cEm2Yt8Ku4", max_retries=0,
                                 **sims.cohere.client_options())
        client.chat(model="command-r-08-2024", messages=MESSAGES)


def ollama_chat(telemetry: Telemetry, sims: Sims) -> None:
    import ollama

    from otel_ai.instrumentation.ollama import OllamaInstrumentor

    with instrumented(telemetry, OllamaInstrumentor()):
        ollama.Client(host=sims.ollama.url).chat(model="llama3.2", messages=MESSAGES)


def openai_audio_images_moderation(telemetry: Telemetry, sims: Sims) -> None:
    from tests.openai_audio.common import wav_bytes

    with _openai(sims) as client:
        client.audio.speech.create(model="tts-1", voice="alloy", input="Hello there")
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_bytes(1.0)))
        client.audio.translations.create(model="whisper-1", file=("a.wav", wav_bytes(1.0)))
        client.images.generate(model="dall-e-3", prompt="a cat", size="1024x1024", quality="standard")
        client.moderations.create(input="I will kill the bug")


def gemini_count_and_cohere_rerank(telemetry: Telemetry, sims: Sims) -> None:
    import cohere
    from google import genai

    from otel_ai.instrumentation.cohere import CohereInstrumentor
    from otel_ai.instrumentation.gemini import GeminiInstrumentor

    with instrumented(telemetry, GeminiInstrumentor()):
        client = genai.Client(api_key=GEMINI_KEY, http_options=sims.gemini.http_options())
        client.models.count_tokens(model="gemini-2.5-flash", contents="a b c")
    with instrumented(telemetry, CohereInstrumentor()):
        co = cohere.ClientV2(api_key="Qz7kQ2r9XwT4bN8vL1pF6hJ3sD5gA0cEm2Yt8Ku4", max_retries=0,
                             **sims.cohere.client_options())
        co.rerank(model="rerank-v3.5", query="capital", documents=["Paris", "Rome", "Berlin"], top_n=2)


# The calls the conformance test runs: OpenAI's four APIs (and an error), one call per other provider.
SCENARIOS: dict[str, Callable[[Telemetry, Sims], dict[str, int] | None]] = {
    "openai_chat": openai_chat,
    "openai_chat_stream": openai_chat_stream,
    "openai_chat_stream_each": openai_chat_stream_each,
    "openai_embeddings": openai_embeddings,
    "openai_responses": openai_responses,
    "openai_chat_error": openai_chat_error,
    "openai_chat_tools_and_image": openai_chat_tools_and_image,
    "work_units": work_units,
    "anthropic_messages": anthropic_messages,
    "anthropic_previous_names_and_proposals": anthropic_previous_names_and_proposals,
    "gemini_generate": gemini_generate,
    "bedrock_converse": bedrock_converse,
    "bedrock_guardrail": bedrock_guardrail,
    "mistral_chat": mistral_chat,
    "cohere_chat": cohere_chat,
    "ollama_chat": ollama_chat,
    "openai_audio_images_moderation": openai_audio_images_moderation,
    "gemini_count_and_cohere_rerank": gemini_count_and_cohere_rerank,
}
