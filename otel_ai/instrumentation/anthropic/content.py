"""Messages API content in the GenAI conventions' parts shape; only ever called when the user opted in.

Anthropic puts everything in content blocks: `text`, `image` / `document`, `tool_use` (the model's
call), `tool_result` (the app's answer, in a user turn), `thinking`. Each becomes one part.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from otel_ai.instrumentation.openai.content import get, reiterable, truncate

Message = dict[str, Any]

# stop_reason → the conventions' finish reason of an output message (the span keeps Anthropic's value).
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_call",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: Any) -> str:
    return FINISH_REASONS.get(stop_reason, "error") if isinstance(stop_reason, str) else "error"


def _source_part(block: Any, modality: str) -> dict[str, Any]:
    source = get(block, "source")
    url = get(source, "url") if source is not None else None
    if get(source, "type") == "url" and isinstance(url, str):
        return {"type": "uri", "modality": modality, "uri": url}
    return {"type": "blob", "modality": modality}


def _result_text(content: Any, limit: int) -> str:
    if isinstance(content, str):
        return truncate(content, limit)
    if reiterable(content) and not isinstance(content, Mapping):
        texts = [get(block, "text") for block in content]
        return truncate("".join(t for t in texts if isinstance(t, str)), limit)
    return truncate(json.dumps(content, default=str), limit)


def block_part(block: Any, limit: int) -> dict[str, Any]:
    """One content block (a request param dict or a response model) as a part."""
    if isinstance(block, str):
        return {"type": "text", "content": truncate(block, limit)}
    kind = get(block, "type")
    if kind == "text":
        text = get(block, "text")
        return {"type": "text", "content": truncate(text if isinstance(text, str) else "", limit)}
    if kind in ("tool_use", "server_tool_use"):
        return {
            "type": "tool_call", "id": get(block, "id"), "name": get(block, "name"), "arguments": get(block, "input"),
        }
    if kind == "tool_result":
        return {"type": "tool_call_response", "id": get(block, "tool_use_id"),
                "response": _result_text(get(block, "content"), limit)}
    if kind == "thinking":
        thinking = get(block, "thinking")
        return {"type": "reasoning", "content": truncate(thinking if isinstance(thinking, str) else "", limit)}
    if kind == "image":
        return _source_part(block, "image")
    if kind == "document":
        return _source_part(block, "document")
    return {"type": str(kind)}


def parts(content: Any, limit: int) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": truncate(content, limit)}]
    if reiterable(content) and not isinstance(content, Mapping):
        return [block_part(block, limit) for block in content]
    return []


def system_instructions(system: Any, limit: int) -> list[Message] | None:
    return parts(system, limit) or None


def input_messages(messages: Any, limit: int) -> list[Message] | None:
    if not reiterable(messages) or isinstance(messages, Mapping):
        return None
    out = [{"role": get(m, "role") or "user", "parts": parts(get(m, "content"), limit)} for m in messages]
    return out or None


def output_messages(content: Any, stop_reason: Any, limit: int) -> list[Message]:
    return [{"role": "assistant", "parts": parts(content, limit), "finish_reason": finish_reason(stop_reason)}]


def tool_definitions(tools: Any) -> list[Message] | None:
    """Client tools (`name`, `description`, `input_schema`) and server tools (`type`, `name`)."""
    if not reiterable(tools) or isinstance(tools, Mapping):
        return None
    out: list[Message] = []
    for tool in tools:
        kind = get(tool, "type")
        out.append({
            "type": "function" if kind in (None, "custom") else kind,
            "name": get(tool, "name"),
            "description": get(tool, "description"),
            "parameters": get(tool, "input_schema"),
        })
    return out or None
