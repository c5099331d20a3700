"""Stream proxies that end the GenAI span exactly once, however the stream ends.

The proxy is a `wrapt.ObjectProxy`, so everything the wrapped stream offers (`response`, `close`,
`with` support, attributes, `isinstance`) still works; only iteration and closing are observed.
Per chunk the proxy only accumulates; the recorder does the real work once, when the stream ends:
exhausted, closed, left by `with`, broken out of (the iterator is dropped), raised, or collected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import wrapt

from otel_ai.genai.recorder import GenAIRecorder, GenAIResponse, Invocation
from otel_ai.sdk.guard import report


class StreamAccumulator(Protocol):
    """Provider-specific reading of chunks: `add` returns True when the chunk carried output."""

    def add(self, chunk: Any) -> bool: ...

    def response(self) -> GenAIResponse: ...


class _Finisher:
    """The shared ending logic of both proxies; kept off the proxy so wrapt forwards nothing odd."""

    __slots__ = ("acc", "inv", "recorder")

    def __init__(self, recorder: GenAIRecorder, inv: Invocation, acc: StreamAccumulator) -> None:
        self.recorder = recorder
        self.inv = inv
        self.acc = acc

    def chunk(self, chunk: Any) -> None:
        try:
            if self.acc.add(chunk):
                self.inv.chunk()
        except Exception as exc:
            report("stream.chunk", exc)

    def end(self) -> None:
        if not self.inv.ended:
            self.recorder.end(self.inv, self._delivered())

    def fail(self, exc: BaseException) -> None:
        if not self.inv.ended:
            self.recorder.fail(self.inv, exc, self._delivered())

    def _delivered(self) -> GenAIResponse | None:
        """What the stream delivered so far; None if the accumulator cannot tell."""
        try:
            return self.acc.response()
        except Exception as exc:
            report("stream.response", exc)
            return None


class SyncStreamProxy(wrapt.ObjectProxy[Any]):
    """Wraps a sync stream (e.g. `openai.Stream`)."""

    def __init__(self, wrapped: Any, recorder: GenAIRecorder, inv: Invocation, acc: StreamAccumulator) -> None:
        super().__init__(wrapped)
        self._self_finisher = _Finisher(recorder, inv, acc)
        self._self_iterator: Iterator[Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        return self._self_iterate()

    def __next__(self) -> Any:
        if self._self_iterator is None:
            self._self_iterator = self._self_iterate()
        return next(self._self_iterator)

    def _self_iterate(self) -> Iterator[Any]:
        finisher = self._self_finisher
        try:
            for chunk in self.__wrapped__:
                finisher.chunk(chunk)
                yield chunk
        except GeneratorExit:
            finisher.end()  # the consumer stopped early (break, or the iterator was dropped)
            raise
        except BaseException as exc:
            finisher.fail(exc)
            raise
        finisher.end()

    def __enter__(self) -> SyncStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_finisher.end()

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_finisher.end()

    def __del__(self) -> None:
        finisher = getattr(self, "_self_finisher", None)
        if finisher is not None and not finisher.inv.ended:
            finisher.end()


class AsyncStreamProxy(wrapt.ObjectProxy[Any]):
    """Wraps an async stream (e.g. `openai.AsyncStream`)."""

    def __init__(self, wrapped: Any, recorder: GenAIRecorder, inv: Invocation, acc: StreamAccumulator) -> None:
        super().__init__(wrapped)
        self._self_finisher = _Finisher(recorder, inv, acc)
        self._self_iterator: AsyncIterator[Any] | None = None

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._self_iterate()

    async def __anext__(self) -> Any:
        if self._self_iterator is None:
            self._self_iterator = self._self_iterate()
        return await self._self_iterator.__anext__()

    async def _self_iterate(self) -> AsyncIterator[Any]:
        finisher = self._self_finisher
        try:
            async for chunk in self.__wrapped__:
                finisher.chunk(chunk)
                yield chunk
        except GeneratorExit:
            finisher.end()
            raise
        except BaseException as exc:
            finisher.fail(exc)
            raise
        finisher.end()

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_finisher.end()

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_finisher.end()

    def __del__(self) -> None:
        finisher = getattr(self, "_self_finisher", None)
        if finisher is not None and not finisher.inv.ended:
            finisher.end()
