"""Export health: one stderr line per process when telemetry cannot be delivered, not SDK noise per batch.

Why: the SDK's OTLP exporters log every retry and every failed batch, and under
`opentelemetry-instrument` the root logger carries the OpenTelemetry logging handler, so those
records are themselves queued for export (and fail again) instead of reaching the terminal: with
no collector the user saw nothing at all, then a stalled exit. Here the exporters' failure records
are filtered out (each remembers its reason: refused, timed out, HTTP 500, ...), every exporter we
set up is watched, and the first failure prints one line naming the endpoint and what to do.
Nothing here raises: a watcher that fails reports the export as failed and the app carries on.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_ai.guard import report
from otel_ai.privacy.urls import display_url, mask_urls

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
else:  # pragma: no cover - depends on the installed SDK
    try:  # SDK >= 1.39
        from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
    except ImportError:  # SDK 1.38: the same interface under the older names
        from opentelemetry.sdk._logs.export import LogExporter as LogRecordExporter
        from opentelemetry.sdk._logs.export import LogExportResult as LogRecordExportResult

__all__ = [
    "WatchedLogExporter",
    "WatchedMetricExporter",
    "WatchedSpanExporter",
    "exit_incomplete",
    "install_log_filters",
    "watch_metric_readers",
]

# The loggers the SDK's OTLP exporters (HTTP and gRPC) report retries and failed batches on.
EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.metric_exporter",
)
# Per-batch messages we replace with our one line; anything else (encoding bugs, oversize
# batches) still goes through.
_BATCH_NOISE = (
    "Transient error",
    "Failed to export",
    "Shutdown in progress",
    "Exporter already shutdown",
    "OTLP client already shutdown",
)
_FINAL_WITHOUT_REASON = "due to timeout, max retries or shutdown"
# Messages about our own shutdown: they never replace the reason seen before them.
_SHUTDOWN_NOISE = ("Shutdown in progress", "Exporter already shutdown", "OTLP client already shutdown")

_R = TypeVar("_R")

_lock = threading.Lock()
_warned = False
_reasons: dict[int, str] = {}  # thread id -> why the export running on that thread last failed
_in_flight: dict[int, str] = {}  # thread id -> endpoint of the export running on it now
_filter_installed = False
_exporters: list[object] = []  # the SDK exporters we watch, for stop_retries()


def _reset_after_fork() -> None:
    """A forked worker is another process: it gets its own warning."""
    global _warned
    _warned = False
    _reasons.clear()
    _in_flight.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


# --------------------------------------------------------------------------------------------
# Why an export failed, from the SDK's own messages
# --------------------------------------------------------------------------------------------

_HTTP_STATUS = re.compile(r"code: (\d{3}), reason: ([^,]*)")
_GRPC_CODE = re.compile(r"StatusCode\.([A-Z_]+)")


def classify(message: str) -> str | None:
    """A short reason from an exporter's log message; None when the message names none."""
    status = _HTTP_STATUS.search(message)
    if status:
        return f"HTTP {status[1]} {status[2].strip()}".strip()
    lowered = message.lower()
    if "connection refused" in lowered or "errno 111" in lowered or "connectionrefused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo" in lowered:
        return "host not found"
    if "name resolution" in lowered:
        return "host not found"
    grpc = _GRPC_CODE.search(message)
    if grpc:
        if grpc[1] == "CANCELLED":  # our own shutdown closed the channel: says nothing about the endpoint
            return None
        return "timed out" if grpc[1] == "DEADLINE_EXCEEDED" else f"gRPC {grpc[1]}"
    if _FINAL_WITHOUT_REASON in message:
        return None
    if "timed out" in lowered or "timeout" in lowered:
        return "timed out"
    if "ssl" in lowered or "certificate" in lowered:
        return "TLS error"
    return message[:120]


def _classify_exception(exc: BaseException) -> str:
    return classify(f"{type(exc).__name__}: {exc}") or type(exc).__name__


