"""Content capture (opt-in) in the conventions' parts shape: system, messages, tool calls and results,
tool definitions, output with its finish reason; plain and streamed alike."""

from __future__ import annotations

import json

import pytest

from tests.anthropic.conftest import MODEL, one, opts

TOOLS = [{
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
}]
CONVERSATION = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Paris"}},
    ]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C and sunny"}]},
]
INPUT = [
    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
    {"role": "assistant", "parts": [
        {"type": "text", "content": "Let me look."},
        {"type": "tool_call", "id": "toolu_1", "name": "get_weather", "arguments": {"location": "Paris"}},
    ]},
    {"role": "user", "parts": [{"type": "tool_call_response", "id": "toolu_1", "response": "18C and sunny"}]},
]


@pytest.fixture
def content_mode() -> str:
    return "span_only"


def _content(span) -> dict:
    return {key: json.loads(span.attributes[key]) for key in (
        "gen_ai.system_instructions", "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.definitions",
    ) if key in span.attributes}


def _expected_output(tool_id: str) -> list:
    return [{"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "text", "content": "Hello from the Anthropic simulator."},
        {"type": "tool_call", "id": tool_id, "name": "get_weather",
         "arguments": {"location": "Paris", "unit": "celsius"}},
    ]}]


def test_create_captures_every_part(client, anth):
    message = client.messages.create(model=MODEL, max_tokens=100, system="You are terse.", messages=CONVERSATION,
                                     tools=TOOLS, **opts("tool_use"))
    assert _content(one(anth)) == {
        "gen_ai.system_instructions": [{"type": "text", "content": "You are terse."}],
        "gen_ai.input.messages": INPUT,
        "gen_ai.output.messages": _expected_output(message.content[1].id),
        "gen_ai.tool.definitions": [{"type": "function", "name": "get_weather", "description": "Weather for a city",
                                     "parameters": TOOLS[0]["input_schema"]}],
    }


def test_a_stream_captures_the_same_output(client, anth):
    events = list(client.messages.create(model=MODEL, max_tokens=100, messages=CONVERSATION, tools=TOOLS,
                                         stream=True, **opts("tool_use")))
    tool_id = next(e.content_block.id for e in events if e.type == "content_block_start" and e.index == 1)
    content = _content(one(anth))
    assert content["gen_ai.output.messages"] == _expected_output(tool_id)
    assert content["gen_ai.input.messages"] == INPUT


async def test_the_async_helper_captures_the_output(aclient, anth):
    async with aclient.messages.stream(model=MODEL, max_tokens=100, messages=CONVERSATION,
                                       system=[{"type": "text", "text": "Be brief."}]) as stream:
        await stream.until_done()
    content = _content(one(anth))
    assert content["gen_ai.system_instructions"] == [{"type": "text", "content": "Be brief."}]
    assert content["gen_ai.output.messages"] == [{"role": "assistant", "finish_reason": "stop", "parts": [
        {"type": "text", "content": "Hello from the Anthropic simulator."}]}]


def test_content_is_off_by_default(client, anth, monkeypatch):
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    anth.reinstrument()
    from otel_ai.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor().uninstrument()
    AnthropicInstrumentor().instrument(**anth.providers)
    client.messages.create(model=MODEL, max_tokens=100, messages=CONVERSATION, tools=TOOLS)
    assert _content(one(anth)) == {}
