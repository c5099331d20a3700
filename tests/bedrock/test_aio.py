"""Async Bedrock: the real aiobotocore `bedrock-runtime` client over real HTTP against the simulator.

Each operation is also made with the sync boto3 client on the same pipelines: the async span must carry
the very attributes, metrics and cost the sync one does (one code base reads both).
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.trace import StatusCode

import otel_ai.budgets as B
from otel_ai.errors import BudgetExceeded
from otel_ai.runtime import state as _state
from otel_ai.testing.bedrock_simulator import DEFAULT_REPLY, TOOL_INPUT, TOOL_NAME, BedrockSimulator
from tests.bedrock.conftest import ACCESS_KEY, NOVA, SECRET_KEY, SESSION_TOKEN, SONNET, make_client, scenario, user
from tests.conftest import Telemetry, exception_type_of

aiobotocore = pytest.importorskip("aiobotocore")  # the test extra installs it
from aiobotocore.config import AioConfig  # noqa: E402
from aiobotocore.session import get_session  # noqa: E402

MESSAGES = [user("Hello the simulator")]  # 3 input tokens
WORDS = len(DEFAULT_REPLY.split())
NOVA_IN, NOVA_OUT = 0.8, 3.2  # USD per million tokens (pricing/data/bedrock.json)
META = "meta.llama3-3-70b-instruct-v1:0"
# differ between two calls by nature (ids, timings)
_VARYING = {"gen_ai.response.id", "gen_ai.response.time_to_first_chunk"}


@pytest.fixture
def abr(telemetry: Telemetry) -> Iterator[Telemetry]:
    """The in-memory pipelines with both Bedrock instrumentors on (sync and async), as auto-instrumentation has."""
    from otel_ai.instrumentation.bedrock import BedrockInstrumentor
    from otel_ai.instrumentation.bedrock.aio import AioBedrockInstrumentor

    BedrockInstrumentor().instrument(**telemetry.providers)
    AioBedrockInstrumentor().instrument(**telemetry.providers)
    try:
        yield telemetry
    finally:
        AioBedrockInstrumentor().uninstrument()
        BedrockInstrumentor().uninstrument()
        _state.reset()


def _aio_client(sim: BedrockSimulator, **extra: Any) -> Any:
    return get_session().create_client(
        "bedrock-runtime", aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN, config=AioConfig(retries={"max_attempts": 1}), **sim.client_options(),
        **extra,
    )


@pytest.fixture
async def aio(bedrock_sim: BedrockSimulator, abr: Telemetry) -> AsyncIterator[Any]:
    async with _aio_client(bedrock_sim) as client:
        yield client


def _spans(telemetry: Telemetry) -> list[Any]:
    return [s for s in telemetry.genai_spans() if s.attributes["gen_ai.provider.name"] == "aws.bedrock"]


def _span(telemetry: Telemetry) -> Any:
    spans = _spans(telemetry)
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def _count(telemetry: Telemetry, metric: str) -> int:
    return sum(point.count for _, point in telemetry.points(metric))


def _ended_once(telemetry: Telemetry) -> None:
    _span(telemetry)
    assert _count(telemetry, "gen_ai.client.operation.duration") == 1


def _same_as_sync(telemetry: Telemetry, sim: BedrockSimulator, sync_call: Any) -> dict[str, Any]:
    """Make the sync twin of the async call just made; both spans' attributes must match. Returns them."""
    [async_span] = _spans(telemetry)
    sync_call(make_client(sim))
    sync_span = next(s for s in _spans(telemetry) if s is not async_span)
    async_attrs = {k: v for k, v in async_span.attributes.items() if k not in _VARYING}
    sync_attrs = {k: v for k, v in sync_span.attributes.items() if k not in _VARYING}
    assert async_attrs == sync_attrs
    assert async_span.name == sync_span.name
    # every duration, token and cost series has one point per call: the async one counted as the sync one
    assert _count(telemetry, "gen_ai.client.operation.duration") == 2
    for labels, point in telemetry.points("gen_ai.client.token.usage"):
        assert point.count == 2, labels
    return async_attrs


