"""Cohere client instrumentation (`cohere` 7.x, `cohere.ClientV2` and `cohere.AsyncClientV2`).

`chat`, `chat_stream`, `embed` and `rerank`, sync and async. The targets are the v2 raw clients
(`cohere.v2.raw_client.RawV2Client`, `AsyncRawV2Client`), which every v2 call goes through:
`ClientV2` copies its `chat` and `chat_stream` onto each instance when it is built (to check
arguments), so wrapping `V2Client` would miss clients built before `instrument()` and keep recording
on them after `uninstrument()`; the raw client is looked up on every call. The raw `chat_stream` is a
context manager that sends the request when entered and gives an `HttpResponse` whose `data` is the
event iterator: that iterator is wrapped, so the span ends exactly once, when the events run out,
fail, or the `with` is left (the `chat_stream` generator closed, broken out of, collected).
`with_raw_response` calls are recorded the same way.

The client holds its key in `client_wrapper._token` (a string, `CO_API_KEY` resolved at
construction, or a callable called per request) and, for the async client, an optional
`_async_token`: a string is registered for redaction before anything is sent, a callable is wrapped
once so that what it returns is registered as it is sent (the value sent is unchanged).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar
from urllib.parse import urlsplit

from otel_ai.genai.model import GenAIRequest
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import AsyncStreamProxy, SyncStreamProxy
from otel_ai.instrumentation.base import Endpoint, ProviderInstrumentor, Target
from otel_ai.instrumentation.cohere.chat import Chat
from otel_ai.instrumentation.cohere.embed import Embed, Rerank
from otel_ai.privacy.secrets import remember

__all__ = ["CohereInstrumentor"]

PROVIDER = "cohere"
_CHAT, _CHAT_STREAM, _EMBED, _RERANK = Chat(), Chat(streaming=True), Embed(), Rerank()
_DEFAULT_SERVER = "https://api.cohere.com"
_RAW = "cohere.v2.raw_client"


@functools.lru_cache(maxsize=64)
def _host_port(url: str) -> tuple[str | None, int | None]:
    try:
        parts = urlsplit(url)
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # an odd base URL: the span just goes without the server
        return None, None


class _KeyWatcher:
    """Stands in for a callable key: calls it, registers what it returned, returns that unchanged."""

    __slots__ = ("key",)

    def __init__(self, key: Callable[[], str]) -> None:
        self.key = key

    def __call__(self) -> str:
        value = self.key()
        remember(value)
        return value


class _AsyncKeyWatcher:
    """The same for the async client's `async_token` (a coroutine function)."""

    __slots__ = ("key",)

    def __init__(self, key: Callable[[], Awaitable[str]]) -> None:
        self.key = key

    async def __call__(self) -> str:
        value = await self.key()
        remember(value)
        return value


def _watch_keys(wrapper: Any) -> None:
    """Register the client's key, or make its callable key register itself (once per client)."""
    state = getattr(wrapper, "__dict__", None)
    if state is None:
        return
    token = state.get("_token")
    if isinstance(token, str):
        remember(token)
    elif callable(token) and not isinstance(token, _KeyWatcher):
        wrapper._token = _KeyWatcher(token)
    async_token = state.get("_async_token")
    if callable(async_token) and not isinstance(async_token, _AsyncKeyWatcher):
        wrapper._async_token = _AsyncKeyWatcher(async_token)


class CohereInstrumentor(ProviderInstrumentor):
    """Instruments the `cohere` package; `CohereInstrumentor().instrument()` or auto-instrumentation."""

    provider_library = "cohere"
    instruments: ClassVar[tuple[str, ...]] = ("cohere >= 7.0, < 8",)
    targets: ClassVar[tuple[Target, ...]] = (
        Target(_RAW, "RawV2Client", "chat", _CHAT),
        Target(_RAW, "AsyncRawV2Client", "chat", _CHAT),
        Target(_RAW, "RawV2Client", "chat_stream", _CHAT_STREAM, context=True),
        Target(_RAW, "AsyncRawV2Client", "chat_stream", _CHAT_STREAM, context=True),
        Target(_RAW, "RawV2Client", "embed", _EMBED),
        Target(_RAW, "AsyncRawV2Client", "embed", _EMBED),
        Target(_RAW, "RawV2Client", "rerank", _RERANK),
        Target(_RAW, "AsyncRawV2Client", "rerank", _RERANK),
    )

    def describe(self, instance: Any, kwargs: dict[str, Any], endpoint: Endpoint) -> GenAIRequest:
        wrapper = getattr(instance, "_client_wrapper", None)
        url = None
        if wrapper is not None:
            _watch_keys(wrapper)
            url = getattr(wrapper, "_base_url", None)
        host, port = _host_port(url if isinstance(url, str) and url else _DEFAULT_SERVER)
        model = kwargs.get("model")
        return GenAIRequest(
            operation=endpoint.operation,
            provider=PROVIDER,
            model=model if isinstance(model, str) else None,
            server_address=host,
            server_port=port,
            stream=getattr(endpoint, "streaming", False),
        )

    def entered(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, value: Any) -> Any:
        """The raw `chat_stream` entered: the request went out and `value.data` iterates the events."""
        data = getattr(value, "_data", None)
        if data is None or not hasattr(value, "_data"):
            recorder.end(inv, None)
            return value
        acc = endpoint.accumulator(recorder.capture_content, recorder.content_limit)
        proxy: Any
        if hasattr(data, "__anext__"):
            proxy = AsyncStreamProxy(data, recorder, inv, acc)
        else:
            proxy = SyncStreamProxy(data, recorder, inv, acc)
        value._data = proxy
        finisher = proxy._self_finisher

        def close(exc: BaseException | None) -> None:
            # The `with` was left: the events read so far are the call (an error fails it).
            if exc is None:
                finisher.end()
            else:
                finisher.fail(exc)

        inv.closer = close
        return value
