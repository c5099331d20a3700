"""`invoke_model` / `invoke_model_with_response_stream`: each model family's own JSON body.

The family is read from the model id (`anthropic.`, `meta.`, `mistral.`, `amazon.`, `cohere.`, after
any region prefix such as `us.`). The request body gives the parameters; the usage comes from the
body where the family reports it (Anthropic, Meta, Amazon Nova), else from the token-count headers
Bedrock adds to every answer (`x-amzn-bedrock-input-token-count`), and in a stream from the
`amazon-bedrock-invocationMetrics` of its last chunk. The response body (a one-shot stream) is read
once and handed back as a fresh `StreamingBody` with the same bytes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.bedrock.converse import FINISH_REASONS, count, number, request_id
from otel_ai.instrumentation.openai.content import truncate

_REGIONS = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")

# Request keys by family: (max tokens, temperature, top p, top k, stop sequences).
_PARAMS: dict[str, tuple[str, ...]] = {
    "anthropic": ("max_tokens", "temperature", "top_p", "top_k", "stop_sequences"),
    "meta": ("max_gen_len", "temperature", "top_p", "", ""),
    "mistral": ("max_tokens", "temperature", "top_p", "top_k", "stop"),
    "amazon": ("max_new_tokens", "temperature", "top_p", "top_k", "stopSequences"),
    "cohere": ("max_tokens", "temperature", "p", "k", "stop_sequences"),
}
# Stop reasons of the other families → the conventions' finish reason of an output message.
_REASONS = {**FINISH_REASONS, "stop": "stop", "length": "length", "COMPLETE": "stop", "MAX_TOKENS": "length",
            "tool_calls": "tool_call", "ERROR_TOXIC": "content_filter"}


def _finish(reason: Any) -> str:
    return _REASONS.get(reason, "error") if isinstance(reason, str) else "error"


_NAMES = (sc.REQUEST_MAX_TOKENS, sc.REQUEST_TEMPERATURE, sc.REQUEST_TOP_P, sc.REQUEST_TOP_K, sc.REQUEST_STOP_SEQUENCES)


def family(model: Any) -> str:
    if not isinstance(model, str):
        return ""
    for prefix in _REGIONS:
        if model.startswith(prefix):
            model = model[len(prefix):]
            break
    return str(model.partition(".")[0])


def load(body: Any) -> Any:
    if isinstance(body, (bytes, bytearray, str)):
        try:
            return json.loads(body)
        except ValueError:
            return None
    return None


def _reason(doc: Mapping[str, Any]) -> Any:
    """The stop reason wherever a family puts it (top level, Nova's `messageStop`, Mistral's lists)."""
    for key in ("stop_reason", "stopReason", "finish_reason", "completionReason"):
        if isinstance(doc.get(key), str):
            return doc[key]
    for key in ("messageStop", "delta"):
        inner = doc.get(key)
        if isinstance(inner, Mapping) and isinstance(inner.get("stop_reason") or inner.get("stopReason"), str):
            return inner.get("stop_reason") or inner.get("stopReason")
    for key in ("outputs", "choices", "results"):
        items = doc.get(key)
        if isinstance(items, list) and items and isinstance(items[0], Mapping):
            return _reason(items[0])
    return None


def _text(doc: Mapping[str, Any]) -> str:
    """The generated text of a body or stream chunk, whatever the family."""
    for key in ("generation", "text", "outputText", "completion"):
        if isinstance(doc.get(key), str):
            return str(doc[key])
    content = doc.get("content")
    if isinstance(content, list):  # Anthropic
        return "".join(b.get("text", "") for b in content if isinstance(b, Mapping) and b.get("type") == "text")
    if isinstance(content, str):
        return content
    for key in ("delta", "contentBlockDelta", "message"):
        inner = doc.get(key)
        if isinstance(inner, Mapping):
            inner = inner.get("delta", inner) if key == "contentBlockDelta" else inner
            found = _text(inner)
            if found:
                return found
    output = doc.get("output")
    if isinstance(output, Mapping):  # Nova
        return _text(output)
    for key in ("outputs", "choices", "results", "generations"):
        items = doc.get(key)
        if isinstance(items, list) and items and isinstance(items[0], Mapping):
            return _text(items[0])
    return ""


def _usage(resp: GenAIResponse, doc: Mapping[str, Any]) -> None:
    counts = resp.usage
    usage = doc.get("usage")
    if isinstance(usage, Mapping):
        if "input_tokens" in usage:  # Anthropic: input excludes cache reads and writes
            read = count(usage.get("cache_read_input_tokens"))
            written = count(usage.get("cache_creation_input_tokens"))
            uncached = count(usage.get("input_tokens"))
            if uncached is not None:
                counts.input_tokens = uncached + (read or 0) + (written or 0)
            counts.output_tokens = count(usage.get("output_tokens"))
            counts.cache_read_input_tokens, counts.cache_creation_input_tokens = read, written
        else:  # Amazon Nova
            read = count(usage.get("cacheReadInputTokenCount"))
            written = count(usage.get("cacheWriteInputTokenCount"))
            uncached = count(usage.get("inputTokens"))
            if uncached is not None:
                counts.input_tokens = uncached + (read or 0) + (written or 0)
            counts.output_tokens = count(usage.get("outputTokens"))
            counts.cache_read_input_tokens, counts.cache_creation_input_tokens = read, written
    elif "prompt_token_count" in doc:  # Meta
        counts.input_tokens = count(doc.get("prompt_token_count"))
        counts.output_tokens = count(doc.get("generation_token_count"))


class InvokeModel(Endpoint):
    operation = "chat"

    def __init__(self, streaming: bool = False) -> None:
        self.streaming = streaming

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        params = kwargs["params"]
        doc = load(params.get("body"))
        if not isinstance(doc, Mapping):
            return
        keys = _PARAMS.get(family(params.get("modelId")))
        if keys is None:
            return
        config = doc.get("inferenceConfig")
        source: Mapping[str, Any] = config if isinstance(config, Mapping) else doc
        attrs = req.attributes
        for key, name in zip(keys, _NAMES, strict=True):
            value = source.get(key) if key else None
            if name == sc.REQUEST_STOP_SEQUENCES:
                if isinstance(value, list) and value and all(isinstance(s, str) for s in value):
                    attrs[name] = tuple(value)
            elif number(value) is not None:
                attrs[name] = value
        if capture:
            self._content(doc, req, limit)

    @staticmethod
    def _content(doc: Mapping[str, Any], req: GenAIRequest, limit: int) -> None:
        from otel_ai.instrumentation.anthropic import content as anthropic
        from otel_ai.instrumentation.bedrock.converse import parts

        messages = doc.get("messages")
        if isinstance(messages, list):
            system = doc.get("system")
            if isinstance(system, str):
                req.system_instructions = [{"type": "text", "content": truncate(system, limit)}]
            elif isinstance(system, list):
                req.system_instructions = parts(system, limit) or None
            req.input_messages = [
                {"role": m.get("role") or "user",
                 "parts": anthropic.parts(m.get("content"), limit) if "type" in str(m.get("content"))[:40]
                 or isinstance(m.get("content"), str) else parts(m.get("content"), limit)}
                for m in messages if isinstance(m, Mapping)
            ] or None
            req.tool_definitions = anthropic.tool_definitions(doc.get("tools"))
            return
        prompt = doc.get("prompt", doc.get("message", doc.get("inputText")))
        if isinstance(prompt, str):
            req.input_messages = [{"role": "user", "parts": [{"type": "text", "content": truncate(prompt, limit)}]}]

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        body = result.get("body")
        read = getattr(body, "read", None)
        if read is None:
            return GenAIResponse(response_id=request_id(result))
        data = read()
        from botocore.response import StreamingBody  # type: ignore[import-untyped]

        result["body"] = StreamingBody(io.BytesIO(data), len(data))
        return self.parse(result, data, capture, limit)

    def parse(self, result: Any, data: bytes | None, capture: bool, limit: int) -> GenAIResponse:
        """The response from the body's bytes (read by the sync or the async client; None: unread)."""
        resp = GenAIResponse(response_id=request_id(result))
        doc = load(data)
        if isinstance(doc, Mapping):
            reason = _reason(doc)
            if isinstance(reason, str):
                resp.finish_reasons = [reason]
            _usage(resp, doc)
            if isinstance(doc.get("id"), str):
                resp.response_id = doc["id"]
            if isinstance(doc.get("model"), str):
                resp.model = doc["model"]
            if capture:
                resp.output_messages = [{"role": "assistant", "parts": [{"type": "text",
                                         "content": truncate(_text(doc), limit)}],
                                         "finish_reason": _finish(reason)}]
        if not resp.usage.has_tokens:
            meta = result.get("ResponseMetadata") or {}
            headers = meta.get("HTTPHeaders") or {}
            resp.usage.input_tokens = _header(headers, "x-amzn-bedrock-input-token-count")
            resp.usage.output_tokens = _header(headers, "x-amzn-bedrock-output-token-count")
        return resp

    def accumulator(self, capture: bool, limit: int) -> InvokeStream:
        return InvokeStream(capture, limit)


