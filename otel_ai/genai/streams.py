"""Stream proxies that account every chunk once and end the GenAI span exactly once.

The proxy is a `wrapt.ObjectProxy`, so everything the wrapped stream offers (`response`, `close`,
`with` support, attributes, `isinstance`) still works; only iteration and closing are observed.
The proxy is its own iterator over the stream's one underlying iterator: a stream read in pieces
(`next(iter(s))`, then `list(s)`, or two `for` loops) is one call, every chunk counted once.

The span ends when the stream is exhausted, fails, is closed, is left by `with`, or is collected;
breaking out of a loop leaves it open because the caller may read on. Per chunk the proxy only
accumulates; the recorder does the real work once, at the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from time import perf_counter
from typing import Any, Protocol

import wrapt

from otel_ai.genai.model import GenAIResponse
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.guard import report

__all__ = ["AsyncStreamProxy", "StreamAccumulator", "StreamFinisher", "SyncStreamProxy"]


class StreamAccumulator(Protocol):
    """Provider-specific reading of chunks: `add` returns True when the chunk carried output."""

    def add(self, chunk: Any) -> bool: ...

    def response(self) -> GenAIResponse: ...


class StreamFinisher:
    """The shared ending logic of every proxy; kept off the proxy so wrapt forwards nothing odd."""

    __slots__ = ("acc", "inv", "recorder")

    def __init__(self, recorder: GenAIRecorder, inv: Invocation, acc: StreamAccumulator) -> None:
        self.recorder = recorder
        self.inv = inv
        self.acc = acc

    def chunk(self, chunk: Any) -> None:
        """Accumulate one chunk; the timing of `Invocation.chunk` is inlined here (it runs per chunk)."""
        try:
            if self.acc.add(chunk):
                inv = self.inv
                now = perf_counter()
                if inv.first_chunk is None:
                    inv.first_chunk = now
                elif inv.gaps is not None:  # OTEL_AI_CHUNK_TIMING=each
                    inv.gaps.append(now - inv.last_chunk)
                inv.last_chunk = now
                inv.chunks += 1
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
        self._self_finisher = StreamFinisher(recorder, inv, acc)
        self._self_iterator: Iterator[Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        iterator = self._self_iterator
        if iterator is None:
            iterator = self._self_iterator = iter(self.__wrapped__)
        try:
            chunk = next(iterator)
        except StopIteration:
            self._self_finisher.end()
            raise
        except BaseException as exc:
            self._self_finisher.fail(exc)
            raise
        self._self_finisher.chunk(chunk)
        return chunk

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
        if finisher is not None:
            finisher.end()


class AsyncStreamProxy(wrapt.ObjectProxy[Any]):
    """Wraps an async stream (e.g. `openai.AsyncStream`)."""

    def __init__(self, wrapped: Any, recorder: GenAIRecorder, inv: Invocation, acc: StreamAccumulator) -> None:
        super().__init__(wrapped)
        self._self_finisher = StreamFinisher(recorder, inv, acc)
        self._self_iterator: AsyncIterator[Any] | None = None

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        iterator = self._self_iterator
        if iterator is None:
            iterator = self._self_iterator = self.__wrapped__.__aiter__()
        try:
            chunk = await iterator.__anext__()
        except StopAsyncIteration:
            self._self_finisher.end()
            raise
        except BaseException as exc:
            self._self_finisher.fail(exc)
            raise
        self._self_finisher.chunk(chunk)
        return chunk

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

    async def aclose(self) -> None:
        """An async generator's close (google-genai's streams are async generators)."""
        try:
            await self.__wrapped__.aclose()
        finally:
            self._self_finisher.end()

    def __del__(self) -> None:
        finisher = getattr(self, "_self_finisher", None)
        if finisher is not None:
            finisher.end()
