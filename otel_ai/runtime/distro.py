"""The `opentelemetry_distro` / `opentelemetry_configurator` pair `opentelemetry-instrument` loads."""

from __future__ import annotations

import os
import sys
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.sdk._configuration import _OTelSDKConfigurator

from otel_ai.errors import ConfigError
from otel_ai.runtime import setup as _setup
from otel_ai.runtime.settings import STRICT_VAR


def default_service_name(env: dict[str, str] | os._Environ[str] | None = None) -> None:
    """Name the service after the script when the user named nothing (not `unknown_service:python`).

    `python app.py` gives `app`, `python -m pkg.mod` gives `pkg.mod`; `python -c` keeps the SDK's default.
    """
    env = os.environ if env is None else env
    if env.get("OTEL_SERVICE_NAME") or "service.name=" in env.get("OTEL_RESOURCE_ATTRIBUTES", ""):
        return
    name = _script_name(list(getattr(sys, "orig_argv", []) or []), list(sys.argv))
    if name:
        env["OTEL_SERVICE_NAME"] = name


def _script_name(orig_argv: list[str], argv: list[str]) -> str | None:
    if "-m" in orig_argv[1:]:
        i = orig_argv.index("-m", 1)
        return orig_argv[i + 1] if i + 1 < len(orig_argv) else None
    script = argv[0] if argv else ""
    if not script or script.startswith("-"):
        return None
    stem = os.path.basename(script)
    if stem.endswith(".py"):
        stem = stem[:-3]
    elif stem == "__main__":
        return None
    return stem or None


def _check_or_exit() -> None:
    """A bad setting prints one line and falls back; only strict mode stops the process, before the app runs."""
    try:
        _setup.validate()
    except ConfigError as exc:
        sys.stderr.write(f"otel-ai: configuration error ({STRICT_VAR} is on): {exc}\n")
        sys.stderr.flush()
        # This runs inside site-customisation, before the app: SystemExit there turns into a
        # "Fatal Python error" traceback, so leave at once with a clean status instead.
        os._exit(2)


class OtelAIDistro(BaseDistro):  # type: ignore[misc]
    """Sets defaults (OTLP/HTTP for traces, metrics and logs; our configurator) and checks settings."""

    def _configure(self, **kwargs: Any) -> None:
        _setup.apply_env_defaults()
        default_service_name()
        _check_or_exit()


    def load_instrumentor(self, entry_point: Any, **kwargs: Any) -> None:
        """Each instrumentor with the arguments our variables give it (FastAPI's `exclude_spans`)."""
        try:
            extra = _setup.instrumentor_kwargs(entry_point.name)
        except Exception:
            extra = {}
        for key, value in extra.items():
            kwargs.setdefault(key, value)
        super().load_instrumentor(entry_point, **kwargs)


class OtelAIConfigurator(_OTelSDKConfigurator):
    """The SDK's configurator with redaction in front of every span and log exporter."""

    def _configure(self, **kwargs: Any) -> None:
        _check_or_exit()
        kwargs.setdefault("export_span_processor", _setup.span_processor)
        kwargs.setdefault("export_log_record_processor", _setup.log_processor)
        super()._configure(**kwargs)  # type: ignore[no-untyped-call]
        _setup._configured = True
        _setup.after_sdk_configured()
