"""Message content in the GenAI conventions' parts shape; only ever called when the user opted in."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from otel_ai.privacy.cut import TRUNCATED as TRUNCATED  # re-exported: the capture tests read it here
from otel_ai.privacy.cut import truncate as truncate  # re-exported: every provider reads it here

Message = dict[str, Any]

_MISSING: Any = object()


def get(obj: Any, key: str, default: Any = None) -> Any:
    """Read a field from a dict (request params) or a pydantic model (responses) alike.

    Concrete checks first: the `Mapping` ABC check costs about a microsecond, paid only by
    mappings that are not dicts and objects that lack the field.
    """
    if type(obj) is dict:
        return obj.get(key, default)
    value = getattr(obj, key, _MISSING)
    if value is not _MISSING:
        return value
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return default


def reiterable(value: Any) -> bool:
    """Whether `value` can be read here and still reach the client whole (list, tuple, dict, set, ...).

    A generator or any other iterator is its own iterator: reading it would consume what the client
    is about to send, so capture skips it. Decided from the type alone, never by calling `iter()`;
    an iterable that is not a sized container may be one-shot too, and is skipped as well.
    """
    cls = type(value)
    if cls is list or cls is tuple:
        return True
    return isinstance(value, Collection) and not isinstance(value, (Iterator, str, bytes, bytearray))


def _text_parts(content: Any, limit: int) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": truncate(content, limit)}]
    parts: list[dict[str, Any]] = []
    if reiterable(content) and not isinstance(content, Mapping):
        for part in content:
            kind = get(part, "type")
            text = get(part, "text")
            if isinstance(text, str):
                parts.append({"type": "text", "content": truncate(text, limit)})
            elif kind in ("image_url", "input_image"):
                image = get(part, "image_url")
                url = get(image, "url") if image is not None and not isinstance(image, str) else image
                file_id = get(part, "file_id")
                if isinstance(url, str) and url.startswith("data:"):
                    parts.append(_data_uri_part(url, "image", limit))
                elif isinstance(url, str):
                    parts.append({"type": "uri", "modality": "image", "uri": url})
                elif isinstance(file_id, str):
                    parts.append({"type": "file", "modality": "image", "file_id": file_id})
                else:
                    parts.append({"type": "blob", "modality": "image"})
            elif kind == "input_audio":
                audio = get(part, "input_audio")
                data, fmt = (get(audio, "data"), get(audio, "format")) if audio is not None else (None, None)
                blob: dict[str, Any] = {"type": "blob", "modality": "audio"}
                if isinstance(fmt, str):
                    blob["mime_type"] = f"audio/{fmt}"
                if isinstance(data, str):
                    blob["content"] = truncate(data, limit)
                parts.append(blob)
            elif kind in ("file", "input_file"):
                parts.append(_file_part(get(part, "file") or part, limit))
            elif kind is not None:
                parts.append({"type": str(kind)})
    return parts


def _data_uri_part(uri: str, modality: str, limit: int) -> dict[str, Any]:
    """A `data:` URI as the conventions' blob part: its media type and (capture is on here) its base64 data."""
    head, _, data = uri[5:].partition(",")
    mime = head.split(";", 1)[0]
    part: dict[str, Any] = {"type": "blob", "modality": modality}
    if mime:
        part["mime_type"] = mime
    part["content"] = truncate(data, limit)
    return part


def _file_part(file: Any, limit: int) -> dict[str, Any]:
    """A file input: by its id (`file`), inline data (`blob`) or URL (`uri`); modality from the media type."""
    file_id, data, url = get(file, "file_id"), get(file, "file_data"), get(file, "file_url")
    if isinstance(data, str) and data.startswith("data:"):
        mime = data[5:].partition(",")[0].split(";", 1)[0]
        return _data_uri_part(data, _modality(mime), limit)
    if isinstance(file_id, str):
        return {"type": "file", "modality": "document", "file_id": file_id}
    if isinstance(url, str):
        return {"type": "uri", "modality": "document", "uri": url}
    part: dict[str, Any] = {"type": "blob", "modality": "document"}
    if isinstance(data, str):
        part["content"] = truncate(data, limit)
    return part


def _modality(mime: str) -> str:
    kind = mime.partition("/")[0]
    return kind if kind in ("image", "audio", "video") else "document"


# Chat Completions finish reasons -> the conventions' output-message values (stop, length, content_filter,
# tool_call, error); the span's gen_ai.response.finish_reasons keep the provider's own words.
_FINISH = {"tool_calls": "tool_call", "function_call": "tool_call"}


def output_finish_reason(reason: str) -> str:
    """The conventions' output-message finish reason for a Chat Completions one."""
    return _FINISH.get(reason, reason)


