"""Process-wide agent state: settings, pricing and redactor are read once, at start-up."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from otel_ai.genai.recorder import GenAIRecorder
from otel_ai.pricing.catalog import PricingCatalog
from otel_ai.privacy.secrets import subscribe
from otel_ai.sdk.settings import Settings

if TYPE_CHECKING:
    from otel_ai.privacy.redactor import Redactor

_lock = threading.RLock()
_settings: Settings | None = None
_pricing: PricingCatalog | None = None
_redactor: Redactor | None = None


def load() -> None:
    """Read and check every setting and data file now; raises `ConfigError` naming what is wrong."""
    settings()
    pricing()
    redactor()


def settings() -> Settings:
    global _settings
    with _lock:
        if _settings is None:
            _settings = Settings.from_env()
        return _settings


def pricing() -> PricingCatalog:
    global _pricing
    with _lock:
        if _pricing is None:
            _pricing = PricingCatalog.load(settings().pricing_file)
        return _pricing


def redactor() -> Redactor:
    global _redactor
    from otel_ai.privacy.patterns import parse_patterns
    from otel_ai.privacy.redactor import Redactor

    with _lock:
        if _redactor is None:
            _redactor = Redactor(parse_patterns(settings().redact_patterns))
            subscribe(_redactor.add_secret)
        return _redactor


def recorder(
    tracer_provider: Any = None, meter_provider: Any = None, logger_provider: Any = None
) -> GenAIRecorder:
    """A recorder bound to the given providers (the global ones when None)."""
    return GenAIRecorder(
        settings(),
        pricing(),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
    )


def reset() -> None:
    """Forget everything read from the environment (tests change the environment between cases)."""
    global _settings, _pricing, _redactor
    with _lock:
        _settings = _pricing = None
        _redactor = None
