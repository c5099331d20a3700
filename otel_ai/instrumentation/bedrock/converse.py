"""`converse` / `converse_stream`: Bedrock's one request shape for every model family.

Content blocks are single-key objects (`{"text": ...}`, `{"toolUse": ...}`, `{"toolResult": ...}`,
`{"image": ...}`, `{"reasoningContent": ...}`); each becomes one part of the GenAI conventions.
Usage is `inputTokens` (cache reads and writes apart: they are added, as the conventions count them)
and `outputTokens`; a stream gives it in its `metadata` event and its stop reason in `messageStop`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse, Message
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.openai.content import truncate

# stopReason → the conventions' finish reason of an output message (the span keeps Bedrock's value).
FINISH_REASONS = {
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_call",
    "guardrail_intervened": "content_filter", "content_filtered": "content_filter",
    "model_context_window_exceeded": "length",
}


def count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(value: Any) -> int | float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def finish_reason(reason: Any) -> str:
    return FINISH_REASONS.get(reason, "error") if isinstance(reason, str) else "error"


def read_usage(resp: GenAIResponse, usage: Any) -> None:
    if not isinstance(usage, Mapping):
        return
    counts = resp.usage
    read = count(usage.get("cacheReadInputTokens"))
    written = count(usage.get("cacheWriteInputTokens"))
    uncached = count(usage.get("inputTokens"))
    if uncached is not None:
        counts.input_tokens = uncached + (read or 0) + (written or 0)
    counts.output_tokens = count(usage.get("outputTokens"))
    counts.cache_read_input_tokens = read
    counts.cache_creation_input_tokens = written


def _text(value: Any, limit: int) -> str:
    return truncate(value if isinstance(value, str) else "", limit)


def block_part(block: Any, limit: int) -> dict[str, Any]:
    if not isinstance(block, Mapping):
        return {"type": "unknown"}
    if "text" in block:
        return {"type": "text", "content": _text(block["text"], limit)}
    if "toolUse" in block:
        use = block["toolUse"] if isinstance(block["toolUse"], Mapping) else {}
        return {"type": "tool_call", "id": use.get("toolUseId"), "name": use.get("name"), "arguments": use.get("input")}
    if "toolResult" in block:
        res = block["toolResult"] if isinstance(block["toolResult"], Mapping) else {}
        inner = res.get("content")
        pieces = []
        for item in inner if isinstance(inner, list) else ():
            if isinstance(item, Mapping):
                pieces.append(item["text"] if isinstance(item.get("text"), str)
                              else json.dumps(item.get("json"), default=str))
        return {"type": "tool_call_response", "id": res.get("toolUseId"), "response": truncate("".join(pieces), limit)}
    if "reasoningContent" in block:
        reasoning = block["reasoningContent"]
        text = reasoning.get("reasoningText") if isinstance(reasoning, Mapping) else None
        return {"type": "reasoning", "content": _text(text.get("text") if isinstance(text, Mapping) else None, limit)}
    for modality in ("image", "document", "video"):
        if modality in block:
            return {"type": "blob", "modality": modality}
    return {"type": next(iter(block), "unknown")}


def parts(content: Any, limit: int) -> list[dict[str, Any]]:
    return [block_part(b, limit) for b in content] if isinstance(content, list) else []


def tool_definitions(config: Any) -> list[Message] | None:
    tools = config.get("tools") if isinstance(config, Mapping) else None
    out: list[Message] = []
    for tool in tools if isinstance(tools, list) else ():
        spec = tool.get("toolSpec") if isinstance(tool, Mapping) else None
        if isinstance(spec, Mapping):
            schema = spec.get("inputSchema")
            out.append({"type": "function", "name": spec.get("name"), "description": spec.get("description"),
                        "parameters": schema.get("json") if isinstance(schema, Mapping) else None})
    return out or None


class Converse(Endpoint):
    operation = "chat"

    def __init__(self, streaming: bool = False) -> None:
        self.streaming = streaming

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        params = kwargs["params"]
        attrs = req.attributes
        config = params.get("inferenceConfig")
        if isinstance(config, Mapping):
            for key, name in (("maxTokens", sc.REQUEST_MAX_TOKENS), ("temperature", sc.REQUEST_TEMPERATURE),
                              ("topP", sc.REQUEST_TOP_P)):
                value = number(config.get(key))
                if value is not None:
                    attrs[name] = value
            stops = config.get("stopSequences")
            if isinstance(stops, list) and stops and all(isinstance(s, str) for s in stops):
                attrs[sc.REQUEST_STOP_SEQUENCES] = tuple(stops)
        extra = params.get("additionalModelRequestFields")
        if isinstance(extra, Mapping) and number(extra.get("top_k")) is not None:
            attrs[sc.REQUEST_TOP_K] = extra["top_k"]
        if capture:
            req.system_instructions = parts(params.get("system"), limit) or None
            messages = params.get("messages")
            req.input_messages = [
                {"role": m.get("role") or "user", "parts": parts(m.get("content"), limit)}
                for m in (messages if isinstance(messages, list) else ()) if isinstance(m, Mapping)
            ] or None
            req.tool_definitions = tool_definitions(params.get("toolConfig"))

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse(response_id=request_id(result))
        reason = result.get("stopReason")
        if isinstance(reason, str):
            resp.finish_reasons = [reason]
        read_usage(resp, result.get("usage"))
        if capture:
            output = result.get("output")
            message = output.get("message") if isinstance(output, Mapping) else None
            content = message.get("content") if isinstance(message, Mapping) else None
            resp.output_messages = [{"role": "assistant", "parts": parts(content, limit),
                                     "finish_reason": finish_reason(reason)}]
        return resp

    def accumulator(self, capture: bool, limit: int) -> ConverseStream:
        return ConverseStream(capture, limit)


def request_id(result: Any) -> str | None:
    meta = result.get("ResponseMetadata") if isinstance(result, Mapping) else None
    found = meta.get("RequestId") if isinstance(meta, Mapping) else None
    return found if isinstance(found, str) else None


class ConverseStream:
    """Accumulates `converse_stream` events: content blocks by index, `messageStop`, `metadata`."""

    __slots__ = ("blocks", "capture", "limit", "reason", "request_id", "usage")

    def __init__(self, capture: bool, limit: int) -> None:
        self.capture = capture
        self.limit = limit
        self.reason: Any = None
        self.usage: Any = None
        self.request_id: str | None = None
        self.blocks: dict[int, dict[str, Any]] = {}

    def add(self, event: Any) -> bool:
        if "contentBlockDelta" in event:
            if self.capture:
                body = event["contentBlockDelta"]
                block = self.blocks.setdefault(body.get("contentBlockIndex", 0), {"kind": "text", "pieces": []})
                delta = body.get("delta") or {}
                if "text" in delta:
                    block["pieces"].append(delta["text"])
                elif "toolUse" in delta:
                    block["pieces"].append(delta["toolUse"].get("input", ""))
                elif "reasoningContent" in delta:
                    block["kind"] = "reasoning"
                    block["pieces"].append(delta["reasoningContent"].get("text", ""))
            return True
        if "contentBlockStart" in event:
            if self.capture:
                body = event["contentBlockStart"]
                use = (body.get("start") or {}).get("toolUse")
                if isinstance(use, Mapping):
                    self.blocks[body.get("contentBlockIndex", 0)] = {
                        "kind": "tool_call", "id": use.get("toolUseId"), "name": use.get("name"), "pieces": []}
            return False
        if "messageStop" in event:
            self.reason = event["messageStop"].get("stopReason")
        elif "metadata" in event:
            self.usage = event["metadata"].get("usage")
        return False

    def response(self) -> GenAIResponse:
        resp = GenAIResponse(response_id=self.request_id)
        if isinstance(self.reason, str):
            resp.finish_reasons = [self.reason]
        read_usage(resp, self.usage)
        if self.capture:
            out: list[dict[str, Any]] = []
            for index in sorted(self.blocks):
                block = self.blocks[index]
                text = "".join(p for p in block["pieces"] if isinstance(p, str))
                if block["kind"] == "tool_call":
                    try:
                        arguments: Any = json.loads(text) if text else {}
                    except ValueError:
                        arguments = truncate(text, self.limit)
                    out.append({"type": "tool_call", "id": block["id"], "name": block["name"], "arguments": arguments})
                else:
                    out.append({"type": block["kind"], "content": truncate(text, self.limit)})
            resp.output_messages = [{"role": "assistant", "parts": out, "finish_reason": finish_reason(self.reason)}]
        return resp
