"""Chat completions (`chat.complete`, `chat.stream` and their `_async` forms): request, response, stream.

Mistral's request and message shapes are the OpenAI ones under other names (`random_seed`, `top_k`),
so the message-parts reading is shared with the OpenAI package; what differs is read here: content
that is a list of chunks (text, and the `thinking` chunks of reasoning models), tool-call arguments
that may be an object, usage on the last stream chunk, and the `model_length` finish reason.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse, Message
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.openai.content import (
    chat_input,
    get,
    output_finish_reason,
    reiterable,
    tool_call_part,
    tool_definitions,
    truncate,
)

# Request keys read as numbers, straight into the attribute they feed.
_NUMERIC: dict[str, str] = {
    "temperature": sc.REQUEST_TEMPERATURE,
    "top_p": sc.REQUEST_TOP_P,
    "max_tokens": sc.REQUEST_MAX_TOKENS,
    "random_seed": sc.REQUEST_SEED,
    "presence_penalty": sc.REQUEST_PRESENCE_PENALTY,
    "frequency_penalty": sc.REQUEST_FREQUENCY_PENALTY,
    "top_k": sc.REQUEST_TOP_K,
}


def number(value: Any) -> int | float | None:
    """A number the caller passed; None for anything else (UNSET, None, a bool)."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def count(value: Any) -> int | None:
    """A token count the service reported; None for anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _other(attrs: dict[str, AttributeValue], key: str, value: Any) -> None:
    if key == "stop":
        if isinstance(value, str):
            attrs[sc.REQUEST_STOP_SEQUENCES] = (value,)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(s, str) for s in value):
            attrs[sc.REQUEST_STOP_SEQUENCES] = tuple(value)
    elif key == "n":
        if isinstance(value, int) and not isinstance(value, bool) and value != 1:
            attrs[sc.REQUEST_CHOICE_COUNT] = value
    elif key == "response_format" and value is not None:
        kind = get(value, "type")
        if kind in ("json_object", "json_schema"):
            attrs[sc.OUTPUT_TYPE] = "json"
        elif kind == "text":
            attrs[sc.OUTPUT_TYPE] = "text"


_OTHER = frozenset({"stop", "n", "response_format"})


def read_usage(resp: GenAIResponse, usage: Any) -> None:
    """`prompt_tokens` / `completion_tokens`, and cache reads where the service reports them."""
    if usage is None:
        return
    counts = resp.usage
    counts.input_tokens = count(get(usage, "prompt_tokens"))
    counts.output_tokens = count(get(usage, "completion_tokens"))
    details = get(usage, "prompt_tokens_details")  # an extra field: a dict on the pydantic model
    if details is not None:
        counts.cache_read_input_tokens = count(get(details, "cached_tokens"))


def content_parts(content: Any, limit: int) -> list[dict[str, Any]]:
    """Assistant content (a string, or chunks: text, thinking, ...) as the conventions' parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": truncate(content, limit)}] if content else []
    parts: list[dict[str, Any]] = []
    if not reiterable(content) or isinstance(content, Mapping):
        return parts
    for chunk in content:
        kind = get(chunk, "type")
        if kind == "text":
            text = get(chunk, "text")
            if isinstance(text, str):
                parts.append({"type": "text", "content": truncate(text, limit)})
        elif kind == "thinking":
            inner = get(chunk, "thinking")
            texts = [get(t, "text") for t in inner] if reiterable(inner) else []
            parts.append({"type": "reasoning", "content": truncate("".join(t for t in texts if isinstance(t, str)),
                                                                   limit)})
        elif isinstance(kind, str):
            parts.append({"type": kind})
    return parts


def output_messages(choices: Any, limit: int) -> list[Message] | None:
    out: list[Message] = []
    for choice in choices or ():
        message = get(choice, "message")
        parts = content_parts(get(message, "content"), limit) if message is not None else []
        calls = get(message, "tool_calls") if message is not None else None
        if calls is not None and reiterable(calls):
            parts.extend(tool_call_part(call, limit) for call in calls)
        reason = str(get(choice, "finish_reason") or "stop")
        out.append({"role": "assistant", "parts": parts, "finish_reason": output_finish_reason(reason)})
    return out or None


