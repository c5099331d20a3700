"""The stream proxies over plain iterables, with a fake accumulator and a real recorder.

The openai streams in the end-to-end tests hand back the same iterator from every `iter()`, so those
tests cannot tell whether the proxy keeps to the one underlying iterator; nor do they make the
accumulator fail. These close the gaps mutation testing found in `otel_ai.genai.streams`
(docs/mutation.md).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIResponse, Usage
from otel_ai.genai.streams import AsyncStreamProxy, SyncStreamProxy
from tests.test_recorder import Pipeline, assert_reported, chat, clean_guard, make_pipeline, start


class Accumulator:
    """Counts output chunks; `add` or `response` can be made to raise."""

    def __init__(self, add_error: Exception | None = None, response_error: Exception | None = None) -> None:
        self.seen: list[Any] = []
        self.add_error = add_error
        self.response_error = response_error

    def add(self, chunk: Any) -> bool:
        if self.add_error is not None:
            raise self.add_error
        self.seen.append(chunk)
        return True

    def response(self) -> GenAIResponse:
        if self.response_error is not None:
            raise self.response_error
        return GenAIResponse(usage=Usage(output_tokens=len(self.seen)))


class Reiterable:
    """A stream whose every `iter()` starts again from the first chunk (a list does the same)."""

    def __init__(self, chunks: list[Any]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[Any]:
        return iter(self.chunks)


class AsyncReiterable:
    def __init__(self, chunks: list[Any]) -> None:
        self.chunks = chunks

    def __aiter__(self) -> AsyncIterator[Any]:
        async def chunks() -> AsyncIterator[Any]:
            for chunk in self.chunks:
                yield chunk

        return chunks()


@pytest.fixture
def pipe() -> Pipeline:
    return make_pipeline()


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> dict[str, int]:
    return clean_guard(monkeypatch, caplog)


def sync_proxy(pipe: Pipeline, wrapped: Any, acc: Accumulator) -> SyncStreamProxy:
    return SyncStreamProxy(wrapped, pipe.recorder, start(pipe, chat(stream=True)), acc)


def test_sync_proxy_reads_one_underlying_iterator_across_iter_calls(pipe):
    acc = Accumulator()
    proxy = sync_proxy(pipe, Reiterable(["a", "b", "c"]), acc)
    assert next(iter(proxy)) == "a"
    assert [next(proxy), next(iter(proxy))] == ["b", "c"]
    with pytest.raises(StopIteration):
        next(proxy)
    assert acc.seen == ["a", "b", "c"]
    assert pipe.one_span().attributes[sc.USAGE_OUTPUT_TOKENS] == 3


async def test_async_proxy_reads_one_underlying_iterator_across_aiter_calls(pipe):
    acc = Accumulator()
    proxy = AsyncStreamProxy(AsyncReiterable(["a", "b", "c"]), pipe.recorder, start(pipe, chat(stream=True)), acc)
    assert await proxy.__aiter__().__anext__() == "a"
    assert [await proxy.__anext__(), await proxy.__aiter__().__anext__()] == ["b", "c"]
    with pytest.raises(StopAsyncIteration):
        await proxy.__anext__()
    assert acc.seen == ["a", "b", "c"]
    assert pipe.one_span().attributes[sc.USAGE_OUTPUT_TOKENS] == 3


def test_accumulator_failure_is_reported_and_the_stream_goes_on(pipe, reports, caplog):
    exc = ValueError("cannot read chunk")
    proxy = sync_proxy(pipe, ["only"], Accumulator(add_error=exc))
    assert list(proxy) == ["only"]
    assert_reported(caplog, reports, "stream.chunk", exc)
    assert len(pipe.spans()) == 1


def test_response_failure_is_reported_and_the_call_still_ends(pipe, reports, caplog):
    exc = ValueError("cannot build response")
    proxy = sync_proxy(pipe, ["a", "b"], Accumulator(response_error=exc))
    assert list(proxy) == ["a", "b"]
    span = pipe.one_span()
    assert sc.USAGE_OUTPUT_TOKENS not in span.attributes
    assert span.attributes[sc.RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
    assert_reported(caplog, reports, "stream.response", exc)


@pytest.mark.parametrize("proxy_class", [SyncStreamProxy, AsyncStreamProxy])
def test_a_proxy_whose_construction_never_finished_is_collected_silently(proxy_class, monkeypatch):
    unraisable: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: unraisable.append(info.exc_value))
    half_built = proxy_class.__new__(proxy_class)
    del half_built
    gc.collect()
    assert unraisable == []
