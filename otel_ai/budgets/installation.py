"""Installing the budgets of the settings: the listener and gate on the recorder's seam, the gauges, the fleet refresh.

One tracker at a time per process; `install()` again replaces it, `uninstall()` removes it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from otel_ai.budgets.config import PROMETHEUS_SCHEMES, BudgetConfig, parse_budget_config
from otel_ai.budgets.gauges import register_gauges
from otel_ai.budgets.tracker import BudgetTracker
from otel_ai.genai import hooks as calls
from otel_ai.guard import report

__all__ = ["active", "install", "refresher", "uninstall"]

_install_lock = threading.Lock()
_active: BudgetTracker | None = None
_refresher: Any = None


def active() -> BudgetTracker | None:
    """The tracker `install()` set up, or None."""
    return _active


def refresher() -> Any:
    """The running `otel_ai.budgets.fleet.FleetRefresher` (OTEL_AI_BUDGET_SERVER set; a
    `otel_ai.budgets.prometheus.PrometheusRefresher` for a prometheus+http(s):// one), or None."""
    return _refresher


def install(
    config: BudgetConfig | None = None, *, meter_provider: Any = None, tracer_provider: Any = None,
    service: str | None = None, clock: Callable[[], float] = time.time,
) -> BudgetTracker | None:
    """Set up the budgets of `config` (default: read from the environment): subscribe the spend
    listener, add the gate when some budget blocks, register the gauges, start the fleet refresh.

    No budgets: nothing is registered (zero cost per call). Calling it again replaces what an earlier
    call installed. Problems were already reported by `Settings.from_env`; never raises.
    """
    global _active, _refresher
    try:
        if config is None:
            config, _ = parse_budget_config()
        with _install_lock:
            uninstall()
            if not config.budgets:
                return None
            name = service if service is not None else _service_name(tracer_provider)
            tracker = BudgetTracker(config.budgets, service=name, clock=clock)
            calls.subscribe(tracker.listener)
            if tracker.blocking:
                calls.add_gate(tracker.checker)
            register_gauges(tracker, meter_provider, active)
            if config.server:
                from otel_ai.budgets.fleet import FleetRefresher

                if config.token:
                    _remember_secret(config.token)
                kind = FleetRefresher
                if config.server.lower().startswith(PROMETHEUS_SCHEMES):
                    from otel_ai.budgets.prometheus import PrometheusRefresher

                    kind = PrometheusRefresher
                _refresher = kind(tracker, config.server, ttl_s=config.ttl_s, token=config.token).start()
            _active = tracker
            return tracker
    except Exception as exc:
        report("work.budgets.install", exc)
        return None


def uninstall() -> None:
    """Undo `install()`: no listener, no gate, no refresh thread (the gauges read nothing after this)."""
    global _active, _refresher
    tracker, refresher = _active, _refresher
    _active = _refresher = None
    if tracker is not None:
        calls.unsubscribe(tracker.listener)
        calls.remove_gate(tracker.checker)
    if refresher is not None:
        refresher.stop()


def _remember_secret(token: str) -> None:
    """The token joins the redactor's known secrets: if it ever shows up in a span, it is masked."""
    try:
        from otel_ai.privacy.secrets import remember

        remember(token)
    except Exception as exc:
        report("work.budgets.secret", exc)


def _service_name(tracer_provider: Any) -> str | None:
    """`service.name` of the tracer provider's resource, else OTEL_SERVICE_NAME."""
    try:
        if tracer_provider is None:
            from opentelemetry import trace

            tracer_provider = trace.get_tracer_provider()
        resource = getattr(tracer_provider, "resource", None)
        value = resource.attributes.get("service.name") if resource is not None else None
        if isinstance(value, str) and value:
            return value
    except Exception as exc:
        report("work.budgets.service_name", exc)
    return os.environ.get("OTEL_SERVICE_NAME") or None