# -- plain calls --------------------------------------------------------------------------------


async def test_converse_records_what_the_sync_client_records(aio, abr, bedrock_sim):
    config = {"maxTokens": 64, "temperature": 0.3, "topP": 0.9, "stopSequences": ["END"]}
    result = await aio.converse(modelId=SONNET, messages=MESSAGES, inferenceConfig=config,
                                additionalModelRequestFields={"top_k": 40})
    assert result["output"]["message"]["content"] == [{"text": DEFAULT_REPLY}]  # untouched
    assert _span(abr).attributes["gen_ai.response.id"] == result["ResponseMetadata"]["RequestId"]
    attrs = _same_as_sync(abr, bedrock_sim, lambda c: c.converse(
        modelId=SONNET, messages=MESSAGES, inferenceConfig=config, additionalModelRequestFields={"top_k": 40}))
    assert attrs["gen_ai.request.model"] == SONNET
    assert (attrs["gen_ai.request.max_tokens"], attrs["gen_ai.request.top_k"]) == (64, 40)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, WORDS)
    assert attrs["otel_ai.cost.usd"] == pytest.approx((3 * 3.3 + WORDS * 16.5) / 1e6)  # regional Sonnet 4.5 rates
    assert attrs["server.address"] == "127.0.0.1"


async def test_cache_reads_count_as_input_and_are_priced_apart(aio, abr):
    undo = scenario(aio, "cached")
    try:
        result = await aio.converse(modelId=SONNET, messages=MESSAGES)
    finally:
        undo()
    attrs = _span(abr).attributes
    read = result["usage"]["cacheReadInputTokens"]
    assert attrs["gen_ai.usage.input_tokens"] == result["usage"]["inputTokens"] + read == 4
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == read == 1
    assert attrs["otel_ai.cost.usd"] == pytest.approx((3 * 3.3 + read * 0.33 + WORDS * 16.5) / 1e6)


FAMILIES = [
    (SONNET, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "temperature": 0.2,
              "messages": [{"role": "user", "content": "Hello the simulator"}]}, "end_turn"),
    (META, {"prompt": "Hello the simulator", "max_gen_len": 64, "temperature": 0.2}, "stop"),
    ("mistral.mistral-large-2407-v1:0", {"prompt": "Hello the simulator", "max_tokens": 64, "temperature": 0.2},
     "stop"),
    (NOVA, {"messages": [user("Hello the simulator")], "inferenceConfig": {"max_new_tokens": 64, "temperature": 0.2}},
     "end_turn"),
    ("cohere.command-r-plus-v1:0", {"message": "Hello the simulator", "max_tokens": 64, "temperature": 0.2},
     "COMPLETE"),
]


@pytest.mark.parametrize(("model", "body", "reason"), FAMILIES, ids=[f[0].split(".")[0] for f in FAMILIES])
async def test_invoke_model_reads_each_family_and_the_caller_still_reads_the_body(
        aio, abr, bedrock_sim, model, body, reason):
    result = await aio.invoke_model(modelId=model, body=json.dumps(body))
    answer = result["body"]
    assert isinstance(answer, aiobotocore.response.AioStreamingBody)  # aiobotocore's own class, readable
    data = await answer.read()
    assert DEFAULT_REPLY in json.dumps(json.loads(data))
    assert await answer.read() == b""  # read once, as the original
    attrs = _same_as_sync(
        abr, bedrock_sim, lambda c: c.invoke_model(modelId=model, body=json.dumps(body))["body"].read())
    assert (attrs["gen_ai.request.max_tokens"], attrs["gen_ai.request.temperature"]) == (64, 0.2)
    assert attrs["gen_ai.response.finish_reasons"] == (reason,)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, WORDS)
    assert "gen_ai.request.stream" not in attrs


