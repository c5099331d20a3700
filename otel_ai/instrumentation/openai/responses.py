"""The Responses API (`responses.create` / `parse`; its `stream()` helper calls `create`)."""

from __future__ import annotations

from typing import Any

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.openai import content
from otel_ai.instrumentation.openai._shared import output_type, read_request, read_usage, service_tier
from otel_ai.instrumentation.openai.content import get

_NUMERIC = {
    "temperature": sc.REQUEST_TEMPERATURE,
    "top_p": sc.REQUEST_TOP_P,
    "max_output_tokens": sc.REQUEST_MAX_TOKENS,
}
_OTHER = {"service_tier": service_tier}
_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class Responses(Endpoint):
    operation = "chat"

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        attrs[sc.OPENAI_API_TYPE] = "responses"
        read_request(attrs, kwargs, _NUMERIC, _OTHER)
        text = kwargs.get("text")
        kind = output_type(get(text, "format") if text is not None else None)
        if kind is None and kwargs.get("text_format") is not None:
            kind = "json"
        if kind:
            attrs[sc.OUTPUT_TYPE] = kind
        conversation = kwargs.get("conversation")  # a conversation id, or {"id": ...}: the call's own
        conversation = get(conversation, "id") if conversation is not None and not isinstance(conversation, str) \
            else conversation
        if isinstance(conversation, str) and conversation:
            attrs[sc.CONVERSATION_ID] = conversation[:256]
        if capture:
            req.system_instructions, req.input_messages = content.responses_input(
                kwargs.get("instructions"), kwargs.get("input"), limit
            )
            req.tool_definitions = content.tool_definitions(kwargs.get("tools"))

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse(response_id=get(result, "id"), model=get(result, "model"))
        reason = finish_reason(result)
        resp.finish_reasons = [reason]
        read_usage(resp, get(result, "usage"), "input_tokens", "output_tokens")
        tier = get(result, "service_tier")
        if isinstance(tier, str):
            resp.attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] = tier
        conversation = get(get(result, "conversation"), "id")  # the conversation the response was stored in
        if isinstance(conversation, str) and conversation:
            resp.attributes[sc.CONVERSATION_ID] = conversation[:256]
        if capture:
            resp.output_messages = content.responses_output(get(result, "output"), reason, limit)
        return resp

    def accumulator(self, capture: bool, limit: int) -> ResponsesStream:
        return ResponsesStream(self, capture, limit)


def finish_reason(result: Any) -> str:
    status = get(result, "status")
    if status == "completed":
        return "tool_calls" if any(get(i, "type") == "function_call" for i in get(result, "output") or ()) else "stop"
    if status == "incomplete":
        details = get(result, "incomplete_details")
        reason = get(details, "reason") if details is not None else None
        return "length" if reason == "max_output_tokens" else str(reason or "incomplete")
    return str(status or "error")


class ResponsesStream:
    """Accumulates Responses API stream events; the final `response.*` event carries everything."""

    __slots__ = ("capture", "endpoint", "final", "latest", "limit")

    def __init__(self, endpoint: Responses, capture: bool, limit: int) -> None:
        self.endpoint = endpoint
        self.capture = capture
        self.limit = limit
        self.final: Any = None
        self.latest: Any = None

    def add(self, event: Any) -> bool:
        kind = event.type
        if kind.endswith(".delta"):
            return True
        response = getattr(event, "response", None)
        if response is not None:
            self.latest = response
            if kind in _FINAL_EVENTS:
                self.final = response
        return False

    def response(self) -> GenAIResponse:
        if self.final is not None:
            return self.endpoint.response(self.final, self.capture, self.limit)
        resp = GenAIResponse()
        if self.latest is not None:
            resp.response_id = get(self.latest, "id")
            resp.model = get(self.latest, "model")
        return resp
