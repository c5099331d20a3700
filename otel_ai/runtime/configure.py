"""`otel_ai.configure()`: what `opentelemetry-instrument` does, as one call for apps that don't use it."""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping
from importlib.metadata import entry_points

from opentelemetry.instrumentation.dependencies import get_dist_dependency_conflicts

from otel_ai import agent_warnings
from otel_ai.runtime import setup as _setup
from otel_ai.runtime.distro import default_service_name
from otel_ai.runtime.settings import CAPTURE_CONTENT_VAR

_logger = logging.getLogger("otel_ai")
_done = False


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

    Each argument given sets its environment variable before anything reads it, so it means exactly
    what the variable means (and child processes inherit it); an argument given wins over the
    variable, as `otel-ai run --service-name` does. `console=True` is `otel-ai run --console`.
    A bad setting or pricing file prints one line on stderr and its safe fallback is used; with
    `OTEL_AI_STRICT=true` it raises `ConfigError` instead. Calling it twice does nothing the second
    time. `instrument=False` sets up the SDK only (for apps that pick instrumentors themselves).
    """
    global _done
    if _done:
        return
    apply_arguments(
        os.environ, service_name=service_name, endpoint=endpoint, protocol=protocol, console=console,
        capture_content=capture_content,
    )
    _setup.apply_env_defaults()
    default_service_name()
    _setup.validate()
    _setup.configure_sdk()
    if instrument:
        instrument_installed()
    _done = True


def apply_arguments(
    env: MutableMapping[str, str],
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    console: bool = False,
    capture_content: bool | str | None = None,
) -> None:
    """Write `configure()`'s arguments into the environment: one variable each, the argument winning.

    Values are not checked here: the variable's own validation (one line and a fallback, or
    `ConfigError` in strict mode) applies to them as to a value set in the shell.
    """
    if service_name:
        env["OTEL_SERVICE_NAME"] = service_name
    if endpoint:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    if protocol:
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol
    if capture_content is not None:
        value = capture_content if isinstance(capture_content, str) else str(bool(capture_content)).lower()
        env[CAPTURE_CONTENT_VAR] = value
    if console:
        # As `otel-ai run --console`: one line per GenAI call; no OTLP metrics or logs left waiting on
        # a collector that is not there, unless the user chose an exporter for them.
        env["OTEL_TRACES_EXPORTER"] = "otel_ai_console"
        env.setdefault("OTEL_METRICS_EXPORTER", "none")
        env.setdefault("OTEL_LOGS_EXPORTER", "none")


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
            # As opentelemetry-instrument does: the dependency check first, so a library the app
            # does not have is a debug line, not the contrib's error "... but no installed version
            # was found" per instrumentor; an installed version out of range is a warning.
            dist = getattr(entry_point, "dist", None)
            conflict = get_dist_dependency_conflicts(dist) if dist is not None else None
            if conflict is not None:
                if getattr(conflict, "found", None) or getattr(conflict, "found_any", None):
                    agent_warnings.warn(
                        "instrumentation.version_conflict", entry_point.name,
                        f"{entry_point.name} not instrumented: {_conflict_text(conflict)}",
                    )
                else:
                    _logger.debug("otel-ai: skipping %s: %s", entry_point.name, conflict)
                continue
            instrumentor = entry_point.load()()
            instrumentor.instrument(skip_dep_check=True, **_setup.instrumentor_kwargs(entry_point.name))
            loaded.append(entry_point.name)
        except ModuleNotFoundError as exc:
            _logger.debug("otel-ai: skipping %s: %s", entry_point.name, exc)
        except Exception as exc:
            _logger.debug("otel-ai: instrumenting %s failed", entry_point.name, exc_info=True)
            agent_warnings.warn(
                "instrumentation.failed", entry_point.name,
                f"instrumenting {entry_point.name} failed ({type(exc).__name__}: {str(exc)[:200]}); the app runs "
                "without it",
            )
    return loaded


def _conflict_text(conflict: object) -> str:
    """'it instruments httpx >=0.18, httpx 0.17 is installed' (the contrib's text repeats the marker)."""
    required, found = getattr(conflict, "required", None), getattr(conflict, "found", None)
    name, specifier = getattr(required, "name", None), getattr(required, "specifier", None)
    if found and name and specifier is not None:
        return f"it instruments {name} {specifier}, {found} is installed"
    return str(conflict)
