"""anthropic 2.x makes its own call spans (scope `com.anthropic.sdk.python`): one GenAI span per call, ours.

The fixture points the global tracer provider, which the SDK uses, at the test's exporter, so a span the
SDK made would be counted here. The SDK keeps its spans where the user asked for them by name.
"""

from __future__ import annotations

import pytest

from otel_ai.instrumentation.anthropic import AnthropicInstrumentor
from tests.anthropic.conftest import KEY, MESSAGES, MODEL, anthropic, ours, sdk_spans


def _calls(client) -> None:
    client.messages.create(model=MODEL, max_tokens=50, messages=MESSAGES)
    list(client.messages.create(model=MODEL, max_tokens=50, messages=MESSAGES, stream=True))
    with client.messages.stream(model=MODEL, max_tokens=50, messages=MESSAGES) as stream:
        stream.until_done()


def test_the_sdk_makes_no_span_of_its_own_for_create_stream_and_the_helper(client, anth):
    _calls(client)
    assert sdk_spans(anth) == []
    assert [s.name for s in ours(anth)] == [f"chat {MODEL}"] * 3


async def test_nor_for_async_calls(aclient, anth):
    await aclient.messages.create(model=MODEL, max_tokens=50, messages=MESSAGES)
    async for _ in await aclient.messages.create(model=MODEL, max_tokens=50, messages=MESSAGES, stream=True):
        pass
    async with aclient.messages.stream(model=MODEL, max_tokens=50, messages=MESSAGES) as stream:
        await stream.get_final_message()
    assert sdk_spans(anth) == []
    assert len(ours(anth)) == 3


def test_uninstrumented_the_sdk_does_make_its_span(asim, anth):
    """What the two tests above would see without the switch: the SDK's span, in this very pipeline."""
    AnthropicInstrumentor().uninstrument()
    with anthropic.Anthropic(api_key=KEY, base_url=asim.base_url, max_retries=0) as client:
        client.messages.create(model=MODEL, max_tokens=50, messages=MESSAGES)
    assert [s.name for s in sdk_spans(anth)] == ["anthropic.messages.create"]
    assert ours(anth) == []


def test_calls_we_do_not_record_keep_the_sdks_span(client, anth):
    with pytest.raises(anthropic.NotFoundError):  # the simulator has no model list
        client.models.list()
    assert [s.name for s in sdk_spans(anth)] == ["anthropic.models.list"]


@pytest.mark.parametrize("option", [{"traces": True}, {"traces": {"enabled": True}}])
def test_a_user_who_asked_the_sdk_for_its_spans_keeps_them_under_ours(asim, anth, option):
    with anthropic.Anthropic(api_key=KEY, base_url=asim.base_url, max_retries=0, open_telemetry=option) as client:
        client.messages.create(model=MODEL, max_tokens=50, messages=MESSAGES)
        client.with_options(timeout=30).messages.create(model=MODEL, max_tokens=50, messages=MESSAGES)
    [first, second] = ours(anth)
    sdk = sdk_spans(anth)
    assert [s.name for s in sdk] == ["anthropic.messages.create"] * 2  # the copy inherits the choice
    assert {s.parent.span_id for s in sdk} == {first.context.span_id, second.context.span_id}


def test_the_environment_variable_asks_for_them_too(asim, anth, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", "true")
    with anthropic.Anthropic(api_key=KEY, base_url=asim.base_url, max_retries=0) as client:
        client.messages.create(model=MODEL, max_tokens=50, messages=MESSAGES)
    assert len(sdk_spans(anth)) == 1
    assert len(ours(anth)) == 1


def test_a_copy_of_a_default_client_stays_quiet(client, anth):
    client.with_options(max_retries=1).messages.create(model=MODEL, max_tokens=50, messages=MESSAGES)
    client.with_options(open_telemetry={**client.open_telemetry, "conversation_id": "c1"}).messages.create(
        model=MODEL, max_tokens=50, messages=MESSAGES,
    )
    assert sdk_spans(anth) == []
    assert len(ours(anth)) == 2


def test_uninstrument_gives_the_sdk_its_spans_back(client, anth):
    AnthropicInstrumentor().uninstrument()
    client.messages.create(model=MODEL, max_tokens=50, messages=MESSAGES)
    assert len(sdk_spans(anth)) == 1
    import anthropic._base_client as base

    assert not hasattr(base.BaseClient.__dict__["_tracer"].fget, "__wrapped__")
