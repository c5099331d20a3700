"""OpenAI (and OpenAI-compatible: DeepSeek, Groq, ...) client instrumentation for openai 1.x-3.x.

Thin by design: it reads requests and responses of the `openai` package and hands plain values to
the shared `GenAIRecorder`. Wrapped methods: chat completions `create`/`parse`, responses
`create`/`parse` (the `stream()` helpers call `create`), embeddings `create`, sync and async.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Callable, Collection
from typing import Any, cast

import wrapt
from opentelemetry.instrumentation.dependencies import get_dependency_conflicts
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.util.types import AttributeValue

from otel_ai.genai import semconv as sc
from otel_ai.genai.recorder import GenAIRecorder, GenAIRequest, GenAIResponse, Invocation
from otel_ai.genai.streams import AsyncStreamProxy, SyncStreamProxy
from otel_ai.instrumentation.openai import content as _content
from otel_ai.instrumentation.openai.content import get
from otel_ai.instrumentation.openai.providers import provider_for_host
from otel_ai.privacy.secrets import remember
from otel_ai.sdk.guard import report

_logger = logging.getLogger("otel_ai")
_instruments = ("openai >= 1.40.0",)

# (module, class.method, api) — every target is optional: older or newer openai may lack some.
_TARGETS: tuple[tuple[str, str, str], ...] = (
    ("openai.resources.chat.completions", "Completions.create", "chat"),
    ("openai.resources.chat.completions", "AsyncCompletions.create", "chat"),
    ("openai.resources.chat.completions", "Completions.parse", "chat"),
    ("openai.resources.chat.completions", "AsyncCompletions.parse", "chat"),
    ("openai.resources.beta.chat.completions", "Completions.parse", "chat"),
    ("openai.resources.beta.chat.completions", "AsyncCompletions.parse", "chat"),
    ("openai.resources.responses", "Responses.create", "responses"),
    ("openai.resources.responses", "AsyncResponses.create", "responses"),
    ("openai.resources.responses", "Responses.parse", "responses"),
    ("openai.resources.responses", "AsyncResponses.parse", "responses"),
    ("openai.resources.embeddings", "Embeddings.create", "embeddings"),
    ("openai.resources.embeddings", "AsyncEmbeddings.create", "embeddings"),
)


class OpenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the `openai` package; `OpenAIInstrumentor().instrument()` or auto-instrumentation."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        # opentelemetry-instrument skips per-instrumentor checks; check our own range here.
        conflict = get_dependency_conflicts(_instruments)
        if conflict is not None:
            _logger.warning("otel-ai: OpenAI instrumentation skipped: %s", conflict)
            return
        from otel_ai.errors import ConfigError
        from otel_ai.sdk import setup as _setup
        from otel_ai.sdk import state as _state

        try:
            recorder = _state.recorder(
                tracer_provider=kwargs.get("tracer_provider"),
                meter_provider=kwargs.get("meter_provider"),
                logger_provider=kwargs.get("logger_provider"),
            )
        except ConfigError as exc:
            _logger.error("otel-ai: configuration error, OpenAI instrumentation disabled: %s", exc)
            return
        if kwargs.get("tracer_provider") is None:
            _setup.protect_foreign_providers()  # another configurator may have built the SDK
        openai_types = _OpenAITypes.load()
        for module_name, attribute, api in _TARGETS:
            try:
                module = importlib.import_module(module_name)
                owner_name, method = attribute.split(".")
                owner = getattr(module, owner_name, None)
                if owner is None or method not in vars(owner):
                    continue
                is_async = owner_name.startswith("Async")
                wrapper = _make_wrapper(recorder, openai_types, _APIS[api], is_async=is_async)
                wrapt.wrap_function_wrapper(owner, method, wrapper)
            except ImportError:
                continue

    def _uninstrument(self, **kwargs: Any) -> None:
        # BaseInstrumentor is a singleton whose __init__ runs on every call: keep no state on it.
        for owner, method in _wrapped_targets():
            unwrap(owner, method)


def _wrapped_targets() -> list[tuple[Any, str]]:
    found = []
    for module_name, attribute, _ in _TARGETS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        owner_name, method = attribute.split(".")
        owner = getattr(module, owner_name, None)
        if owner is not None and isinstance(vars(owner).get(method), wrapt.FunctionWrapper):
            found.append((owner, method))
    return found


class _OpenAITypes:
    """The openai classes the wrappers test results against, resolved once."""

    def __init__(self, stream: type, async_stream: type, raw: tuple[type, ...], streamed: tuple[type, ...]) -> None:
        self.stream = stream
        self.async_stream = async_stream
        self.raw = raw
        self.streamed = streamed

    @classmethod
    def load(cls) -> _OpenAITypes:
        import openai
        from openai import _legacy_response, _response

        return cls(
            stream=openai.Stream,
            async_stream=openai.AsyncStream,
            raw=(_legacy_response.LegacyAPIResponse,),
            streamed=(_response.APIResponse, _response.AsyncAPIResponse),
        )


# --------------------------------------------------------------------------------------------
# Client → provider, server address and port (cached on the client object)


def _target(instance: Any, recorder: GenAIRecorder) -> tuple[str, str | None, int | None]:
    client = getattr(instance, "_client", None)
    if client is None:
        return "openai", None, None
    remember(getattr(client, "api_key", None))
    base_url = getattr(client, "base_url", None)
    cached = getattr(client, "_otel_ai_target", None)
    if cached is not None and cached[0] is base_url:
        return cached[1]  # type: ignore[no-any-return]
    host = getattr(base_url, "host", None) or None
    port = getattr(base_url, "port", None)
    if port is None and host:
        port = 443 if getattr(base_url, "scheme", "https") == "https" else 80
    provider = provider_for_host(host or "", recorder.settings.provider_hosts)
    value = (provider, host, port)
    with contextlib.suppress(Exception):  # a client class with __slots__ just goes uncached
        client._otel_ai_target = (base_url, value)
    return value


def _number(value: Any) -> AttributeValue | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _put(attrs: dict[str, AttributeValue], key: str, value: Any) -> None:
    number = _number(value)
    if number is not None:
        attrs[key] = number


# --------------------------------------------------------------------------------------------
# Per-API reading of requests, responses and stream chunks


class _API:
    operation = ""

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        raise NotImplementedError

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        raise NotImplementedError

    def accumulator(self, capture: bool, limit: int) -> Any:
        raise NotImplementedError


def _output_type(response_format: Any) -> str | None:
    if response_format is None:
        return None
    kind = get(response_format, "type")
    if kind in ("json_object", "json_schema"):
        return "json"
    if kind == "text":
        return "text"
    if isinstance(response_format, type):  # a pydantic model passed to `parse`
        return "json"
    return None


def _generation_attrs(attrs: dict[str, AttributeValue], kwargs: dict[str, Any], api_type: str) -> None:
    """Request attributes both text-generation APIs (chat completions, responses) share."""
    attrs[sc.OPENAI_API_TYPE] = api_type
    _put(attrs, sc.REQUEST_TEMPERATURE, kwargs.get("temperature"))
    _put(attrs, sc.REQUEST_TOP_P, kwargs.get("top_p"))
    tier = kwargs.get("service_tier")
    if isinstance(tier, str) and tier != "auto":
        attrs[sc.OPENAI_REQUEST_SERVICE_TIER] = tier


class _Chat(_API):
    operation = "chat"

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        _generation_attrs(attrs, kwargs, "chat_completions")
        max_tokens = kwargs.get("max_completion_tokens")
        if _number(max_tokens) is None:
            max_tokens = kwargs.get("max_tokens")
        _put(attrs, sc.REQUEST_MAX_TOKENS, max_tokens)
        _put(attrs, sc.REQUEST_FREQUENCY_PENALTY, kwargs.get("frequency_penalty"))
        _put(attrs, sc.REQUEST_PRESENCE_PENALTY, kwargs.get("presence_penalty"))
        _put(attrs, sc.REQUEST_SEED, kwargs.get("seed"))
        n = kwargs.get("n")
        if isinstance(n, int) and n != 1:
            attrs[sc.REQUEST_CHOICE_COUNT] = n
        stop = kwargs.get("stop")
        if isinstance(stop, str):
            attrs[sc.REQUEST_STOP_SEQUENCES] = (stop,)
        elif isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
            attrs[sc.REQUEST_STOP_SEQUENCES] = tuple(stop)
        output_type = _output_type(kwargs.get("response_format"))
        if output_type:
            attrs[sc.OUTPUT_TYPE] = output_type
        if capture:
            req.system_instructions, req.input_messages = _content.chat_input(kwargs.get("messages"), limit)
            req.tool_definitions = _content.tool_definitions(kwargs.get("tools"))

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse(response_id=get(result, "id"), model=get(result, "model"))
        choices = get(result, "choices") or ()
        resp.finish_reasons = [get(c, "finish_reason") or "error" for c in choices]
        _chat_usage(resp, get(result, "usage"))
        _openai_response_attrs(resp, result)
        if capture:
            resp.output_messages = _content.chat_output(choices, limit)
        return resp

    def accumulator(self, capture: bool, limit: int) -> _ChatStream:
        return _ChatStream(capture, limit)


def _usage(resp: GenAIResponse, usage: Any, input_key: str, output_key: str) -> None:
    """Token counts; both APIs name the details objects after their totals (`<key>_details`)."""
    if usage is None:
        return
    resp.input_tokens = get(usage, input_key)
    resp.output_tokens = get(usage, output_key)
    input_details = get(usage, f"{input_key}_details")
    if input_details is not None:
        resp.cached_input_tokens = get(input_details, "cached_tokens")
    output_details = get(usage, f"{output_key}_details")
    if output_details is not None:
        resp.reasoning_tokens = get(output_details, "reasoning_tokens")


def _chat_usage(resp: GenAIResponse, usage: Any) -> None:
    _usage(resp, usage, "prompt_tokens", "completion_tokens")


def _openai_response_attrs(resp: GenAIResponse, result: Any) -> None:
    fingerprint = get(result, "system_fingerprint")
    if isinstance(fingerprint, str):
        resp.attributes[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = fingerprint
    tier = get(result, "service_tier")
    if isinstance(tier, str):
        resp.attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] = tier


class _ChatStream:
    """Accumulates `ChatCompletionChunk`s: ids, finish reasons, usage and (opt-in) the text."""

    __slots__ = ("capture", "choices", "chunk", "limit", "reasons", "usage")

    def __init__(self, capture: bool, limit: int) -> None:
        self.capture = capture
        self.limit = limit
        self.chunk: Any = None
        self.usage: Any = None
        self.reasons: dict[int, str] = {}
        self.choices: dict[int, dict[str, Any]] = {}

    def add(self, chunk: Any) -> bool:
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
            _openai_response_attrs(resp, last)
        if self.reasons:
            resp.finish_reasons = [self.reasons[i] for i in sorted(self.reasons)]
        _chat_usage(resp, self.usage)
        if self.capture and self.choices:
            messages = []
            for index in sorted(self.choices):
                state = self.choices[index]
                parts: list[dict[str, Any]] = []
                if state["text"]:
                    text = _content.truncate("".join(state["text"]), self.limit)
                    parts.append({"type": "text", "content": text})
                for _, tool in sorted(state["tools"].items()):
                    function = {"name": tool["name"], "arguments": "".join(tool["arguments"])}
                    call = {"id": tool["id"], "function": function}
                    parts.append(_content._tool_call_part(call, self.limit))
                reason = self.reasons.get(index, "error")
                messages.append({"role": "assistant", "parts": parts, "finish_reason": reason})
            resp.output_messages = messages
        return resp


class _Responses(_API):
    operation = "chat"

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        _generation_attrs(attrs, kwargs, "responses")
        _put(attrs, sc.REQUEST_MAX_TOKENS, kwargs.get("max_output_tokens"))
        text = kwargs.get("text")
        output_type = _output_type(get(text, "format") if text is not None else None)
        if output_type is None and kwargs.get("text_format") is not None:
            output_type = "json"
        if output_type:
            attrs[sc.OUTPUT_TYPE] = output_type
        if capture:
            req.system_instructions, req.input_messages = _content.responses_input(
                kwargs.get("instructions"), kwargs.get("input"), limit
            )
            req.tool_definitions = _content.tool_definitions(kwargs.get("tools"))

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse(response_id=get(result, "id"), model=get(result, "model"))
        reason = _responses_finish_reason(result)
        resp.finish_reasons = [reason]
        _usage(resp, get(result, "usage"), "input_tokens", "output_tokens")
        tier = get(result, "service_tier")
        if isinstance(tier, str):
            resp.attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] = tier
        if capture:
            resp.output_messages = _content.responses_output(get(result, "output"), reason, limit)
        return resp

    def accumulator(self, capture: bool, limit: int) -> _ResponsesStream:
        return _ResponsesStream(self, capture, limit)


def _responses_finish_reason(result: Any) -> str:
    status = get(result, "status")
    if status == "completed":
        return "tool_calls" if any(get(i, "type") == "function_call" for i in get(result, "output") or ()) else "stop"
    if status == "incomplete":
        details = get(result, "incomplete_details")
        reason = get(details, "reason") if details is not None else None
        return "length" if reason == "max_output_tokens" else str(reason or "incomplete")
    return str(status or "error")


class _ResponsesStream:
    """Accumulates Responses API stream events; the final `response.*` event carries everything."""

    __slots__ = ("api", "capture", "final", "latest", "limit")

    def __init__(self, api: _Responses, capture: bool, limit: int) -> None:
        self.api = api
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
            if kind in ("response.completed", "response.incomplete", "response.failed"):
                self.final = response
        return False

    def response(self) -> GenAIResponse:
        if self.final is not None:
            return self.api.response(self.final, self.capture, self.limit)
        resp = GenAIResponse()
        if self.latest is not None:
            resp.response_id = get(self.latest, "id")
            resp.model = get(self.latest, "model")
        return resp


class _Embeddings(_API):
    operation = "embeddings"

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        encoding = kwargs.get("encoding_format")
        if isinstance(encoding, str):
            attrs[sc.REQUEST_ENCODING_FORMATS] = (encoding,)
        _put(attrs, sc.EMBEDDINGS_DIMENSION_COUNT, kwargs.get("dimensions"))

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse(model=get(result, "model"))
        usage = get(result, "usage")
        if usage is not None:
            resp.input_tokens = get(usage, "prompt_tokens")
        data = get(result, "data") or ()
        if data:
            vector = get(data[0], "embedding")
            if isinstance(vector, list):
                resp.attributes[sc.EMBEDDINGS_DIMENSION_COUNT] = len(vector)
        return resp

    def accumulator(self, capture: bool, limit: int) -> Any:
        raise TypeError("embeddings do not stream")


_APIS: dict[str, _API] = {"chat": _Chat(), "responses": _Responses(), "embeddings": _Embeddings()}


# --------------------------------------------------------------------------------------------
# The wrappers: start, call, hand the result (or the stream proxy) to the recorder


def _begin(recorder: GenAIRecorder, api: _API, instance: Any, kwargs: dict[str, Any]) -> Invocation | None:
    try:
        provider, host, port = _target(instance, recorder)
        model = kwargs.get("model")
        req = GenAIRequest(
            operation=api.operation,
            provider=provider,
            model=model if isinstance(model, str) else None,
            server_address=host,
            server_port=port,
            stream=kwargs.get("stream") is True,
        )
        api.request(kwargs, req, recorder.capture_content, recorder.settings.content_max_length)
        return recorder.start(req)
    except Exception as exc:
        report("openai.request", exc)
        return None


def _finish(recorder: GenAIRecorder, types: _OpenAITypes, api: _API, inv: Invocation, result: Any) -> Any:
    """Record a returned value; returns what the caller gets (a stream proxy for streams)."""
    capture, limit = recorder.capture_content, recorder.settings.content_max_length
    try:
        if isinstance(result, types.stream):
            return SyncStreamProxy(result, recorder, inv, api.accumulator(capture, limit))
        if isinstance(result, types.async_stream):
            return AsyncStreamProxy(result, recorder, inv, api.accumulator(capture, limit))
        if isinstance(result, types.raw):
            # `with_raw_response`: the body is already read; parsing caches, so the user's parse is free.
            parsed = None if inv.request.stream else cast(Any, result).parse()
            recorder.end(inv, api.response(parsed, capture, limit) if parsed is not None else None)
            return result
        if isinstance(result, types.streamed):
            recorder.end(inv, None)  # `with_streaming_response`: the body belongs to the caller, unread
            return result
        recorder.end(inv, api.response(result, capture, limit))
    except Exception as exc:
        report("openai.response", exc)
        recorder.end(inv, None)
    return result


def _make_wrapper(recorder: GenAIRecorder, types: _OpenAITypes, api: _API, *, is_async: bool) -> Callable[..., Any]:
    if is_async:

        async def async_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            inv = _begin(recorder, api, instance, kwargs)
            if inv is None:
                return await wrapped(*args, **kwargs)
            token = recorder.activate(inv)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                recorder.fail(inv, exc)
                raise
            finally:
                recorder.deactivate(token)
            return _finish(recorder, types, api, inv, result)

        return async_wrapper

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        inv = _begin(recorder, api, instance, kwargs)
        if inv is None:
            return wrapped(*args, **kwargs)
        token = recorder.activate(inv)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            recorder.fail(inv, exc)
            raise
        finally:
            recorder.deactivate(token)
        return _finish(recorder, types, api, inv, result)

    return wrapper
