"""Host, disk, process and GPU metrics (the `otel_ai_system` instrumentor entry point).

The instrumentor is imported on first use, so the SDK settings can read `otel_ai.system.settings`
without loading psutil or the contrib instrumentation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otel_ai.system.settings import SYSTEM_METRICS_VAR, MetricSet, disable_contrib_entry_point, parse_system_metrics

if TYPE_CHECKING:
    from otel_ai.system.instrumentor import SystemMetricsInstrumentor

__all__ = [
    "SYSTEM_METRICS_VAR",
    "MetricSet",
    "SystemMetricsInstrumentor",
    "disable_contrib_entry_point",
    "parse_system_metrics",
]


def __getattr__(name: str) -> Any:
    if name == "SystemMetricsInstrumentor":
        from otel_ai.system.instrumentor import SystemMetricsInstrumentor

        return SystemMetricsInstrumentor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
