"""Ollama's APIs: `chat`, `generate` (text completion), `embed` and the older `embeddings`.

Requests: the model, `options` (temperature, top_p, top_k, num_predict, seed, penalties, stop)
and `format`. Responses: `prompt_eval_count` / `eval_count` (input and output tokens, thinking
included in the output as Ollama counts it), `done_reason` (the finish reason) and Ollama's own
timings, reported in nanoseconds and recorded in seconds (`otel_ai.ollama.*`). A stream is
newline-delimited JSON: every object carries a piece of the reply; the last one (`done: true`)
the counts, the reason and the timings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from opentelemetry.util.types import AttributeValue

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.ollama import content
from otel_ai.instrumentation.openai.content import get, truncate

# `options` key -> the attribute its number feeds.
_OPTIONS = {
    "temperature": sc.REQUEST_TEMPERATURE,
    "top_p": sc.REQUEST_TOP_P,
    "top_k": sc.REQUEST_TOP_K,
    "num_predict": sc.REQUEST_MAX_TOKENS,
    "seed": sc.REQUEST_SEED,
    "frequency_penalty": sc.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": sc.REQUEST_PRESENCE_PENALTY,
}
# Response field (nanoseconds) -> the attribute it feeds (seconds).
_DURATIONS = (
    ("total_duration", sc.OLLAMA_TOTAL_DURATION),
    ("load_duration", sc.OLLAMA_LOAD_DURATION),
    ("prompt_eval_duration", sc.OLLAMA_PROMPT_EVAL_DURATION),
    ("eval_duration", sc.OLLAMA_EVAL_DURATION),
)


def _number(value: Any) -> AttributeValue | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _options(attrs: dict[str, AttributeValue], options: Any) -> None:
    """`options` as a dict or an `ollama.Options` (a pydantic model whose unset fields are None)."""
    if options is None:
        return
    for key, name in _OPTIONS.items():
        value = _number(get(options, key))
        if value is not None:
            attrs[name] = value
    stop = get(options, "stop")
    if isinstance(stop, str):
        attrs[sc.REQUEST_STOP_SEQUENCES] = (stop,)
    elif isinstance(stop, (list, tuple)) and stop and all(isinstance(s, str) for s in stop):
        attrs[sc.REQUEST_STOP_SEQUENCES] = tuple(stop)


def _format(attrs: dict[str, AttributeValue], value: Any) -> None:
    if value == "json" or isinstance(value, Mapping):
        attrs[sc.OUTPUT_TYPE] = "json"


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_done(resp: GenAIResponse, last: Any) -> None:
    """What the final object (or the whole answer) reports: model, reason, counts, timings."""
    model = get(last, "model")
    if isinstance(model, str) and model:
        resp.model = model
    reason = get(last, "done_reason")
    if isinstance(reason, str) and reason:
        resp.finish_reasons = (reason,)
    resp.usage.input_tokens = _count(get(last, "prompt_eval_count"))
    resp.usage.output_tokens = _count(get(last, "eval_count"))
    for field, name in _DURATIONS:
        nanoseconds = _count(get(last, field))
        if nanoseconds is not None:
            resp.attributes[name] = nanoseconds / 1e9


class OllamaEndpoint(Endpoint):
    """An Ollama method; `positional` names the parameters the client takes positionally, in order."""

    positional: ClassVar[tuple[str, ...]] = ()


class Chat(OllamaEndpoint):
    operation = "chat"
    positional = ("model", "messages")

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        _options(attrs, kwargs.get("options"))
        _format(attrs, kwargs.get("format"))
        if capture:
            req.tool_definitions = content.tool_definitions(kwargs.get("tools"))
            req.system_instructions, req.input_messages = content.chat_input(kwargs.get("messages"), limit)

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse()
        read_done(resp, result)
        if capture:
            message = get(result, "message")
            if message is not None:
                reason = resp.finish_reasons[0] if resp.finish_reasons else "stop"
                resp.output_messages = [
                    {"role": "assistant", "parts": content.message_parts(message, limit), "finish_reason": reason},
                ]
        return resp

    def accumulator(self, capture: bool, limit: int) -> ChatStream:
        return ChatStream(capture, limit)


class ChatStream:
    """Accumulates `ChatResponse` objects of a stream: the last one, and (opt-in) the text."""

    __slots__ = ("calls", "capture", "last", "limit", "text", "thinking")

    def __init__(self, capture: bool, limit: int) -> None:
        self.capture = capture
        self.limit = limit
        self.last: Any = None
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.calls: list[Any] = []

    def add(self, chunk: Any) -> bool:
        self.last = chunk
        message = chunk.message
        if message is None:
            return False
        text, thinking, calls = message.content, message.thinking, message.tool_calls
        if self.capture:
            if text:
                self.text.append(text)
            if thinking:
                self.thinking.append(thinking)
            if calls:
                self.calls.extend(calls)
        return bool(text or thinking or calls)

    def response(self) -> GenAIResponse:
        resp = GenAIResponse()
        if self.last is not None:
            read_done(resp, self.last)
        if self.capture and (self.text or self.thinking or self.calls):
            parts: list[dict[str, Any]] = []
            if self.thinking:
                parts.append(content.reasoning_part("".join(self.thinking), self.limit))
            if self.text:
                parts.append(content.text_part("".join(self.text), self.limit))
            parts.extend(content.tool_call_part(call) for call in self.calls)
            reason = resp.finish_reasons[0] if resp.finish_reasons else "error"
            resp.output_messages = [{"role": "assistant", "parts": parts, "finish_reason": reason}]
        return resp


class Generate(OllamaEndpoint):
    """`generate`: a prompt completed, the conventions' `text_completion`."""

    operation = "text_completion"
    positional = ("model", "prompt", "suffix")

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        _options(attrs, kwargs.get("options"))
        _format(attrs, kwargs.get("format"))
        if capture:
            req.system_instructions, req.input_messages = content.generate_input(kwargs, limit)

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse()
        read_done(resp, result)
        if capture:
            resp.output_messages = _output(get(result, "response"), get(result, "thinking"), resp, limit)
        return resp

    def accumulator(self, capture: bool, limit: int) -> GenerateStream:
        return GenerateStream(capture, limit)


