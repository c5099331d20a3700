"""`with_raw_response` and `with_streaming_response`: the span follows the body the caller reads.

`create` returns a response object whose `parse()` gives the completion or, for `stream=True`, the
stream. The proxy watches `parse()`: a stream comes back wrapped like a plain one (usage, time to
first chunk, exactly-once end), a whole response is recorded when parsed. A response that is never
parsed ends its span, without usage, when it is closed or collected.
"""

from __future__ import annotations

from typing import Any

import wrapt

from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import AsyncStreamProxy, SyncStreamProxy
from otel_ai.guard import report
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.openai import reported


class _RawState:
    """The call in flight behind one raw response; kept off the proxy so wrapt forwards nothing odd."""

    __slots__ = ("endpoint", "inv", "recorder", "stream_type", "wrapped_stream")

    def __init__(self, recorder: GenAIRecorder, inv: Invocation, endpoint: Endpoint, stream_type: type) -> None:
        self.recorder = recorder
        self.inv = inv
        self.endpoint = endpoint
        self.stream_type = stream_type
        self.wrapped_stream: Any = None  # the proxy handed out, so parsing twice gives the same one

    def parsed(self, value: Any, proxy: type[SyncStreamProxy] | type[AsyncStreamProxy], raw: Any) -> Any:
        """`raw`: the response object parsed (its headers may carry the call's cost: reported.py)."""
        if self.inv.ended:
            return value
        try:
            recorder, capture, limit = self.recorder, self.recorder.capture_content, self.recorder.content_limit
            if isinstance(value, self.stream_type):
                if self.wrapped_stream is None or self.wrapped_stream.__wrapped__ is not value:
                    self.wrapped_stream = proxy(value, recorder, self.inv, self.endpoint.accumulator(capture, limit))
                return self.wrapped_stream
            resp = self.endpoint.response(value, capture, limit)
            recorder.end(self.inv, reported.with_header(resp, reported.from_headers(raw.headers)))
        except Exception as exc:
            report("openai.raw_response", exc)
        return value

    def end(self) -> None:
        if not self.inv.ended and self.wrapped_stream is None:
            self.recorder.end(self.inv, None)


class RawResponseProxy(wrapt.ObjectProxy[Any]):
    """Wraps `LegacyAPIResponse` (raw, `stream=True`) and `APIResponse` (streaming response)."""

    def __init__(
        self, wrapped: Any, recorder: GenAIRecorder, inv: Invocation, endpoint: Endpoint, stream_type: type
    ) -> None:
        super().__init__(wrapped)
        self._self_state = _RawState(recorder, inv, endpoint, stream_type)

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        value = self.__wrapped__.parse(*args, **kwargs)
        return self._self_state.parsed(value, SyncStreamProxy, self.__wrapped__)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_state.end()

    def __del__(self) -> None:
        state = getattr(self, "_self_state", None)
        if state is not None:
            state.end()


class AsyncRawResponseProxy(wrapt.ObjectProxy[Any]):
    """Wraps `AsyncAPIResponse` (`with_streaming_response` on the async client)."""

    def __init__(
        self, wrapped: Any, recorder: GenAIRecorder, inv: Invocation, endpoint: Endpoint, stream_type: type
    ) -> None:
        super().__init__(wrapped)
        self._self_state = _RawState(recorder, inv, endpoint, stream_type)

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        value = await self.__wrapped__.parse(*args, **kwargs)
        return self._self_state.parsed(value, AsyncStreamProxy, self.__wrapped__)

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_state.end()

    def __del__(self) -> None:
        state = getattr(self, "_self_state", None)
        if state is not None:
            state.end()
