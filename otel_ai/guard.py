"""Instrumentation failures are swallowed, logged once at debug level and counted, never raised."""

from __future__ import annotations

import logging
import threading

_logger = logging.getLogger("otel_ai")
_lock = threading.Lock()
_seen: set[str] = set()
failures: dict[str, int] = {}


def report(where: str, exc: BaseException) -> None:
    """Record an internal failure at `where`; the first of each kind is logged with its traceback."""
    with _lock:
        failures[where] = failures.get(where, 0) + 1
        first = where not in _seen
        _seen.add(where)
    if first:
        _logger.debug("otel-ai instrumentation failed in %s; the call is unaffected", where, exc_info=exc)