async def test_the_invoke_body_reads_in_pieces_and_as_a_context_manager(aio, abr):
    result = await aio.invoke_model(modelId=META, body=json.dumps({"prompt": "Hello the simulator"}))
    async with result["body"] as body:
        pieces = [chunk async for chunk in body.iter_chunks(7)]
    assert all(len(p) <= 7 for p in pieces)
    assert json.loads(b"".join(pieces))["generation"] == DEFAULT_REPLY
    assert body.tell() == len(b"".join(pieces))
    _ended_once(abr)


async def test_a_body_cut_while_read_fails_the_span_and_the_callers_read(aio, abr):
    undo = scenario(aio, "cut_stream")
    try:
        result = await aio.invoke_model(modelId=META, body=json.dumps({"prompt": "Hello the simulator"}))
    finally:
        undo()
    with pytest.raises(Exception) as caught:  # the error reading raised, where it would have come
        await result["body"].read()
    span = _span(abr)
    assert span.status.status_code is StatusCode.ERROR
    cls = type(caught.value)
    assert span.attributes["error.type"] == exception_type_of(span) == f"{cls.__module__}.{cls.__qualname__}"


# -- streams -----------------------------------------------------------------------------------


async def test_an_exhausted_converse_stream_records_usage_from_its_metadata_event(aio, abr, bedrock_sim):
    response = await aio.converse_stream(modelId=NOVA, messages=MESSAGES, inferenceConfig={"maxTokens": 50})
    events = [e async for e in response["stream"]]
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e) \
        == DEFAULT_REPLY
    assert "metadata" in events[-1]
    span = _span(abr)
    assert span.attributes["gen_ai.response.id"] == response["ResponseMetadata"]["RequestId"]
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
    attrs = _same_as_sync(abr, bedrock_sim, lambda c: list(c.converse_stream(
        modelId=NOVA, messages=MESSAGES, inferenceConfig={"maxTokens": 50})["stream"]))
    assert attrs["gen_ai.request.stream"] is True
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, WORDS)
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["otel_ai.cost.usd"] == pytest.approx((3 * NOVA_IN + WORDS * NOVA_OUT) / 1e6)


@pytest.mark.parametrize("model", [SONNET, META, "mistral.mistral-large-2407-v1:0", NOVA,
                                   "cohere.command-r-plus-v1:0"])
async def test_invoke_stream_usage_comes_from_the_invocation_metrics(aio, abr, bedrock_sim, model):
    body = json.dumps({"prompt": "Hello the simulator"})
    response = await aio.invoke_model_with_response_stream(modelId=model, body=body)
    chunks = [json.loads(e["chunk"]["bytes"]) async for e in response["body"]]
    assert "amazon-bedrock-invocationMetrics" in chunks[-1]
    attrs = _same_as_sync(
        abr, bedrock_sim, lambda c: list(c.invoke_model_with_response_stream(modelId=model, body=body)["body"]))
    assert attrs["gen_ai.request.stream"] is True
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, WORDS)
    assert attrs["gen_ai.response.finish_reasons"]


async def test_a_stream_read_in_two_loops_is_one_call(aio, abr):
    stream = (await aio.converse_stream(modelId=NOVA, messages=MESSAGES))["stream"]
    first = []
    async for event in stream:
        first.append(event)
        if len(first) == 2:
            break
    assert abr.genai_spans() == []  # broken out of: the caller may read on
    rest = [e async for e in stream]
    assert len(first) + len(rest) == 1 + WORDS + 3  # start, deltas, block stop, message stop, metadata
    assert _span(abr).attributes["gen_ai.usage.output_tokens"] == WORDS
    _ended_once(abr)


async def test_a_closed_stream_ends_the_span_once_with_what_was_read(aio, abr):
    stream = (await aio.converse_stream(modelId=NOVA, messages=MESSAGES))["stream"]
    async for _event in stream:
        break
    assert abr.genai_spans() == []  # still open
    stream.close()  # botocore's close, sync
    stream.close()
    span = _span(abr)
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.usage.input_tokens" not in span.attributes  # the metadata event never came
    _ended_once(abr)


