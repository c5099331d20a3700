"""Run a function over items in batches: one task span per batch with its item, success and failure counts.

Each batch is a task unit (`task {name}`, `otel_ai.task.type` = `task_type` or `name`), so it also
carries the roll-up of the GenAI calls its items made. A failing item does not stop the batch:
its exception is kept in the result and counted; the batch span is then marked ERROR with the
first failure's `error.type`. Only non-`Exception` errors (cancellation, KeyboardInterrupt) stop it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from opentelemetry.trace import Status, StatusCode

from otel_ai.genai import semconv as sc
from otel_ai.genai.classify import error_type
from otel_ai.guard import report
from otel_ai.work.units import Unit, UnitOfWork

__all__ = ["BatchResult", "amap_batches", "map_batches"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class BatchResult(Generic[R]):
    """Each item's result, or the exception it raised, in item order."""

    outcomes: list[R | Exception] = field(default_factory=list)
    batches: int = 0

    @property
    def results(self) -> list[R]:
        return [o for o in self.outcomes if not isinstance(o, Exception)]

    @property
    def errors(self) -> list[Exception]:
        return [o for o in self.outcomes if isinstance(o, Exception)]

    @property
    def succeeded(self) -> int:
        return len(self.outcomes) - len(self.errors)

    @property
    def failed(self) -> int:
        return len(self.errors)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    if size < 1:
        raise ValueError(f"batch_size must be at least 1, not {size}")
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _spec(name: str, task_type: str | None) -> UnitOfWork:
    return UnitOfWork("task", name, task_type=task_type or name)


def _count(unit: Unit, index: int, outcomes: list[R | Exception]) -> None:
    """Put the batch's counts on its span (and ERROR with the first failure's type if any failed)."""
    try:
        failures = [o for o in outcomes if isinstance(o, Exception)]
        unit.set_attributes({
            sc.BATCH_INDEX: index,
            sc.BATCH_ITEMS: len(outcomes),
            sc.BATCH_SUCCEEDED: len(outcomes) - len(failures),
            sc.BATCH_FAILED: len(failures),
        })
        if failures:
            unit.set_attribute(sc.ERROR_TYPE, error_type(failures[0]))
            unit.span.set_status(Status(StatusCode.ERROR, f"{len(failures)} of {len(outcomes)} items failed"))
    except Exception as exc:
        report("work.batch", exc)


def map_batches(
    fn: Callable[[T], R], items: Iterable[T], *, batch_size: int = 100, name: str = "batch",
    task_type: str | None = None,
) -> BatchResult[R]:
    """Call `fn(item)` for every item, `batch_size` items per task span, one after another."""
    spec = _spec(name, task_type)
    result: BatchResult[R] = BatchResult()
    for index, chunk in enumerate(_chunks(items, batch_size)):
        with spec as unit:
            outcomes: list[R | Exception] = []
            for item in chunk:
                try:
                    outcomes.append(fn(item))
                except Exception as exc:
                    outcomes.append(exc)
            _count(unit, index, outcomes)
        result.outcomes.extend(outcomes)
        result.batches += 1
    return result


async def amap_batches(
    fn: Callable[[T], Awaitable[R]], items: Iterable[T], *, batch_size: int = 100, name: str = "batch",
    task_type: str | None = None,
) -> BatchResult[R]:
    """Await `fn(item)` for every item: the items of one batch concurrently, the batches in turn."""
    spec = _spec(name, task_type)
    result: BatchResult[R] = BatchResult()
    for index, chunk in enumerate(_chunks(items, batch_size)):
        async with spec as unit:
            gathered = await asyncio.gather(*(fn(item) for item in chunk), return_exceptions=True)
            outcomes: list[R | Exception] = []
            for outcome in gathered:
                if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                    raise outcome
                outcomes.append(outcome)
            _count(unit, index, outcomes)
        result.outcomes.extend(outcomes)
        result.batches += 1
    return result
