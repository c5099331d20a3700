"""OpenAI (and OpenAI-compatible: DeepSeek, Groq, ...) client instrumentation for openai 1.x-3.x.

One module per API it reads (`chat`, `responses`, `embeddings`, `audio`, `images`, `moderations`;
`media` for what the audio and image APIs share), message content in the
conventions' parts shape (`content`), provider detection by base-URL host (`providers`), and the
`with_raw_response` / `with_streaming_response` wrappers (`raw`), and `OTEL_AI_STREAM_USAGE` for
Chat Completions streams (`stream_usage`, `tokens`). Everything else is the base.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from otel_ai.genai.model import GenAIRequest
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import AsyncStreamProxy, SyncStreamProxy
from otel_ai.guard import report
from otel_ai.instrumentation.base import Endpoint, ProviderInstrumentor, Target
from otel_ai.instrumentation.openai import reported, stream_usage
from otel_ai.instrumentation.openai.audio import Speech, SpeechToText
from otel_ai.instrumentation.openai.chat import Chat
from otel_ai.instrumentation.openai.embeddings import Embeddings
from otel_ai.instrumentation.openai.images import Images
from otel_ai.instrumentation.openai.media import RequestBound, wrap_body
from otel_ai.instrumentation.openai.moderations import Moderations
from otel_ai.instrumentation.openai.providers import provider_for_host
from otel_ai.instrumentation.openai.raw import AsyncRawResponseProxy, RawResponseProxy
from otel_ai.instrumentation.openai.responses import Responses
from otel_ai.instrumentation.openai.stream_usage import usage_plan
from otel_ai.privacy.secrets import remember

__all__ = ["OpenAIInstrumentor"]

_CHAT, _RESPONSES, _EMBEDDINGS = Chat(), Responses(), Embeddings()
_SPEECH, _TRANSCRIPTION, _TRANSLATION = Speech(), SpeechToText(), SpeechToText(translation=True)
_IMAGES, _MODERATIONS = Images(), Moderations()


class OpenAIInstrumentor(ProviderInstrumentor):
    """Instruments the `openai` package; `OpenAIInstrumentor().instrument()` or auto-instrumentation."""

    provider_library = "openai"
    instruments: ClassVar[tuple[str, ...]] = ("openai >= 1.40.0",)
    targets: ClassVar[tuple[Target, ...]] = tuple(
        Target(module, prefix + owner, method, endpoint)
        for module, owner, method, endpoint in (
            ("openai.resources.chat.completions", "Completions", "create", _CHAT),
            ("openai.resources.chat.completions", "Completions", "parse", _CHAT),
            ("openai.resources.beta.chat.completions", "Completions", "parse", _CHAT),
            ("openai.resources.responses", "Responses", "create", _RESPONSES),
            ("openai.resources.responses", "Responses", "parse", _RESPONSES),
            ("openai.resources.embeddings", "Embeddings", "create", _EMBEDDINGS),
            ("openai.resources.audio.speech", "Speech", "create", _SPEECH),
            ("openai.resources.audio.transcriptions", "Transcriptions", "create", _TRANSCRIPTION),
            ("openai.resources.audio.translations", "Translations", "create", _TRANSLATION),
            ("openai.resources.images", "Images", "generate", _IMAGES),
            ("openai.resources.moderations", "Moderations", "create", _MODERATIONS),
        )
        for prefix in ("", "Async")
    )

    def _instrument(self, **kwargs: Any) -> None:
        super()._instrument(**kwargs)
        try:  # Realtime voice sessions: a connection object, not a call (see realtime.py)
            from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

            from otel_ai.instrumentation.openai import realtime
            from otel_ai.runtime import state

            if get_dependency_conflicts(self.instruments) is None:
                realtime.install(state.recorder(kwargs.get("tracer_provider"), kwargs.get("meter_provider"),
                                                kwargs.get("logger_provider")))
        except Exception as exc:
            report("openai.realtime.install", exc)
        try:  # a LiteLLM proxy's cost header (reported.py); openai is imported by now (`prepare`)
            reported.install()
        except Exception as exc:
            report("openai.reported_cost.install", exc)

    def _uninstrument(self, **kwargs: Any) -> None:
        super()._uninstrument(**kwargs)
        from otel_ai.instrumentation.openai import realtime

        realtime.uninstall()
        reported.uninstall()

    def prepare(self) -> None:
        import openai
        from openai import _legacy_response, _response

        self._stream: type = openai.Stream
        self._async_stream: type = openai.AsyncStream
        self._raw: type = _legacy_response.LegacyAPIResponse
        self._streamed: type = _response.APIResponse
        self._async_streamed: type = _response.AsyncAPIResponse

    def describe(self, instance: Any, kwargs: dict[str, Any], endpoint: Endpoint) -> GenAIRequest:
        provider, host, port = self._target(instance)
        model = kwargs.get("model")
        request = GenAIRequest(
            operation=endpoint.operation,
            provider=provider,
            model=model if isinstance(model, str) else None,
            server_address=host,
            server_port=port,
            stream=kwargs.get("stream") is True,
        )
        if request.stream and endpoint is _CHAT:
            from otel_ai.runtime import state as agent_state

            modes = agent_state.settings().stream_usage
            if modes:  # OTEL_AI_STREAM_USAGE: may add `stream_options` to the kwargs about to be sent
                return stream_usage.plan(request, kwargs, modes)
        return request

    def result(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, result: Any) -> Any:
        capture, limit = recorder.capture_content, recorder.content_limit
        if isinstance(endpoint, RequestBound):  # audio, images: read knowing what was asked (media.py)
            endpoint = endpoint.bind(inv.request)
            body = endpoint.body_accumulator(result)  # speech through `with_streaming_response`
            if body is not None:
                return wrap_body(recorder, inv, result, body)
        plan = usage_plan(inv.request)
        if plan is not None and isinstance(result, (self._stream, self._async_stream)):
            return stream_usage.wrap(result, recorder, inv, plan, isinstance(result, self._async_stream))
        if isinstance(result, self._stream):
            return SyncStreamProxy(result, recorder, inv, endpoint.accumulator(capture, limit))
        if isinstance(result, self._async_stream):
            return AsyncStreamProxy(result, recorder, inv, endpoint.accumulator(capture, limit))
        if isinstance(result, self._raw):
            if not inv.request.stream:
                # `with_raw_response`: the body is already read; parsing caches, so the user's parse is free.
                resp = endpoint.response(result.parse(), capture, limit)  # type: ignore[attr-defined]
                recorder.end(inv, reported.with_header(resp, reported.from_headers(result.headers)))  # type: ignore[attr-defined]
                return result
            return RawResponseProxy(result, recorder, inv, endpoint, self._stream)
        if isinstance(result, self._streamed):  # `with_streaming_response`: the caller reads the body
            return RawResponseProxy(result, recorder, inv, endpoint, self._stream)
        if isinstance(result, self._async_streamed):
            return AsyncRawResponseProxy(result, recorder, inv, endpoint, self._async_stream)
        recorder.end(inv, reported.with_header(endpoint.response(result, capture, limit), reported.take(inv.span)))
        return result

    def sent(self, instance: Any) -> None:
        """Register a key from a callable (`api_key=get_token`): the client resolves it per request.

        Until this request was sent `client.api_key` held the previous key (or ""), so `_target`
        could not see it; an error body that echoes it would reach the span's status unredacted.
        """
        client = getattr(instance, "_client", None)
        if getattr(client, "_api_key_provider", None) is not None:
            remember(getattr(client, "api_key", None))

    def _target(self, instance: Any) -> tuple[str, str | None, int | None]:
        """(provider, host, port) of the client behind a resource, cached on the client.

        The cache is keyed by the client's base URL and API key objects: a client pointed elsewhere
        is looked at again, and a new key is registered with the redactor before any export.
        """
        client = getattr(instance, "_client", None)
        if client is None:
            return "openai", None, None
        state = getattr(client, "__dict__", None) or {}
        base_url = state.get("_base_url")
        if base_url is None:
            base_url = getattr(client, "base_url", None)
        api_key = state.get("api_key") if "api_key" in state else getattr(client, "api_key", None)
        cached = state.get("_otel_ai_target")
        if cached is not None and cached[0] is base_url and cached[1] is api_key:
            return cached[2]  # type: ignore[no-any-return]
        remember(api_key)
        remember(getattr(client, "admin_api_key", None))
        host = getattr(base_url, "host", None) or None
        port = getattr(base_url, "port", None)
        if port is None and host:
            port = 443 if getattr(base_url, "scheme", "https") == "https" else 80
        from otel_ai.runtime import state as agent_state

        value = (provider_for_host(host or "", agent_state.settings().provider_hosts), host, port)
        with contextlib.suppress(Exception):  # a client class with __slots__ just goes uncached
            client._otel_ai_target = (base_url, api_key, value)
        return value
