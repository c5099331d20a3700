"""Cohere message content (opt-in) in the conventions' parts shape, and the client's key kept out of exports."""

from __future__ import annotations

import json

import pytest

from otel_ai.privacy import secrets
from otel_ai.testing.cohere_simulator import DEFAULT_REPLY, THINKING, TOOL_ARGUMENTS, TOOL_NAME, TOOL_PLAN
from tests.cohere.conftest import KEY, cohere, cohere_span, scenario

MODEL = "command-a-03-2025"
TOOLS = [{"type": "function", "function": {
    "name": TOOL_NAME, "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
}}]
CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": [{"type": "text", "text": "Weather in Toronto?"}]},
    {"role": "assistant", "tool_plan": "I will call the tool.", "tool_calls": [
        {"id": "get_weather_abc123", "type": "function",
         "function": {"name": TOOL_NAME, "arguments": '{"location": "Toronto"}'}},
    ]},
    {"role": "tool", "tool_call_id": "get_weather_abc123", "content": [{"type": "text", "text": "18 C, sunny"}]},
]
THOUGHT = [{"role": "assistant", "finish_reason": "stop", "parts": [
    {"type": "reasoning", "content": THINKING},
    {"type": "text", "content": DEFAULT_REPLY},
]}]


def _json(span: object, name: str) -> object:
    return json.loads(span.attributes[name])  # type: ignore[attr-defined]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_input_tools_and_a_tool_call_in_the_output(client, co_tel, content_mode):
    result = client.chat(model=MODEL, messages=CONVERSATION, tools=TOOLS, request_options=scenario("tool_call"))
    span = cohere_span(co_tel)
    assert "gen_ai.system_instructions" not in span.attributes  # the system message is part of the history
    assert _json(span, "gen_ai.input.messages") == [
        {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Toronto?"}]},
        {"role": "assistant", "parts": [
            {"type": "reasoning", "content": "I will call the tool."},
            {"type": "tool_call", "id": "get_weather_abc123", "name": TOOL_NAME, "arguments": {"location": "Toronto"}},
        ]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "get_weather_abc123",
                                    "response": "18 C, sunny"}]},
    ]
    assert _json(span, "gen_ai.tool.definitions") == [{
        "type": "function", "name": TOOL_NAME, "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    }]
    call_id = result.message.tool_calls[0].id
    assert _json(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "reasoning", "content": TOOL_PLAN},
        {"type": "tool_call", "id": call_id, "name": TOOL_NAME, "arguments": json.loads(TOOL_ARGUMENTS)},
    ]}]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_thinking_items_become_reasoning_parts(client, co_tel, content_mode):
    client.chat(model=MODEL, messages=CONVERSATION[:2], request_options=scenario("thinking"))
    assert _json(cohere_span(co_tel), "gen_ai.output.messages") == THOUGHT


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_a_stream_is_captured_whole(client, co_tel, content_mode):
    for _ in client.chat_stream(model=MODEL, messages=CONVERSATION[:2], request_options=scenario("thinking")):
        pass
    assert _json(cohere_span(co_tel), "gen_ai.output.messages") == THOUGHT


@pytest.mark.parametrize("content_mode", ["span_only"])
async def test_a_streamed_tool_call_is_captured(aclient, co_tel, content_mode):
    async for _ in aclient.chat_stream(model=MODEL, messages=CONVERSATION[:2], tools=TOOLS,
                                       request_options=scenario("tool_call")):
        pass
    [message] = _json(cohere_span(co_tel), "gen_ai.output.messages")  # type: ignore[misc]
    assert message["finish_reason"] == "tool_call"
    plan, call = message["parts"]
    assert plan == {"type": "reasoning", "content": TOOL_PLAN}
    assert (call["type"], call["name"], call["arguments"]) == ("tool_call", TOOL_NAME, json.loads(TOOL_ARGUMENTS))
    assert call["id"].startswith(f"{TOOL_NAME}_")


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_pydantic_messages_are_read_like_dicts(client, co_tel, content_mode):
    client.chat(model=MODEL, messages=[
        cohere.SystemChatMessageV2(content="Be brief."), cohere.UserChatMessageV2(content="Hello there"),
    ])
    span = cohere_span(co_tel)
    assert "gen_ai.system_instructions" not in span.attributes
    assert _json(span, "gen_ai.input.messages") == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Hello there"}]},
    ]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_the_rerank_query_is_the_input(client, co_tel, content_mode):
    client.rerank(model="rerank-v3.5", query="capital of Canada", documents=["Ottawa is the capital", "Toronto"])
    assert _json(cohere_span(co_tel), "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "capital of Canada"}]},
    ]


def test_no_content_by_default(client, co_tel):
    client.chat(model=MODEL, messages=CONVERSATION, tools=TOOLS)
    attrs = cohere_span(co_tel).attributes
    assert not any(k in attrs for k in ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.definitions"))


# --------------------------------------------------------------------------------------------
# The client's key: registered for redaction before anything is exported
# --------------------------------------------------------------------------------------------


def test_the_client_key_is_registered_for_redaction(client, co_tel):
    client.chat(model=MODEL, messages=CONVERSATION[:2])
    assert KEY in secrets._known


def test_a_callable_key_is_registered_as_it_is_sent(cohere_sim, co_tel):
    key = "Cq4W8eR2tY6uI0oP3aS7dF1gH5jK9lZxN3bV7cX1"
    client = cohere.ClientV2(api_key=lambda: key, **cohere_sim.client_options())
    with pytest.raises(cohere.BadRequestError) as caught:
        client.chat(model=MODEL, messages=CONVERSATION[:2], request_options=scenario("echo_error"))
    assert key in caught.value.body["message"]  # the careless gateway repeated it
    assert key in secrets._known
    assert cohere_sim.requests[-1].api_key == key  # sent as the client sends it: the watcher changed nothing
    from otel_ai.runtime import state

    span = cohere_span(co_tel)
    # The error's text starts with the response headers: the 512-character status description ends
    # inside the key, and is cut before it, never through it (half a key matches nothing).
    assert key[:6] not in (span.status.description or "")
    message = span.events[0].attributes["exception.message"]
    assert key in message  # in memory; the exporter redacts with the agent's redactor
    assert key not in state.redactor().redact(message)[0]


async def test_an_async_token_is_registered_as_it_is_sent(cohere_sim, co_tel):
    key = "As9yNc3Vb7Xz1Lk5Jh2Gf6Dd4Ss8Aa0Qq1Ww2Ee3"

    async def token() -> str:
        return key

    client = cohere.AsyncClientV2(api_key="placeholder", **cohere_sim.client_options())
    client._client_wrapper._async_token = token  # how `AsyncClientWrapper(async_token=...)` keeps one
    await client.chat(model=MODEL, messages=CONVERSATION[:2])
    assert cohere_sim.requests[-1].api_key == key
    assert key in secrets._known


def test_the_environment_key_is_registered(cohere_sim, co_tel, monkeypatch):
    key = "Ev5B9nM3qW7eR1tY4uI8oP2aS6dF0gHjK2lZ4xC6"
    monkeypatch.setenv("CO_API_KEY", key)
    client = cohere.ClientV2(**cohere_sim.client_options())
    client.chat(model=MODEL, messages=CONVERSATION[:2])
    assert cohere_sim.requests[-1].api_key == key
    assert key in secrets._known
