"""otel-ai: OpenTelemetry GenAI telemetry, cost and privacy for Python AI applications."""

from __future__ import annotations

from otel_ai._config_errors import ConfigError

__version__ = "0.1.0"

__all__ = ["ConfigError", "__version__"]