async def test_break_then_collect_ends_the_span_once(aio, abr):
    response = await aio.converse_stream(modelId=NOVA, messages=MESSAGES)
    async for _event in response["stream"]:
        break
    del response, _event
    gc.collect()
    _ended_once(abr)


async def test_a_closed_invoke_stream_ends_once(aio, abr):
    body = (await aio.invoke_model_with_response_stream(modelId=SONNET, body=json.dumps({"prompt": "x"})))["body"]
    await body.__aiter__().__anext__()
    body.close()
    _ended_once(abr)


async def test_an_exception_event_mid_stream_fails_the_span(aio, abr):
    undo = scenario(aio, "stream_error")
    try:
        stream = (await aio.converse_stream(modelId=NOVA, messages=MESSAGES))["stream"]
        with pytest.raises(Exception) as caught:
            async for _ in stream:
                pass
    finally:
        undo()
    assert type(caught.value).__name__ == "EventStreamError"
    span = _span(abr)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span) == "botocore.exceptions.EventStreamError"
    assert span.attributes["otel_ai.error.code"] == "modelstreamerrorexception"
    assert span.attributes["otel_ai.error.category"] == "server_error"
    _ended_once(abr)


async def test_a_cut_stream_fails_the_span(aio, abr):
    undo = scenario(aio, "cut_stream")
    try:
        stream = (await aio.converse_stream(modelId=NOVA, messages=MESSAGES))["stream"]
        with pytest.raises(Exception):  # noqa: B017 - whatever aiohttp/aiobotocore raise for a cut body
            async for _ in stream:
                pass
    finally:
        undo()
    assert _span(abr).status.status_code is StatusCode.ERROR
    _ended_once(abr)


async def test_a_slow_stream_times_the_span_to_its_last_event(aio, abr):
    undo = scenario(aio, "slow_stream", delay="0.05")
    try:
        stream = (await aio.converse_stream(modelId=NOVA, messages=MESSAGES))["stream"]
        async for _ in stream:
            pass
    finally:
        undo()
    span = _span(abr)
    assert span.end_time - span.start_time >= 0.05 * (WORDS - 1) * 1e9
    _ended_once(abr)


async def test_concurrent_streams_each_get_their_own_span(aio, abr):
    async def one(text: str) -> int:
        stream = (await aio.converse_stream(modelId=NOVA, messages=[user(text)]))["stream"]
        return len([e async for e in stream])

    await asyncio.gather(one("a b"), one("a b c d"), one("a"))
    inputs = sorted(s.attributes["gen_ai.usage.input_tokens"] for s in _spans(abr))
    assert inputs == [1, 2, 4]


# -- content, errors, budgets ------------------------------------------------------------------


@pytest.mark.parametrize("content_mode", ["span_only"])
async def test_a_streamed_tool_call_is_reassembled(aio, abr, content_mode):
    undo = scenario(aio, "tool_call")
    try:
        stream = (await aio.converse_stream(modelId=NOVA, messages=MESSAGES))["stream"]
        events = [e async for e in stream]
    finally:
        undo()
    call_id = next(e for e in events if "contentBlockStart" in e)["contentBlockStart"]["start"]["toolUse"]["toolUseId"]
    attrs = _span(abr).attributes
    assert json.loads(attrs["gen_ai.output.messages"]) == [{"role": "assistant", "finish_reason": "tool_call",
                                                            "parts": [{"type": "tool_call", "id": call_id,
                                                                       "name": TOOL_NAME, "arguments": TOOL_INPUT}]}]
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Hello the simulator"}]}]


