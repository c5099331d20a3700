"""The test-support servers against real clients: the openai SDK and the OTLP/HTTP exporters."""

from __future__ import annotations

import base64
import gzip
import json
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests.support.fake_openai import (
    DEFAULT_REPLY,
    TOOL_ARGUMENTS,
    TOOL_NAME,
    FakeOpenAI,
    make_async_client,
    make_client,
    scenario_headers,
)
from tests.support.otlp_receiver import OTLPReceiver, attrs_to_dict

REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL = "gpt-4o-mini"
MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello to the simulator please"},
]
PROMPT_WORDS = 3 + 6
REPLY_WORDS = len(DEFAULT_REPLY.split())
API_KEY = "sk-test-support-servers"


@pytest.fixture
def sim() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def client(sim: FakeOpenAI) -> Iterator[openai.OpenAI]:
    with make_client(sim, api_key=API_KEY) as sdk_client:
        yield sdk_client


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as server:
        yield server


# --------------------------------------------------------------------------- simulator: success paths


def test_chat_completion_json(sim: FakeOpenAI, client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=0.2)

    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert completion.model == MODEL
    assert completion.system_fingerprint
    assert completion.service_tier == "default"
    assert completion.created > 0
    (choice,) = completion.choices
    assert choice.message.content == DEFAULT_REPLY
    assert choice.message.role == "assistant"
    assert choice.finish_reason == "stop"
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        PROMPT_WORDS,
        REPLY_WORDS,
        PROMPT_WORDS + REPLY_WORDS,
    )
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 0

    (request,) = sim.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.api_key == API_KEY
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.json["messages"] == MESSAGES
    assert request.json["temperature"] == 0.2
    assert request.headers["x-stainless-retry-count"] == "0"
    assert request.headers["user-agent"].startswith("OpenAI/Python")
    assert request.scenario == "ok"
    assert request.status == 200


def test_chat_stream_without_usage(sim: FakeOpenAI, client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))

    assert all(chunk.choices for chunk in chunks)
    assert all(chunk.usage is None for chunk in chunks)
    assert len({chunk.id for chunk in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content for c in chunks[1:-1]]
    assert len(contents) == REPLY_WORDS  # one word per chunk
    assert "".join(c or "" for c in contents) == DEFAULT_REPLY
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert sim.requests[0].stream


def test_chat_stream_with_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )

    *content_chunks, usage_chunk = chunks
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert usage_chunk.usage.prompt_tokens == PROMPT_WORDS
    assert usage_chunk.usage.completion_tokens == REPLY_WORDS
    assert all(c.usage is None for c in content_chunks)
    assert content_chunks[-1].choices[0].finish_reason == "stop"


def test_chat_n_choices_and_max_tokens(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, n=3)
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert completion.usage is not None and completion.usage.completion_tokens == 3 * REPLY_WORDS

    cut = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_completion_tokens=2)
    assert cut.choices[0].finish_reason == "length"
    assert cut.choices[0].message.content == " ".join(DEFAULT_REPLY.split()[:2])


def test_reply_override_and_cached_scenario(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="o4-mini", messages=MESSAGES, extra_headers=scenario_headers("cached", reply="one two three")
    )
    assert completion.model == "o4-mini"
    assert completion.choices[0].message.content == "one two three"
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens_details and usage.completion_tokens_details
    assert usage.completion_tokens == 3
    assert usage.prompt_tokens_details.cached_tokens == PROMPT_WORDS // 2
    assert usage.completion_tokens_details.reasoning_tokens == 3


