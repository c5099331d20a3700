"""`otel_ai.configure()`: what `opentelemetry-instrument` does, as one call for apps that don't use it."""

from __future__ import annotations

import logging
import os
from importlib.metadata import entry_points

from otel_ai.sdk import setup as _setup
from otel_ai.sdk.distro import default_service_name

_logger = logging.getLogger("otel_ai")
_done = False


def configure(*, service_name: str | None = None, instrument: bool = True) -> None:
    """Set up the OpenTelemetry SDK from `OTEL_*` variables with otel-ai defaults, then instrument.

    A bad setting or pricing file prints one line on stderr and its safe fallback is used; with
    `OTEL_AI_STRICT=true` it raises `ConfigError` instead. Calling it twice does nothing the second
    time. `instrument=False` sets up the SDK only (for apps that pick instrumentors themselves).
    """
    global _done
    if _done:
        return
    if service_name:
        os.environ.setdefault("OTEL_SERVICE_NAME", service_name)
    _setup.apply_env_defaults()
    default_service_name()
    _setup.validate()
    _setup.configure_sdk()
    if instrument:
        instrument_installed()
    _done = True


def instrument_installed() -> list[str]:
    """Run every installed `opentelemetry_instrumentor`, honouring OTEL_PYTHON_DISABLED_INSTRUMENTATIONS."""
    disabled = {name.strip() for name in os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")}
    loaded: list[str] = []
    if "*" in disabled:
        return loaded
    for entry_point in entry_points(group="opentelemetry_instrumentor"):
        if entry_point.name in disabled:
            continue
        try:
            instrumentor = entry_point.load()()
            instrumentor.instrument()
            loaded.append(entry_point.name)
        except ModuleNotFoundError as exc:
            _logger.debug("otel-ai: skipping %s: %s", entry_point.name, exc)
        except Exception:
            _logger.warning("otel-ai: instrumenting %s failed", entry_point.name, exc_info=True)
    return loaded
