"""What a decorated function becomes: one wrapper per kind of function (plain, coroutine, generator,
async generator), each running the body inside one unit of work and ending it exactly once.

A generator's unit spans its first `next` to exhaustion (or close); its context is current only
while the body runs, so the consumer's own work between items is not counted in it.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar, cast

from otel_ai.work.handle import Unit

if TYPE_CHECKING:
    from otel_ai.work.units import UnitOfWork

__all__ = ["wrap_async_generator", "wrap_coroutine", "wrap_function", "wrap_generator"]

T = TypeVar("T")


def wrap_function(spec: UnitOfWork, fn: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> T:
        unit = spec._begin()
        token = unit._activate()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            Unit._deactivate(token)
            unit._end(exc)
            raise
        Unit._deactivate(token)
        unit._end(None)
        return result

    return run


def wrap_coroutine(spec: UnitOfWork, fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> T:
        unit = spec._begin()
        token = unit._activate()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:  # cancellation included: the span ends, marked, exactly once
            Unit._deactivate(token)
            unit._end(exc)
            raise
        Unit._deactivate(token)
        unit._end(None)
        return result

    return run


def wrap_generator(
    spec: UnitOfWork, fn: Callable[..., Generator[Any, Any, T]]
) -> Callable[..., Generator[Any, Any, T]]:
    """The unit spans first `next` to exhaustion; its context is current only while the body runs."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Generator[Any, Any, T]:
        unit = spec._begin()
        inner = fn(*args, **kwargs)
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            token = unit._activate()
            try:
                item = inner.send(sent) if thrown is None else inner.throw(thrown)
            except StopIteration as stop:
                Unit._deactivate(token)
                unit._end(None)
                return cast(T, stop.value)
            except BaseException as exc:
                Unit._deactivate(token)
                unit._end(exc)
                raise
            Unit._deactivate(token)
            try:
                sent = yield item
                thrown = None
            except GeneratorExit as closing:  # closed early (close(), break, garbage collected)
                token = unit._activate()
                try:
                    inner.close()
                except BaseException as exc:
                    Unit._deactivate(token)
                    unit._end(exc)
                    raise
                Unit._deactivate(token)
                unit._end(closing)
                raise
            except BaseException as exc:  # thrown in by the consumer: hand it to the body
                sent, thrown = None, exc

    return run


def wrap_async_generator(spec: UnitOfWork, fn: Callable[..., AsyncGenerator[Any, Any]]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        unit = spec._begin()
        inner = fn(*args, **kwargs)
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            token = unit._activate()
            try:
                item = await (inner.asend(sent) if thrown is None else inner.athrow(thrown))
            except StopAsyncIteration:
                Unit._deactivate(token)
                unit._end(None)
                return
            except BaseException as exc:
                Unit._deactivate(token)
                unit._end(exc)
                raise
            Unit._deactivate(token)
            try:
                sent = yield item
                thrown = None
            except GeneratorExit as closing:
                token = unit._activate()
                try:
                    await inner.aclose()
                except BaseException as exc:
                    Unit._deactivate(token)
                    unit._end(exc)
                    raise
                Unit._deactivate(token)
                unit._end(closing)
                raise
            except BaseException as exc:
                sent, thrown = None, exc

    return run

