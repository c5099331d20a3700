"""OTEL_AI_STREAM_USAGE: usage for Chat Completions streams that did not ask for it (docs/stream-usage.md).

The real openai client over real HTTP against the simulator. `inject` changes the request, never
what the app reads: the same stream read with and without it gives the app the same chunks.
"""

from __future__ import annotations

import re
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from otel_ai.runtime import state as _state
from tests.conftest import scenario

MESSAGES = [{"role": "user", "content": "Stream a short greeting for the tests"}]
CHAT = "/chat/completions"


@pytest.fixture
def mode(monkeypatch: pytest.MonkeyPatch, telemetry: Any) -> Any:
    """`mode("inject")` sets OTEL_AI_STREAM_USAGE for the calls that follow ("" unsets it)."""

    def set_mode(value: str) -> None:
        if value:
            monkeypatch.setenv("OTEL_AI_STREAM_USAGE", value)
        else:
            monkeypatch.delenv("OTEL_AI_STREAM_USAGE", raising=False)
        _state.reset()  # settings are read once; the recorder keeps its own pricing

    return set_mode


def seen(chunk: Any) -> str:
    """What the app can observe of a chunk, less the per-request ids and time."""
    observed = (
        {k: v for k, v in chunk.to_dict().items() if k not in ("id", "created")},
        chunk.model_dump(exclude={"id", "created"}),
        chunk.usage,
        sorted(chunk.model_fields_set),
        [sorted(choice.model_fields_set) for choice in chunk.choices],
    )
    return re.sub(r"call_\w+", "call_", repr(observed))


def sent(sim: Any) -> dict[str, Any]:
    return sim.requests_for(CHAT)[-1].json  # type: ignore[no-any-return]


def read(client: Any, **kwargs: Any) -> list[Any]:
    return [seen(c) for c in client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, **kwargs)]


async def aread(aclient: Any, **kwargs: Any) -> list[Any]:
    stream = await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True, **kwargs)
    return [seen(c) async for c in stream]


def test_off_by_default_the_request_is_unchanged(client, sim, telemetry, mode):
    mode("")
    read(client)
    assert "stream_options" not in sent(sim)
    assert "gen_ai.usage.input_tokens" not in telemetry.one_genai_span().attributes


def test_inject_records_usage_and_cost_and_the_app_sees_the_same_chunks(client, sim, telemetry, mode):
    mode("")
    plain = read(client)
    telemetry.spans_exporter.clear()
    mode("inject")
    injected = read(client)

    assert sent(sim)["stream_options"] == {"include_usage": True}
    assert injected == plain  # no usage chunk, no `usage: null` marked as set, same usage values (None)
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["otel_ai.cost.usd"] > 0
    assert attrs["otel_ai.pricing.source"] == "catalog"
    assert "otel_ai.usage.estimated" not in attrs
    assert {labels["gen_ai.token.type"] for labels, _ in telemetry.points("gen_ai.client.token.usage")} == {
        "input", "output",
    }


async def test_inject_async_stream(aclient, sim, telemetry, mode):
    mode("")
    plain = await aread(aclient)
    telemetry.spans_exporter.clear()
    mode("inject")
    injected = await aread(aclient)

    assert sent(sim)["stream_options"] == {"include_usage": True}
    assert injected == plain
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["otel_ai.cost.usd"] > 0


def test_inject_tool_call_stream_and_several_choices(client, sim, telemetry, mode):
    kwargs: dict[str, Any] = {"n": 2, "extra_headers": scenario("tool_call")}
    mode("")
    plain = read(client, **kwargs)
    mode("inject")
    assert read(client, **kwargs) == plain


