"""Python `logging` to OTLP logs, with the active trace and span ids, and optional JSON lines.

Once the SDK's providers exist (`setup.after_sdk_configured`), `install()` puts one handler on the
root logger that turns each record at or above `OTEL_AI_LOG_LEVEL` into an OTLP log record carrying
the trace and span id of the span active when it was logged; the log exporter is already behind the
redaction step (setup.log_processor), so a key in a message never leaves the process.

Exactly once: the contrib `opentelemetry-instrumentation-logging` (a dependency, loaded by
`opentelemetry-instrument`) and the SDK's deprecated handler
(`OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true`) would each add a handler of their own;
`setup.ENV_DEFAULTS` turns the contrib one off (`OTEL_PYTHON_LOG_AUTO_INSTRUMENTATION=false`) and
ours removes any other OpenTelemetry logging handler it finds on the root logger, so a record is
exported once whatever the user enabled.

No feedback loop: records of otel-ai's own loggers (`otel_ai.*`) and of the OpenTelemetry SDK and
exporters (`opentelemetry.*`) are not exported, nor is anything logged while instrumentation is
suppressed (the SDK suppresses it around every export, so the exporter's HTTP client logging about
the export cannot produce another export).

`OTEL_AI_LOG_FORMAT=json` adds a JSON-lines handler on stdout and `OTEL_AI_LOG_FILE` a rotating
file of the same lines (`JsonLogFormatter`): time, level, logger, message, trace_id, span_id,
service.name, exception, redacted with the agent's redactor. Handlers we add survive a later
`logging.basicConfig()` / `dictConfig()` / `fileConfig()` of the app, which would otherwise find the
root logger "already configured" (basicConfig) or drop them (dictConfig).

Nothing here raises into the app: a bad setting is one line in `Settings.problems` with its safe
fallback, a failure at install or while handling a record is reported once (guard.report).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import logging.config
import logging.handlers
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from otel_ai import variables

__all__ = [
    "LOG_FILE_BACKUPS_VAR",
    "LOG_FILE_MAX_BYTES_VAR",
    "LOG_FILE_VAR",
    "LOG_FORMAT_VAR",
    "LOG_LEVEL_VAR",
    "JsonLogFormatter",
    "LogSettings",
    "install",
    "parse_log_settings",
    "uninstall",
]

LOG_LEVEL_VAR: Final = variables.LOG_LEVEL.name
LOG_FORMAT_VAR: Final = variables.LOG_FORMAT.name
LOG_FILE_VAR: Final = variables.LOG_FILE.name
LOG_FILE_MAX_BYTES_VAR: Final = variables.LOG_FILE_MAX_BYTES.name
LOG_FILE_BACKUPS_VAR: Final = variables.LOG_FILE_BACKUPS.name

_LEVELS: Final = {
    "debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING,
    "error": logging.ERROR, "critical": logging.CRITICAL,
}
_OFF: Final = frozenset({"off", "none"})
DEFAULT_LEVEL: Final = logging.INFO
DEFAULT_MAX_BYTES: Final = int(variables.LOG_FILE_MAX_BYTES.default or 0)
DEFAULT_BACKUPS: Final = int(variables.LOG_FILE_BACKUPS.default or 0)

# Loggers whose records are never exported over OTLP: ours and the SDK's, exporters included.
_NOT_EXPORTED: Final = ("otel_ai", "opentelemetry")
_OURS: Final = "_otel_ai_handler"  # marks the handlers install() added


@dataclass(frozen=True)
class LogSettings:
    """The logging settings in effect (after fallbacks); `parse_log_settings` builds it, never raising."""

    level: int = DEFAULT_LEVEL
    level_set: bool = False  # OTEL_AI_LOG_LEVEL was given: the root logger is lowered to it if higher
    export: bool = True  # OTLP export of `logging` records (OTEL_AI_LOG_LEVEL=off turns it off)
    json_stdout: bool = False
    file: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    backups: int = DEFAULT_BACKUPS


def parse_log_settings(env: Mapping[str, str] | None = None) -> tuple[LogSettings, list[str]]:
    """The settings and one line per bad value (naming the variable and the fallback in use)."""
    env = os.environ if env is None else env
    problems: list[str] = []
    level, level_set, export = DEFAULT_LEVEL, False, True
    name = variables.LOG_LEVEL.choice(env, problems)
    if name in _OFF:
        export, level_set = False, True
    elif name is not None:
        level, level_set = _LEVELS[name], True
    json_stdout = variables.LOG_FORMAT.choice(env, problems) == "json"
    file = (env.get(LOG_FILE_VAR) or "").strip() or None
    max_bytes = variables.LOG_FILE_MAX_BYTES.integer(env, problems)
    backups = variables.LOG_FILE_BACKUPS.integer(env, problems)
    return LogSettings(level, level_set, export, json_stdout, file, max_bytes, backups), problems


# --- the JSON-lines formatter ----------------------------------------------------------------------------


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record, for stdout or a file that a log shipper reads.

    Fields: `time` (ISO 8601, UTC, milliseconds), `level`, `logger`, `message`, `trace_id` and
    `span_id` (of the span active when the record was logged; null outside a span), `service.name`,
    and `exception` / `stack` when the record has them. Message, exception and stack go through the
    agent's redactor, as the OTLP exporters' strings do, so the file is as safe to ship as the
    telemetry; if redaction fails the text is withheld, never written as it was.
    """

    def __init__(self, service_name: str | None = None, redact: Callable[[str], str] | None = None) -> None:
        super().__init__()
        self._service_name = service_name
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        try:
            return self._format(record)
        except Exception as exc:  # never into the app: a line that says the record was lost
            _report("logs.json_format", exc)
            return json.dumps({"time": _iso(record.created), "level": record.levelname, "logger": record.name,
                               "message": "[otel-ai: this log record could not be formatted]"})

    def _format(self, record: logging.LogRecord) -> str:
        trace_id, span_id = _ids(record)
        payload: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": self._clean(record.getMessage()),
            "trace_id": trace_id,
            "span_id": span_id,
            "service.name": self._service(),
        }
        if record.exc_info:
            payload["exception"] = self._clean(self.formatException(record.exc_info))
        elif record.exc_text:
            payload["exception"] = self._clean(record.exc_text)
        if record.stack_info:
            payload["stack"] = self._clean(self.formatStack(record.stack_info))
        return json.dumps(payload, ensure_ascii=False)

    def _clean(self, text: str) -> str:
        redact = self._redact or _agent_redact
        try:
            return redact(text)
        except Exception as exc:
            _report("logs.json_redact", exc)
            return "[REDACTED]"

    def _service(self) -> str | None:
        if self._service_name is None:
            self._service_name = _service_name()
        return self._service_name or None


