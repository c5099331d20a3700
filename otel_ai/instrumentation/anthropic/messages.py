"""The Messages API (`messages.create` / `parse` / `stream`, `count_tokens`, and their `beta` forms).

Anthropic's `usage.input_tokens` counts only the input that was neither read from nor written to the
prompt cache; the conventions' `gen_ai.usage.input_tokens` counts all of it. So input here is
uncached + cache reads + cache writes, with the reads and writes (and the 1-hour part of the writes)
kept apart for pricing: each is billed at its own rate.

A stream reports usage twice: `message_start` carries the input counts (and an output of 1 or so),
`message_delta` the final, cumulative counts. The last value of each field wins; nothing is added.
"""

from __future__ import annotations

import json
from typing import Any

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.instrumentation.anthropic import content
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.openai.content import get, truncate

_NUMERIC = {
    "max_tokens": sc.REQUEST_MAX_TOKENS,
    "temperature": sc.REQUEST_TEMPERATURE,
    "top_p": sc.REQUEST_TOP_P,
    "top_k": sc.REQUEST_TOP_K,
}
_USAGE_FIELDS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_usage(resp: GenAIResponse, usage: Any) -> None:
    """Anthropic usage → the conventions' counts (input includes cache reads and writes)."""
    if usage is None:
        return
    counts = resp.usage
    uncached = _int(get(usage, "input_tokens"))
    read = _int(get(usage, "cache_read_input_tokens"))
    written = _int(get(usage, "cache_creation_input_tokens"))
    creation = get(usage, "cache_creation")
    one_hour = _int(get(creation, "ephemeral_1h_input_tokens")) if creation is not None else None
    if uncached is not None:
        counts.input_tokens = uncached + (read or 0) + (written or 0)
    counts.cache_read_input_tokens = read
    counts.cache_creation_input_tokens = written
    if one_hour:
        counts.cache_creation_1h_input_tokens = one_hour
        resp.attributes[sc.ANTHROPIC_CACHE_CREATION_1H] = one_hour
    counts.output_tokens = _int(get(usage, "output_tokens"))
    details = get(usage, "output_tokens_details")
    if details is not None:
        counts.reasoning_output_tokens = _int(get(details, "thinking_tokens"))
    tier = get(usage, "service_tier")
    if isinstance(tier, str):
        resp.attributes[sc.ANTHROPIC_RESPONSE_SERVICE_TIER] = tier


def _output_type(kwargs: dict[str, Any]) -> str | None:
    output_format = kwargs.get("output_format")
    if isinstance(output_format, type):  # `parse` / `stream` with a pydantic model
        return "json"
    config = kwargs.get("output_config")
    fmt = get(config, "format") if config is not None else None
    if fmt is not None and get(fmt, "type") == "json_schema":
        return "json"
    return None


class Messages(Endpoint):
    """`messages.create` / `parse` (and `stream`, which always streams)."""

    operation = "chat"

    def __init__(self, *, streams: bool = False) -> None:
        self.streams = streams

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        for key, value in kwargs.items():
            name = _NUMERIC.get(key)
            if name is not None:
                number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
                if number is not None:
                    attrs[name] = number
        stop = kwargs.get("stop_sequences")
        if isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
            attrs[sc.REQUEST_STOP_SEQUENCES] = tuple(stop)
        tier = kwargs.get("service_tier")
        if isinstance(tier, str):
            attrs[sc.ANTHROPIC_REQUEST_SERVICE_TIER] = tier
        kind = _output_type(kwargs)
        if kind:
            attrs[sc.OUTPUT_TYPE] = kind
        if capture:
            req.system_instructions = content.system_instructions(kwargs.get("system"), limit)
            req.input_messages = content.input_messages(kwargs.get("messages"), limit)
            req.tool_definitions = content.tool_definitions(kwargs.get("tools"))

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse(response_id=get(result, "id"), model=get(result, "model"))
        stop = get(result, "stop_reason")
        if isinstance(stop, str):
            resp.finish_reasons = (stop,)
        read_usage(resp, get(result, "usage"))
        if capture:
            resp.output_messages = content.output_messages(get(result, "content"), stop, limit)
        return resp

    def accumulator(self, capture: bool, limit: int) -> MessageStream:
        return MessageStream(capture, limit)