def test_inject_merges_into_other_stream_options(client, sim, telemetry, mode):
    options = {"include_obfuscation": False}
    mode("")
    plain = read(client, stream_options=options)
    mode("inject")
    injected = read(client, stream_options=options)

    assert sent(sim)["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert options == {"include_obfuscation": False}  # the caller's dict is not touched
    assert injected == plain
    assert telemetry.genai_spans()[-1].attributes["gen_ai.usage.output_tokens"] > 0


def test_a_caller_that_asked_for_usage_gets_it_unchanged(client, sim, telemetry, mode):
    mode("")
    plain = read(client, stream_options={"include_usage": True})
    mode("inject")
    asked = read(client, stream_options={"include_usage": True})
    assert asked == plain
    assert "'prompt_tokens'" in asked[-1]  # the usage chunk is the caller's: it is handed over
    assert sent(sim)["stream_options"] == {"include_usage": True}


def test_include_usage_false_is_respected(client, sim, telemetry, mode):
    mode("inject")
    read(client, stream_options={"include_usage": False})
    assert sent(sim)["stream_options"] == {"include_usage": False}
    assert "gen_ai.usage.input_tokens" not in telemetry.one_genai_span().attributes


def test_app_closing_early_ends_the_span_once_without_usage(client, sim, telemetry, mode):
    mode("inject")
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    first = next(stream)
    assert first.choices and first.usage is None and "usage" not in first.model_fields_set
    stream.close()
    stream.close()
    [span] = telemetry.genai_spans()
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.usage.input_tokens" not in span.attributes  # the usage chunk was never read
    assert "otel_ai.cost.usd" not in span.attributes


def test_error_mid_stream_reaches_the_app_as_without_inject(client, sim, telemetry, mode):
    def cut() -> tuple[list[Any], type[BaseException]]:
        received = []
        with pytest.raises(Exception) as raised:
            for chunk in client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=scenario("cut_stream")
            ):
                received.append(seen(chunk))
        return received, type(raised.value)

    mode("")
    plain = cut()
    mode("inject")
    assert cut() == plain
    span = telemetry.genai_spans()[-1]
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["otel_ai.error.category"] == "connection"


def test_stream_helper_is_injected_and_its_final_completion_unchanged(client, sim, telemetry, mode):
    def helper() -> tuple[list[str], Any]:
        with client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
            events = [event.type for event in stream]
            final = stream.get_final_completion()
        return events, final.usage

    mode("")
    plain = helper()
    mode("inject")
    assert helper() == plain
    assert sent(sim)["stream_options"] == {"include_usage": True}
    assert telemetry.genai_spans()[-1].attributes["gen_ai.usage.output_tokens"] > 0


async def test_async_stream_helper(aclient, sim, telemetry, mode):
    async def helper() -> tuple[list[str], Any]:
        async with aclient.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
            events = [event.type async for event in stream]
            final = await stream.get_final_completion()
        return events, final.usage

    mode("")
    plain = await helper()
    mode("inject")
    assert await helper() == plain
    assert sent(sim)["stream_options"] == {"include_usage": True}
    assert telemetry.genai_spans()[-1].attributes["gen_ai.usage.output_tokens"] > 0


def test_raw_and_streaming_responses_are_not_injected(client, sim, telemetry, mode):
    mode("inject")
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    list(raw.parse())
    assert "stream_options" not in sent(sim)
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as response:
        list(response.iter_lines())
    assert "stream_options" not in sent(sim)


def test_other_calls_are_not_changed(client, sim, telemetry, mode):
    mode("inject")
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert "stream_options" not in sent(sim)
    list(client.responses.create(model="gpt-4o-mini", input="hi", stream=True))
    assert "stream_options" not in sim.requests_for("/responses")[-1].json


def test_sdk_stream_object_is_still_an_openai_stream(client, telemetry, mode):
    mode("inject")
    with client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True) as stream:
        assert isinstance(stream, openai.Stream)
        assert [c for c in stream if not c.choices] == []


def test_usage_on_a_content_chunk_is_read_then_hidden():
    """Some OpenAI-compatible servers put the usage on the last content chunk instead of a chunk of its own."""
    from openai.types.chat import ChatCompletionChunk

    from otel_ai.instrumentation.openai.stream_usage import visible

    head = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    last = ChatCompletionChunk.model_validate({
        **head, "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}], "usage": usage})
    plain = ChatCompletionChunk.model_validate(
        {**head, "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}]})
    assert visible(last)
    assert last.usage is None and last.to_dict() == plain.to_dict() and last.model_fields_set == plain.model_fields_set
    assert not visible(ChatCompletionChunk.model_validate({**head, "choices": [], "usage": usage}))