def _iso(created: float) -> str:
    return datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ids(record: logging.LogRecord) -> tuple[str | None, str | None]:
    """Ids the contrib record factory put on the record (OTEL_PYTHON_LOG_CORRELATION), else the current span's."""
    trace_id, span_id = getattr(record, "otelTraceID", None), getattr(record, "otelSpanID", None)
    if isinstance(trace_id, str) and isinstance(span_id, str) and trace_id.strip("0") and span_id.strip("0"):
        return trace_id, span_id
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _service_name() -> str:
    from opentelemetry import trace

    resource = getattr(trace.get_tracer_provider(), "resource", None)
    name = getattr(resource, "attributes", {}).get("service.name") if resource is not None else None
    return str(name) if name else os.environ.get("OTEL_SERVICE_NAME", "")


def _agent_redact(text: str) -> str:
    from otel_ai.privacy import current

    return current.redactor().redact(text)[0]


def _report(where: str, exc: BaseException) -> None:
    from otel_ai.guard import report

    report(where, exc)


# --- the OTLP handler ------------------------------------------------------------------------------------


def _exported(record: logging.LogRecord) -> bool:
    name = record.name
    for prefix in _NOT_EXPORTED:
        if name == prefix or name.startswith(prefix + "."):
            return False
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, get_value

    return not get_value(_SUPPRESS_INSTRUMENTATION_KEY)


def _otel_handler_classes() -> tuple[type[logging.Handler], ...]:
    classes: list[type[logging.Handler]] = []
    try:
        from opentelemetry.sdk._logs import LoggingHandler as SDKHandler

        classes.append(SDKHandler)
    except Exception:  # pragma: no cover - an SDK without it
        pass
    try:
        from opentelemetry.instrumentation.logging.handler import LoggingHandler as ContribHandler

        classes.append(ContribHandler)
    except Exception:  # pragma: no cover - the contrib package missing
        pass
    return tuple(classes)


def _make_otlp_handler(level: int, logger_provider: Any) -> logging.Handler:
    from opentelemetry.instrumentation.logging.handler import LoggingHandler

    foreign = _otel_handler_classes()

    class OtlpLogHandler(LoggingHandler):
        """The contrib handler (record to OTLP log, current context's ids) with our filter and dedup."""

        def __init__(self) -> None:
            super().__init__(level=level, logger_provider=logger_provider)
            self._seen = -1

        def emit(self, record: logging.LogRecord) -> None:
            try:
                root = logging.getLogger()
                if len(root.handlers) != self._seen:  # cheap: rescan only when the root's handlers changed
                    _remove_foreign(root, foreign)
                    self._seen = len(root.handlers)
                if _exported(record):
                    super().emit(record)
                _last_resort(record)
            except Exception as exc:
                _report("logs.otlp_emit", exc)

    handler = OtlpLogHandler()
    setattr(handler, _OURS, "otlp")
    return handler


