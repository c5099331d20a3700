"""`AnthropicVertex`: the same Messages calls through Vertex AI's paths are `gcp.vertex_ai` spans, priced and
counted like the others, and the client's access token never leaves in telemetry."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from otel_ai.privacy import current
from otel_ai.testing.anthropic_simulator import AnthropicSimulator
from tests.anthropic.conftest import MESSAGES, MODEL, opts
from tests.conftest import Telemetry

anthropic = pytest.importorskip("anthropic")

TOKEN = "ya29.a0AfB_vertex-access-token-" + "x" * 40


def _vertex(asim: AnthropicSimulator, cls: Any) -> Any:
    return cls(region="us-east5", project_id="my-project", access_token=TOKEN, base_url=asim.base_url + "/v1",
               max_retries=0)


def _span(telemetry: Telemetry) -> Any:
    [span] = telemetry.genai_spans()
    return span


def test_a_vertex_call_is_a_vertex_span_with_its_model_and_cost(asim: AnthropicSimulator, anth: Telemetry) -> None:
    client = _vertex(asim, anthropic.AnthropicVertex)
    message = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, **opts())
    assert message.content[0].text
    assert asim.requests[-1].path == "/v1/messages"  # the simulator answered Vertex's rawPredict path
    span = _span(anth)
    attrs = span.attributes
    assert span.name == f"chat {MODEL}"
    assert attrs["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert attrs["server.address"] == "127.0.0.1" and attrs["gen_ai.request.model"] == MODEL
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (
        message.usage.input_tokens, message.usage.output_tokens)
    assert attrs["otel_ai.cost.usd"] > 0
    # the client's access token is learnt as a secret: the process's redactor takes it out of any text
    assert TOKEN not in current.redactor().redact(f"token {TOKEN} in an error")[0]


def test_a_vertex_stream_and_count_tokens(asim: AnthropicSimulator, anth: Telemetry) -> None:
    client = _vertex(asim, anthropic.AnthropicVertex)
    with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES, **opts()) as stream:
        text = "".join(stream.text_stream)
    assert text
    counted = client.messages.count_tokens(model=MODEL, messages=MESSAGES, **opts())
    spans = anth.genai_spans()
    assert [s.attributes["gen_ai.provider.name"] for s in spans] == ["gcp.vertex_ai"] * 2
    assert spans[0].attributes["gen_ai.request.stream"] is True
    assert spans[0].attributes["gen_ai.usage.output_tokens"] > 0
    assert spans[1].name == f"count_tokens {MODEL}"
    assert counted.input_tokens > 0


def test_the_async_vertex_client(asim: AnthropicSimulator, anth: Telemetry) -> None:
    async def main() -> Any:
        async with _vertex(asim, anthropic.AsyncAnthropicVertex) as client:
            return await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, **opts())

    asyncio.run(main())
    assert _span(anth).attributes["gen_ai.provider.name"] == "gcp.vertex_ai"


def test_a_vertex_error_keeps_its_type_and_the_token_stays_out(asim: AnthropicSimulator, anth: Telemetry) -> None:
    client = _vertex(asim, anthropic.AnthropicVertex)
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, **opts("rate_limit"))
    span = _span(anth)
    assert span.attributes["error.type"] == "anthropic.RateLimitError"
    assert span.attributes["otel_ai.error.category"] == "rate_limit"
    assert TOKEN not in json.dumps([dict(s.attributes or {}) for s in anth.spans()], default=str)
