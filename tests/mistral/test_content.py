"""Mistral message content (opt-in) in the conventions' parts shape, and the client's key kept out of exports."""

from __future__ import annotations

import json

import pytest

from otel_ai.privacy import secrets
from otel_ai.testing.mistral_simulator import DEFAULT_REPLY, THINKING, TOOL_ARGUMENTS, TOOL_NAME
from tests.mistral.conftest import KEY, mistral_span, mistralai, scenario

TOOLS = [{"type": "function", "function": {
    "name": TOOL_NAME, "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
}}]
CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"id": "abcDEF123", "type": "function", "function": {"name": TOOL_NAME, "arguments": '{"location": "Paris"}'}},
    ]},
    {"role": "tool", "tool_call_id": "abcDEF123", "name": TOOL_NAME, "content": "18 C, sunny"},
]


THOUGHT = [{"role": "assistant", "finish_reason": "stop", "parts": [
    {"type": "reasoning", "content": THINKING},
    {"type": "text", "content": DEFAULT_REPLY},
]}]


def _json(span: object, name: str) -> object:
    return json.loads(span.attributes[name])  # type: ignore[attr-defined]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_input_tools_and_a_tool_call_in_the_output(client, mi, content_mode):
    result = client.chat.complete(model="mistral-small-latest", messages=CONVERSATION, tools=TOOLS,
                                  http_headers=scenario("tool_call"))
    span = mistral_span(mi)
    assert "gen_ai.system_instructions" not in span.attributes  # the system message is part of the history
    assert _json(span, "gen_ai.input.messages") == [
        {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
        {"role": "assistant", "parts": [
            {"type": "text", "content": ""},
            {"type": "tool_call", "id": "abcDEF123", "name": TOOL_NAME, "arguments": {"location": "Paris"}},
        ]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "abcDEF123", "response": "18 C, sunny"}]},
    ]
    assert _json(span, "gen_ai.tool.definitions") == [{
        "type": "function", "name": TOOL_NAME, "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    }]
    call_id = result.choices[0].message.tool_calls[0].id
    assert _json(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "tool_call", "id": call_id, "name": TOOL_NAME, "arguments": json.loads(TOOL_ARGUMENTS)},
    ]}]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_thinking_chunks_become_reasoning_parts(client, mi, content_mode):
    client.chat.complete(model="magistral-small-latest", messages=CONVERSATION[:2], http_headers=scenario("thinking"))
    assert _json(mistral_span(mi), "gen_ai.output.messages") == THOUGHT


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_a_stream_is_captured_whole(client, mi, content_mode):
    for _ in client.chat.stream(model="magistral-small-latest", messages=CONVERSATION[:2],
                                http_headers=scenario("thinking")):
        pass
    assert _json(mistral_span(mi), "gen_ai.output.messages") == THOUGHT


@pytest.mark.parametrize("content_mode", ["span_only"])
async def test_a_streamed_tool_call_is_captured(client, mi, content_mode):
    stream = await client.chat.stream_async(model="mistral-small-latest", messages=CONVERSATION[:2], tools=TOOLS,
                                            http_headers=scenario("tool_call"))
    async for _ in stream:
        pass
    [message] = _json(mistral_span(mi), "gen_ai.output.messages")  # type: ignore[misc]
    assert message["finish_reason"] == "tool_call"
    [part] = message["parts"]
    assert (part["type"], part["name"], part["arguments"]) == ("tool_call", TOOL_NAME, json.loads(TOOL_ARGUMENTS))
    assert len(part["id"]) == 9


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_pydantic_messages_are_read_like_dicts(client, mi, content_mode):
    models = mistralai.models
    client.chat.complete(model="mistral-small-latest", messages=[
        models.SystemMessage(content="Be brief."), models.UserMessage(content="Hello there"),
    ])
    span = mistral_span(mi)
    assert "gen_ai.system_instructions" not in span.attributes
    assert _json(span, "gen_ai.input.messages") == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Hello there"}]},
    ]


def test_no_content_by_default(client, mi):
    client.chat.complete(model="mistral-small-latest", messages=CONVERSATION, tools=TOOLS)
    attrs = mistral_span(mi).attributes
    assert not any(k in attrs for k in ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.definitions"))


# --------------------------------------------------------------------------------------------
# The client's key: registered for redaction before anything is exported
# --------------------------------------------------------------------------------------------


def test_the_client_key_is_registered_for_redaction(client, mi):
    client.chat.complete(model="mistral-small-latest", messages=CONVERSATION[:2])
    assert KEY in secrets._known


def test_a_callable_key_is_registered_as_it_is_sent(mistral_sim, mi):
    key = "Cq4W8eR2tY6uI0oP3aS7dF1gH5jK9lZx"
    client = mistralai.Mistral(api_key=lambda: key, **mistral_sim.client_options())
    with pytest.raises(mistralai.errors.SDKError) as caught:
        client.chat.complete(model="mistral-small-latest", messages=CONVERSATION[:2],
                             http_headers=scenario("echo_error"))
    assert key in caught.value.body  # the careless gateway repeated it
    assert key in secrets._known
    assert mistral_sim.requests[-1].api_key == key  # sent as the client sends it: the hook changed nothing
    from otel_ai.runtime import state

    description = mistral_span(mi).status.description or ""
    assert key in description  # in memory; the exporter redacts with the agent's redactor
    assert key not in state.redactor().redact(description)[0]


def test_the_environment_key_is_registered(mistral_sim, mi, monkeypatch):
    key = "Ev5B9nM3qW7eR1tY4uI8oP2aS6dF0gHj"
    monkeypatch.setenv("MISTRAL_API_KEY", key)
    client = mistralai.Mistral(**mistral_sim.client_options())
    client.chat.complete(model="mistral-small-latest", messages=CONVERSATION[:2])
    assert mistral_sim.requests[-1].api_key == key
    assert key in secrets._known
