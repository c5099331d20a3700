"""Mistral AI client instrumentation (`mistralai` 3.x, `mistralai.client.Mistral`).

`chat.complete`, `chat.stream`, `embeddings.create` and their `_async` forms. The client keeps the
sync and async methods on one class (`Chat.complete` and `Chat.complete_async`), so the async
targets say so (`Target.coroutine`). `chat.stream` returns an `EventStream` (server-sent events,
`data: [DONE]` at the end) that sends nothing more once returned: it is wrapped so that the span
ends exactly once, when the stream is exhausted, closed, left by `with`, collected or fails.

The client sends through `httpx2` (a fork of httpx; `HTTPX2ClientInstrumentor` gives its HTTP
spans). Its own OpenTelemetry spans are opt-in (`MISTRAL_SDK_TELEMETRY`, `configure_telemetry`)
and off by default; a user who opts in gets them as children of ours, as asked.
"""

from __future__ import annotations

import functools
import os
from typing import Any, ClassVar
from urllib.parse import urlsplit

from otel_ai.genai.model import GenAIRequest
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import AsyncStreamProxy, SyncStreamProxy
from otel_ai.instrumentation.base import Endpoint, ProviderInstrumentor, Target
from otel_ai.instrumentation.mistral.chat import Chat
from otel_ai.instrumentation.mistral.embeddings import Embeddings
from otel_ai.privacy.secrets import remember

__all__ = ["MistralInstrumentor"]

PROVIDER = "mistral_ai"
_CHAT, _CHAT_STREAM, _EMBEDDINGS = Chat(), Chat(streaming=True), Embeddings()
_DEFAULT_SERVER = "https://api.mistral.ai"
_WATCHED = "_otel_ai_key_watcher"


@functools.lru_cache(maxsize=64)
def _host_port(url: str) -> tuple[str | None, int | None]:
    try:
        parts = urlsplit(url)
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # an odd server URL: the span just goes without the server
        return None, None


class _KeyWatcher:
    """A before-request hook that registers the key the client is about to send.

    For what `describe` cannot read without calling user code: a callable `api_key` (resolved per
    request) and the `MISTRAL_API_KEY` fallback. It reads the request and returns it unchanged.
    """

    def before_request(self, hook_ctx: Any, request: Any) -> Any:
        try:
            auth = request.headers.get("authorization")
            if isinstance(auth, str):
                scheme, _, token = auth.partition(" ")
                remember(token.strip() if scheme.lower() == "bearer" else auth)
        except Exception:  # never break the request over a key we could not read
            pass
        return request


class MistralInstrumentor(ProviderInstrumentor):
    """Instruments the `mistralai` package; `MistralInstrumentor().instrument()` or auto-instrumentation."""

    provider_library = "mistralai"
    instruments: ClassVar[tuple[str, ...]] = ("mistralai >= 3.0, < 4",)
    targets: ClassVar[tuple[Target, ...]] = (
        Target("mistralai.client.chat", "Chat", "complete", _CHAT),
        Target("mistralai.client.chat", "Chat", "complete_async", _CHAT, coroutine=True),
        Target("mistralai.client.chat", "Chat", "stream", _CHAT_STREAM),
        Target("mistralai.client.chat", "Chat", "stream_async", _CHAT_STREAM, coroutine=True),
        Target("mistralai.client.embeddings", "Embeddings", "create", _EMBEDDINGS),
        Target("mistralai.client.embeddings", "Embeddings", "create_async", _EMBEDDINGS, coroutine=True),
    )

    def prepare(self) -> None:
        from mistralai.client.sdkconfiguration import SERVERS
        from mistralai.client.utils.eventstreaming import EventStream, EventStreamAsync

        self._servers: dict[str, str] = dict(SERVERS)
        self._stream: type = EventStream
        self._async_stream: type = EventStreamAsync

    def describe(self, instance: Any, kwargs: dict[str, Any], endpoint: Endpoint) -> GenAIRequest:
        config = getattr(instance, "sdk_configuration", None)
        if config is not None:
            self._remember_key(config)
        url = kwargs.get("server_url")
        if not isinstance(url, str) or not url:
            url = getattr(config, "server_url", None)
            if not isinstance(url, str) or not url:
                url = self._servers.get(getattr(config, "server", None) or "", _DEFAULT_SERVER)
        host, port = _host_port(url)
        model = kwargs.get("model")
        return GenAIRequest(
            operation=endpoint.operation,
            provider=PROVIDER,
            model=model if isinstance(model, str) else None,
            server_address=host,
            server_port=port,
            stream=getattr(endpoint, "streaming", False),
        )

    def result(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, result: Any) -> Any:
        if isinstance(result, self._stream):
            return SyncStreamProxy(result, recorder, inv, endpoint.accumulator(recorder.capture_content,
                                                                               recorder.content_limit))
        if isinstance(result, self._async_stream):
            return AsyncStreamProxy(result, recorder, inv, endpoint.accumulator(recorder.capture_content,
                                                                                recorder.content_limit))
        return super().result(recorder, endpoint, inv, result)

    @staticmethod
    def _remember_key(config: Any) -> None:
        """Register the client's key before anything is sent: `sdk_configuration.security.api_key`.

        A callable key, or none (the client then sends `MISTRAL_API_KEY`), is registered as it is
        sent, by a hook added once to the client's own hooks.
        """
        security = getattr(config, "security", None)
        key = getattr(security, "api_key", None)
        if isinstance(key, str):
            remember(key)
            return
        if security is None:
            remember(os.environ.get("MISTRAL_API_KEY"))
        hooks = getattr(config, "_hooks", None)
        if hooks is not None and not getattr(hooks, _WATCHED, False):
            hooks.register_before_request_hook(_KeyWatcher())
            setattr(hooks, _WATCHED, True)
