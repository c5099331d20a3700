"""Privacy: nothing secret or personal leaves the process in exported telemetry.

``patterns`` says what counts as a secret (each key format written once), ``redactor`` replaces
it in strings and nested values, ``exporters`` puts that in front of the real span and log
exporters, and ``secrets`` collects the clients' API keys seen at run time.

The names below are imported on first use, so that importing ``otel_ai.privacy.secrets`` (done by
the instrumentation at start-up) does not also load the SDK exporters and compile the patterns.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otel_ai.privacy.exporters import RedactingLogExporter, RedactingSpanExporter
    from otel_ai.privacy.patterns import parse_patterns
    from otel_ai.privacy.redactor import Redactor

__all__ = ["RedactingLogExporter", "RedactingSpanExporter", "Redactor", "parse_patterns"]

_HOMES = {
    "RedactingLogExporter": "otel_ai.privacy.exporters",
    "RedactingSpanExporter": "otel_ai.privacy.exporters",
    "Redactor": "otel_ai.privacy.redactor",
    "parse_patterns": "otel_ai.privacy.patterns",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
