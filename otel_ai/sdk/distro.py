"""The `opentelemetry_distro` / `opentelemetry_configurator` pair `opentelemetry-instrument` loads."""

from __future__ import annotations

import os
import sys
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.sdk._configuration import _OTelSDKConfigurator

from otel_ai.errors import ConfigError
from otel_ai.sdk import setup as _setup


def _check_or_exit() -> None:
    """A bad setting stops the process at start-up with one clear line, before the app runs."""
    try:
        _setup.validate()
    except ConfigError as exc:
        sys.stderr.write(f"otel-ai: configuration error: {exc}\n")
        sys.stderr.flush()
        # This runs inside site-customisation, before the app: SystemExit there turns into a
        # "Fatal Python error" traceback, so leave at once with a clean status instead.
        os._exit(2)


class OtelAIDistro(BaseDistro):  # type: ignore[misc]
    """Sets defaults (OTLP/HTTP for traces, metrics and logs; our configurator) and checks settings."""

    def _configure(self, **kwargs: Any) -> None:
        _setup.apply_env_defaults()
        _check_or_exit()


class OtelAIConfigurator(_OTelSDKConfigurator):
    """The SDK's configurator with redaction in front of every span and log exporter."""

    def _configure(self, **kwargs: Any) -> None:
        _check_or_exit()
        kwargs.setdefault("export_span_processor", _setup.span_processor)
        kwargs.setdefault("export_log_record_processor", _setup.log_processor)
        super()._configure(**kwargs)  # type: ignore[no-untyped-call]
        _setup._configured = True
