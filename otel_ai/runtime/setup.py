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
from opentelemetry.metrics import get_meter_provider
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from otel_ai import variables
from otel_ai.conventions import STABILITY_OPT_IN
from otel_ai.guard import report
from otel_ai.privacy.exporters import RedactingLogExporter, RedactingSpanExporter, protect_metric_readers
from otel_ai.runtime import exit as _exit
from otel_ai.runtime import health as _health
from otel_ai.runtime import state as _state
from otel_ai.runtime.console import ConsoleGenAISpanExporter
from otel_ai.system.settings import disable_contrib_entry_point

_logger = logging.getLogger("otel_ai")

FASTAPI_EXCLUDE_SPANS_VAR = "OTEL_PYTHON_FASTAPI_EXCLUDE_SPANS"
_ASGI_SPANS = ("receive", "send")
# Instrumentor entry point -> the variable that gives its `exclude_spans` argument.
EXCLUDE_SPANS_VARS: Mapping[str, str] = {"fastapi": FASTAPI_EXCLUDE_SPANS_VAR}

# Defaults applied when the user has not set the variable: everything over OTLP/HTTP.
ENV_DEFAULTS: Mapping[str, str] = {
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_LOGS_EXPORTER": "otlp",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_PYTHON_CONFIGURATOR": "otel_ai",
    "OTEL_PYTHON_DISTRO": "otel_ai",
    # otel-ai adds the one logging -> OTLP handler itself (sdk/logs.py), filtered against feedback loops.
    "OTEL_PYTHON_LOG_AUTO_INSTRUMENTATION": "false",
    # HTTP spans and metrics with the stable HTTP conventions' names (http.request.method,
    # http.response.status_code, url.full, http.server.request.duration in s), not the old ones
    # (http.method, http.status_code, net.peer.*, http.server.duration in ms) the contrib
    # instrumentations still write by default; the shipped dashboards and rules read the stable ones.
    "OTEL_SEMCONV_STABILITY_OPT_IN": "http",
    # No internal `http send` / `http receive` span per ASGI message (dozens per streamed response,
    # burying the GenAI call). Ours: the contrib FastAPI instrumentation takes `exclude_spans` only
    # as an argument, which the distro and configure() pass from this variable (empty: keep them).
    FASTAPI_EXCLUDE_SPANS_VAR: "send,receive",
}

_OTLP_PROTOCOLS = ("grpc", "http/protobuf")
_HTTP_MODES = ("http", "http/dup")


def with_http_mode(value: str) -> str:
    """The user's opt-in list with `http` added when it names no HTTP mode, so that the other signals' values
    combine with ours (`gen_ai_latest_experimental` -> `gen_ai_latest_experimental,http`). An empty value is
    kept: it asks for every signal's old names, HTTP's included."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not parts or any(part in _HTTP_MODES for part in parts):
        return value
    return ",".join([*parts, "http"])


_configured = False


def apply_env_defaults(env: dict[str, str] | os._Environ[str] | None = None) -> None:
    target = os.environ if env is None else env
    for key, value in ENV_DEFAULTS.items():
        target.setdefault(key, value)
    target[STABILITY_OPT_IN] = with_http_mode(target[STABILITY_OPT_IN])
    disable_contrib_entry_point(target)  # otel_ai_system drives the contrib system metrics itself


def validate() -> None:
    """Check the standard variables we depend on and all of ours.

    Each problem is printed once on stderr, naming the variable, and its safe fallback is used;
    with `OTEL_AI_STRICT=true` a `ConfigError` listing them is raised instead.
    """
    problems: list[str] = []
    fallbacks: list[str] = []
    for variable in (
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
    ):
        value = os.environ.get(variable)
        if value is not None and value.strip() not in _OTLP_PROTOCOLS:
            problems.append(f"{variable}={value!r} is not one of: {', '.join(_OTLP_PROTOCOLS)}; using http/protobuf")
            fallbacks.append(variable)
    for variable in EXCLUDE_SPANS_VARS.values():
        unknown = [part for part in _exclude_spans_parts(os.environ.get(variable)) if part not in _ASGI_SPANS]
        if unknown:
            problems.append(f"{variable}: {', '.join(map(repr, unknown))} is not one of: send, receive; ignored")
    _state.report(problems)
    for variable in fallbacks:  # the SDK reads the environment: give it the fallback
        os.environ[variable] = "http/protobuf"


def _exclude_spans_parts(raw: str | None) -> list[str]:
    return variables.words(raw)


def instrumentor_kwargs(name: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Arguments for one contrib instrumentor's `instrument()` from variables it does not read itself.

    Today: `exclude_spans` for FastAPI from OTEL_PYTHON_FASTAPI_EXCLUDE_SPANS (send, receive; unknown
    entries are reported by `validate` and ignored). Nothing for an unset variable.
    """
    env = os.environ if env is None else env
    variable = EXCLUDE_SPANS_VARS.get(name)
    if variable is None or variable not in env:
        return {}
    return {"exclude_spans": [part for part in _exclude_spans_parts(env[variable]) if part in _ASGI_SPANS]}


