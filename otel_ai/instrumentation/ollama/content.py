"""Ollama message content in the GenAI conventions' parts shape; only ever called when the user opted in.

Ollama's messages are dicts or `ollama.Message` objects: `content` a string, `images` (base64 or
paths: recorded as image blobs without their bytes), `thinking` (a reasoning part), `tool_calls`
with `function.name` and `function.arguments` as an object, and `role: "tool"` answers named by
`tool_name`. Tool calls carry no ids in Ollama's API, so their parts have none either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_ai.instrumentation.openai.content import get, reiterable, truncate

Message = dict[str, Any]


def plain(value: Any) -> Any:
    """A pydantic model or mapping as plain JSON-able data (tool arguments, schemas)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True, by_alias=True)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def text_part(text: str, limit: int) -> dict[str, Any]:
    return {"type": "text", "content": truncate(text, limit)}


def reasoning_part(text: str, limit: int) -> dict[str, Any]:
    return {"type": "reasoning", "content": truncate(text, limit)}


def tool_call_part(call: Any) -> dict[str, Any]:
    function = get(call, "function")
    arguments = get(function, "arguments") if function is not None else None
    part: dict[str, Any] = {"type": "tool_call", "id": get(call, "id"), "name": get(function, "name")}
    if arguments is not None:
        part["arguments"] = plain(arguments)
    return part


def _images(images: Any) -> list[dict[str, Any]]:
    if not images or not reiterable(images):
        return []
    return [{"type": "blob", "modality": "image"} for _ in images]


def message_parts(message: Any, limit: int) -> list[dict[str, Any]]:
    """The parts of one message: reasoning, text, images, tool calls (in that order)."""
    parts: list[dict[str, Any]] = []
    thinking = get(message, "thinking")
    if isinstance(thinking, str) and thinking:
        parts.append(reasoning_part(thinking, limit))
    text = get(message, "content")
    if isinstance(text, str) and text:
        parts.append(text_part(text, limit))
    parts.extend(_images(get(message, "images")))
    calls = get(message, "tool_calls")
    if calls and reiterable(calls):
        parts.extend(tool_call_part(call) for call in calls)
    return parts


def chat_input(messages: Any, limit: int) -> tuple[list[Message] | None, list[Message] | None]:
    """`messages` → (system instructions, input messages); a system message is part of the history, so it
    stays in the input messages (the conventions' rule; `generate`'s separate `system` is an instruction)."""
    if not reiterable(messages):
        return None, None
    inputs: list[Message] = []
    for message in messages:
        role = get(message, "role")
        if role == "tool":
            content = get(message, "content")
            response = truncate(content if isinstance(content, str) else str(content), limit)
            part = {"type": "tool_call_response", "id": get(message, "tool_call_id"), "response": response}
            inputs.append({"role": "tool", "parts": [part]})
        else:
            inputs.append({"role": role or "user", "parts": message_parts(message, limit)})
    return None, inputs or None


def generate_input(kwargs: Mapping[str, Any], limit: int) -> tuple[list[Message] | None, list[Message] | None]:
    """`generate`'s `system`, `prompt` and `images` → (system instructions, input messages)."""
    system = kwargs.get("system")
    instructions = [text_part(system, limit)] if isinstance(system, str) and system else None
    parts: list[dict[str, Any]] = []
    prompt = kwargs.get("prompt")
    if isinstance(prompt, str) and prompt:
        parts.append(text_part(prompt, limit))
    parts.extend(_images(kwargs.get("images")))
    return instructions, [{"role": "user", "parts": parts}] if parts else None


def tool_definitions(tools: Any) -> list[Message] | None:
    """Tools as sent: JSON schemas, `ollama.Tool`s, or Python functions (converted as the client does)."""
    if not reiterable(tools):
        return None
    out: list[Message] = []
    for tool in tools:
        if callable(tool) and not isinstance(tool, Mapping):
            from ollama._utils import convert_function_to_tool

            tool = convert_function_to_tool(tool)
        function = get(tool, "function")
        source = function if function is not None else tool
        out.append({
            "type": get(tool, "type") or "function",
            "name": get(source, "name"),
            "description": get(source, "description"),
            "parameters": plain(get(source, "parameters")),
        })
    return out or None