def _output(text: Any, thinking: Any, resp: GenAIResponse, limit: int) -> list[dict[str, Any]] | None:
    parts: list[dict[str, Any]] = []
    if isinstance(thinking, str) and thinking:
        parts.append(content.reasoning_part(thinking, limit))
    if isinstance(text, str) and text:
        parts.append({"type": "text", "content": truncate(text, limit)})
    if not parts:
        return None
    reason = resp.finish_reasons[0] if resp.finish_reasons else "error"
    return [{"role": "assistant", "parts": parts, "finish_reason": reason}]


class GenerateStream:
    """Accumulates `GenerateResponse` objects of a stream."""

    __slots__ = ("capture", "last", "limit", "text", "thinking")

    def __init__(self, capture: bool, limit: int) -> None:
        self.capture = capture
        self.limit = limit
        self.last: Any = None
        self.text: list[str] = []
        self.thinking: list[str] = []

    def add(self, chunk: Any) -> bool:
        self.last = chunk
        text, thinking = chunk.response, chunk.thinking
        if self.capture:
            if text:
                self.text.append(text)
            if thinking:
                self.thinking.append(thinking)
        return bool(text or thinking)

    def response(self) -> GenAIResponse:
        resp = GenAIResponse()
        if self.last is not None:
            read_done(resp, self.last)
        if self.capture:
            resp.output_messages = _output("".join(self.text), "".join(self.thinking), resp, self.limit)
        return resp


class Embed(OllamaEndpoint):
    operation = "embeddings"
    positional = ("model", "input", "truncate", "options", "keep_alive", "dimensions")

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        dimensions = _number(kwargs.get("dimensions"))
        if dimensions is not None:
            req.attributes[sc.EMBEDDINGS_DIMENSION_COUNT] = dimensions

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse()
        read_done(resp, result)
        vectors = get(result, "embeddings")
        if vectors:
            resp.attributes[sc.EMBEDDINGS_DIMENSION_COUNT] = len(vectors[0])
        return resp


class Embeddings(OllamaEndpoint):
    """The older `embeddings` (one prompt, one vector): Ollama reports no counts for it."""

    operation = "embeddings"
    positional = ("model", "prompt", "options", "keep_alive")

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse()
        vector = get(result, "embedding")
        if vector:
            resp.attributes[sc.EMBEDDINGS_DIMENSION_COUNT] = len(vector)
        return resp
