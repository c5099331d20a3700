"""Chat (`chat`, `chat_stream`, sync and async): request attributes, the response, the v2 event stream.

Cohere's v2 chat is close to the OpenAI shape under other names (`k`, `p`, `stop_sequences`) with
content that is a string or a list of typed items (`text`, `thinking`, `image_url`, `document`),
tool calls in `message.tool_calls`, a `tool_plan` (the model's plan before it calls tools), and
usage in two counts: `usage.billed_units` (what the call is billed on, recorded here) and
`usage.tokens` (what the model read and wrote, including Cohere's own prompt template: not recorded).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse, Message, Usage
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.openai.content import get, reiterable, tool_call_part, tool_definitions, truncate

# Request keys read as numbers, straight into the attribute they feed.
_NUMERIC: dict[str, str] = {
    "temperature": sc.REQUEST_TEMPERATURE,
    "p": sc.REQUEST_TOP_P,
    "k": sc.REQUEST_TOP_K,
    "max_tokens": sc.REQUEST_MAX_TOKENS,
    "seed": sc.REQUEST_SEED,
    "presence_penalty": sc.REQUEST_PRESENCE_PENALTY,
    "frequency_penalty": sc.REQUEST_FREQUENCY_PENALTY,
}
# Cohere's finish reason -> the conventions' finish reason of an output message (the span keeps Cohere's).
FINISH_REASONS: dict[str, str] = {
    "COMPLETE": "stop", "STOP_SEQUENCE": "stop", "MAX_TOKENS": "length", "TOOL_CALL": "tool_call",
    "ERROR": "error", "TIMEOUT": "error",
}


def number(value: Any) -> int | float | None:
    """A number the caller passed; None for anything else (OMIT, None, a bool)."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def count(value: Any) -> int | None:
    """A count the service reported (Cohere sends them as JSON numbers, read as floats); None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return int(value)


def billed(usage: Usage, meta: Any) -> None:
    """`billed_units` of a chat `usage` or an embed/rerank `meta`: input and output tokens, search units."""
    units = get(meta, "billed_units") if meta is not None else None
    if units is None:
        return
    usage.input_tokens = count(get(units, "input_tokens"))
    usage.output_tokens = count(get(units, "output_tokens"))
    usage.search_units = count(get(units, "search_units"))


def finish_reason(reason: Any) -> str:
    return FINISH_REASONS.get(reason, "error") if isinstance(reason, str) else "error"


def content_parts(content: Any, limit: int) -> list[dict[str, Any]]:
    """A message's content (a string, or typed items) as the conventions' parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": truncate(content, limit)}]
    parts: list[dict[str, Any]] = []
    if not reiterable(content) or isinstance(content, Mapping):
        return parts
    for item in content:
        kind = get(item, "type")
        if kind == "text":
            text = get(item, "text")
            if isinstance(text, str):
                parts.append({"type": "text", "content": truncate(text, limit)})
        elif kind == "thinking":
            text = get(item, "thinking")
            if isinstance(text, str):
                parts.append({"type": "reasoning", "content": truncate(text, limit)})
        elif kind == "image_url":
            image = get(item, "image_url")
            url = get(image, "url") if image is not None and not isinstance(image, str) else image
            if isinstance(url, str) and not url.startswith("data:"):
                parts.append({"type": "uri", "modality": "image", "uri": url})
            else:
                parts.append({"type": "blob", "modality": "image"})
        elif isinstance(kind, str):
            parts.append({"type": kind})
    return parts


def _tool_response(content: Any, limit: int) -> str:
    """A tool message's content as one string: its text, or the JSON of its documents."""
    if isinstance(content, str):
        return truncate(content, limit)
    texts: list[str] = []
    if reiterable(content) and not isinstance(content, Mapping):
        for item in content:
            if get(item, "type") == "text" and isinstance(get(item, "text"), str):
                texts.append(get(item, "text"))
            else:
                document = get(item, "document")
                data = get(document, "data") if document is not None else None
                texts.append(json.dumps(data if data is not None else str(item), default=str))
    return truncate("\n".join(texts), limit)


def chat_input(messages: Any, limit: int) -> tuple[list[Message] | None, list[Message] | None]:
    """v2 `messages` -> (system instructions, input messages); a system message is part of the history, so
    it stays in the input messages (the conventions' rule)."""
    if not reiterable(messages) or isinstance(messages, Mapping):
        return None, None
    inputs: list[Message] = []
    for message in messages:
        role = get(message, "role")
        content = get(message, "content")
        if role == "system":
            inputs.append({"role": "system", "parts": content_parts(content, limit)})
        elif role == "tool":
            inputs.append({"role": "tool", "parts": [{
                "type": "tool_call_response", "id": get(message, "tool_call_id"),
                "response": _tool_response(content, limit),
            }]})
        else:
            parts: list[dict[str, Any]] = []
            plan = get(message, "tool_plan")
            if isinstance(plan, str) and plan:
                parts.append({"type": "reasoning", "content": truncate(plan, limit)})
            parts.extend(content_parts(content, limit))
            calls = get(message, "tool_calls")
            if calls is not None and reiterable(calls):
                parts.extend(tool_call_part(call, limit) for call in calls)
            inputs.append({"role": role if isinstance(role, str) else "user", "parts": parts})
    return None, inputs or None