class _BatchNoiseFilter(logging.Filter):
    """Drops the exporters' per-batch retry/failure records, remembering the reason per thread."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            if record.levelno < logging.WARNING:
                return True
            message = record.getMessage()
            if not message.startswith(_BATCH_NOISE):
                return True
            reason = None if message.startswith(_SHUTDOWN_NOISE) else classify(message)
            if reason is not None:
                _reasons[threading.get_ident()] = reason
            elif message.startswith("Failed to export") and _FINAL_WITHOUT_REASON in message:
                _reasons.setdefault(threading.get_ident(), "timed out")
            return False
        except Exception:
            return True


def install_log_filters() -> None:
    """Put the batch-noise filter on the SDK exporters' loggers (once per process)."""
    global _filter_installed
    if _filter_installed:
        return
    noise = _BatchNoiseFilter()
    for name in EXPORTER_LOGGERS:
        logging.getLogger(name).addFilter(noise)
    _filter_installed = True


# --------------------------------------------------------------------------------------------
# The one line
# --------------------------------------------------------------------------------------------

_WHAT_TO_DO = (
    "start an OpenTelemetry Collector there, set OTEL_EXPORTER_OTLP_ENDPOINT to one, turn signals off "
    "with OTEL_TRACES_EXPORTER/OTEL_METRICS_EXPORTER/OTEL_LOGS_EXPORTER=none, or try `otel-ai run --console`"
)


def _warn_once(text: str) -> None:
    global _warned
    with _lock:
        if _warned:
            return
        _warned = True
    try:
        # Endpoints carry Basic credentials as user:password@host: never printed (nor in a reason).
        sys.stderr.write(f"otel-ai: {mask_urls(text)}; {_WHAT_TO_DO}.\n")
        sys.stderr.flush()
    except Exception:  # a closed or broken stderr must not break the exporter thread
        pass


def export_failed(endpoint: str, reason: str) -> None:
    """An export gave up: say so once per process; count every one."""
    from otel_ai import agent_warnings

    agent_warnings.count("export.failed")
    if _warned:
        return
    if reason in _VAGUE:
        reason = probe(endpoint) or reason
    _warn_once(f"cannot export telemetry to {display_url(endpoint)} ({reason}), dropping it")


# What an exporter says when it gives up without naming a cause (a refused connection with no
# retry left, say): one connection attempt then tells refused from silent.
_VAGUE = ("timed out", "export failed")
_HOST_PORT = re.compile(r"^[\w.\-]+:\d+$")


def probe(endpoint: str, timeout_s: float = 0.3) -> str | None:
    """Why the endpoint fails, from one TCP connection attempt; None when it accepts connections."""
    try:
        if "://" not in endpoint and not _HOST_PORT.match(endpoint):
            return None  # not a network address (an exporter's class name)
        parts = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        if not host:
            return None
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except ConnectionRefusedError:
        return "connection refused"
    except socket.gaierror:
        return "host not found"
    except TimeoutError:
        return "no answer"
    except Exception:
        return None


def exit_incomplete(deadline_s: float, stuck: Sequence[str] = ()) -> None:
    """The exit deadline passed with exports still running: name the endpoint and the reason."""
    with _lock:
        pending = {ident: endpoint for ident, endpoint in _in_flight.items()}
        reasons = {ident: _reasons.get(ident) for ident in pending}
    if pending:
        ident, endpoint = next(iter(pending.items()))
        reason = reasons.get(ident) or f"no answer within {deadline_s:g} s"
        _warn_once(f"could not export telemetry to {display_url(endpoint)} before exit ({reason}), dropped the rest")
    else:
        names = ", ".join(stuck) or "provider"
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "the OTLP endpoint")
        _warn_once(
            f"telemetry for {display_url(endpoint)} not sent within {deadline_s:g} s at exit ({names} busy), dropped it"
        )


# --------------------------------------------------------------------------------------------
# Watching exporters
# --------------------------------------------------------------------------------------------


