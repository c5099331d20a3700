"""otel-ai: OpenTelemetry GenAI telemetry, cost and privacy for Python AI applications.

Zero-code: `opentelemetry-instrument python app.py` (or `otel-ai run -- python app.py`).
In code: `otel_ai.configure()` once at start-up.
"""

from __future__ import annotations

from otel_ai.errors import ConfigError

__version__ = "0.1.0"

__all__ = ["ConfigError", "__version__", "configure", "metrics_app"]


def configure(*, service_name: str | None = None, instrument: bool = True) -> None:
    """Set up the OpenTelemetry SDK from `OTEL_*` variables with otel-ai defaults, then instrument.

    A bad setting prints one line and falls back to its safe default (content capture off, built-in
    pricing); with `OTEL_AI_STRICT=true` it raises `ConfigError`. A second call does nothing.
    """
    from otel_ai.sdk.configure import configure as _configure

    _configure(service_name=service_name, instrument=instrument)


def metrics_app() -> object:
    """An ASGI app with the agent's metrics in Prometheus format, to mount at `/metrics`.

    Pair it with `OTEL_METRICS_EXPORTER=otel_ai_prometheus` (no extra port) or `prometheus`.
    """
    try:
        from prometheus_client import make_asgi_app
    except ImportError as exc:
        raise ConfigError("metrics_app() needs the 'prometheus' extra: pip install 'otel-ai[prometheus]'") from exc
    return make_asgi_app()