def output_message(message: Any, reason: Any, limit: int) -> Message:
    parts: list[dict[str, Any]] = []
    plan = get(message, "tool_plan")
    if isinstance(plan, str) and plan:
        parts.append({"type": "reasoning", "content": truncate(plan, limit)})
    parts.extend(content_parts(get(message, "content"), limit))
    calls = get(message, "tool_calls")
    if calls is not None and reiterable(calls):
        parts.extend(tool_call_part(call, limit) for call in calls)
    return {"role": "assistant", "parts": parts, "finish_reason": finish_reason(reason)}


def _other(attrs: dict[str, AttributeValue], key: str, value: Any) -> None:
    if key == "stop_sequences":
        if reiterable(value) and value and all(isinstance(s, str) for s in value):
            attrs[sc.REQUEST_STOP_SEQUENCES] = tuple(value)
    elif key == "response_format" and value is not None:
        kind = get(value, "type")
        if kind == "json_object":
            attrs[sc.OUTPUT_TYPE] = "json"
        elif kind == "text":
            attrs[sc.OUTPUT_TYPE] = "text"


_OTHER = frozenset({"stop_sequences", "response_format"})


class Chat(Endpoint):
    """`chat` / `chat_stream` of the v2 raw clients (`streaming` marks the one that answers with events)."""

    operation = "chat"

    def __init__(self, streaming: bool = False) -> None:
        self.streaming = streaming

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        for key, value in kwargs.items():
            name = _NUMERIC.get(key)
            if name is not None:
                found = number(value)
                if found is not None:
                    attrs[name] = found
            elif key in _OTHER:
                _other(attrs, key, value)
        if capture:
            req.system_instructions, req.input_messages = chat_input(kwargs.get("messages"), limit)
            req.tool_definitions = tool_definitions(kwargs.get("tools"))

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        body = get(result, "data", result)  # the raw clients answer an HttpResponse around the body
        resp = GenAIResponse(response_id=get(body, "id"))
        reason = get(body, "finish_reason")
        if isinstance(reason, str):
            resp.finish_reasons = (reason,)
        billed(resp.usage, get(body, "usage"))
        if capture:
            message = get(body, "message")
            if message is not None:
                resp.output_messages = [output_message(message, reason, limit)]
        return resp

    def accumulator(self, capture: bool, limit: int) -> ChatStream:
        return ChatStream(capture, limit)


_OUTPUT_EVENTS = frozenset({"content-delta", "tool-call-start", "tool-call-delta", "tool-plan-delta"})


class ChatStream:
    """Accumulates v2 stream events: the id (`message-start`), output (`content-*`, `tool-plan-delta`,
    `tool-call-*`), and the finish reason and billed usage (`message-end`)."""

    __slots__ = ("capture", "contents", "limit", "plan", "reason", "response_id", "tools", "usage")

    def __init__(self, capture: bool, limit: int) -> None:
        self.capture = capture
        self.limit = limit
        self.response_id: Any = None
        self.reason: Any = None
        self.usage: Any = None
        self.contents: dict[int, list[Any]] = {}  # index -> ["text" | "thinking", pieces...]
        self.plan: list[str] = []
        self.tools: dict[int, dict[str, Any]] = {}

    def add(self, event: Any) -> bool:
        kind = getattr(event, "type", None)
        if kind in _OUTPUT_EVENTS:
            if self.capture:
                self._collect(kind, event)
            return True
        if kind == "message-start":
            self.response_id = event.id
        elif kind == "message-end":
            delta = event.delta
            if delta is not None:
                self.reason = delta.finish_reason
                self.usage = delta.usage
        elif kind == "content-start" and self.capture:
            self._collect(kind, event)
        return False

    def _collect(self, kind: str, event: Any) -> None:
        message = get(get(event, "delta"), "message")
        index = get(event, "index")
        index = index if isinstance(index, int) else 0
        if kind in ("content-start", "content-delta"):
            content = get(message, "content")
            state = self.contents.setdefault(index, ["text"])
            thinking, text = get(content, "thinking"), get(content, "text")
            if get(content, "type") == "thinking" or (thinking is not None and text is None):
                state[0] = "thinking"
            piece = thinking if state[0] == "thinking" else text
            if isinstance(piece, str) and piece:
                state.append(piece)
        elif kind == "tool-plan-delta":
            plan = get(message, "tool_plan")
            if isinstance(plan, str):
                self.plan.append(plan)
        else:
            call = get(message, "tool_calls")
            tool = self.tools.setdefault(index, {"id": None, "name": None, "arguments": []})
            call_id = get(call, "id")
            if isinstance(call_id, str):
                tool["id"] = call_id
            function = get(call, "function")
            name = get(function, "name")
            if isinstance(name, str) and name:
                tool["name"] = name
            arguments = get(function, "arguments")
            if isinstance(arguments, str):
                tool["arguments"].append(arguments)

    def response(self) -> GenAIResponse:
        resp = GenAIResponse(response_id=self.response_id)
        if isinstance(self.reason, str):
            resp.finish_reasons = (self.reason,)
        billed(resp.usage, self.usage)
        if self.capture and (self.contents or self.tools or self.plan):
            message = {
                "tool_plan": "".join(self.plan),
                "content": [{"type": state[0], state[0]: "".join(state[1:])}
                            for _, state in sorted(self.contents.items())],
                "tool_calls": [{"id": t["id"], "function": {"name": t["name"], "arguments": "".join(t["arguments"])}}
                               for _, t in sorted(self.tools.items())],
            }
            resp.output_messages = [output_message(message, self.reason, self.limit)]
        return resp
