"""Google Gemini instrumentation (`google-genai` 3.x, `google.genai.Client`).

`client.models.generate_content`, `generate_content_stream`, `embed_content`, `count_tokens` and the
same on `client.aio.models`. Chat sessions (`client.chats` / `client.aio.chats`: `send_message`,
`send_message_stream`) send through these same methods, so a chat turn gets exactly one span (the
model call's), not two. The sync `generate_content_stream` is a generator function (`Target.generator`:
the span starts at the first `next`); the async one is a coroutine answering an async generator,
wrapped so that the span ends exactly once.

`gen_ai.provider.name` is `gcp.gemini` for the Gemini Developer API (API key) and `gcp.vertex_ai`
for `vertexai=True` clients. The client's API key (`x-goog-api-key`) is registered for redaction
before anything is sent.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar
from urllib.parse import urlsplit

from otel_ai.genai.model import GenAIRequest
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import AsyncStreamProxy
from otel_ai.instrumentation.base import Endpoint, ProviderInstrumentor, Target
from otel_ai.instrumentation.gemini.content import CountTokens, EmbedContent, GenerateContent
from otel_ai.privacy.secrets import remember

__all__ = ["GeminiInstrumentor"]

GEMINI, VERTEX = "gcp.gemini", "gcp.vertex_ai"
_GEN, _STREAM, _EMBED, _COUNT = GenerateContent(), GenerateContent(streaming=True), EmbedContent(), CountTokens()
_M = "google.genai.models"


@functools.lru_cache(maxsize=64)
def _host_port(url: str) -> tuple[str | None, int | None]:
    try:
        parts = urlsplit(url)
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None, None


class GeminiInstrumentor(ProviderInstrumentor):
    """Instruments `google-genai`; `GeminiInstrumentor().instrument()` or auto-instrumentation."""

    provider_library = "google-genai"
    instruments: ClassVar[tuple[str, ...]] = ("google-genai >= 1.0, < 4",)
    targets: ClassVar[tuple[Target, ...]] = (
        Target(_M, "Models", "generate_content", _GEN),
        Target(_M, "Models", "generate_content_stream", _STREAM, generator=True),
        Target(_M, "Models", "embed_content", _EMBED),
        Target(_M, "Models", "count_tokens", _COUNT),
        Target(_M, "AsyncModels", "generate_content", _GEN),
        Target(_M, "AsyncModels", "generate_content_stream", _STREAM),
        Target(_M, "AsyncModels", "embed_content", _EMBED),
        Target(_M, "AsyncModels", "count_tokens", _COUNT),
    )

    def describe(self, instance: Any, kwargs: dict[str, Any], endpoint: Endpoint) -> GenAIRequest:
        client = getattr(instance, "_api_client", None)
        vertex = bool(getattr(client, "vertexai", False))
        key = getattr(client, "api_key", None)
        if isinstance(key, str):
            remember(key)
        options = getattr(client, "_http_options", None)
        url = getattr(options, "base_url", None)
        host, port = _host_port(url) if isinstance(url, str) and url else (None, None)
        model = kwargs.get("model")
        if isinstance(model, str):  # "models/gemini-2.5-flash", "publishers/google/models/...": the model's id
            if model.startswith("models/"):
                model = model[7:]
            elif "/models/" in model:
                model = model.rpartition("/models/")[2]
        return GenAIRequest(
            operation=endpoint.operation,
            provider=VERTEX if vertex else GEMINI,
            model=model if isinstance(model, str) else None,
            server_address=host,
            server_port=port,
            stream=getattr(endpoint, "streaming", False),
        )

    def result(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, result: Any) -> Any:
        if getattr(endpoint, "streaming", False) and hasattr(result, "__anext__"):
            return AsyncStreamProxy(result, recorder, inv, endpoint.accumulator(recorder.capture_content,
                                                                                recorder.content_limit))
        return super().result(recorder, endpoint, inv, result)
