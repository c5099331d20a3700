"""Gemini requests and responses (`google-genai`): generate_content (plain and streamed), embed_content, count_tokens.

Usage is `usage_metadata`: `prompt_token_count` (cached tokens included), `candidates_token_count`,
`cached_content_token_count` (cache reads), `thoughts_token_count` (reasoning) and
`tool_use_prompt_token_count`. Gemini bills thoughts at the output price and does not count them in
`candidates_token_count`, so output tokens are candidates + thoughts (the conventions' output
tokens include reasoning tokens); input tokens are prompt + tool-use prompt tokens. A stream may
repeat usage on every chunk: the last one is read, never a sum.
"""

from __future__ import annotations

import json
from typing import Any

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse, Message
from otel_ai.instrumentation.base import Endpoint

_NUMERIC: dict[str, str] = {
    "temperature": sc.REQUEST_TEMPERATURE,
    "top_p": sc.REQUEST_TOP_P,
    "top_k": sc.REQUEST_TOP_K,
    "max_output_tokens": sc.REQUEST_MAX_TOKENS,
    "seed": sc.REQUEST_SEED,
    "presence_penalty": sc.REQUEST_PRESENCE_PENALTY,
    "frequency_penalty": sc.REQUEST_FREQUENCY_PENALTY,
}
_FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
           "PROHIBITED_CONTENT": "content_filter", "BLOCKLIST": "content_filter", "SPII": "content_filter"}


def get(obj: Any, name: str) -> Any:
    """A field of a pydantic type or of the dict form the client also accepts."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]


def read_usage(resp: GenAIResponse, usage: Any) -> None:
    if usage is None:
        return
    u = resp.usage
    prompt, tool = count(get(usage, "prompt_token_count")), count(get(usage, "tool_use_prompt_token_count"))
    if prompt is not None or tool is not None:
        u.input_tokens = (prompt or 0) + (tool or 0)
    out, thoughts = count(get(usage, "candidates_token_count")), count(get(usage, "thoughts_token_count"))
    if out is not None or thoughts is not None:
        u.output_tokens = (out or 0) + (thoughts or 0)
    u.reasoning_output_tokens = thoughts
    u.cache_read_input_tokens = count(get(usage, "cached_content_token_count"))


def finish_reason(reason: Any) -> str:
    name = getattr(reason, "name", reason)
    name = str(name) if name is not None else "STOP"
    return _FINISH.get(name, name.lower())


def parts_of(content: Any, limit: int) -> list[dict[str, Any]]:
    """A Content (or a string, or a list of parts) as the conventions' parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": truncate(content, limit)}]
    raw = get(content, "parts")
    if raw is None:
        raw = content if isinstance(content, list) else [content]
    out: list[dict[str, Any]] = []
    for part in raw or ():
        if isinstance(part, str):
            out.append({"type": "text", "content": truncate(part, limit)})
            continue
        text, call, result = get(part, "text"), get(part, "function_call"), get(part, "function_response")
        if isinstance(text, str):
            kind = "reasoning" if get(part, "thought") else "text"
            out.append({"type": kind, "content": truncate(text, limit)})
        elif call is not None:
            args = get(call, "args")
            out.append({"type": "tool_call", "id": get(call, "id"), "name": get(call, "name"),
                        "arguments": args if isinstance(args, dict) else None})
        elif result is not None:
            out.append({"type": "tool_call_response", "id": get(result, "id"),
                        "response": truncate(json.dumps(get(result, "response"), default=str), limit)})
        else:
            out.append({"type": "blob"})
    return out


def _input(contents: Any, limit: int) -> list[Message]:
    if contents is None:
        return []
    items = contents if isinstance(contents, list) else [contents]
    if items and all(isinstance(i, str) or (get(i, "parts") is None and get(i, "role") is None) for i in items):
        return [{"role": "user", "parts": parts_of(items, limit)}]
    messages: list[Message] = []
    for item in items:
        role = get(item, "role") if not isinstance(item, str) else "user"
        messages.append({"role": "assistant" if role == "model" else str(role or "user"),
                         "parts": parts_of(item, limit)})
    return messages


def _tools(tools: Any) -> list[dict[str, Any]] | None:
    out: list[dict[str, Any]] = []
    for tool in tools or ():
        for decl in get(tool, "function_declarations") or ():
            entry: dict[str, Any] = {"type": "function", "name": get(decl, "name")}
            if isinstance(get(decl, "description"), str):
                entry["description"] = get(decl, "description")
            params = get(decl, "parameters_json_schema") or get(decl, "parameters")
            dump = getattr(params, "model_dump", None)
            if callable(dump):
                params = dump(mode="json", exclude_none=True)
            if isinstance(params, dict):
                entry["parameters"] = params
            out.append(entry)
    return out or None