class Chat(Endpoint):
    """`chat.complete` / `chat.stream` (`streaming` marks the method that answers with events)."""

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
        resp = GenAIResponse(response_id=get(result, "id"), model=get(result, "model"))
        choices = get(result, "choices") or ()
        resp.finish_reasons = [str(get(c, "finish_reason") or "error") for c in choices]
        read_usage(resp, get(result, "usage"))
        if capture:
            resp.output_messages = output_messages(choices, limit)
        return resp

    def accumulator(self, capture: bool, limit: int) -> ChatStream:
        return ChatStream(capture, limit)


class ChatStream:
    """Accumulates `CompletionEvent`s: the id and model, finish reasons, usage (on the last chunk), the text."""

    __slots__ = ("capture", "choices", "chunk", "limit", "reasons", "usage")

    def __init__(self, capture: bool, limit: int) -> None:
        self.capture = capture
        self.limit = limit
        self.chunk: Any = None
        self.usage: Any = None
        self.reasons: dict[int, str] = {}
        self.choices: dict[int, dict[str, Any]] = {}

    def add(self, event: Any) -> bool:
        chunk = event.data
        self.chunk = chunk
        usage = chunk.usage
        if usage is not None:
            self.usage = usage
        choices = chunk.choices
        if not choices:
            return False
        for choice in choices:
            reason = choice.finish_reason
            if reason is not None:
                self.reasons[choice.index] = reason
            if self.capture:
                self._collect(choice)
        return True

    def _collect(self, choice: Any) -> None:
        state = self.choices.setdefault(choice.index, {"content": [], "tools": {}})
        delta = choice.delta
        content = get(delta, "content")
        if isinstance(content, str):
            if content:
                state["content"].append({"type": "text", "text": content})
        elif reiterable(content):
            state["content"].extend(content)
        calls = get(delta, "tool_calls")
        if reiterable(calls):
            for call in calls:
                index = get(call, "index")
                tool = state["tools"].setdefault(index if isinstance(index, int) else len(state["tools"]),
                                                 {"id": None, "name": None, "arguments": []})
                call_id = get(call, "id")
                if isinstance(call_id, str) and call_id != "null":
                    tool["id"] = call_id
                function = get(call, "function")
                name = get(function, "name")
                if isinstance(name, str) and name:
                    tool["name"] = name
                arguments = get(function, "arguments")
                if isinstance(arguments, str):
                    tool["arguments"].append(arguments)
                elif arguments is not None:
                    tool["arguments"] = [json.dumps(arguments, default=str)]

    def response(self) -> GenAIResponse:
        last = self.chunk
        resp = GenAIResponse()
        if last is not None:
            resp.response_id = last.id
            resp.model = last.model
        if self.reasons:
            resp.finish_reasons = [str(self.reasons[i]) for i in sorted(self.reasons)]
        read_usage(resp, self.usage)
        if self.capture and self.choices:
            resp.output_messages = [self._message(i) for i in sorted(self.choices)]
        return resp

    def _message(self, index: int) -> Message:
        state = self.choices[index]
        parts = _merge_text(content_parts(state["content"], sys.maxsize), self.limit)
        for tool in state["tools"].values():
            call = {"id": tool["id"], "function": {"name": tool["name"], "arguments": "".join(tool["arguments"])}}
            parts.append(tool_call_part(call, self.limit))
        reason = str(self.reasons.get(index, "error"))
        return {"role": "assistant", "parts": parts, "finish_reason": output_finish_reason(reason)}


def _merge_text(parts: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Streamed pieces of one kind next to each other become one part (then cut to `limit`)."""
    merged: list[dict[str, Any]] = []
    for part in parts:
        if merged and part["type"] in ("text", "reasoning") and merged[-1]["type"] == part["type"]:
            merged[-1] = {"type": part["type"], "content": merged[-1]["content"] + part["content"]}
        else:
            merged.append(dict(part))
    for part in merged:
        if part["type"] in ("text", "reasoning"):
            part["content"] = truncate(part["content"], limit)
    return merged
