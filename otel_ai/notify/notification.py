"""What a notifier is told: one budget crossing or one alert, as plain values.

Budgets (in the app) and the alert rules of `otel-ai serve` build a `Notification` and hand it to
`notify()`; `otel_ai.notify` installs the dispatcher that delivers it off the caller's
thread. With no dispatcher installed (no notifier configured, and no console exporter to print
notices on) `notify()` does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

from otel_ai.guard import report

Severity = Literal["info", "warning", "critical"]
SEVERITIES: Final = ("info", "warning", "critical")


@dataclass(frozen=True, slots=True)
class Notification:
    """One crossing. For a budget: `threshold` is the fraction of the limit crossed (0.5, 0.8, 1.0),
    `value` the spend and `limit` the budget in USD. For a rate alert: the measured rate and its limit."""

    kind: Literal["budget", "error_rate", "cost_rate"]
    name: str  # the budget's or the alert's name
    severity: Severity
    threshold: float
    value: float
    limit: float
    period: str  # day | week | month for budgets; the evaluation window ("5m") for alerts
    period_start: str  # ISO 8601, UTC offset included
    message: str  # one readable line
    service: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


_dispatcher: Callable[[Notification], None] | None = None


def set_dispatcher(dispatcher: Callable[[Notification], None] | None) -> None:
    global _dispatcher
    _dispatcher = dispatcher


def notify(notification: Notification) -> None:
    """Queue `notification` for every configured notifier; never blocks, never raises."""
    dispatcher = _dispatcher
    if dispatcher is None:
        return
    try:
        dispatcher(notification)
    except Exception as exc:
        report("work.notify", exc)
