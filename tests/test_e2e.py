"""End to end: the example app, unmodified, under `opentelemetry-instrument`, exporting OTLP/HTTP.

A real receiver decodes the protobuf the agent sends; the tests assert the FastAPI → chat → HTTP
and FastAPI → text_to_speech → HTTP trees, metrics, cost, trace-correlated logs, and that neither
API key (OpenAI's, ElevenLabs') nor a prompt's email address is in any byte received.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.otlp_receiver import OTLPReceiver

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET_KEY = "sk-proj-E2eSecretKeyThatMustNeverLeave0123456789abcdef"
SPEECH_KEY = "sk_" + "e2e0speech0secret0" + "9f8e7d6c5b4a3021" * 2  # the shape of an ElevenLabs key
SPEECH_SPAN = "text_to_speech eleven_multilingual_v2"
EMAIL = "jane.doe@example.com"


def _run_example(receiver: OTLPReceiver, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_", "ELEVENLABS_"))}
    env.update({
        "OTEL_SERVICE_NAME": "otel-ai-e2e",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
        "EXAMPLE_SIMULATOR_API_KEY": SECRET_KEY,
        "EXAMPLE_ELEVENLABS_SIMULATOR_API_KEY": SPEECH_KEY,
    })
    env.update(extra_env)
    return subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, "examples/app.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="module")
def run() -> Iterator[tuple[OTLPReceiver, subprocess.CompletedProcess[str]]]:
    """One run of the example with content capture on (so redaction has something to do)."""
    with OTLPReceiver() as receiver:
        result = _run_example(receiver, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="span_and_event")
        assert result.returncode == 0, result.stderr[-3000:]
        yield receiver, result


def test_fastapi_chat_http_tree(run):
    receiver, _ = run
    spans = receiver.span_entries()
    by_id = {entry.span.span_id: entry for entry in spans}
    chats = [e for e in spans if e.span.name == "chat gpt-4o-mini"]
    assert chats, sorted({e.span.name for e in spans})
    chat = chats[0]
    server = by_id[chat.span.parent_span_id]
    assert server.span.kind == server.span.SPAN_KIND_SERVER
    assert server.span.name.startswith("GET /ask")
    assert server.scope == "opentelemetry.instrumentation.fastapi"
    http_children = [e for e in spans if e.span.parent_span_id == chat.span.span_id]
    assert [e.span.name for e in http_children] == ["POST"]
    assert http_children[0].span.kind == http_children[0].span.SPAN_KIND_CLIENT
    assert chat.span.kind == chat.span.SPAN_KIND_CLIENT
    assert chat.resource["service.name"] == "otel-ai-e2e"


def test_genai_attributes_and_cost_arrive(run):
    receiver, _ = run
    chat = next(e for e in receiver.span_entries() if e.span.name == "chat gpt-4o-mini")
    attrs = chat.attributes
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["otel_ai.cost.usd"] > 0
    assert attrs["otel_ai.pricing.source"] == "catalog"
    embeddings = [e for e in receiver.span_entries() if e.span.name == "embeddings text-embedding-3-small"]
    assert embeddings and embeddings[0].attributes["gen_ai.operation.name"] == "embeddings"
    stream = [e for e in receiver.span_entries() if e.attributes.get("gen_ai.request.stream") is True]
    assert stream and stream[0].attributes["gen_ai.response.time_to_first_chunk"] > 0


def test_fastapi_speech_http_tree_and_audio_attributes(run):
    receiver, _ = run
    spans = receiver.span_entries()
    by_id = {entry.span.span_id: entry for entry in spans}
    speeches = [e for e in spans if e.span.name == SPEECH_SPAN]
    assert len(speeches) == 1, sorted({e.span.name for e in spans})
    speech = speeches[0]
    assert speech.span.kind == speech.span.SPAN_KIND_CLIENT
    server = by_id[speech.span.parent_span_id]
    assert server.span.kind == server.span.SPAN_KIND_SERVER
    assert server.span.name.startswith("GET /speak")
    assert server.scope == "opentelemetry.instrumentation.fastapi"
    http_children = [e for e in spans if e.span.parent_span_id == speech.span.span_id]
    assert [e.span.name for e in http_children] == ["POST"]
    assert http_children[0].span.kind == http_children[0].span.SPAN_KIND_CLIENT
    # the span covers the audio streamed through to the caller, inside the server span
    assert server.span.start_time_unix_nano <= speech.span.start_time_unix_nano
    assert speech.span.end_time_unix_nano <= server.span.end_time_unix_nano
    attrs = speech.attributes
    assert attrs["gen_ai.provider.name"] == "elevenlabs"
    assert attrs["gen_ai.operation.name"] == "text_to_speech"
    assert attrs["gen_ai.request.model"] == "eleven_multilingual_v2"
    assert attrs["otel_ai.audio.seconds"] > 0
    assert attrs["otel_ai.usage.characters"] == len("Traces show where the time goes")
    assert attrs["otel_ai.cost.usd"] > 0
    assert attrs["otel_ai.pricing.source"] == "header"  # priced on the characters the character-cost header billed
    assert speech.resource["service.name"] == "otel-ai-e2e"


def test_metrics_arrive_with_bucket_advice(run):
    receiver, _ = run
    assert receiver.wait_for(lambda: "otel_ai.client.cost" in receiver.metric_names(), timeout=10)
    names = receiver.metric_names()
    for name in (
        "gen_ai.client.operation.duration", "gen_ai.client.token.usage",
        "gen_ai.client.operation.time_to_first_chunk", "otel_ai.client.cost", "otel_ai.client.requests",
        "otel_ai.client.characters", "otel_ai.client.audio.duration",
    ):
        assert name in names
    durations = receiver.metric_points("gen_ai.client.operation.duration")
    assert list(durations[-1][1].explicit_bounds)[:3] == [0.01, 0.02, 0.04]
    cost = receiver.metric_points("otel_ai.client.cost")
    assert max(point.as_double for _, point in cost) > 0
    requests = receiver.metric_points("otel_ai.client.requests")
    assert {labels["otel_ai.outcome"] for labels, _ in requests} == {"ok"}
    characters = receiver.metric_points("otel_ai.client.characters")
    # cumulative: every export repeats the running total
    assert max(point.as_int or point.as_double for _, point in characters) == len("Traces show where the time goes")
    assert {labels["gen_ai.provider.name"] for labels, _ in characters} == {"elevenlabs"}
    audio = receiver.metric_points("otel_ai.client.audio.duration")
    assert audio and all(point.count >= 1 and point.sum > 0 for _, point in audio)


def test_logs_are_trace_correlated(run):
    receiver, _ = run
    logs = [e for e in receiver.log_entries() if e.body == "answered a question with gpt-4o-mini"]
    assert logs
    chat_traces = {e.span.trace_id for e in receiver.span_entries() if e.span.name == "chat gpt-4o-mini"}
    assert logs[0].log.trace_id in chat_traces
    details = [e for e in receiver.log_entries() if e.log.event_name == "gen_ai.client.inference.operation.details"]
    assert details


def test_no_api_key_and_no_email_in_any_exported_byte(run):
    receiver, _ = run
    assert receiver.raw_bodies
    everything = b"".join(receiver.raw_bodies) + b"".join(r.wire_body for r in receiver.requests)
    assert SECRET_KEY.encode() not in everything
    assert SECRET_KEY[:20].encode() not in everything
    assert SPEECH_KEY.encode() not in everything
    assert SPEECH_KEY[:20].encode() not in everything
    assert SPEECH_KEY[3:].encode() not in everything
    assert EMAIL.encode() not in everything
    # the prompt with the address was captured (content on), just redacted
    assert b"[REDACTED:email]" in everything


def test_console_exporter_prints_one_line_per_call():
    with OTLPReceiver() as receiver:
        result = _run_example(receiver, OTEL_TRACES_EXPORTER="otel_ai_console")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("[otel-ai] ")]
    assert len(lines) == 5  # /ask twice, /stream, /embed, /speak
    assert sum("chat gpt-4o-mini" in line for line in lines) == 3
    assert sum(SPEECH_SPAN in line and "provider=elevenlabs" in line for line in lines) == 1
    assert all("status=ok" in line and "cost=$" in line for line in lines)


@pytest.mark.parametrize(
    "selection",
    [
        {"OTEL_PYTHON_DISTRO": "distro", "OTEL_PYTHON_CONFIGURATOR": "configurator"},
        {"OTEL_PYTHON_DISTRO": "distro", "OTEL_PYTHON_CONFIGURATOR": "otel_ai"},
    ],
    ids=["opentelemetry-distro-everything", "opentelemetry-distro-with-our-configurator"],
)
def test_works_alongside_opentelemetry_distro(selection):
    """opentelemetry-distro is installed in the test env; even when it is chosen, nothing leaks."""
    with OTLPReceiver() as receiver:
        result = _run_example(
            receiver, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="span_only", **selection
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert receiver.wait_for(lambda: any(s.name == "chat gpt-4o-mini" for s in receiver.spans()), 10)
        chat = next(e for e in receiver.span_entries() if e.span.name == "chat gpt-4o-mini")
        assert chat.attributes["otel_ai.cost.usd"] > 0
        everything = b"".join(receiver.raw_bodies)
    assert SECRET_KEY.encode() not in everything
    assert SPEECH_KEY.encode() not in everything
    assert EMAIL.encode() not in everything
    assert b"[REDACTED:email]" in everything


def test_otlp_grpc_carries_traces_metrics_and_logs():
    from tests.support.otlp_grpc_receiver import OTLPGrpcReceiver

    with OTLPGrpcReceiver() as grpc_receiver, OTLPReceiver() as unused_http:
        result = _run_example(
            unused_http,
            OTEL_EXPORTER_OTLP_ENDPOINT=grpc_receiver.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
            OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="span_only",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        names = {span.name for span in grpc_receiver.spans()}
        metric_names = grpc_receiver.metric_names()
        log_count = len(grpc_receiver.logs)
        everything = b"".join(grpc_receiver.raw)
    assert {"chat gpt-4o-mini", "embeddings text-embedding-3-small", SPEECH_SPAN, "POST"} <= names
    assert {"gen_ai.client.operation.duration", "otel_ai.client.cost"} <= metric_names
    assert log_count > 0
    assert unused_http.raw_bodies == []  # nothing went over HTTP
    assert SECRET_KEY.encode() not in everything
    assert SPEECH_KEY.encode() not in everything
    assert EMAIL.encode() not in everything
