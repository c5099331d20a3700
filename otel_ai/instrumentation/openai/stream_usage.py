"""`OTEL_AI_STREAM_USAGE`: usage for Chat Completions streams that would end without it (docs/stream-usage.md).

`inject` (opt-in: it changes the request) adds `stream_options.include_usage` to a
`chat.completions.create(stream=True)` that did not ask for usage, merged into any other
`stream_options` the caller passed, and hides what that adds from the app: the extra final chunk
(empty `choices`, `usage` set) is read and dropped, and the `usage: null` the provider then puts on
every other chunk is unmarked as set, so `chunk.usage`, `to_dict()` and `model_dump(exclude_unset=True)`
are what they would have been. A caller that asked for usage itself, or said `include_usage: false`,
is left alone; so are `with_raw_response` / `with_streaming_response` calls, whose caller may read
the raw bytes, which cannot be edited.

`estimate` counts a stream that ended without usage offline (tokens.py) and marks the span
`otel_ai.usage.estimated = true`.

The plan for a call rides on its request (`PlannedRequest`), from `describe` to `result`; streams
without a plan keep the plain proxy, so with the setting off no chunk pays anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import AsyncStreamProxy, SyncStreamProxy
from otel_ai.guard import report
from otel_ai.instrumentation.openai import tokens
from otel_ai.instrumentation.openai.chat import ChatStream

__all__ = ["AsyncUsageStream", "EstimatingChatStream", "PlannedRequest", "SyncUsageStream", "UsagePlan", "plan"]

RAW_RESPONSE_HEADER = "x-stainless-raw-response"  # what openai's with_raw_response / with_streaming_response add


class UsagePlan:
    """What the agent does for one stream: whether it asked for usage, and what to estimate with."""

    __slots__ = ("encoding", "injected", "messages", "tools")

    def __init__(self, injected: bool, encoding: str | None, messages: Any, tools: Any) -> None:
        self.injected = injected
        self.encoding = encoding  # the tiktoken encoding to estimate with; None: no estimate
        self.messages = messages
        self.tools = tools


class PlannedRequest(GenAIRequest):
    """A `GenAIRequest` carrying its `UsagePlan` to `result` (the recorder sees a plain request)."""

    __slots__ = ("usage_plan",)
    usage_plan: UsagePlan


def _raw(kwargs: dict[str, Any]) -> bool:
    headers = kwargs.get("extra_headers")
    return isinstance(headers, Mapping) and any(
        isinstance(key, str) and key.lower() == RAW_RESPONSE_HEADER for key in headers
    )


def _inject(kwargs: dict[str, Any]) -> bool:
    """Ask for the usage chunk; True when the request was changed. `kwargs` is the dict about to be sent."""
    options = kwargs.get("stream_options")
    if not options:  # absent, None, openai's NOT_GIVEN / omit, or {}
        kwargs["stream_options"] = {"include_usage": True}
        return True
    if isinstance(options, Mapping) and "include_usage" not in options:
        kwargs["stream_options"] = {**options, "include_usage": True}  # a copy: the caller's dict is theirs
        return True
    return False  # asked already, declined, or a shape we do not know


def plan(request: GenAIRequest, kwargs: dict[str, Any], modes: frozenset[str]) -> GenAIRequest:
    """For a Chat Completions stream: inject and/or prepare an estimate, per `modes`; never raises.

    The request is changed last, once nothing else can fail: a request that was changed always gets
    the proxy that hides the change.
    """
    try:
        if _raw(kwargs):
            return request
        encoding = None
        if "estimate" in modes:
            encoding = tokens.encoding_for(request.model)
            if encoding is not None:
                tokens.warm(encoding)
        messages = kwargs.get("messages")
        if isinstance(messages, list):
            messages = list(messages)  # the app may append the reply to its list before the stream ends
        usage = UsagePlan(False, encoding, messages, kwargs.get("tools"))
        planned = PlannedRequest(**{f.name: getattr(request, f.name) for f in fields(GenAIRequest)})
    except Exception as exc:
        report("openai.stream_usage", exc)
        return request
    try:  # `_inject` assigns last: if it fails, nothing was changed
        usage.injected = "inject" in modes and _inject(kwargs)
    except Exception as exc:
        report("openai.stream_usage", exc)
    if not usage.injected and encoding is None:
        return request
    planned.usage_plan = usage
    return planned


def usage_plan(request: GenAIRequest) -> UsagePlan | None:
    return getattr(request, "usage_plan", None)


def visible(chunk: Any) -> bool:
    """Whether the app sees `chunk` of an injected stream; undoes on it what the injection added."""
    try:
        if chunk.usage is not None:
            if not chunk.choices:
                return False  # the usage chunk the agent asked for
            chunk.usage = None  # a provider that puts usage on a content chunk: the app would have seen none
        fields = getattr(chunk, "__pydantic_fields_set__", None)  # pydantic 2
        if fields is None:
            fields = getattr(chunk, "__fields_set__", None)  # pydantic 1 (openai 1.x supports both)
        if fields is not None:
            fields.discard("usage")  # `usage: null` was sent only because usage was asked for
    except Exception as exc:
        report("openai.stream_usage", exc)
    return True


class SyncUsageStream(SyncStreamProxy):
    """A stream the agent asked usage for: every chunk is accounted, the usage chunk never handed out."""

    def __next__(self) -> Any:
        while True:
            chunk = SyncStreamProxy.__next__(self)
            if visible(chunk):
                return chunk


class AsyncUsageStream(AsyncStreamProxy):
    async def __anext__(self) -> Any:
        while True:
            chunk = await AsyncStreamProxy.__anext__(self)
            if visible(chunk):
                return chunk


class EstimatingChatStream(ChatStream):
    """A `ChatStream` that also keeps the output text (content off or on), to count it if no usage comes."""

    __slots__ = ("plan", "texts")

    def __init__(self, capture: bool, limit: int, plan: UsagePlan) -> None:
        super().__init__(capture, limit)
        self.plan = plan
        self.texts: dict[int, list[str]] = {}

    def add(self, chunk: Any) -> bool:
        carried = ChatStream.add(self, chunk)
        if carried:
            for choice in chunk.choices:
                delta = choice.delta
                if delta is None:
                    continue
                texts = self.texts.setdefault(choice.index, [])
                if delta.content:
                    texts.append(delta.content)
                refusal = getattr(delta, "refusal", None)
                if refusal:
                    texts.append(refusal)
                for call in delta.tool_calls or ():
                    function = call.function
                    if function is not None:
                        if function.name:
                            texts.append(function.name)
                        if function.arguments:
                            texts.append(function.arguments)
        return carried

    def response(self) -> GenAIResponse:
        resp = ChatStream.response(self)
        if self.usage is None and self.plan.encoding is not None:
            try:
                estimate(resp, self.plan, ["".join(parts) for parts in self.texts.values()])
            except Exception as exc:
                report("openai.estimate", exc)
        return resp


def estimate(resp: GenAIResponse, plan: UsagePlan, outputs: list[str]) -> None:
    """Fill `resp.usage` with tiktoken's counts, marked estimated; nothing when either count is unknown."""
    assert plan.encoding is not None
    input_tokens = tokens.count_input(plan.encoding, plan.messages, plan.tools)
    output_tokens = tokens.count_output(plan.encoding, outputs)
    if input_tokens is None or output_tokens is None:
        return
    resp.usage.input_tokens = input_tokens
    resp.usage.output_tokens = output_tokens
    resp.attributes[sc.USAGE_ESTIMATED] = True


def wrap(
    result: Any, recorder: GenAIRecorder, inv: Invocation, plan: UsagePlan, is_async: bool
) -> SyncStreamProxy | AsyncStreamProxy:
    """The proxy for a planned stream: strips the injected usage chunk, estimates when asked."""
    capture, limit = recorder.capture_content, recorder.content_limit
    acc = EstimatingChatStream(capture, limit, plan) if plan.encoding is not None else ChatStream(capture, limit)
    if is_async:
        return (AsyncUsageStream if plan.injected else AsyncStreamProxy)(result, recorder, inv, acc)
    return (SyncUsageStream if plan.injected else SyncStreamProxy)(result, recorder, inv, acc)
