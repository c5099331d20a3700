"""Process-wide agent state: settings, pricing and redactor are read once, at start-up.

Nothing here raises for a bad setting: `problems()` lists them (one line each, with the fallback
in use) and the caller decides: print them and go on, or, in strict mode, stop.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

from otel_ai.errors import ConfigError
from otel_ai.genai import conversation as _conversation
from otel_ai.genai.recorder import GenAIRecorder
from otel_ai.pricing.catalog import PricingCatalog
from otel_ai.privacy import current as _current_redactor
from otel_ai.privacy.secrets import subscribe
from otel_ai.runtime import gc_freeze
from otel_ai.runtime.settings import PRICING_FILE_VAR, Settings

if TYPE_CHECKING:
    from otel_ai.privacy.redactor import Redactor

_lock = threading.RLock()
_settings: Settings | None = None
_pricing: PricingCatalog | None = None
_redactor: Redactor | None = None
_pricing_problems: list[str] = []
_reported = False


def load() -> list[str]:
    """Read every setting and data file now; returns the problems found (fallbacks are in use)."""
    settings()
    pricing()
    redactor()
    return problems()


def problems() -> list[str]:
    with _lock:
        return [*settings().problems, *_pricing_problems]


def report(extra: list[str] | tuple[str, ...] = ()) -> None:
    """Print each problem once per process on stderr; in strict mode raise `ConfigError` instead."""
    global _reported
    found = [*load(), *extra]
    settings().raise_if_strict(found)
    with _lock:
        if _reported or not found:
            return
        _reported = True
    from otel_ai import agent_warnings

    for line in found:
        agent_warnings.count("config.invalid")
        sys.stderr.write(f"otel-ai: {line}\n")
    sys.stderr.flush()


def settings() -> Settings:
    global _settings
    with _lock:
        if _settings is None:
            _settings = Settings.from_env()
            # the conversation module sits below the runtime: it is told, not asked
            _conversation.configure(hash_user=_settings.hash_user, user_on_metrics=_settings.metrics_user)
        return _settings


def pricing() -> PricingCatalog:
    global _pricing
    with _lock:
        if _pricing is None:
            try:
                _pricing = PricingCatalog.load(settings().pricing_file)
            except ConfigError as exc:
                _pricing_problems.append(f"{PRICING_FILE_VAR}: {exc}; using the built-in pricing catalog only")
                _pricing = PricingCatalog.load(None)
        return _pricing


def redactor() -> Redactor:
    global _redactor
    from otel_ai.privacy.redactor import Redactor

    with _lock:
        if _redactor is None:
            _redactor = Redactor(settings().patterns)
            subscribe(_redactor.add_secret)
        return _redactor


def recorder(
    tracer_provider: Any = None, meter_provider: Any = None, logger_provider: Any = None
) -> GenAIRecorder:
    """A recorder bound to the given providers (the global ones when None)."""
    redact = redactor().redact_cached
    current = settings()
    if current.gc_freeze:
        gc_freeze.after_first_call()
    return GenAIRecorder(
        pricing(),
        content=current.content,
        content_limit=current.content_max_length,
        cost_shapes=current.cost_shapes,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        clean=lambda value: redact(value)[0],
        chunk_timing=current.chunk_timing,
        conventions=current.conventions,
    )


def reset() -> None:
    """Forget everything read from the environment (tests change the environment between cases)."""
    global _settings, _pricing, _redactor, _reported
    with _lock:
        _settings = _pricing = None
        _conversation.configure_from_env()
        _redactor = None
        _pricing_problems.clear()
        _reported = False


_current_redactor.set_source(redactor)  # notifications and log lines go through the same redactor