def _header(headers: Mapping[str, Any], name: str) -> int | None:
    value = headers.get(name)
    return int(value) if isinstance(value, str) and value.isdigit() else None


class InvokeStream:
    """Accumulates `{"chunk": {"bytes": ...}}` events: the text, the stop reason, the invocation metrics."""

    __slots__ = ("capture", "limit", "metrics", "reason", "request_id", "texts")

    def __init__(self, capture: bool, limit: int) -> None:
        self.capture = capture
        self.limit = limit
        self.reason: Any = None
        self.metrics: Any = None
        self.request_id: str | None = None
        self.texts: list[str] = []

    def add(self, event: Any) -> bool:
        chunk = event.get("chunk")
        if not isinstance(chunk, Mapping):
            return False
        doc = load(chunk.get("bytes"))
        if not isinstance(doc, Mapping):
            return False
        metrics = doc.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, Mapping):
            self.metrics = metrics
        reason = _reason(doc)
        if isinstance(reason, str):
            self.reason = reason
        if doc.get("type") == "message_start" and isinstance(doc.get("message"), Mapping):
            message = doc["message"]
            self.request_id = message.get("id") if isinstance(message.get("id"), str) else self.request_id
            return False
        text = _text(doc)
        if self.capture and text:
            self.texts.append(text)
        return bool(text)

    def response(self) -> GenAIResponse:
        resp = GenAIResponse(response_id=self.request_id)
        if isinstance(self.reason, str):
            resp.finish_reasons = [self.reason]
        if isinstance(self.metrics, Mapping):
            counts, metrics = resp.usage, self.metrics
            read = count(metrics.get("cacheReadInputTokenCount"))
            written = count(metrics.get("cacheWriteInputTokenCount"))
            uncached = count(metrics.get("inputTokenCount"))
            if uncached is not None:
                counts.input_tokens = uncached + (read or 0) + (written or 0)
            counts.output_tokens = count(metrics.get("outputTokenCount"))
            counts.cache_read_input_tokens, counts.cache_creation_input_tokens = read, written
        if self.capture:
            resp.output_messages = [{"role": "assistant", "parts": [{"type": "text", "content":
                                     truncate("".join(self.texts), self.limit)}],
                                     "finish_reason": _finish(self.reason)}]
        return resp