@pytest.mark.parametrize("content_mode", ["span_only"])
async def test_invoke_model_output_content_is_read_from_the_awaited_body(aio, abr, content_mode):
    await (await aio.invoke_model(modelId=META, body=json.dumps({"prompt": "Weather in Paris?"})))["body"].read()
    attrs = _span(abr).attributes
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {"role": "assistant", "finish_reason": "stop", "parts": [{"type": "text", "content": DEFAULT_REPLY}]}]


ERRORS = [("throttling", 429, "ThrottlingException", "rate_limit"),
          ("access_denied", 403, "AccessDeniedException", "auth"),
          ("validation", 400, "ValidationException", "bad_request"),
          ("internal_error", 500, "InternalServerException", "server_error")]


@pytest.mark.parametrize("operation", ["converse", "converse_stream", "invoke_model"])
@pytest.mark.parametrize(("name", "status", "code", "category"), ERRORS, ids=[e[0] for e in ERRORS])
async def test_errors_pass_through_with_error_type(aio, abr, operation, name, status, code, category):
    undo = scenario(aio, name)
    kwargs: dict[str, Any] = {"body": b"{}"} if operation == "invoke_model" else {"messages": MESSAGES}
    try:
        with pytest.raises(ClientError) as caught:
            await getattr(aio, operation)(modelId=NOVA, **kwargs)
    finally:
        undo()
    exc = caught.value
    assert (exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
    span = _span(abr)
    assert span.status.status_code is StatusCode.ERROR
    cls = type(exc)
    assert span.attributes["error.type"] == exception_type_of(span) == f"{cls.__module__}.{cls.__qualname__}"
    assert span.attributes["error.type"] == f"botocore.errorfactory.{code}"
    assert span.attributes["otel_ai.error.code"] == code.lower()
    assert span.attributes["otel_ai.error.category"] == category
    [(labels, point)] = abr.points("otel_ai.client.requests")
    assert (point.value, labels["otel_ai.outcome"], labels["otel_ai.error.category"]) == (1, "error", category)


async def test_a_blocking_budget_stops_async_calls_before_they_are_sent(aio, abr, bedrock_sim):
    tracker = B.install(
        B.BudgetConfig((B.Budget("tiny", 1e-9, scope={"provider": "aws.bedrock"}, action="block"),)),
        meter_provider=abr.providers["meter_provider"], tracer_provider=abr.providers["tracer_provider"],
    )
    assert tracker is not None
    try:
        bedrock_sim.clear()
        await aio.converse(modelId=NOVA, messages=MESSAGES)  # under the limit: sent, and spends it
        for call in (lambda: aio.converse(modelId=NOVA, messages=MESSAGES),
                     lambda: aio.converse_stream(modelId=NOVA, messages=MESSAGES),
                     lambda: aio.invoke_model(modelId=NOVA, body=b"{}"),
                     lambda: aio.invoke_model_with_response_stream(modelId=NOVA, body=b"{}")):
            with pytest.raises(BudgetExceeded):
                await call()
        assert len(bedrock_sim.requests) == 1  # the provider saw nothing more
        blocked = [s for s in _spans(abr) if s.status.status_code is StatusCode.ERROR]
        assert len(blocked) == 4
        assert {s.attributes["error.type"] for s in blocked} == {"otel_ai.errors.BudgetExceeded"}
    finally:
        B.uninstall()


# -- the seam, credentials, optional install ---------------------------------------------------


async def test_other_services_are_left_alone(bedrock_sim, abr):
    async with get_session().create_client("sts", aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                           endpoint_url=bedrock_sim.url, region_name="us-east-1") as sts:
        with pytest.raises(Exception):  # noqa: B017 - the simulator is no STS: any answer will do
            await sts.get_caller_identity()
    assert abr.genai_spans() == []


async def test_uninstrument_removes_the_async_wrapper_only(bedrock_sim, abr):
    from otel_ai.instrumentation.bedrock.aio import AioBedrockInstrumentor

    AioBedrockInstrumentor().uninstrument()
    async with _aio_client(bedrock_sim) as client:
        await client.converse(modelId=NOVA, messages=MESSAGES)
    assert abr.genai_spans() == []
    make_client(bedrock_sim).converse(modelId=NOVA, messages=MESSAGES)  # the sync instrumentor is still on
    assert len(abr.genai_spans()) == 1
    AioBedrockInstrumentor().instrument(**abr.providers)
    async with _aio_client(bedrock_sim) as client:
        await client.converse(modelId=NOVA, messages=MESSAGES)
    assert len(abr.genai_spans()) == 2


def test_the_two_instrumentors_are_two_instances():
    from otel_ai.instrumentation.bedrock import BedrockInstrumentor
    from otel_ai.instrumentation.bedrock.aio import AioBedrockInstrumentor

    sync, aio_ = BedrockInstrumentor(), AioBedrockInstrumentor()  # BaseInstrumentor keeps one per class
    assert type(sync) is BedrockInstrumentor and type(aio_) is AioBedrockInstrumentor
    assert AioBedrockInstrumentor.instruments == ("aiobotocore >= 3.0, < 4",)
    assert "aiobotocore" not in " ".join(BedrockInstrumentor.instruments)


async def test_refreshable_credentials_are_read_as_stored_and_redacted(bedrock_sim, abr):
    """aiobotocore's refreshable credential refuses its properties: the call is still recorded, its keys known."""
    from aiobotocore.credentials import AioRefreshableCredentials

    from otel_ai.privacy import secrets

    access, secret = "AKIAZ7QREFRESHED0001", "r" * 20 + "EFRESHsecretKEY00001"

    async def refresh() -> dict[str, str]:
        return {"access_key": access, "secret_key": secret, "token": "", "expiry_time": "2099-01-01T00:00:00Z"}

    creds = AioRefreshableCredentials.create_from_metadata(await refresh(), refresh, "test")
    session = get_session()
    session._credentials = creds
    async with session.create_client("bedrock-runtime", config=AioConfig(retries={"max_attempts": 1}),
                                     **bedrock_sim.client_options()) as client:
        await client.converse(modelId=NOVA, messages=MESSAGES)
    _span(abr)
    assert {access, secret} <= secrets._known


def test_the_sync_instrumentor_needs_no_aiobotocore():
    """aiobotocore is optional: with it unimportable, the sync instrumentor instruments and records."""
    code = """
import sys
sys.modules["aiobotocore"] = None  # import fails, as where it is not installed
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import boto3
from otel_ai.instrumentation.bedrock import BedrockInstrumentor
from otel_ai.testing.bedrock_simulator import BedrockSimulator
spans = InMemorySpanExporter(); provider = TracerProvider(); provider.add_span_processor(SimpleSpanProcessor(spans))
BedrockInstrumentor().instrument(tracer_provider=provider)
with BedrockSimulator() as sim:
    boto3.client("bedrock-runtime", aws_access_key_id="AKIAZ7QEXAMPLE4TESTS", aws_secret_access_key="x" * 40,
                 **sim.client_options()).converse(modelId="amazon.nova-pro-v1:0",
                                                  messages=[{"role": "user", "content": [{"text": "hi"}]}])
print(len(spans.get_finished_spans()))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


# -- the re-read body (a property: any bytes, read in any pieces, come back whole) -------------


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300), sizes=st.lists(st.integers(min_value=-1, max_value=64), max_size=20))
def test_the_re_read_body_gives_back_the_same_bytes_in_any_pieces(data, sizes):
    from aiobotocore.response import AioStreamingBody

    from otel_ai.instrumentation.bedrock.aio import _Buffered, _buffered

    async def read_all() -> bytes:
        body = AioStreamingBody(_Buffered(data, None, None), len(data))
        assert _buffered(body) is not None
        out = b""
        for size in sizes:
            out += await body.read(None if size < 0 else size)
        out += await body.read()  # the rest; verifies the content length as aiobotocore does
        assert body.tell() == len(data)
        return out

    assert asyncio.run(read_all()) == data
