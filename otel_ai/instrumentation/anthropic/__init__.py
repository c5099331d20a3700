"""Anthropic client instrumentation for anthropic 2.x: `Anthropic`, `AsyncAnthropic` and the Bedrock and Vertex clients.

`messages` reads the Messages API (create, parse, stream, count_tokens; the beta forms are the same
shapes), `content` its content blocks, `native` switches the SDK's own call spans off while ours record
the call. The provider is the one the client names itself (`anthropic`, `aws.bedrock`, `gcp.vertex_ai`).
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from otel_ai.genai.model import GenAIRequest
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import AsyncStreamProxy, SyncStreamProxy
from otel_ai.instrumentation.anthropic import native
from otel_ai.instrumentation.anthropic.messages import CountTokens, Messages
from otel_ai.instrumentation.base import Endpoint, ProviderInstrumentor, Target
from otel_ai.instrumentation.openai.raw import AsyncRawResponseProxy, RawResponseProxy
from otel_ai.privacy.secrets import remember

__all__ = ["AnthropicInstrumentor"]

_MESSAGES, _STREAM, _COUNT = Messages(), Messages(streams=True), CountTokens()
_PROVIDERS = frozenset({"anthropic", "aws.bedrock", "gcp.vertex_ai", "azure.ai.inference"})
# Credentials the clients keep: the API key, a bearer token, and the Bedrock and Vertex ones.
_SECRETS = ("api_key", "auth_token", "aws_secret_key", "aws_access_key", "aws_session_token", "access_token")


class AnthropicInstrumentor(ProviderInstrumentor):
    """Instruments the `anthropic` package; `AnthropicInstrumentor().instrument()` or auto-instrumentation."""

    provider_library = "anthropic"
    instruments: ClassVar[tuple[str, ...]] = ("anthropic >= 2.0",)
    native_scope: ClassVar[str] = native.SCOPE
    targets: ClassVar[tuple[Target, ...]] = tuple(
        Target(module, prefix + "Messages", method, endpoint, context=method == "stream")
        for module in ("anthropic.resources.messages.messages", "anthropic.resources.beta.messages.messages")
        for method, endpoint in (
            ("create", _MESSAGES), ("parse", _MESSAGES), ("stream", _STREAM), ("count_tokens", _COUNT),
        )
        for prefix in ("", "Async")
    )

    def prepare(self) -> None:
        import anthropic
        from anthropic import _response

        self._stream: type[Any] = anthropic.Stream
        self._async_stream: type[Any] = anthropic.AsyncStream
        self._response: type[Any] = _response.APIResponse
        self._async_response: type[Any] = _response.AsyncAPIResponse

    def silence_native(self) -> None:
        native.install()

    def unsilence_native(self) -> None:
        native.uninstall()

    def describe(self, instance: Any, kwargs: dict[str, Any], endpoint: Endpoint) -> GenAIRequest:
        provider, host, port = self._target(instance)
        model = kwargs.get("model")
        streams = endpoint is _STREAM or kwargs.get("stream") is True
        return GenAIRequest(
            operation=endpoint.operation,
            provider=provider,
            model=model if isinstance(model, str) else None,
            server_address=host,
            server_port=port,
            stream=streams,
        )

    def result(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, result: Any) -> Any:
        capture, limit = recorder.capture_content, recorder.content_limit
        if isinstance(result, self._stream):
            return SyncStreamProxy(result, recorder, inv, endpoint.accumulator(capture, limit))
        if isinstance(result, self._async_stream):
            return AsyncStreamProxy(result, recorder, inv, endpoint.accumulator(capture, limit))
        if isinstance(result, self._response):
            if not inv.request.stream and result.is_closed:
                # `with_raw_response`: the body is read; parsing caches, so the user's parse is free.
                recorder.end(inv, endpoint.response(result.parse(), capture, limit))
                return result
            return RawResponseProxy(result, recorder, inv, endpoint, self._stream)
        if isinstance(result, self._async_response):
            if not inv.request.stream and result.is_closed:
                recorder.end(inv, endpoint.response(result.http_response.json(), capture, limit))
                return result
            return AsyncRawResponseProxy(result, recorder, inv, endpoint, self._async_stream)
        return super().result(recorder, endpoint, inv, result)

    def entered(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, value: Any) -> Any:
        """`messages.stream()` entered: its `MessageStream` reads every event (iteration, `text_stream`,
        `get_final_message`, `until_done`) from `_raw_stream`, so that is where the proxy goes."""
        raw = getattr(value, "_raw_stream", None)
        acc = endpoint.accumulator(recorder.capture_content, recorder.content_limit)
        if isinstance(raw, self._stream):
            value._raw_stream = SyncStreamProxy(raw, recorder, inv, acc)
        elif isinstance(raw, self._async_stream):
            value._raw_stream = AsyncStreamProxy(raw, recorder, inv, acc)
        else:
            recorder.end(inv, None)
        return value

    def _target(self, instance: Any) -> tuple[str, str | None, int | None]:
        """(provider, host, port) of the client behind a resource, cached per base URL and key."""
        client = getattr(instance, "_client", None)
        if client is None:
            return "anthropic", None, None
        state = getattr(client, "__dict__", None) or {}
        base_url = state.get("_base_url")
        key = tuple(state.get(name) for name in _SECRETS)
        cached = state.get("_otel_ai_target")
        if cached is not None and cached[0] is base_url and cached[1] == key:
            return cached[2]  # type: ignore[no-any-return]
        for secret in key:
            if isinstance(secret, str):
                remember(secret)
        provider = getattr(client, "_gen_ai_provider_name", None)
        if provider not in _PROVIDERS:
            provider = "anthropic"
        host = getattr(base_url, "host", None) or None
        port = getattr(base_url, "port", None)
        if port is None and host:
            port = 443 if getattr(base_url, "scheme", "https") == "https" else 80
        value = (provider, host, port)
        with contextlib.suppress(Exception):
            client._otel_ai_target = (base_url, key, value)
        return value
