"""Ollama content capture (opt-in) in the conventions' parts shape: system instructions, messages with
images, tool calls and tool answers, tool definitions (Python functions too), reasoning, streams."""

from __future__ import annotations

import json
from typing import Any

import pytest

from otel_ai.testing.ollama_simulator import THINKING, TOOL_ARGUMENTS, TOOL_NAME, OllamaSimulator
from tests.conftest import Telemetry
from tests.ollama.conftest import make_client, one_span

ollama = pytest.importorskip("ollama")

IMAGE = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@pytest.fixture
def content_mode() -> str:
    return "SPAN_ONLY"


def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
      a: The first number
      b: The second number

    Returns:
      int: The sum
    """
    return a + b


def _json(span: Any, name: str) -> Any:
    return json.loads(span.attributes[name])


def test_chat_input_output_and_tools(ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is in this picture?", "images": [IMAGE]},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "add", "arguments": {"a": 1}}}]},
        {"role": "tool", "content": "2", "tool_name": "add"},
        ollama.Message(role="user", content="And the weather?"),
    ]
    weather = {"type": "function", "function": {"name": TOOL_NAME, "description": "Weather by city",
                                                "parameters": {"type": "object", "properties": {}}}}
    make_client(ol_sim, "tool_call").chat(model="llama3.2", messages=messages, tools=[add, weather])
    span = one_span(ol)
    assert "gen_ai.system_instructions" not in span.attributes  # the system message is part of the history
    assert _json(span, "gen_ai.input.messages") == [
        {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
        {"role": "user", "parts": [{"type": "text", "content": "What is in this picture?"},
                                   {"type": "blob", "modality": "image"}]},
        {"role": "assistant", "parts": [{"type": "tool_call", "id": None, "name": "add", "arguments": {"a": 1}}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": None, "response": "2"}]},
        {"role": "user", "parts": [{"type": "text", "content": "And the weather?"}]},
    ]
    tools = _json(span, "gen_ai.tool.definitions")
    assert [(t["type"], t["name"], t["description"]) for t in tools] == [
        ("function", "add", "Add two numbers."), ("function", TOOL_NAME, "Weather by city"),
    ]
    assert set(tools[0]["parameters"]["properties"]) == {"a", "b"}
    assert _json(span, "gen_ai.output.messages") == [{
        "role": "assistant", "finish_reason": "stop",
        "parts": [{"type": "tool_call", "id": None, "name": TOOL_NAME, "arguments": TOOL_ARGUMENTS}],
    }]
    assert IMAGE not in str(span.attributes)  # images are named, never copied


def test_thinking_is_a_reasoning_part(client: Any, ol: Telemetry) -> None:
    client.chat(model="qwen3", messages=[{"role": "user", "content": "Hi"}], think=True)
    [message] = _json(one_span(ol), "gen_ai.output.messages")
    assert message["parts"] == [{"type": "reasoning", "content": THINKING},
                                {"type": "text", "content": "Hello from the Ollama simulator."}]


def test_a_streamed_chat_is_captured_whole(client: Any, ol: Telemetry) -> None:
    list(client.chat(model="qwen3", messages=[{"role": "user", "content": "Hi"}], think=True, stream=True))
    [message] = _json(one_span(ol), "gen_ai.output.messages")
    assert message == {"role": "assistant", "finish_reason": "stop", "parts": [
        {"type": "reasoning", "content": THINKING}, {"type": "text", "content": "Hello from the Ollama simulator."},
    ]}


def test_a_streamed_tool_call_is_captured(ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    list(make_client(ol_sim, "tool_call").chat(model="llama3.2", messages=[{"role": "user", "content": "Hi"}],
                                               stream=True))
    [message] = _json(one_span(ol), "gen_ai.output.messages")
    assert message["parts"] == [{"type": "tool_call", "id": None, "name": TOOL_NAME, "arguments": TOOL_ARGUMENTS}]


def test_generate_prompt_system_and_answer(ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    client = make_client(ol_sim, "echo")
    client.generate(model="llama3.2", prompt="Echo this line", system="Repeat.", images=[IMAGE])
    span = one_span(ol)
    assert _json(span, "gen_ai.system_instructions") == [{"type": "text", "content": "Repeat."}]
    assert _json(span, "gen_ai.input.messages") == [{"role": "user", "parts": [
        {"type": "text", "content": "Echo this line"}, {"type": "blob", "modality": "image"},
    ]}]
    assert _json(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Echo this line"}], "finish_reason": "stop"},
    ]
    list(client.generate(model="llama3.2", prompt="Streamed echo", stream=True))
    streamed = [s for s in ol.genai_spans() if s.attributes.get("gen_ai.request.stream")]
    assert _json(streamed[0], "gen_ai.output.messages")[0]["parts"] == [{"type": "text", "content": "Streamed echo"}]


def test_content_is_off_by_default(ol: Telemetry, ol_sim: OllamaSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    ol.reinstrument()
    from otel_ai.instrumentation.ollama import OllamaInstrumentor

    OllamaInstrumentor().uninstrument()
    OllamaInstrumentor().instrument(**ol.providers)
    make_client(ol_sim).chat(model="llama3.2", messages=[{"role": "user", "content": "secret words"}])
    attrs = one_span(ol).attributes
    assert not any(key.startswith(("gen_ai.input", "gen_ai.output.messages")) for key in attrs)