class CountTokens(Endpoint):
    """`messages.count_tokens`: free, so no usage and no cost; the count is an attribute of its own."""

    operation = "count_tokens"

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        if capture:
            req.system_instructions = content.system_instructions(kwargs.get("system"), limit)
            req.input_messages = content.input_messages(kwargs.get("messages"), limit)
            req.tool_definitions = content.tool_definitions(kwargs.get("tools"))

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse()
        counted = _int(get(result, "input_tokens"))
        if counted is not None:
            resp.attributes[sc.ANTHROPIC_COUNT_TOKENS] = counted
        return resp


class MessageStream:
    """Accumulates raw stream events (`message_start`, `content_block_*`, `message_delta`, ...)."""

    __slots__ = ("blocks", "capture", "delta_usage", "limit", "message_id", "model", "start_usage", "stop_reason")

    def __init__(self, capture: bool, limit: int) -> None:
        self.capture = capture
        self.limit = limit
        self.message_id: Any = None
        self.model: Any = None
        self.stop_reason: Any = None
        self.start_usage: Any = None
        self.delta_usage: Any = None
        self.blocks: dict[int, dict[str, Any]] = {}

    def add(self, event: Any) -> bool:
        kind = event.type
        if kind == "content_block_delta":
            if self.capture:
                self._delta(event)
            return True
        if kind == "message_start":
            message = event.message
            self.message_id = message.id
            self.model = message.model
            self.start_usage = message.usage
        elif kind == "message_delta":
            self.stop_reason = event.delta.stop_reason
            self.delta_usage = event.usage
        elif kind == "content_block_start" and self.capture:
            block = event.content_block
            self.blocks[event.index] = {"block": block, "text": [], "json": []}
        return False

    def _delta(self, event: Any) -> None:
        state = self.blocks.setdefault(event.index, {"block": None, "text": [], "json": []})
        delta = event.delta
        kind = delta.type
        if kind == "text_delta":
            state["text"].append(delta.text)
        elif kind == "input_json_delta":
            state["json"].append(delta.partial_json)
        elif kind == "thinking_delta":
            state["text"].append(delta.thinking)

    def usage(self) -> dict[str, Any] | None:
        """The last value of each usage field: `message_delta`'s where it has one, else `message_start`'s."""
        start, delta = self.start_usage, self.delta_usage
        if start is None and delta is None:
            return None
        merged: dict[str, Any] = {}
        for key in (*_USAGE_FIELDS, "output_tokens_details"):
            value = get(delta, key) if delta is not None else None
            merged[key] = value if value is not None else (get(start, key) if start is not None else None)
        if start is not None:
            merged["cache_creation"] = get(start, "cache_creation")
            merged["service_tier"] = get(start, "service_tier")
        return merged

    def response(self) -> GenAIResponse:
        resp = GenAIResponse(response_id=self.message_id, model=self.model)
        if isinstance(self.stop_reason, str):
            resp.finish_reasons = (self.stop_reason,)
        read_usage(resp, self.usage())
        if self.capture and self.blocks:
            parts = [self._part(self.blocks[i]) for i in sorted(self.blocks)]
            resp.output_messages = [{
                "role": "assistant", "parts": parts, "finish_reason": content.finish_reason(self.stop_reason),
            }]
        return resp

    def _part(self, state: dict[str, Any]) -> dict[str, Any]:
        block = state["block"]
        kind = get(block, "type") if block is not None else "text"
        if kind in ("tool_use", "server_tool_use"):
            raw = "".join(state["json"])
            arguments: Any
            try:
                arguments = json.loads(raw) if raw else get(block, "input")
            except (ValueError, RecursionError):
                arguments = truncate(raw, self.limit)
            return {"type": "tool_call", "id": get(block, "id"), "name": get(block, "name"), "arguments": arguments}
        text = truncate("".join(state["text"]), self.limit)
        if kind == "thinking":
            return {"type": "reasoning", "content": text}
        if kind == "text":
            return {"type": "text", "content": text}
        return {"type": str(kind)}