class GenerateContent(Endpoint):
    operation = "generate_content"

    def __init__(self, streaming: bool = False) -> None:
        self.streaming = streaming

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        config = kwargs.get("config")
        attrs = req.attributes
        if config is not None:
            for key, name in _NUMERIC.items():
                value = get(config, key)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    attrs[name] = value
            stops = get(config, "stop_sequences")
            if isinstance(stops, list) and stops and all(isinstance(s, str) for s in stops):
                attrs[sc.REQUEST_STOP_SEQUENCES] = tuple(stops)
            n = count(get(config, "candidate_count"))
            if n is not None and n != 1:
                attrs[sc.REQUEST_CHOICE_COUNT] = n
            mime = get(config, "response_mime_type")
            if mime == "application/json":
                attrs[sc.OUTPUT_TYPE] = "json"
            elif mime == "text/plain":
                attrs[sc.OUTPUT_TYPE] = "text"
        if capture:
            req.input_messages = _input(kwargs.get("contents"), limit)
            system = get(config, "system_instruction") if config is not None else None
            if system is not None:
                req.system_instructions = parts_of(system, limit)
            req.tool_definitions = _tools(get(config, "tools") if config is not None else None)

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse(response_id=get(result, "response_id"), model=get(result, "model_version"))
        candidates = get(result, "candidates") or ()
        resp.finish_reasons = [finish_reason(get(c, "finish_reason")) for c in candidates]
        read_usage(resp, get(result, "usage_metadata"))
        if capture:
            resp.output_messages = [
                {"role": "assistant", "parts": parts_of(get(c, "content"), limit),
                 "finish_reason": finish_reason(get(c, "finish_reason"))} for c in candidates
            ] or None
        return resp

    def accumulator(self, capture: bool, limit: int) -> GenerateStream:
        return GenerateStream(capture, limit)


class GenerateStream:
    """Chunks of `generate_content_stream`: the last usage (not a sum), finish reasons, the text."""

    __slots__ = ("capture", "last", "limit", "parts", "reasons", "usage")

    def __init__(self, capture: bool, limit: int) -> None:
        self.capture = capture
        self.limit = limit
        self.last: Any = None
        self.usage: Any = None
        self.reasons: dict[int, str] = {}
        self.parts: dict[int, list[dict[str, Any]]] = {}

    def add(self, chunk: Any) -> bool:
        self.last = chunk
        usage = get(chunk, "usage_metadata")
        if usage is not None:
            self.usage = usage
        candidates = get(chunk, "candidates")
        if not candidates:
            return False
        for position, cand in enumerate(candidates):
            index = count(get(cand, "index")) or position
            reason = get(cand, "finish_reason")
            if reason is not None:
                self.reasons[index] = finish_reason(reason)
            if self.capture:
                merged = self.parts.setdefault(index, [])
                for part in parts_of(get(cand, "content"), 1 << 62):
                    if merged and part["type"] in ("text", "reasoning") and merged[-1]["type"] == part["type"]:
                        merged[-1] = {"type": part["type"], "content": merged[-1]["content"] + part["content"]}
                    else:
                        merged.append(part)
        return True

    def response(self) -> GenAIResponse:
        resp = GenAIResponse()
        if self.last is not None:
            resp.response_id = get(self.last, "response_id")
            resp.model = get(self.last, "model_version")
        if self.reasons:
            resp.finish_reasons = [self.reasons[i] for i in sorted(self.reasons)]
        read_usage(resp, self.usage)
        if self.capture and self.parts:
            out: list[Message] = []
            for i in sorted(self.parts):
                parts = [dict(p, content=truncate(p["content"], self.limit)) if "content" in p else p
                         for p in self.parts[i]]
                out.append({"role": "assistant", "parts": parts, "finish_reason": self.reasons.get(i, "error")})
            resp.output_messages = out
        return resp


class EmbedContent(Endpoint):
    operation = "embeddings"
    streaming = False

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        config = kwargs.get("config")
        dims = count(get(config, "output_dimensionality")) if config is not None else None
        if dims is not None:
            req.attributes[sc.EMBEDDINGS_DIMENSION_COUNT] = dims

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse()
        embeddings = get(result, "embeddings") or ()
        tokens = 0
        seen = False
        for emb in embeddings:
            stats = get(emb, "statistics")
            n = count(get(stats, "token_count")) if stats is not None else None
            if n is None and isinstance(get(stats, "token_count"), float):
                n = int(get(stats, "token_count"))
            if n is not None:
                tokens, seen = tokens + n, True
        if seen:
            resp.usage.input_tokens = tokens
        if embeddings:
            values = get(embeddings[0], "values")
            if isinstance(values, list):
                resp.attributes[sc.EMBEDDINGS_DIMENSION_COUNT] = len(values)
        return resp


class CountTokens(Endpoint):
    """`count_tokens`: sends nothing billable; the total goes on `otel_ai.gemini.count_tokens.total_tokens`."""

    operation = "count_tokens"
    streaming = False

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse()
        total = count(get(result, "total_tokens"))
        if total is not None:
            resp.attributes[sc.GEMINI_COUNT_TOKENS] = total
        return resp
