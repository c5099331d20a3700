"""Bedrock message content (opt-in) in the conventions' parts shape, tool calls and definitions."""

from __future__ import annotations

import json

import pytest

from otel_ai.testing.bedrock_simulator import DEFAULT_REPLY, TOOL_INPUT, TOOL_NAME
from tests.bedrock.conftest import NOVA, SONNET, bedrock_span, scenario

TOOL_CONFIG = {"tools": [{"toolSpec": {
    "name": TOOL_NAME, "description": "Weather of a city",
    "inputSchema": {"json": {"type": "object", "properties": {"location": {"type": "string"}}}},
}}]}
SYSTEM = [{"text": "You are terse."}]
CONVERSATION = [
    {"role": "user", "content": [{"text": "Weather in Paris?"}]},
    {"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": TOOL_NAME,
                                                   "input": {"location": "Paris"}}}]},
    {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "18 C, sunny"}]}}]},
]
INPUT = [
    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
    {"role": "assistant", "parts": [
        {"type": "tool_call", "id": "tooluse_1", "name": TOOL_NAME, "arguments": {"location": "Paris"}}]},
    {"role": "user", "parts": [{"type": "tool_call_response", "id": "tooluse_1", "response": "18 C, sunny"}]},
]
DEFINITIONS = [{"type": "function", "name": TOOL_NAME, "description": "Weather of a city",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}]


def _json(span: object, name: str) -> object:
    return json.loads(span.attributes[name])  # type: ignore[attr-defined]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_converse_input_tools_and_a_tool_call_in_the_output(client, br, content_mode):
    undo = scenario(client, "tool_call")
    try:
        result = client.converse(modelId=SONNET, system=SYSTEM, messages=CONVERSATION, toolConfig=TOOL_CONFIG)
    finally:
        undo()
    span = bedrock_span(br)
    assert _json(span, "gen_ai.system_instructions") == [{"type": "text", "content": "You are terse."}]
    assert _json(span, "gen_ai.input.messages") == INPUT
    assert _json(span, "gen_ai.tool.definitions") == DEFINITIONS
    call_id = result["output"]["message"]["content"][0]["toolUse"]["toolUseId"]
    assert _json(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "tool_call", "id": call_id, "name": TOOL_NAME, "arguments": TOOL_INPUT}]}]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_a_streamed_tool_call_is_reassembled(client, br, content_mode):
    undo = scenario(client, "tool_call")
    try:
        events = list(client.converse_stream(modelId=NOVA, messages=CONVERSATION, toolConfig=TOOL_CONFIG)["stream"])
    finally:
        undo()
    call_id = next(e for e in events if "contentBlockStart" in e)["contentBlockStart"]["start"]["toolUse"]["toolUseId"]
    span = bedrock_span(br)
    assert _json(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "tool_call", "id": call_id, "name": TOOL_NAME, "arguments": TOOL_INPUT}]}]
    assert _json(span, "gen_ai.tool.definitions") == DEFINITIONS


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_streamed_text_is_joined(client, br, content_mode):
    list(client.converse_stream(modelId=NOVA, messages=CONVERSATION[:1])["stream"])
    assert _json(bedrock_span(br), "gen_ai.output.messages") == [
        {"role": "assistant", "finish_reason": "stop", "parts": [{"type": "text", "content": DEFAULT_REPLY}]}]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_invoke_model_content_of_an_anthropic_body(client, br, content_mode):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "system": "You are terse.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]}]}
    client.invoke_model(modelId=SONNET, body=json.dumps(body))
    span = bedrock_span(br)
    assert _json(span, "gen_ai.system_instructions") == [{"type": "text", "content": "You are terse."}]
    assert _json(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}]
    assert _json(span, "gen_ai.output.messages") == [
        {"role": "assistant", "finish_reason": "stop", "parts": [{"type": "text", "content": DEFAULT_REPLY}]}]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_invoke_stream_content_of_a_prompt_family(client, br, content_mode):
    body = client.invoke_model_with_response_stream(
        modelId="meta.llama3-3-70b-instruct-v1:0", body=json.dumps({"prompt": "Weather in Paris?"}))["body"]
    list(body)
    span = bedrock_span(br)
    assert _json(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}]
    assert _json(span, "gen_ai.output.messages") == [
        {"role": "assistant", "finish_reason": "stop", "parts": [{"type": "text", "content": DEFAULT_REPLY}]}]


def test_no_content_by_default(client, br):
    client.converse(modelId=NOVA, system=SYSTEM, messages=CONVERSATION, toolConfig=TOOL_CONFIG)
    attrs = bedrock_span(br).attributes
    assert not {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
                "gen_ai.tool.definitions"} & set(attrs)
