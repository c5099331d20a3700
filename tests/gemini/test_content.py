"""Gemini content (opt-in) in the conventions' parts shape, and the client's key kept out of exports."""

from __future__ import annotations

import json

import pytest

from otel_ai.privacy import secrets
from otel_ai.testing.gemini_simulator import DEFAULT_REPLY, THOUGHT_TEXT, TOOL_ARGS, TOOL_NAME
from tests.gemini.conftest import KEY, gemini_span, scenario

DECL = {"name": TOOL_NAME, "description": "Weather of a city",
        "parameters": {"type": "OBJECT", "properties": {"location": {"type": "STRING"}}}}
CONVERSATION = [
    {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
    {"role": "model", "parts": [{"function_call": {"name": TOOL_NAME, "args": {"location": "Paris"}}}]},
    {"role": "user", "parts": [{"function_response": {"name": TOOL_NAME, "response": {"temp": "18 C"}}}]},
]


def _json(span: object, name: str) -> object:
    return json.loads(span.attributes[name])  # type: ignore[attr-defined]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_input_tools_system_and_a_tool_call_in_the_output(client, gm, content_mode):
    client.models.generate_content(model="gemini-2.5-flash", contents=CONVERSATION, config=scenario(
        "tool_call", system_instruction="You are terse.", tools=[{"function_declarations": [DECL]}],
        automatic_function_calling={"disable": True}))
    span = gemini_span(gm)
    assert _json(span, "gen_ai.system_instructions") == [{"type": "text", "content": "You are terse."}]
    assert _json(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
        {"role": "assistant", "parts": [
            {"type": "tool_call", "id": None, "name": TOOL_NAME, "arguments": {"location": "Paris"}}]},
        {"role": "user", "parts": [{"type": "tool_call_response", "id": None, "response": '{"temp": "18 C"}'}]},
    ]
    [tool] = _json(span, "gen_ai.tool.definitions")
    assert (tool["type"], tool["name"], tool["description"]) == ("function", TOOL_NAME, "Weather of a city")
    assert tool["parameters"]["properties"] == {"location": {"type": "STRING"}}
    assert _json(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "stop", "parts": [
        {"type": "tool_call", "id": None, "name": TOOL_NAME, "arguments": TOOL_ARGS}]}]


THOUGHT = [{"role": "assistant", "finish_reason": "stop", "parts": [
    {"type": "reasoning", "content": THOUGHT_TEXT}, {"type": "text", "content": DEFAULT_REPLY}]}]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_thought_parts_become_reasoning_parts(client, gm, content_mode):
    client.models.generate_content(model="gemini-2.5-flash", contents="hi", config=scenario("thinking"))
    assert _json(gemini_span(gm), "gen_ai.output.messages") == THOUGHT


@pytest.mark.parametrize("content_mode", ["span_only"])
async def test_a_stream_is_captured_whole(client, gm, content_mode):
    for _ in client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi",
                                                   config=scenario("thinking")):
        pass
    assert _json(gemini_span(gm), "gen_ai.output.messages") == THOUGHT
    assert _json(gemini_span(gm), "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]}]


def test_no_content_unless_asked(client, gm):
    client.models.generate_content(model="gemini-2.5-flash", contents="secret prompt")
    assert not any(k.startswith(("gen_ai.input", "gen_ai.output.messages")) for k in gemini_span(gm).attributes)


def test_the_clients_key_is_registered_and_an_echoing_error_is_redacted(client, gm):
    with pytest.raises(Exception) as caught:
        client.models.generate_content(model="gemini-2.5-flash", contents="hi", config=scenario("echo_error"))
    assert KEY in str(caught.value)  # the caller's own error is unchanged
    assert KEY in secrets._known
    from otel_ai.runtime import state

    description = gemini_span(gm).status.description or ""
    assert KEY in description  # in memory; the exporter redacts with the agent's redactor
    assert KEY not in state.redactor().redact(description)[0]
