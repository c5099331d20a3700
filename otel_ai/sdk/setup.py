"""SDK set-up shared by the distro/configurator pair, `otel_ai.configure()` and `otel-ai run`.

The SDK's own configurator builds providers and exporters from the standard `OTEL_*` variables;
we only hand it processor factories that put the redaction step in front of every span and log
exporter, so nothing leaves the process unredacted whatever exporter the user picks.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from otel_ai.errors import ConfigError
from otel_ai.privacy.exporters import RedactingLogExporter, RedactingSpanExporter
from otel_ai.sdk import state as _state
from otel_ai.sdk.console import ConsoleGenAISpanExporter
from otel_ai.sdk.guard import report

_logger = logging.getLogger("otel_ai")

# Defaults applied when the user has not set the variable: everything over OTLP/HTTP.
ENV_DEFAULTS: Mapping[str, str] = {
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_LOGS_EXPORTER": "otlp",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_PYTHON_CONFIGURATOR": "otel_ai",
    "OTEL_PYTHON_DISTRO": "otel_ai",
}

_OTLP_PROTOCOLS = ("grpc", "http/protobuf")
_configured = False


def apply_env_defaults(env: dict[str, str] | os._Environ[str] | None = None) -> None:
    target = os.environ if env is None else env
    for key, value in ENV_DEFAULTS.items():
        target.setdefault(key, value)


def validate() -> None:
    """Check standard variables we depend on and all of ours; raises `ConfigError`."""
    for variable in (
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
    ):
        value = os.environ.get(variable)
        if value is not None and value.strip() not in _OTLP_PROTOCOLS:
            raise ConfigError(f"{variable}={value!r} is not one of: {', '.join(_OTLP_PROTOCOLS)}")
    _state.load()


def span_processor(exporter: SpanExporter, *args: Any, **kwargs: Any) -> SpanProcessor:
    """Redaction in front of every span exporter; the console exporter prints at once."""
    redacting = RedactingSpanExporter(exporter, _state.redactor())
    if isinstance(exporter, ConsoleGenAISpanExporter):
        return SimpleSpanProcessor(redacting)
    return BatchSpanProcessor(redacting)


def log_processor(exporter: LogRecordExporter, *args: Any, **kwargs: Any) -> LogRecordProcessor:
    return BatchLogRecordProcessor(RedactingLogExporter(exporter, _state.redactor()))


def configure_sdk(**kwargs: Any) -> None:
    """Build tracer, meter and logger providers from the environment, with our processors."""
    global _configured
    from opentelemetry.sdk._configuration import _initialize_components

    kwargs.setdefault("export_span_processor", span_processor)
    kwargs.setdefault("export_log_record_processor", log_processor)
    _initialize_components(**kwargs)
    _configured = True


def is_configured() -> bool:
    return _configured


def protect_foreign_providers() -> None:
    """When another configurator built the SDK, put redaction in front of its exporters anyway.

    This reaches into SDK processor internals (guarded): the supported path is our configurator,
    which `OTEL_PYTHON_CONFIGURATOR=otel_ai` selects when several are installed.
    """
    if _configured:
        return
    try:
        redactor = _state.redactor()
        provider: Any = trace.get_tracer_provider()
        multi = getattr(provider, "_active_span_processor", None)
        for processor in getattr(multi, "_span_processors", ()):
            _wrap_exporter(processor, RedactingSpanExporter, redactor)
        logger_provider: Any = get_logger_provider()
        multi = getattr(logger_provider, "_multi_log_record_processor", None)
        for processor in getattr(multi, "_log_record_processors", ()):
            _wrap_exporter(processor, RedactingLogExporter, redactor)
    except Exception as exc:
        report("setup.protect_foreign_providers", exc)


def _wrap_exporter(processor: Any, wrapper: type, redactor: Any) -> None:
    attribute_owner: Any
    if isinstance(processor, (SimpleSpanProcessor, SimpleLogRecordProcessor)):
        attribute_owner, name = processor, ("span_exporter" if hasattr(processor, "span_exporter") else "_exporter")
    else:
        attribute_owner, name = getattr(processor, "_batch_processor", None), "_exporter"
    if attribute_owner is None:
        return
    exporter = getattr(attribute_owner, name, None)
    if exporter is None or isinstance(exporter, (RedactingSpanExporter, RedactingLogExporter)):
        return
    setattr(attribute_owner, name, wrapper(exporter, redactor))
