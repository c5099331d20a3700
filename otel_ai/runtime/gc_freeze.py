"""`OTEL_AI_GC_FREEZE`: after the first GenAI call, move everything alive to the permanent generation.

By then the app has imported and built what it runs on; full collections then walk only what was
allocated since, instead of the whole start-up heap (see docs/benchmarks.md). A set-up concern, not
the recorder's: it listens on the recorder's seam once and then leaves it, so later calls pay nothing.
"""

from __future__ import annotations

import gc
import logging

from otel_ai.genai import hooks

_logger = logging.getLogger("otel_ai")


def after_first_call() -> None:
    """Freeze once, after the next finished GenAI call (idempotent)."""
    hooks.subscribe(_freeze)


def _freeze(_facts: hooks.CallFacts) -> None:
    hooks.unsubscribe(_freeze)
    gc.freeze()
    _logger.debug("otel-ai: gc.freeze() after the first GenAI call (%d objects frozen)", gc.get_freeze_count())