def span_processor(exporter: SpanExporter, *args: Any, **kwargs: Any) -> SpanProcessor:
    """Redaction in front of every span exporter; the console exporter prints at once.

    Other exporters are watched (innermost, so a failure is the exporter's own): the first failed
    batch prints one warning line instead of the SDK's line per batch.
    """
    if isinstance(exporter, ConsoleGenAISpanExporter):
        return SimpleSpanProcessor(RedactingSpanExporter(exporter, _state.redactor()))
    return BatchSpanProcessor(RedactingSpanExporter(_health.WatchedSpanExporter(exporter), _state.redactor()))


def log_processor(exporter: LogRecordExporter, *args: Any, **kwargs: Any) -> LogRecordProcessor:
    """Redaction in front of every log exporter, which is watched like the span exporters."""
    return BatchLogRecordProcessor(RedactingLogExporter(_health.WatchedLogExporter(exporter), _state.redactor()))


def configure_sdk(**kwargs: Any) -> None:
    """Build tracer, meter and logger providers from the environment, with our processors."""
    global _configured
    from opentelemetry.sdk._configuration import _initialize_components

    kwargs.setdefault("export_span_processor", span_processor)
    kwargs.setdefault("export_log_record_processor", log_processor)
    _health.install_log_filters()  # before any exporter runs, so no batch's noise gets through
    _initialize_components(**kwargs)
    _configured = True
    after_sdk_configured()


def after_sdk_configured() -> None:
    """What both set-up paths (ours and the distro's configurator) do once the providers exist.

    Metric exporters get watched here because the SDK's configurator has no metric hook; the
    three providers' exit shutdowns become one parallel shutdown under one deadline, so a
    collector that refuses, never answers or fails cannot hold the app's exit for long.
    """
    try:
        _health.install_log_filters()
        meter_provider = get_meter_provider()
        _health.watch_metric_readers(meter_provider)
        protect_metric_readers(meter_provider, _state.redactor())  # outermost: redact, then watch, then send
        providers = (trace.get_tracer_provider(), meter_provider, get_logger_provider())
        _exit.install(p for p in providers if isinstance(p, (TracerProvider, MeterProvider, LoggerProvider)))
    except Exception as exc:
        report("setup.after_sdk_configured", exc)
    from otel_ai import agent_warnings

    agent_warnings.flush()  # the warnings counted before the meter provider existed
    settings = _state.settings()  # parsed once: the problems were reported from the same parse
    try:  # Python logging -> OTLP logs (trace-correlated, once), JSON lines: OTEL_AI_LOG_* (sdk/logs.py)
        from otel_ai.runtime import logs as _logs

        _logs.install(settings.logs)
    except Exception as exc:
        report("setup.logs", exc)
    try:  # notifiers (OTEL_AI_ALERT_*): where budget crossings go; notify() stays a no-op when none is set
        import otel_ai.notify as _notifiers

        if settings.notifiers is not None:
            _notifiers.install(settings.notifiers, console=_notifiers.console_exporter_in_use())
    except Exception as exc:
        report("setup.notifiers", exc)
    # Budgets after the notifiers: a fleet refresh may find a threshold crossed at once.
    try:  # budgets (OTEL_AI_BUDGETS): spend listener, gate, gauges; nothing at all when none are declared
        import otel_ai.budgets as _budgets

        if settings.budgets is not None:
            _budgets.install(settings.budgets)
    except Exception as exc:
        report("setup.budgets", exc)


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
        protect_metric_readers(get_meter_provider(), redactor)
    except Exception as exc:
        report("setup.protect_foreign_providers", exc)
    try:  # our distro turned the contrib logging handler off: put ours on that SDK's logger provider
        from otel_ai.runtime import logs as _logs

        _logs.install(_state.settings().logs)
    except Exception as exc:
        report("setup.logs", exc)


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
