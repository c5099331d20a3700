"""Chat Completions (`chat.completions.create` / `parse`): request, response and stream chunks."""

from __future__ import annotations

from typing import Any

from opentelemetry.util.types import AttributeValue

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.openai import content
from otel_ai.instrumentation.openai._shared import (
    Reader,
    output_type,
    put,
    read_request,
    read_usage,
    response_attributes,
    service_tier,
)
from otel_ai.instrumentation.openai.content import get

# Request keys read as numbers, straight into the attribute they feed (`max_tokens` is read only
# when the newer `max_completion_tokens` is absent).
_NUMERIC = {
    "temperature": sc.REQUEST_TEMPERATURE,
    "top_p": sc.REQUEST_TOP_P,
    "max_completion_tokens": sc.REQUEST_MAX_TOKENS,
    "frequency_penalty": sc.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": sc.REQUEST_PRESENCE_PENALTY,
    "seed": sc.REQUEST_SEED,
}


def _choice_count(attrs: dict[str, AttributeValue], n: Any) -> None:
    if isinstance(n, int) and not isinstance(n, bool) and n != 1:
        attrs[sc.REQUEST_CHOICE_COUNT] = n


def _stop(attrs: dict[str, AttributeValue], stop: Any) -> None:
    if isinstance(stop, str):
        attrs[sc.REQUEST_STOP_SEQUENCES] = (stop,)
    elif isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
        attrs[sc.REQUEST_STOP_SEQUENCES] = tuple(stop)


def _response_format(attrs: dict[str, AttributeValue], response_format: Any) -> None:
    kind = output_type(response_format)
    if kind:
        attrs[sc.OUTPUT_TYPE] = kind


_OTHER: dict[str, Reader] = {
    "n": _choice_count,
    "stop": _stop,
    "response_format": _response_format,
    "service_tier": service_tier,
}


class Chat(Endpoint):
    operation = "chat"

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        attrs[sc.OPENAI_API_TYPE] = "chat_completions"
        read_request(attrs, kwargs, _NUMERIC, _OTHER)
        if sc.REQUEST_MAX_TOKENS not in attrs:
            put(attrs, sc.REQUEST_MAX_TOKENS, kwargs.get("max_tokens"))
        if capture:
            req.system_instructions, req.input_messages = content.chat_input(kwargs.get("messages"), limit)
            req.tool_definitions = content.tool_definitions(kwargs.get("tools"))

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse(response_id=get(result, "id"), model=get(result, "model"))
        choices = get(result, "choices") or ()
        resp.finish_reasons = [get(c, "finish_reason") or "error" for c in choices]
        read_usage(resp, get(result, "usage"), "prompt_tokens", "completion_tokens")
        response_attributes(resp, result)
        if capture:
            resp.output_messages = content.chat_output(choices, limit)
        return resp

    def accumulator(self, capture: bool, limit: int) -> ChatStream:
        return ChatStream(capture, limit)


class ChatStream:
    """Accumulates `ChatCompletionChunk`s: ids, finish reasons, usage and (opt-in) the text."""

    __slots__ = ("capture", "choices", "chunk", "limit", "reasons", "tier", "usage")

    def __init__(self, capture: bool, limit: int) -> None:
        self.capture = capture
        self.limit = limit
        self.chunk: Any = None
        self.usage: Any = None
        self.reasons: dict[int, str] = {}
        self.choices: dict[int, dict[str, Any]] = {}
        self.tier: Any = None  # the first chunk's service tier: the last (usage) chunk may not repeat it

    def add(self, chunk: Any) -> bool:
        self.chunk = chunk
        if self.tier is None:
            self.tier = getattr(chunk, "service_tier", None)
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
        state = self.choices.setdefault(choice.index, {"text": [], "tools": {}})
        delta = choice.delta
        if delta is None:
            return
        if delta.content:
            state["text"].append(delta.content)
        for call in delta.tool_calls or ():
            tool = state["tools"].setdefault(call.index, {"id": None, "name": None, "arguments": []})
            if call.id:
                tool["id"] = call.id
            if call.function is not None:
                if call.function.name:
                    tool["name"] = call.function.name
                if call.function.arguments:
                    tool["arguments"].append(call.function.arguments)

    def response(self) -> GenAIResponse:
        last = self.chunk
        resp = GenAIResponse()
        if last is not None:
            resp.response_id = last.id
            resp.model = last.model
            response_attributes(resp, last)
        if isinstance(self.tier, str):
            resp.attributes.setdefault(sc.OPENAI_RESPONSE_SERVICE_TIER, self.tier)
        if self.reasons:
            resp.finish_reasons = [self.reasons[i] for i in sorted(self.reasons)]
        read_usage(resp, self.usage, "prompt_tokens", "completion_tokens")
        if self.capture and self.choices:
            messages = []
            for index in sorted(self.choices):
                state = self.choices[index]
                parts: list[dict[str, Any]] = []
                if state["text"]:
                    parts.append({"type": "text", "content": content.truncate("".join(state["text"]), self.limit)})
                for _, tool in sorted(state["tools"].items()):
                    function = {"name": tool["name"], "arguments": "".join(tool["arguments"])}
                    parts.append(content.tool_call_part({"id": tool["id"], "function": function}, self.limit))
                reason = self.reasons.get(index, "error")
                messages.append({"role": "assistant", "parts": parts,
                                 "finish_reason": content.output_finish_reason(reason)})
            resp.output_messages = messages
        return resp