def test_tool_call_json_and_stream(client: openai.OpenAI) -> None:
    tools: list[ChatCompletionFunctionToolParam] = [
        {
            "type": "function",
            "function": {
                "name": TOOL_NAME,
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
            },
        }
    ]
    headers = scenario_headers("tool_call")
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=tools, extra_headers=headers)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name == TOOL_NAME
    assert json.loads(call.function.arguments) == {"location": "Paris", "unit": "celsius"}

    chunks = list(
        client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=tools, stream=True, extra_headers=headers)
    )
    deltas = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].id and deltas[0].function and deltas[0].function.name == TOOL_NAME
    assert len(deltas) > 2
    assert "".join(d.function.arguments or "" for d in deltas if d.function) == TOOL_ARGUMENTS
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_responses_create(sim: FakeOpenAI, client: openai.OpenAI) -> None:
    response = client.responses.create(model=MODEL, input="Say hello please", instructions="Be brief")

    assert response.id.startswith("resp_")
    assert response.object == "response"
    assert response.status == "completed"
    assert response.model == MODEL
    assert response.service_tier == "default"
    assert response.output_text == DEFAULT_REPLY
    assert response.output[0].type == "message"
    usage = response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (5, REPLY_WORDS, 5 + REPLY_WORDS)
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0
    assert sim.requests[0].path == "/v1/responses"


def test_responses_stream_helper(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model=MODEL,
        input=[{"role": "user", "content": [{"type": "input_text", "text": "one two three four"}]}],
        extra_headers=scenario_headers("cached"),
    ) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()

    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types.count("response.output_text.delta") == REPLY_WORDS
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert final.output_text == DEFAULT_REPLY
    assert final.usage is not None
    assert final.usage.input_tokens == 4
    assert final.usage.input_tokens_details.cached_tokens == 2
    assert final.usage.output_tokens_details.reasoning_tokens == 3


def test_responses_raw_stream_tool_call(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(model=MODEL, input="weather?", stream=True, extra_headers=scenario_headers("tool_call"))
    )
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"
    (item,) = events[-1].response.output
    assert item.type == "function_call"
    assert item.name == TOOL_NAME
    assert item.arguments == TOOL_ARGUMENTS
    assert "response.function_call_arguments.delta" in {e.type for e in events}


def test_embeddings_default_base64_and_float(sim: FakeOpenAI, client: openai.OpenAI) -> None:
    default = client.embeddings.create(model="text-embedding-3-small", input=["alpha beta", "gamma"])
    as_float = client.embeddings.create(
        model="text-embedding-3-small", input=["alpha beta", "gamma"], encoding_format="float"
    )
    raw = client.embeddings.create(model="text-embedding-3-small", input="alpha beta", encoding_format="base64")

    # openai 3.x asks for base64 unless told otherwise, and decodes it back to floats.
    assert sim.requests[0].json["encoding_format"] == "base64"
    assert sim.requests[1].json["encoding_format"] == "float"
    assert [d.index for d in default.data] == [0, 1]
    assert default.data[0].embedding == as_float.data[0].embedding
    assert len(default.data[0].embedding) == 8
    assert default.usage.prompt_tokens == 3 and default.usage.total_tokens == 3
    assert default.model == "text-embedding-3-small"
    # An explicit base64 request gets the string through untouched.
    encoded = raw.data[0].embedding
    assert isinstance(encoded, str)
    decoded = list(struct.unpack("<8f", base64.b64decode(encoded)))
    assert decoded == as_float.data[0].embedding

    dims = client.embeddings.create(model="text-embedding-3-small", input="x", dimensions=4)
    assert len(dims.data[0].embedding) == 4


def test_legacy_completions(client: openai.OpenAI) -> None:
    completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    assert completion.id.startswith("cmpl-")
    assert completion.choices[0].text == DEFAULT_REPLY
    assert completion.usage is not None and completion.usage.prompt_tokens == 2


# --------------------------------------------------------------------------- simulator: failures


