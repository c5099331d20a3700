"""Carry the caller's context into threads started inside a unit of work.

A `threading.Thread` and a `ThreadPoolExecutor` worker start with an empty context, so GenAI calls
made there would lose their parent span and their unit's roll-up. The contrib
`opentelemetry-instrumentation-threading` does this propagation, but it pins
`opentelemetry-instrumentation==0.66b1` while our httpx instrumentation needs 0.66b2, so the two
cannot be installed together; this module is the small part of it we need.

Only threads started (`Thread.start`) or work submitted (`ThreadPoolExecutor.submit`, which
`loop.run_in_executor` uses) while a unit or a conversation is open get a copy of the caller's `contextvars`
context (which holds the OTel context, hence the span and the unit). Outside a unit the patched
methods add one context lookup and nothing else. `asyncio` tasks copy the context themselves.
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from opentelemetry.context import get_value

from otel_ai.genai.conversation import KEY as CONVERSATION_KEY
from otel_ai.guard import report
from otel_ai.work.context import UNIT_KEY

_lock = threading.Lock()
_originals: tuple[Callable[[threading.Thread], None], Callable[..., Future[Any]]] | None = None


def _patched_start(original: Callable[[threading.Thread], None]) -> Callable[[threading.Thread], None]:
    @functools.wraps(original)
    def start(self: threading.Thread) -> None:
        if get_value(UNIT_KEY) is not None or get_value(CONVERSATION_KEY) is not None:
            try:
                self.run = functools.partial(contextvars.copy_context().run, self.run)  # type: ignore[method-assign]
            except Exception as exc:
                report("work.thread_start", exc)
        original(self)

    return start


def _patched_submit(original: Callable[..., Future[Any]]) -> Callable[..., Future[Any]]:
    @functools.wraps(original)
    def submit(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if get_value(UNIT_KEY) is not None or get_value(CONVERSATION_KEY) is not None:
            # A fresh copy per submission: one Context cannot be entered by two threads at once.
            return original(self, contextvars.copy_context().run, fn, *args, **kwargs)
        return original(self, fn, *args, **kwargs)

    return submit


def install() -> None:
    """Patch `Thread.start` and `ThreadPoolExecutor.submit` once (idempotent, thread-safe)."""
    global _originals
    with _lock:
        if _originals is not None:
            return
        _originals = (threading.Thread.start, ThreadPoolExecutor.submit)
        threading.Thread.start = _patched_start(_originals[0])  # type: ignore[method-assign,assignment]
        ThreadPoolExecutor.submit = _patched_submit(_originals[1])  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore the original methods."""
    global _originals
    with _lock:
        if _originals is None:
            return
        threading.Thread.start, ThreadPoolExecutor.submit = _originals  # type: ignore[method-assign,assignment]
        _originals = None


def installed() -> bool:
    return _originals is not None
