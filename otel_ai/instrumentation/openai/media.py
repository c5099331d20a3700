"""What the audio and image APIs share: endpoints read with the request in hand, and audio bodies.

A transcript or an image response alone does not say everything a call is billed on (the size and
quality of a DALL-E image, the format of the speech audio, the upload's length when the response
omits it): `RequestBound.bind` gives a reader for one call that knows what was asked. Speech read
through `with_streaming_response` is counted where the caller reads it, at the HTTP body stream,
so `iter_bytes`, `read`, `stream_to_file` and closing all end the span the same way.
"""

from __future__ import annotations

from typing import Any

from otel_ai.genai.model import GenAIRequest
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import AsyncStreamProxy, StreamAccumulator, SyncStreamProxy
from otel_ai.instrumentation.base import Endpoint

__all__ = ["AsyncBodyProxy", "BodyProxy", "RequestBound"]


class RequestBound(Endpoint):
    """An endpoint whose response is read by a per-call reader (`bind`) that knows the request."""

    def bind(self, req: GenAIRequest) -> RequestBound:
        return self

    def body_accumulator(self, result: Any) -> StreamAccumulator | None:
        """For a response whose body the caller reads itself (speech): the accumulator of its bytes."""
        return None


class BodyProxy(SyncStreamProxy):
    """The HTTP body stream of a streamed response: bytes counted as httpx hands them on."""


class AsyncBodyProxy(AsyncStreamProxy):
    """The async body stream; httpx closes it with `aclose`, which ends the span too."""

    async def aclose(self) -> None:
        try:
            await self.__wrapped__.aclose()
        finally:
            self._self_finisher.end()


def wrap_body(recorder: GenAIRecorder, inv: Invocation, result: Any, acc: StreamAccumulator) -> Any:
    """Count the body of a `with_streaming_response` result as it is read; the result itself is unchanged."""
    http = result.http_response
    proxy = AsyncBodyProxy if hasattr(http.stream, "__aiter__") else BodyProxy
    http.stream = proxy(http.stream, recorder, inv, acc)
    return result