def test_rate_limit_once_then_retry_succeeds(sim: FakeOpenAI) -> None:
    client = make_client(sim, max_retries=2)
    started = time.monotonic()
    completion = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, extra_headers=scenario_headers("rate_limit_once", key="retry-test")
    )
    elapsed = time.monotonic() - started

    assert completion.choices[0].message.content == DEFAULT_REPLY
    assert [r.status for r in sim.requests] == [429, 200]
    assert [r.headers["x-stainless-retry-count"] for r in sim.requests] == ["0", "1"]
    assert elapsed < 1.0  # retry-after-ms: 10 is honoured instead of the 0.5 s backoff

    # The key is spent: the same key succeeds at once, a new key is limited once again.
    make_client(sim).chat.completions.create(
        model=MODEL, messages=MESSAGES, extra_headers=scenario_headers("rate_limit_once", key="retry-test")
    )
    with pytest.raises(openai.RateLimitError) as excinfo:
        make_client(sim).chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers=scenario_headers("rate_limit_once", key="other")
        )
    assert excinfo.value.response.headers["retry-after-ms"] == "10"
    assert excinfo.value.code == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("scenario", "error_cls", "status", "code", "error_type"),
    [
        ("rate_limit", openai.RateLimitError, 429, "rate_limit_exceeded", "requests"),
        ("server_error", openai.InternalServerError, 500, None, "server_error"),
        ("auth_error", openai.AuthenticationError, 401, "invalid_api_key", "invalid_request_error"),
        ("bad_request", openai.BadRequestError, 400, "invalid_value", "invalid_request_error"),
        ("content_filter", openai.BadRequestError, 400, "content_filter", "invalid_request_error"),
        ("quota", openai.RateLimitError, 429, "insufficient_quota", "insufficient_quota"),
    ],
)
def test_error_scenarios(
    sim: FakeOpenAI,
    client: openai.OpenAI,
    scenario: str,
    error_cls: type[openai.APIStatusError],
    status: int,
    code: str | None,
    error_type: str,
) -> None:
    with pytest.raises(error_cls) as excinfo:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=scenario_headers(scenario))

    err = excinfo.value
    assert err.status_code == status
    assert err.code == code
    assert err.type == error_type
    assert err.request_id and err.request_id.startswith("req_")
    assert isinstance(err.body, dict) and err.body["message"] in err.message  # body is the inner error object
    assert len(sim.requests) == 1


def test_server_error_is_retried_by_default_policy(sim: FakeOpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        make_client(sim, max_retries=1).chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers=scenario_headers("server_error")
        )
    assert [r.status for r in sim.requests] == [500, 500]


def test_cut_stream_raises_connection_error(sim: FakeOpenAI, client: openai.OpenAI) -> None:
    received = []
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, extra_headers=scenario_headers("cut_stream")
    )
    with pytest.raises(openai.APIConnectionError) as excinfo:
        for chunk in stream:
            received.append(chunk)

    # openai wraps the httpx2 transport error raised mid-iteration; it is not retried.
    assert type(excinfo.value) is openai.APIConnectionError
    assert isinstance(excinfo.value.__cause__, httpx2.RemoteProtocolError)
    assert "incomplete chunked read" in str(excinfo.value.__cause__)
    assert len(received) == 2
    assert len(sim.requests) == 1


def test_malformed_json_and_stream_raise_json_decode_error(client: openai.OpenAI) -> None:
    headers = scenario_headers("malformed")
    # Not an openai.APIError: the SDK lets json.JSONDecodeError escape for a 200 with a bad body.
    with pytest.raises(json.JSONDecodeError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=headers)

    received = []
    with pytest.raises(json.JSONDecodeError):
        for chunk in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, extra_headers=headers):
            received.append(chunk)
    assert len(received) == 1


def test_slow_with_client_timeout_raises_timeout(sim: FakeOpenAI) -> None:
    client = make_client(sim, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=scenario_headers("slow"))
    assert time.monotonic() - started < 1.5
    assert sim.requests[0].headers["x-stainless-read-timeout"] == "0.2"


def test_slow_stream_spaces_chunks(client: openai.OpenAI) -> None:
    started = time.monotonic()
    stamps = []
    for _chunk in client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, extra_headers=scenario_headers("slow_stream", delay=0.05)
    ):
        stamps.append(time.monotonic() - started)
    assert len(stamps) == REPLY_WORDS + 2
    assert stamps[-1] - stamps[0] >= 0.05 * (len(stamps) - 1) * 0.9


def test_stop_does_not_wait_for_slow_request(sim: FakeOpenAI) -> None:
    client = make_client(sim, timeout=0.1)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=scenario_headers("slow", delay=30))
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 1.0
    with pytest.raises(RuntimeError):
        _ = sim.base_url


