"""otel-ai: OpenTelemetry GenAI telemetry, cost and privacy for Python AI applications.

Zero-code: `opentelemetry-instrument python app.py` (or `otel-ai run -- python app.py`).
In code: `otel_ai.configure()` once at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otel_ai.errors import BudgetExceeded, ConfigError

if TYPE_CHECKING:
    from otel_ai.genai.evaluation import evaluate
    from otel_ai.work.batch import BatchResult, amap_batches, map_batches
    from otel_ai.work.conversation import conversation, current_conversation
    from otel_ai.work.units import (
        Totals,
        Unit,
        UnitOfWork,
        agent,
        current_unit,
        instrument_methods,
        task,
        tool,
        workflow,
    )

from otel_ai.version import __version__

__all__ = [
    "BatchResult",
    "BudgetExceeded",
    "ConfigError",
    "Totals",
    "Unit",
    "UnitOfWork",
    "__version__",
    "agent",
    "amap_batches",
    "configure",
    "conversation",
    "current_conversation",
    "current_unit",
    "evaluate",
    "instrument_methods",
    "map_batches",
    "metrics_app",
    "task",
    "tool",
    "workflow",
]

# Units of work load on first use: importing them registers the roll-up listener and the thread
# propagation, which an app that never uses a unit should not pay for.
_LAZY = {
    "Totals": "otel_ai.work.units",
    "Unit": "otel_ai.work.units",
    "UnitOfWork": "otel_ai.work.units",
    "agent": "otel_ai.work.units",
    "current_unit": "otel_ai.work.units",
    "instrument_methods": "otel_ai.work.units",
    "task": "otel_ai.work.units",
    "tool": "otel_ai.work.units",
    "workflow": "otel_ai.work.units",
    "conversation": "otel_ai.work.conversation",
    "current_conversation": "otel_ai.work.conversation",
    "evaluate": "otel_ai.genai.evaluation",
    "BatchResult": "otel_ai.work.batch",
    "amap_batches": "otel_ai.work.batch",
    "map_batches": "otel_ai.work.batch",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'otel_ai' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, lazy ones included (they are not in the module's globals until first used)."""
    return sorted(set(globals()) | set(__all__))


def configure(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    console: bool = False,
    capture_content: bool | str | None = None,
    instrument: bool = True,
) -> None:
    """Set up the OpenTelemetry SDK from `OTEL_*` variables with otel-ai defaults, then instrument.

    Each argument is the same as its environment variable and, when given, wins over it:
    `service_name` (OTEL_SERVICE_NAME), `endpoint` (OTEL_EXPORTER_OTLP_ENDPOINT), `protocol`
    (OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf or grpc), `capture_content`
    (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT); `console=True` prints one line per GenAI
    call instead of exporting traces, as `otel-ai run --console`. A bad setting prints one line and
    falls back to its safe default (content capture off, built-in pricing); with
    `OTEL_AI_STRICT=true` it raises `ConfigError`. A second call does nothing.
    """
    from otel_ai.runtime.configure import configure as _configure

    _configure(
        service_name=service_name, endpoint=endpoint, protocol=protocol, console=console,
        capture_content=capture_content, instrument=instrument,
    )


def metrics_app() -> object:
    """An ASGI app with the agent's metrics in Prometheus format, to mount at `/metrics`.

    Pair it with `OTEL_METRICS_EXPORTER=otel_ai_prometheus` (no extra port) or `prometheus`.
    """
    try:
        from prometheus_client import make_asgi_app
    except ImportError as exc:
        raise ConfigError("metrics_app() needs the 'prometheus' extra: pip install 'otel-ai[prometheus]'") from exc
    return make_asgi_app()
