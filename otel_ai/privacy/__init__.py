"""Privacy: nothing secret or personal leaves the process in exported telemetry.

``patterns`` says what counts as a secret (each key format written once; ``validators`` holds the
checksums and plausibility checks, ``custom`` the user's ``OTEL_AI_REDACT_PATTERNS``), ``redactor``
replaces it in strings (``scan``: the escaped and URL-decoded views) and nested values
(``structure``), ``exporters`` puts that in front of the real span and log exporters, ``secrets``
collects the clients' API keys seen at run time, ``current`` hands the runtime's redactor to the
layers below it (notifications, log lines), and ``urls`` masks credentials in URLs.

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