def test_raw_http_auth_health_and_unknown_routes(sim: FakeOpenAI) -> None:
    root = sim.base_url.removesuffix("/v1")
    body = {"model": MODEL, "messages": MESSAGES}
    with httpx.Client(timeout=5) as http:
        assert http.get(f"{root}/health").status_code == 200
        missing_key = http.post(f"{sim.base_url}/chat/completions", json=body)
        assert missing_key.status_code == 401
        assert missing_key.json()["error"]["type"] == "invalid_request_error"
        auth = {"Authorization": "Bearer sk-x"}
        unknown = http.post(f"{sim.base_url}/nope", json=body, headers=auth)
        assert unknown.status_code == 404
        bad = http.post(
            f"{sim.base_url}/chat/completions", json=body, headers={**auth, "x-simulator-scenario": "bogus"}
        )
        assert bad.status_code == 400
        models = http.get(f"{sim.base_url}/models", headers=auth)
        assert models.status_code == 200 and models.json()["object"] == "list"
    assert [r.path for r in sim.requests] == [
        "/v1/chat/completions",
        "/v1/nope",
        "/v1/chat/completions",
        "/v1/models",
    ]
    assert sim.requests[0].api_key is None


async def test_async_chat_and_stream(sim: FakeOpenAI) -> None:
    client = make_async_client(sim)
    try:
        completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert completion.choices[0].message.content == DEFAULT_REPLY

        stream = await client.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        text = []
        usage = None
        async for chunk in stream:
            if chunk.choices:
                text.append(chunk.choices[0].delta.content or "")
            usage = chunk.usage or usage
        assert "".join(text) == DEFAULT_REPLY
        assert usage is not None and usage.completion_tokens == REPLY_WORDS
    finally:
        await client.close()
    assert [r.headers["x-stainless-async"] for r in sim.requests] == ["async:asyncio"] * 2


def test_simulator_runs_as_a_script() -> None:
    command = [sys.executable, "-m", "otel_ai.testing.simulator", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line.startswith("listening on http://127.0.0.1:") and line.endswith("/v1")
            base_url = line.removeprefix("listening on ")
            with openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0) as script_client:
                reply = script_client.chat.completions.create(model=MODEL, messages=MESSAGES)
            assert reply.choices[0].message.content == DEFAULT_REPLY
        finally:
            proc.terminate()
        assert proc.wait(timeout=5) == 0


# --------------------------------------------------------------------------- OTLP receiver


def test_receiver_decodes_spans(receiver: OTLPReceiver) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "support-test"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.endpoint + "/v1/traces")))
    try:
        tracer = provider.get_tracer("support.tracer", "1.2.3")
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attribute("gen_ai.request.model", MODEL)
            span.set_attribute("gen_ai.usage.input_tokens", 12)
            span.set_attribute("gen_ai.request.temperature", 0.5)
            span.set_attribute("gen_ai.response.finish_reasons", ["stop"])
        assert provider.force_flush(5_000)
    finally:
        provider.shutdown()

    assert receiver.wait_for(lambda: len(receiver.spans()) == 1, timeout=5)
    (span_pb,) = receiver.spans()
    assert span_pb.name == "chat gpt-4o-mini"
    assert attrs_to_dict(span_pb.attributes) == {
        "gen_ai.request.model": MODEL,
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.response.finish_reasons": ["stop"],
    }
    (entry,) = receiver.span_entries()
    assert entry.resource["service.name"] == "support-test"
    assert entry.scope == "support.tracer"
    assert receiver.spans("other") == []
    assert len(span_pb.trace_id) == 16 and len(span_pb.span_id) == 8
    (request,) = receiver.requests
    assert request.path == "/v1/traces"
    assert request.headers["content-type"] == "application/x-protobuf"
    assert ExportTraceServiceRequest.FromString(receiver.raw_bodies[0]) == receiver.trace_requests()[0]


def test_receiver_decompresses_gzip(receiver: OTLPReceiver) -> None:
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=receiver.endpoint + "/v1/traces", compression=Compression.Gzip)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    try:
        provider.get_tracer("gz").start_span("zipped").end()
        assert provider.force_flush(5_000)
    finally:
        provider.shutdown()
    assert receiver.wait_for(lambda: bool(receiver.spans()), timeout=5)
    (request,) = receiver.requests
    assert request.headers["content-encoding"] == "gzip"
    assert gzip.decompress(request.wire_body) == request.body == receiver.raw_bodies[0]
    assert receiver.spans()[0].name == "zipped"


