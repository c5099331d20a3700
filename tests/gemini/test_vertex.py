"""Vertex AI clients of google-genai against the simulator's Vertex paths: project and express mode."""

from __future__ import annotations

import pytest
from google.oauth2.credentials import Credentials

from otel_ai.runtime import state
from otel_ai.testing.gemini_simulator import GeminiSimulator
from tests.conftest import Telemetry
from tests.gemini.conftest import genai, scenario

TOKEN = "ya29." + "a0AfB_byVertexTestToken0123456789abcdefXYZ"  # the shape of a Google OAuth access token
EXPRESS_KEY = "AIza" + "SyVertexExpressKey0123456789abcdefg"


@pytest.fixture
def vertex(gemini_sim: GeminiSimulator, gm: Telemetry) -> genai.Client:
    return genai.Client(vertexai=True, project="my-project", location="us-central1",
                        credentials=Credentials(token=TOKEN),
                        http_options={"base_url": gemini_sim.url + "/", "api_version": "v1"})


def vertex_span(telemetry: Telemetry):
    [span] = telemetry.genai_spans()
    assert span.attributes["gen_ai.provider.name"] == "gcp.vertex_ai"
    return span


def test_generate_content_on_a_project_is_a_vertex_span_priced_from_the_catalog(vertex, gemini_sim, gm):
    result = vertex.models.generate_content(model="gemini-2.5-flash", contents="Hello the simulator")
    request = gemini_sim.requests[-1]
    assert request.path == "/v1/projects/my-project/locations/us-central1/publishers/google/models/" \
                           "gemini-2.5-flash:generateContent"
    span = vertex_span(gm)
    attrs = span.attributes
    assert span.name == "generate_content gemini-2.5-flash"
    usage = result.usage_metadata
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (
        usage.prompt_token_count, usage.candidates_token_count)
    assert attrs["otel_ai.cost.usd"] == pytest.approx(
        (usage.prompt_token_count * 0.3 + usage.candidates_token_count * 2.5) / 1e6)
    assert attrs["server.address"] == "127.0.0.1"


def test_a_vertex_stream_ends_one_span_with_the_last_chunks_usage(vertex, gm):
    chunks = list(vertex.models.generate_content_stream(model="gemini-2.5-flash", contents="Hello the simulator"))
    attrs = vertex_span(gm).attributes
    assert attrs["gen_ai.usage.output_tokens"] == chunks[-1].usage_metadata.candidates_token_count


def test_vertex_text_embeddings_count_the_tokens_of_every_instance(vertex, gm):
    result = vertex.models.embed_content(model="text-embedding-005", contents=["hi there", "one two three"])
    assert [e.statistics.token_count for e in result.embeddings] == [2, 3]
    span = vertex_span(gm)
    assert span.name == "embeddings text-embedding-005"
    assert span.attributes["gen_ai.usage.input_tokens"] == 5


def test_express_mode_calls_the_publisher_path_with_the_key(gemini_sim, gm):
    client = genai.Client(vertexai=True, api_key=EXPRESS_KEY,
                          http_options={"base_url": gemini_sim.url + "/", "api_version": "v1"})
    client.models.generate_content(model="gemini-2.5-flash", contents="Hello the simulator")
    assert gemini_sim.requests[-1].path == "/v1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert vertex_span(gm).attributes["gen_ai.usage.input_tokens"] > 0


def test_the_oauth_token_in_an_echoing_error_is_redacted(vertex, gm):
    with pytest.raises(Exception) as caught:
        vertex.models.generate_content(model="gemini-2.5-flash", contents="hi", config=scenario("echo_error"))
    assert TOKEN in str(caught.value)  # the caller's own error is unchanged
    description = vertex_span(gm).status.description or ""
    assert TOKEN in description  # in memory; the exporter redacts with the agent's redactor
    redacted = state.redactor().redact(description)[0]
    assert TOKEN not in redacted and "ya29." not in redacted
