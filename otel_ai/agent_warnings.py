"""The agent's own warnings: one stderr line per process and cause, and a counter by kind.

Why: these used to go to the `otel_ai` logger only. Under the agent the root logger carries the
OTLP log handler, which does not export the agent's own records (no feedback loop) and, being a
handler, keeps Python's last-resort stderr output from running; `otel-ai serve` does not store logs
either. So "no price for model …" (a model silently costing nothing) reached nobody. Now each
warning is written to stderr the first time its kind and cause are seen in the process (as the
export-failure line in `health` is), logged at debug level every time (for whoever debugs the
agent), and counted on `otel_ai.agent.warnings` with `otel_ai.warning.kind`, a fixed, small set of
values (never a model, URL or message: those are the cause, which only picks the line to print).

Counts made before the SDK's meter provider exists (settings problems found at start-up) are
kept and added once `flush()` runs after set-up. Nothing here raises.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Final

from opentelemetry import metrics
from opentelemetry.metrics import Counter, MeterProvider

__all__ = [
    "KINDS",
    "METRIC",
    "WARNING_KIND",
    "count",
    "counts",
    "flush",
    "reset",
    "warn",
]

METRIC: Final = "otel_ai.agent.warnings"
WARNING_KIND: Final = "otel_ai.warning.kind"

# Every kind the agent uses (the metric attribute's whole range; anything else is counted as "other").
KINDS: Final = frozenset({
    "pricing.unknown_model",        # a call whose model has no price: no cost on it
    "budget.server_unreachable",    # OTEL_AI_BUDGET_SERVER did not answer: budgets count locally
    "budget.server_auth",           # the budget server refused (or asked for) the token
    "budget.prometheus_scope",      # a budget's scope has no label on the cost counter: it counts locally
    "budget.prometheus_query",      # the Prometheus query API refused the spend query: last reading kept
    "work.missing_method",          # instrument_methods() was given a name the object lacks
    "work.bad_argument",            # conversation() / evaluate() got an argument of the wrong type: ignored
    "instrumentation.version_conflict",  # an installed library outside an instrumentor's range
    "instrumentation.failed",       # an instrumentor raised while instrumenting
    "instrumentation.config_error",  # a provider instrumentation disabled by a bad setting
    "config.invalid",               # a bad setting: one line, then its safe fallback
    "notify.failed",                # a notifier dropped a notification (queue full, not delivered)
    "export.failed",                # telemetry could not be delivered to the endpoint
    "stream_usage.estimate_unavailable",  # OTEL_AI_STREAM_USAGE=estimate without its offline encodings
    "other",
})

_logger = logging.getLogger("otel_ai")
_lock = threading.Lock()
_printed: set[tuple[str, str]] = set()
_counts: dict[str, int] = {}  # all warnings of the process, by kind (also for `otel-ai check` and tests)
_pending: dict[str, int] = {}  # counted before an SDK meter provider existed
_counter: tuple[MeterProvider, Counter] | None = None


def _reset_after_fork() -> None:
    """A forked worker is another process: it prints its own lines."""
    with _lock:
        _printed.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def warn(kind: str, cause: str, message: str) -> bool:
    """Count one warning; print `otel-ai: {message}` on stderr if this kind and cause are new.

    Returns whether the line was printed. `message` must already be safe to show (URLs masked).
    """
    try:
        if kind not in KINDS:
            kind = "other"
        key = (kind, cause)
        with _lock:
            first = key not in _printed
            if first:
                _printed.add(key)
            _counts[kind] = _counts.get(kind, 0) + 1
        _count(kind)
        _logger.debug("otel-ai warning (%s): %s", kind, message)
        if first:
            try:
                sys.stderr.write(f"otel-ai: {message}\n")
                sys.stderr.flush()
            except Exception:  # a closed or broken stderr must not reach the app
                pass
        return first
    except Exception:
        return False


def count(kind: str) -> None:
    """Count one warning whose line the caller prints itself (each one matters: a dropped notice)."""
    try:
        if kind not in KINDS:
            kind = "other"
        with _lock:
            _counts[kind] = _counts.get(kind, 0) + 1
        _count(kind)
    except Exception:
        pass


def _sdk_provider() -> MeterProvider | None:
    provider = metrics.get_meter_provider()
    try:
        from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider
    except Exception:  # pragma: no cover - the SDK is a dependency
        return None
    return provider if isinstance(provider, SDKMeterProvider) else None


def _instrument(provider: MeterProvider) -> Counter:
    global _counter
    cached = _counter
    if cached is None or cached[0] is not provider:
        from otel_ai.version import __version__

        meter = metrics.get_meter("otel_ai", __version__, provider)
        counter = meter.create_counter(
            METRIC, unit="{warning}", description="Warnings the otel-ai agent raised, by kind.",
        )
        cached = _counter = (provider, counter)
    return cached[1]


def _count(kind: str) -> None:
    try:
        provider = _sdk_provider()
        if provider is None:
            with _lock:
                _pending[kind] = _pending.get(kind, 0) + 1
            return
        _instrument(provider).add(1, {WARNING_KIND: kind})
    except Exception:
        pass


def flush() -> None:
    """Add the warnings counted before the SDK's meter provider existed (called after set-up)."""
    try:
        provider = _sdk_provider()
        if provider is None:
            return
        with _lock:
            pending = dict(_pending)
            _pending.clear()
        counter = _instrument(provider)
        for kind, count in pending.items():
            counter.add(count, {WARNING_KIND: kind})
    except Exception:
        pass


def counts() -> dict[str, int]:
    """How many warnings of each kind this process raised."""
    with _lock:
        return dict(_counts)


def reset() -> None:
    """Forget what was printed and counted (tests)."""
    global _counter
    with _lock:
        _printed.clear()
        _counts.clear()
        _pending.clear()
        _counter = None