def _last_resort(record: logging.LogRecord) -> None:
    """Print what Python would have printed had our handler not been there.

    Python writes a record to stderr (`logging.lastResort`, WARNING and above) only when no handler
    is found on the way up from its logger; our handler on the root logger is one, so an app that
    never configured logging lost its warnings and tracebacks from the terminal under the agent.
    Handlers we added ourselves do not count: the app did not ask for them.
    """
    last = logging.lastResort
    if last is None or record.levelno < last.level:
        return
    logger: logging.Logger | None = logging.getLogger(record.name) if record.name != "root" else logging.getLogger()
    while logger is not None:
        for handler in logger.handlers:
            if not getattr(handler, _OURS, None):
                return
        if not logger.propagate:
            break
        logger = logger.parent
    last.handle(record)


def _remove_foreign(root: logging.Logger, foreign: tuple[type[logging.Handler], ...]) -> None:
    """Drop the OpenTelemetry logging handlers someone else added, so a record is exported once."""
    for handler in list(root.handlers):
        if isinstance(handler, foreign) and not getattr(handler, _OURS, None):
            root.removeHandler(handler)


# --- install / uninstall ------------------------------------------------------------------------------------

_lock = threading.Lock()
_installed: list[logging.Handler] = []


def install(settings: LogSettings | None = None, *, logger_provider: Any = None) -> list[logging.Handler]:
    """Add the handlers the settings ask for to the root logger (once); returns those in place.

    `logger_provider`: the SDK's global one by default; without an SDK provider (OTEL_LOGS_EXPORTER
    unset by the SDK, a no-op provider) there is nothing to export to and no OTLP handler is added.
    """
    try:
        with _lock:
            if _installed:
                return list(_installed)
            if settings is None:
                settings, _problems = parse_log_settings()  # the problems are in Settings.problems
            handlers = _build(settings, logger_provider)
            root = logging.getLogger()
            for handler in handlers:
                root.addHandler(handler)
            if handlers and settings.level_set and settings.export and root.level > settings.level:
                root.setLevel(settings.level)
            if handlers:
                _keep_through_config()
            _installed.extend(handlers)
            return list(handlers)
    except Exception as exc:
        _report("logs.install", exc)
        return []


def _build(settings: LogSettings, logger_provider: Any) -> list[logging.Handler]:
    handlers: list[logging.Handler] = []
    if settings.export:
        provider = logger_provider
        if provider is None:
            from opentelemetry._logs import get_logger_provider

            provider = get_logger_provider()
        from opentelemetry.sdk._logs import LoggerProvider

        if isinstance(provider, LoggerProvider) and os.environ.get("OTEL_LOGS_EXPORTER", "").strip() != "none":
            root = logging.getLogger()
            _remove_foreign(root, _otel_handler_classes())
            handlers.append(_make_otlp_handler(settings.level, provider))
    if settings.json_stdout:
        stream = logging.StreamHandler(sys.stdout)
        stream.setLevel(settings.level)
        stream.setFormatter(JsonLogFormatter())
        setattr(stream, _OURS, "stdout")
        handlers.append(stream)
    if settings.file:
        try:
            rotating = logging.handlers.RotatingFileHandler(
                settings.file, maxBytes=settings.max_bytes, backupCount=settings.backups, encoding="utf-8",
            )
        except OSError as exc:
            sys.stderr.write(f"otel-ai: {LOG_FILE_VAR}={settings.file!r} cannot be opened ({exc.strerror or exc}); "
                             "no log file\n")
            sys.stderr.flush()
        else:
            rotating.setLevel(settings.level)
            rotating.setFormatter(JsonLogFormatter())
            setattr(rotating, _OURS, "file")
            handlers.append(rotating)
    return handlers


def uninstall() -> None:
    """Remove and close what `install()` added (tests; `otel_ai` shutdown paths)."""
    with _lock:
        root = logging.getLogger()
        for handler in _installed:
            root.removeHandler(handler)
            with contextlib.suppress(Exception):
                handler.close()
        _installed.clear()


_CONFIG_FUNCTIONS: Final = ((logging, "basicConfig"), (logging.config, "dictConfig"), (logging.config, "fileConfig"))


def _keep_through_config() -> None:
    """Take our handlers off the root logger around the app's logging configuration, then put them back.

    Without this, `basicConfig()` sees a handler on the root logger and does nothing (the app loses
    its console format) and `dictConfig()` replaces the root's handlers (we lose the export). The
    contrib instrumentation wraps the same three functions for its handler, the same way.
    """
    for module, name in _CONFIG_FUNCTIONS:
        original = getattr(module, name)
        if getattr(original, "_otel_ai_keeps_handlers", False):
            continue

        @functools.wraps(original)
        def wrapper(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            root = logging.getLogger()
            ours = [h for h in root.handlers if getattr(h, _OURS, None)]
            for handler in ours:
                root.removeHandler(handler)
            try:
                return _original(*args, **kwargs)
            finally:
                for handler in ours:
                    if handler not in root.handlers:
                        root.addHandler(handler)

        wrapper._otel_ai_keeps_handlers = True  # type: ignore[attr-defined]
        setattr(module, name, wrapper)
