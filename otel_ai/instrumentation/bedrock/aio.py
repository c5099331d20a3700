"""Async AWS Bedrock: aiobotocore's `bedrock-runtime` client, read by the sync instrumentor's own code.

aiobotocore subclasses botocore's client and overrides the one seam, `_make_api_call`, with a
coroutine: the wrapper is the base's async one, and `describe`, the four operations' endpoints, the
stream accumulators and the cost are `BedrockInstrumentor`'s. What differs is only what is async:

* a stream is an `AioEventStream` (`async for`; its `close()` is sync): the proxy ends the span once,
  exhausted, closed, broken out of and collected, or failing with the exception event it carried;
* `invoke_model`'s body is read with `await`: `settle` reads it before the span ends, as the sync
  form does, and hands the caller a body of aiobotocore's own class over the same bytes (or one
  whose `read` raises what reading raised);
* a refreshable credential refuses its properties until refreshed: its fields are read as stored.

A separate instrumentor (entry point `otel_ai_bedrock_aio`), so that aiobotocore stays optional.
"""

from __future__ import annotations

from typing import Any, ClassVar

from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import AsyncStreamProxy
from otel_ai.instrumentation.base import Endpoint, Target
from otel_ai.instrumentation.bedrock import BedrockInstrumentor, Dispatch
from otel_ai.instrumentation.bedrock.invoke import InvokeModel
from otel_ai.privacy.secrets import remember

__all__ = ["AioBedrockInstrumentor"]

_INVOKE = InvokeModel()


class AioEventStreamProxy(AsyncStreamProxy):
    """`AsyncStreamProxy` for an `AioEventStream`, whose `close()` is sync (botocore's)."""

    def close(self) -> None:  # type: ignore[override]
        try:
            self.__wrapped__.close()
        finally:
            self._self_finisher.end()


class _Buffered:
    """The raw response a re-read body stands on: the bytes read ahead, or the error reading them raised.

    It offers the part of aiohttp's response that aiobotocore's bodies use (`content.read`,
    `content.at_eof`, `url`, `close`, `async with`), so the caller's body is aiobotocore's own class.
    """

    __slots__ = ("content", "data", "error", "position", "url")

    def __init__(self, data: bytes, error: Exception | None, url: Any) -> None:
        self.content = self
        self.data = data
        self.error = error
        self.position = 0
        self.url = url

    async def read(self, n: int = -1) -> bytes:
        if self.error is not None:
            raise self.error
        start = self.position
        end = len(self.data) if n is None or n < 0 else min(len(self.data), start + n)
        self.position = end
        return self.data[start:end]

    def at_eof(self) -> bool:
        return self.error is None and self.position >= len(self.data)

    def close(self) -> None:
        """Nothing to release: the connection went back when the body was read."""

    async def __aenter__(self) -> _Buffered:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def _buffered(body: Any) -> _Buffered | None:
    """The `_Buffered` under a body `settle` made (`AioStreamingBody` keeps it as `_raw_stream`, 3.0's wraps it)."""
    for name in ("_raw_stream", "__wrapped__"):
        try:
            raw = getattr(body, name, None)
        except Exception:
            continue
        if isinstance(raw, _Buffered):
            return raw
    return None


class AioBedrockInstrumentor(BedrockInstrumentor):
    """Instruments aiobotocore's `bedrock-runtime` client: `AioBedrockInstrumentor().instrument()` or auto."""

    _instance = None  # BaseInstrumentor keeps one instance per class: not the sync instrumentor's
    provider_library = "aiobotocore"
    instruments: ClassVar[tuple[str, ...]] = ("aiobotocore >= 3.0, < 4",)
    targets: ClassVar[tuple[Target, ...]] = (
        Target("aiobotocore.client", "AioBaseClient", "_make_api_call", Dispatch(), coroutine=True),
    )

    def prepare(self) -> None:
        from aiobotocore import response  # type: ignore[import-untyped]
        from aiobotocore.eventstream import AioEventStream  # type: ignore[import-untyped]

        self._event_stream: type = AioEventStream
        self._stream_proxy: type = AioEventStreamProxy
        # recent aiobotocore has `AioStreamingBody` (aiohttp); 3.0 has `StreamingBody`, a proxy of the response
        self._body_class: type = getattr(response, "AioStreamingBody", None) or response.StreamingBody

    async def settle(self, result: Any) -> Any:
        """Read `invoke_model`'s body now, as botocore's is read in the sync form, and hand back the bytes."""
        if not isinstance(result, dict):
            return result
        body = result.get("body")
        if body is None or isinstance(body, self._event_stream) or not callable(getattr(body, "read", None)):
            return result
        url = getattr(getattr(body, "raw_stream", None), "url", None)
        try:
            data = await body.read()
            buffered = _Buffered(data if isinstance(data, bytes) else bytes(data), None, url)
        except Exception as exc:  # the caller's `read` raises it, as it would have
            buffered = _Buffered(b"", exc, url)
        result["body"] = self._body_class(buffered, len(buffered.data))
        return result

    def _response(self, result: dict[str, Any], capture: bool, limit: int) -> Any:
        if "body" not in result:
            return super()._response(result, capture, limit)
        buffered = _buffered(result["body"])
        return _INVOKE.parse(result, buffered.data if buffered is not None else None, capture, limit)

    def result(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, result: Any) -> Any:
        buffered = _buffered(result.get("body")) if isinstance(result, dict) else None
        if buffered is not None and buffered.error is not None:
            recorder.fail(inv, buffered.error)
            return result
        return super().result(recorder, endpoint, inv, result)

    def sent(self, instance: Any) -> None:
        # a refreshable credential may have been refreshed while signing this request: its new keys too
        self._remember_credentials(instance)

    @staticmethod
    def _remember_credentials(client: Any) -> None:
        signer = getattr(client, "_request_signer", None)
        credentials = getattr(signer, "_credentials", None)
        if credentials is None:
            return
        stored = getattr(credentials, "__dict__", {})
        for name in ("access_key", "secret_key", "token"):
            value = stored.get(name, stored.get(f"_{name}"))
            remember(value if isinstance(value, str) else None)