def tool_call_part(call: Any, limit: int) -> dict[str, Any]:
    function = get(call, "function")
    name = get(function, "name") if function is not None else get(call, "name")
    arguments = get(function, "arguments") if function is not None else get(call, "arguments")
    part: dict[str, Any] = {"type": "tool_call", "id": get(call, "id") or get(call, "call_id"), "name": name}
    if isinstance(arguments, str):
        try:
            part["arguments"] = json.loads(arguments)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser recurses
            part["arguments"] = truncate(arguments, limit)
    elif arguments is not None:
        part["arguments"] = arguments
    return part


def chat_input(messages: Any, limit: int) -> tuple[list[Message] | None, list[Message] | None]:
    """Chat Completions `messages` → (system instructions, input messages).

    A system (or developer) message is part of the chat history here, so it stays in the input messages
    (role `system`), as the conventions ask; `gen_ai.system_instructions` is for instructions an API
    takes apart from the history (the Responses API's `instructions`, Anthropic's `system`).
    """
    if not reiterable(messages):
        return None, None
    inputs: list[Message] = []
    for message in messages:
        role = get(message, "role")
        content = get(message, "content")
        if role in ("system", "developer"):
            inputs.append({"role": "system", "parts": _text_parts(content, limit)})
            continue
        if role == "tool":
            response = content if isinstance(content, str) else json.dumps(content, default=str)
            inputs.append({
                "role": "tool",
                "parts": [{
                    "type": "tool_call_response",
                    "id": get(message, "tool_call_id"),
                    "response": truncate(response, limit),
                }],
            })
            continue
        parts = _text_parts(content, limit)
        calls = get(message, "tool_calls")
        if calls is not None and reiterable(calls):
            parts.extend(tool_call_part(call, limit) for call in calls)
        inputs.append({"role": role or "user", "parts": parts})
    return None, inputs or None


def chat_output(choices: Any, limit: int) -> list[Message] | None:
    """Chat Completions `choices` → output messages with their finish reasons."""
    out: list[Message] = []
    for choice in choices or ():
        message = get(choice, "message")
        parts = _text_parts(get(message, "content"), limit) if message is not None else []
        for call in (get(message, "tool_calls") if message is not None else None) or ():
            parts.append(tool_call_part(call, limit))
        reason = get(choice, "finish_reason") or "stop"
        out.append({"role": "assistant", "parts": parts, "finish_reason": output_finish_reason(reason)})
    return out or None


def responses_input(instructions: Any, items: Any, limit: int) -> tuple[list[Message] | None, list[Message] | None]:
    """Responses API `instructions` and `input` → (system instructions, input messages)."""
    system = _text_parts(instructions, limit) if isinstance(instructions, str) else []
    inputs: list[Message] = []
    if isinstance(items, str):
        inputs.append({"role": "user", "parts": _text_parts(items, limit)})
    elif reiterable(items):
        for item in items:
            kind = get(item, "type")
            role = get(item, "role")
            if kind == "function_call_output":
                output = get(item, "output")
                inputs.append({
                    "role": "tool",
                    "parts": [{
                        "type": "tool_call_response",
                        "id": get(item, "call_id"),
                        "response": truncate(output if isinstance(output, str) else str(output), limit),
                    }],
                })
            elif kind == "function_call":
                inputs.append({"role": "assistant", "parts": [tool_call_part(item, limit)]})
            elif role in ("system", "developer"):  # in the input list: part of the history
                inputs.append({"role": "system", "parts": _text_parts(get(item, "content"), limit)})
            elif role is not None:
                inputs.append({"role": role, "parts": _text_parts(get(item, "content"), limit)})
    return system or None, inputs or None


def responses_output(output: Any, finish_reason: str, limit: int) -> list[Message] | None:
    """Responses API `output` items → one assistant message with text and tool-call parts."""
    parts: list[dict[str, Any]] = []
    for item in output or ():
        kind = get(item, "type")
        if kind == "message":
            parts.extend(_text_parts(get(item, "content"), limit))
        elif kind == "function_call":
            parts.append(tool_call_part(item, limit))
    if not parts:
        return None
    return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason}]


def tool_definitions(tools: Any) -> list[Message] | None:
    """Tool definitions sent with the request (names, descriptions, parameter schemas)."""
    if not reiterable(tools):
        return None
    out: list[Message] = []
    for tool in tools:
        function = get(tool, "function")
        source = function if function is not None else tool
        out.append({
            "type": get(tool, "type", "function"),
            "name": get(source, "name"),
            "description": get(source, "description"),
            "parameters": get(source, "parameters"),
        })
    return out or None
