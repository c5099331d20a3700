"""Ollama: the real `ollama` client over real HTTP against the Ollama simulator, whole answers.

Every span is checked whole (tests/support/snapshots.py): names, Ollama's counts as the conventions'
usage, `done_reason` as the finish reason, Ollama's nanosecond timings in seconds, and the known zero
cost of a local model (`otel_ai.pricing.source = local`).
"""

from __future__ import annotations

from typing import Any

import pytest
from inline_snapshot import snapshot

from otel_ai.testing.ollama_simulator import OllamaSimulator, durations
from tests.conftest import Telemetry
from tests.ollama.conftest import count, make_client, ollama_spans, one_span
from tests.support.snapshots import span_snapshot

ollama = pytest.importorskip("ollama")

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello to tracing."}]


def test_chat_span_usage_timings_and_local_cost(client: Any, ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    answer = client.chat(model="llama3.2", messages=MESSAGES,
                         options={"temperature": 0.2, "top_p": 0.9, "top_k": 40, "num_predict": 3, "seed": 7,
                                  "stop": ["\n\n"], "presence_penalty": 0.5},
                         format="json")
    assert isinstance(answer, ollama.ChatResponse) and answer.message.content == "Hello from the"
    span = one_span(ol)
    timing = durations(6, 3)
    assert span_snapshot(span, known={"server.port": ol_sim.port}) == snapshot({
        "name": "chat llama3.2",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.output.type": "json",
            "gen_ai.provider.name": "ollama",
            "gen_ai.request.max_tokens": 3,
            "gen_ai.request.model": "llama3.2",
            "gen_ai.request.presence_penalty": 0.5,
            "gen_ai.request.seed": 7,
            "gen_ai.request.stop_sequences": ["\n\n"],
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.top_k": 40,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.response.finish_reasons": ["length"],
            "gen_ai.response.model": "llama3.2",
            "gen_ai.usage.input_tokens": 6,
            "gen_ai.usage.output_tokens": 3,
            "otel_ai.cost.input_usd": 0.0,
            "otel_ai.cost.output_usd": 0.0,
            "otel_ai.cost.usd": 0.0,
            "otel_ai.ollama.eval_duration": 0.015,
            "otel_ai.ollama.load_duration": 0.002,
            "otel_ai.ollama.prompt_eval_duration": 0.006,
            "otel_ai.ollama.total_duration": 0.024,
            "otel_ai.pricing.source": "local",
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })
    assert span.attributes["otel_ai.ollama.total_duration"] == timing["total_duration"] / 1e9
    assert count(ol, "gen_ai.client.operation.duration") == 1
    tokens = {attrs["gen_ai.token.type"]: point.sum for attrs, point in ol.points("gen_ai.client.token.usage")}
    assert tokens == {"input": 6, "output": 3}
    [(attrs, point)] = ol.points("otel_ai.client.requests")
    assert point.value == 1 and attrs["gen_ai.provider.name"] == "ollama" and attrs["otel_ai.outcome"] == "ok"


def test_the_http_request_is_a_child_span(client: Any, ol: Telemetry) -> None:
    client.chat(model="llama3.2", messages=MESSAGES)
    span = one_span(ol)
    [http] = ol.http_spans()
    assert http.parent is not None and http.parent.span_id == span.context.span_id


def test_positional_arguments_are_read_like_keywords(client: Any, ol: Telemetry) -> None:
    client.chat("qwen3", MESSAGES)
    client.generate("qwen3", "Complete this", options={"num_predict": 2})
    client.embed("all-minilm", ["one two", "three"], None, None, None, 4)
    chat, generate, embed = ollama_spans(ol)
    assert (chat.name, generate.name, embed.name) == ("chat qwen3", "text_completion qwen3", "embeddings all-minilm")
    assert embed.attributes["gen_ai.embeddings.dimension.count"] == 4
    assert embed.attributes["gen_ai.usage.input_tokens"] == 3


def test_generate_is_a_text_completion(client: Any, ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    answer = client.generate(model="llama3.2", prompt="Tell me about spans", system="Be brief.")
    assert answer.response == "Hello from the Ollama simulator."
    assert span_snapshot(one_span(ol), known={"server.port": ol_sim.port}) == snapshot({
        "name": "text_completion llama3.2",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "text_completion",
            "gen_ai.provider.name": "ollama",
            "gen_ai.request.model": "llama3.2",
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.response.model": "llama3.2",
            "gen_ai.usage.input_tokens": 6,
            "gen_ai.usage.output_tokens": 5,
            "otel_ai.cost.input_usd": 0.0,
            "otel_ai.cost.output_usd": 0.0,
            "otel_ai.cost.usd": 0.0,
            "otel_ai.ollama.eval_duration": 0.025,
            "otel_ai.ollama.load_duration": 0.002,
            "otel_ai.ollama.prompt_eval_duration": 0.006,
            "otel_ai.ollama.total_duration": 0.034,
            "otel_ai.pricing.source": "local",
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })


def test_embed_and_the_older_embeddings(client: Any, ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    assert len(client.embed(model="nomic-embed-text", input="vector search here").embeddings[0]) == 8
    assert len(client.embeddings(model="nomic-embed-text", prompt="vector search").embedding) == 8
    embed, embeddings = ollama_spans(ol)
    assert span_snapshot(embed, known={"server.port": ol_sim.port}) == snapshot({
        "name": "embeddings nomic-embed-text",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.embeddings.dimension.count": 8,
            "gen_ai.operation.name": "embeddings",
            "gen_ai.provider.name": "ollama",
            "gen_ai.request.model": "nomic-embed-text",
            "gen_ai.response.model": "nomic-embed-text",
            "gen_ai.usage.input_tokens": 3,
            "otel_ai.cost.input_usd": 0.0,
            "otel_ai.cost.output_usd": 0.0,
            "otel_ai.cost.usd": 0.0,
            "otel_ai.ollama.load_duration": 0.002,
            "otel_ai.ollama.total_duration": 0.006,
            "otel_ai.pricing.source": "local",
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })
    # The older API reports no counts: no usage, so no cost is claimed either.
    assert span_snapshot(embeddings, known={"server.port": ol_sim.port}) == snapshot({
        "name": "embeddings nomic-embed-text",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.embeddings.dimension.count": 8,
            "gen_ai.operation.name": "embeddings",
            "gen_ai.provider.name": "ollama",
            "gen_ai.request.model": "nomic-embed-text",
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })


def test_a_chat_without_messages_loads_the_model(client: Any, ol: Telemetry) -> None:
    client.chat(model="llama3.2", messages=[], keep_alive="10m")
    attrs = one_span(ol).attributes
    assert attrs["gen_ai.response.finish_reasons"] == ("load",)
    assert "gen_ai.usage.input_tokens" not in attrs and "otel_ai.cost.usd" not in attrs


def test_a_cold_model_shows_its_load_time(ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    make_client(ol_sim, "cold").chat(model="llama3.2", messages=MESSAGES)
    assert one_span(ol).attributes["otel_ai.ollama.load_duration"] == 1.5


def test_the_module_level_functions_use_the_instrumented_default_client(
    ol: Telemetry, ol_sim: OllamaSimulator,
) -> None:
    """`ollama.chat` was bound to the default client when the package was imported, before instrumenting."""
    from otel_ai.instrumentation.ollama import OllamaInstrumentor

    default = ollama.chat.__self__._client
    original = default.base_url
    default.base_url = ol_sim.url
    try:
        ollama.chat("llama3.2", MESSAGES)
        ollama.generate("llama3.2", "hello")
        ollama.embed("all-minilm", "hello")
        assert [s.name for s in ollama_spans(ol)] == ["chat llama3.2", "text_completion llama3.2",
                                                      "embeddings all-minilm"]
        OllamaInstrumentor().uninstrument()
        ollama.chat("llama3.2", MESSAGES)
        assert len(ollama_spans(ol)) == 3  # uninstrumented: the module functions are plain again
    finally:
        default.base_url = original


def test_a_proxys_authorization_is_registered_as_a_secret(ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    from otel_ai.privacy import secrets

    token = "proxy-token-" + "Zq7" * 10
    client = ollama.Client(host=ol_sim.url, headers={"Authorization": f"Bearer {token}"})
    client.chat(model="llama3.2", messages=MESSAGES)
    assert ol_sim.requests[-1].authorization == f"Bearer {token}"
    assert token in secrets._known and f"Bearer {token}" in secrets._known


async def test_async_chat_generate_and_embed(aclient: Any, ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    answer = await aclient.chat(model="llama3.2", messages=MESSAGES, options={"temperature": 0.1})
    assert answer.message.content == "Hello from the Ollama simulator."
    await aclient.generate(model="llama3.2", prompt="Hi there")
    await aclient.embed(model="all-minilm", input=["a", "b c"])
    await aclient.embeddings(model="all-minilm", prompt="a")
    chat, generate, embed, embeddings = ollama_spans(ol)
    assert span_snapshot(chat, known={"server.port": ol_sim.port}) == snapshot({
        "name": "chat llama3.2",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "ollama",
            "gen_ai.request.model": "llama3.2",
            "gen_ai.request.temperature": 0.1,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.response.model": "llama3.2",
            "gen_ai.usage.input_tokens": 6,
            "gen_ai.usage.output_tokens": 5,
            "otel_ai.cost.input_usd": 0.0,
            "otel_ai.cost.output_usd": 0.0,
            "otel_ai.cost.usd": 0.0,
            "otel_ai.ollama.eval_duration": 0.025,
            "otel_ai.ollama.load_duration": 0.002,
            "otel_ai.ollama.prompt_eval_duration": 0.006,
            "otel_ai.ollama.total_duration": 0.034,
            "otel_ai.pricing.source": "local",
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })
    assert generate.attributes["gen_ai.usage.input_tokens"] == 2
    assert embed.attributes["gen_ai.usage.input_tokens"] == 3
    assert embeddings.name == "embeddings all-minilm"
    assert count(ol, "gen_ai.client.operation.duration") == 4