def endpoint_of(exporter: object) -> str:
    """Where an exporter sends to (OTLP exporters keep it in `_endpoint`), else its class name."""
    endpoint = getattr(exporter, "_endpoint", None)
    return endpoint if isinstance(endpoint, str) and endpoint else type(exporter).__name__


def _watched(endpoint: str, export: Callable[[], _R], failed: Callable[[_R], bool], failure: _R) -> _R:
    """Run one export, note where it is going while it runs, and report a failure once."""
    ident = threading.get_ident()
    with _lock:
        _reasons.pop(ident, "")
        _in_flight[ident] = endpoint
    try:
        result = export()
    except Exception as exc:
        export_failed(endpoint, _classify_exception(exc))
        return failure
    finally:
        with _lock:
            _in_flight.pop(ident, None)
    try:
        if failed(result):
            export_failed(endpoint, _reasons.pop(ident, "") or "export failed")
    except Exception as exc:
        report("health.watch", exc)
    return result


class WatchedSpanExporter(SpanExporter):
    """Passes spans on; the first failed batch prints the warning line."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.endpoint = endpoint_of(inner)
        _exporters.append(inner)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return _watched(
            self.endpoint, lambda: self.inner.export(spans), lambda r: r != SpanExportResult.SUCCESS,
            SpanExportResult.FAILURE,
        )

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class WatchedLogExporter(LogRecordExporter):
    """Passes log records on; the first failed batch prints the warning line."""

    def __init__(self, inner: LogRecordExporter) -> None:
        self.inner: Any = inner  # the SDK leaves its log exporter interface partly untyped
        self.endpoint = endpoint_of(inner)
        _exporters.append(inner)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        return _watched(
            self.endpoint, lambda: self.inner.export(batch), lambda r: r != LogRecordExportResult.SUCCESS,
            LogRecordExportResult.FAILURE,
        )

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        flush: Any = getattr(self.inner, "force_flush", None)
        return bool(flush(timeout_millis)) if flush is not None else True


class WatchedMetricExporter(MetricExporter):
    """Passes metrics on; the first failed export prints the warning line."""

    def __init__(self, inner: MetricExporter) -> None:
        super().__init__(
            preferred_temporality=getattr(inner, "_preferred_temporality", None),
            preferred_aggregation=getattr(inner, "_preferred_aggregation", None),
        )
        self.inner = inner
        self.endpoint = endpoint_of(inner)
        _exporters.append(inner)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        return _watched(
            self.endpoint,
            lambda: self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs),
            lambda r: r != MetricExportResult.SUCCESS,
            MetricExportResult.FAILURE,
        )

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def stop_retries() -> None:
    """At exit, let every watched exporter make one attempt per batch, with no back-off and retry.

    Why: a retry back-off (1 s, 2 s, 4 s...) outlasts the exit deadline anyway; cutting it short
    makes a refused endpoint cost milliseconds at exit instead of the whole deadline. Uses the
    event the SDK's own shutdown sets (HTTP client `_shutdown_event`; older HTTP and gRPC
    exporters `_shutdown_in_progress`), guarded.
    """
    for inner in list(_exporters):
        try:
            for owner, name in ((getattr(inner, "_client", None), "_shutdown_event"), (inner, "_shutdown_in_progress")):
                event = getattr(owner, name, None)
                if isinstance(event, threading.Event):
                    event.set()
        except Exception as exc:
            report("health.stop_retries", exc)


def watch_metric_readers(meter_provider: object) -> None:
    """Watch the exporters of the provider's push readers (the SDK's configurator has no metric hook).

    Reaches into SDK internals (`_metric_readers`, `_exporter`), guarded: readers of another shape
    (Prometheus pull, a newer SDK) are left as they are.
    """
    try:
        for reader in getattr(meter_provider, "_metric_readers", ()):
            exporter = getattr(reader, "_exporter", None)
            if isinstance(exporter, MetricExporter) and not isinstance(exporter, WatchedMetricExporter):
                reader._exporter = WatchedMetricExporter(exporter)
    except Exception as exc:
        report("health.watch_metric_readers", exc)

