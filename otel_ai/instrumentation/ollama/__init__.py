"""Ollama client instrumentation (`ollama` 0.4 and later): `chat`, `generate`, `embed`, `embeddings`,
on `Client` and `AsyncClient`, plain and streaming, and the module-level functions (`ollama.chat`, ...)
that call the package's default client.

`gen_ai.provider.name` is `ollama` (not in the conventions' registry). A streamed call returns a
generator that sends nothing until it is first read: that first read runs under the call's span, so
the HTTP request is its child. Models run on the user's machine, so a call costs a known zero
(`otel_ai.pricing.source = local`, from the catalog's `local_providers`).
"""

from __future__ import annotations

import inspect
import sys
from types import ModuleType
from typing import Any, ClassVar

import wrapt

from otel_ai.genai.model import GenAIRequest
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import AsyncStreamProxy, SyncStreamProxy
from otel_ai.guard import report
from otel_ai.instrumentation.base import Endpoint, ProviderInstrumentor, Target
from otel_ai.instrumentation.ollama.endpoints import Chat, Embed, Embeddings, Generate, OllamaEndpoint
from otel_ai.privacy.secrets import remember

__all__ = ["OllamaInstrumentor"]

_CHAT, _GENERATE, _EMBED, _EMBEDDINGS = Chat(), Generate(), Embed(), Embeddings()
_METHODS: tuple[tuple[str, Endpoint], ...] = (
    ("chat", _CHAT), ("generate", _GENERATE), ("embed", _EMBED), ("embeddings", _EMBEDDINGS),
)
# The key under which `arguments` hands positional arguments to `describe` (never a real parameter).
_POSITIONAL = "\x00positional"
_hook_registered = False


class _Lines(SyncStreamProxy):
    """A streamed call's generator: its first read sends the request, under the call's span."""

    def __init__(self, wrapped: Any, recorder: GenAIRecorder, inv: Invocation, acc: Any) -> None:
        super().__init__(wrapped, recorder, inv, acc)
        self._self_recorder = recorder

    def __next__(self) -> Any:
        if self._self_iterator is not None:
            return super().__next__()
        recorder = self._self_recorder
        token = recorder.activate(self._self_finisher.inv)
        try:
            return super().__next__()
        finally:
            recorder.deactivate(token)


class _AsyncLines(AsyncStreamProxy):
    """The async form; async generators close with `aclose`."""

    def __init__(self, wrapped: Any, recorder: GenAIRecorder, inv: Invocation, acc: Any) -> None:
        super().__init__(wrapped, recorder, inv, acc)
        self._self_recorder = recorder

    async def __anext__(self) -> Any:
        if self._self_iterator is not None:
            return await super().__anext__()
        recorder = self._self_recorder
        token = recorder.activate(self._self_finisher.inv)
        try:
            return await super().__anext__()
        finally:
            recorder.deactivate(token)

    async def aclose(self) -> None:
        try:
            await self.__wrapped__.aclose()
        finally:
            self._self_finisher.end()


def _rebind(module: ModuleType) -> None:
    """Point `ollama.chat` & co. at the default client's methods as the class has them now.

    The package binds them once (`chat = _client.chat`) when imported: bound before the class was
    wrapped (an app that imported ollama before instrumenting), they would bypass the wrapper.
    """
    client_type = getattr(module, "Client", None)
    if client_type is None:
        return
    for name, _ in _METHODS:
        bound = getattr(module, name, None)
        owner = getattr(bound, "__self__", None)
        if isinstance(owner, client_type) and getattr(bound, "__name__", None) == name:
            setattr(module, name, getattr(owner, name))


def _rebind_hook(module: ModuleType) -> None:
    try:
        _rebind(module)
    except Exception as exc:
        report("ollama.rebind", exc)


class OllamaInstrumentor(ProviderInstrumentor):
    """Instruments the `ollama` package; `OllamaInstrumentor().instrument()` or auto-instrumentation."""

    provider_library = "ollama"
    instruments: ClassVar[tuple[str, ...]] = ("ollama >= 0.4, < 1",)
    targets: ClassVar[tuple[Target, ...]] = tuple(
        Target("ollama._client", owner, method, endpoint)
        for owner in ("Client", "AsyncClient")
        for method, endpoint in _METHODS
    )

    def _instrument(self, **kwargs: Any) -> None:
        global _hook_registered
        super()._instrument(**kwargs)
        if not _hook_registered:  # once: it only re-reads what the class has, instrumented or not
            _hook_registered = True
            wrapt.register_post_import_hook(_rebind_hook, "ollama")
        elif "ollama" in sys.modules:
            _rebind_hook(sys.modules["ollama"])

    def _uninstrument(self, **kwargs: Any) -> None:
        super()._uninstrument(**kwargs)
        if "ollama" in sys.modules:
            _rebind_hook(sys.modules["ollama"])

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Every parameter may come positionally (`ollama.chat("llama3.2", messages)`): `describe` names them."""
        if not args:
            return kwargs
        return {**kwargs, _POSITIONAL: args}

    def describe(self, instance: Any, kwargs: dict[str, Any], endpoint: Endpoint) -> GenAIRequest:
        if _POSITIONAL in kwargs:  # our own copy (see `arguments`): name what came positionally
            args = kwargs.pop(_POSITIONAL)
            names = endpoint.positional if isinstance(endpoint, OllamaEndpoint) else ()
            for name, value in zip(names, args, strict=False):
                kwargs.setdefault(name, value)
        host, port = self._server(instance)
        model = kwargs.get("model")
        return GenAIRequest(
            operation=endpoint.operation,
            provider="ollama",
            model=model if isinstance(model, str) and model else None,
            server_address=host,
            server_port=port,
            stream=kwargs.get("stream") is True,
        )

    def result(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, result: Any) -> Any:
        if inv.request.stream:
            capture, limit = recorder.capture_content, recorder.content_limit
            if inspect.isgenerator(result):
                return _Lines(result, recorder, inv, endpoint.accumulator(capture, limit))
            if inspect.isasyncgen(result):
                return _AsyncLines(result, recorder, inv, endpoint.accumulator(capture, limit))
        return super().result(recorder, endpoint, inv, result)

    @staticmethod
    def _server(instance: Any) -> tuple[str | None, int | None]:
        """(host, port) of the client's base URL, cached on the client; registers its Authorization.

        Ollama needs no key, but a proxy in front of it may (`headers={"Authorization": ...}` or
        `OLLAMA_API_KEY`): the header's value and its token are redacted from every export.
        """
        http = getattr(instance, "_client", None)
        if http is None:
            return None, None
        headers = getattr(http, "headers", None)
        auth = headers.get("authorization") if headers is not None else None
        if auth:
            remember(auth)
            remember(auth.partition(" ")[2].strip())
        base_url = getattr(http, "base_url", None)
        state = getattr(instance, "__dict__", None)
        cached = state.get("_otel_ai_server") if state is not None else None
        if cached is not None and cached[0] is base_url:
            return cached[1], cached[2]
        host = getattr(base_url, "host", None) or None
        port = getattr(base_url, "port", None)
        if port is None and host:
            port = 443 if getattr(base_url, "scheme", "http") == "https" else 80
        if state is not None:
            state["_otel_ai_server"] = (base_url, host, port)
        return host, port