def test_receiver_decodes_metrics(receiver: OTLPReceiver) -> None:
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=receiver.endpoint + "/v1/metrics"), export_interval_millis=60_000
    )
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "m-test"}))
    try:
        meter = provider.get_meter("support.meter")
        histogram = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
        histogram.record(10, {"gen_ai.token.type": "input"})
        histogram.record(4, {"gen_ai.token.type": "output"})
        meter.create_counter("requests").add(2, {"ok": True})
        assert provider.force_flush(5_000)
    finally:
        provider.shutdown()

    assert receiver.wait_for(lambda: "gen_ai.client.token.usage" in receiver.metric_names(), timeout=5)
    points = receiver.metric_points("gen_ai.client.token.usage")
    by_type = {attrs["gen_ai.token.type"]: point for attrs, point in points}
    assert by_type["input"].sum == 10 and by_type["input"].count == 1
    assert by_type["output"].sum == 4
    ((attrs, counter_point), *_) = receiver.metric_points("requests")
    assert attrs == {"ok": True} and counter_point.as_int == 2
    entry = receiver.metrics("gen_ai.client.token.usage")[0]
    assert entry.resource["service.name"] == "m-test"
    assert entry.scope == "support.meter"
    assert entry.metric.unit == "{token}"


def test_receiver_decodes_logs(receiver: OTLPReceiver) -> None:
    provider = LoggerProvider(resource=Resource.create({"service.name": "l-test"}))
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=receiver.endpoint + "/v1/logs")))
    try:
        provider.get_logger("support.logger").emit(
            body={"content": "hello"},
            attributes={"gen_ai.system": "openai"},
            event_name="gen_ai.user.message",
        )
        assert provider.force_flush(5_000)
    finally:
        provider.shutdown()

    assert receiver.wait_for(lambda: len(receiver.logs()) == 1, timeout=5)
    (entry,) = receiver.log_entries()
    assert entry.scope == "support.logger"
    assert entry.resource["service.name"] == "l-test"
    assert entry.attributes == {"gen_ai.system": "openai"}
    assert entry.body == {"content": "hello"}
    assert entry.log.event_name == "gen_ai.user.message"


def test_receiver_rejects_and_fails_on_request(receiver: OTLPReceiver) -> None:
    with httpx.Client(timeout=5) as http:
        assert http.post(f"{receiver.endpoint}/v1/unknown", content=b"").status_code == 404
        json_post = http.post(
            f"{receiver.endpoint}/v1/traces", content=b"{}", headers={"content-type": "application/json"}
        )
        assert json_post.status_code == 415
        receiver.fail_next(1, status=503)
        headers = {"content-type": "application/x-protobuf"}
        assert http.post(f"{receiver.endpoint}/v1/traces", content=b"", headers=headers).status_code == 503
        ok = http.post(f"{receiver.endpoint}/v1/traces", content=b"", headers=headers)
        assert ok.status_code == 200 and ok.headers["content-type"] == "application/x-protobuf"
    assert len(receiver.requests) == 3  # 404s are not recorded
    assert receiver.wait_for(lambda: False, timeout=0.05) is False


def test_attrs_to_dict_converts_any_value() -> None:
    key_values = [
        KeyValue(key="s", value=AnyValue(string_value="x")),
        KeyValue(key="i", value=AnyValue(int_value=3)),
        KeyValue(key="d", value=AnyValue(double_value=1.5)),
        KeyValue(key="b", value=AnyValue(bool_value=False)),
        KeyValue(key="raw", value=AnyValue(bytes_value=b"\x00")),
        KeyValue(
            key="arr",
            value=AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1), AnyValue(string_value="two")])),
        ),
        KeyValue(
            key="kv",
            value=AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="inner", value=AnyValue(bool_value=True))])),
        ),
        KeyValue(key="empty", value=AnyValue()),
    ]
    assert attrs_to_dict(key_values) == {
        "s": "x",
        "i": 3,
        "d": 1.5,
        "b": False,
        "raw": b"\x00",
        "arr": [1, "two"],
        "kv": {"inner": True},
        "empty": None,
    }
