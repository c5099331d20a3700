"""Alerts of `otel-ai serve`: the error rate and the cost rate of the stored GenAI calls over a recent window.

Every `interval_s` (30 s) a background thread of the server reads, in one small query on
`genai_calls` (by its `start_ns` index), how many calls started in the last `window_s` (5 min), how
many failed and what they cost. The error-rate rule fires when at least `min_calls` calls were made
and the failed fraction is above its limit; the cost-rate rule fires when the window's cost,
scaled to an hour, is above its limit in USD. A rule notifies once when its condition starts and
not again until it has cleared, when one "resolved" notice (severity info) follows: an incident is
two messages, not one every 30 s. The notices go through `otel_ai.notify.notification`, so the same
notifiers as the app's budgets deliver them (`OTEL_AI_ALERT_*`), and each is logged on the
server's log too. State lives in memory: a restart during an incident notifies again.

Why not Prometheus alert rules: `otel-ai serve` is the no-infrastructure mode; the shipped
Prometheus rules (deploy/) cover the collector path.

Nothing here raises into the server: a failing query is logged (once per streak) and retried at
the next evaluation. SQLAlchemy loads only when a store's query is built.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final, Literal

from otel_ai.money import format_usd
from otel_ai.notify import notification as _notify
from otel_ai.notify.notification import Notification

__all__ = ["AlertEvaluator", "AlertLoop", "AlertRules", "WindowStats", "format_window", "start_alerts",
           "store_window_query"]

logger = logging.getLogger("otel_ai.serve.alerts")

_NS = 1_000_000_000


@dataclass(frozen=True)
class AlertRules:
    """`--alert-error-rate`, `--alert-cost-per-hour`, `--alert-window`, `--alert-min-calls`; None: rule off."""

    error_rate: float | None = None  # a fraction: 0.2 fires above 20 % failed calls
    cost_per_hour: float | None = None  # USD per hour
    window_s: float = 300.0
    min_calls: int = 20  # fewer calls in the window say nothing about an error rate
    interval_s: float = 30.0

    @property
    def enabled(self) -> bool:
        return self.error_rate is not None or self.cost_per_hour is not None

    def describe(self) -> str:
        """One line for the start-up output."""
        rules = []
        if self.error_rate is not None:
            rules.append(f"error rate above {self.error_rate:.0%} (at least {self.min_calls} calls)")
        if self.cost_per_hour is not None:
            rules.append(f"cost above {_usd(self.cost_per_hour)}/h")
        return f"{' or '.join(rules)} over {format_window(self.window_s)}, checked every {self.interval_s:g} s"


@dataclass(frozen=True)
class WindowStats:
    """What the calls that started in one window add up to."""

    calls: int
    errors: int
    cost_usd: float


WindowQuery = Callable[[int, int], WindowStats]  # (lo_ns, hi_ns) -> totals over [lo, hi)


def format_window(seconds: float) -> str:
    """300 -> "5m", 3600 -> "1h", 90 -> "90s": the `period` of an alert's notification."""
    whole = int(seconds)
    if whole == seconds and whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole == seconds and whole % 60 == 0:
        return f"{whole // 60}m"
    return f"{seconds:g}s"


_LOG_LEVELS: Final = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}

def _usd(value: float) -> str:
    return format_usd(value)


def store_window_query(store: object) -> WindowQuery | None:
    """The store's totals (`Store.totals`: count, failed count and cost) as a window query.

    None for a store without it (a test's stand-in).
    """
    totals: Any = getattr(store, "totals", None)
    if totals is None:
        return None

    def query(lo_ns: int, hi_ns: int) -> WindowStats:
        calls, errors, cost_usd = totals(lo_ns, hi_ns)
        return WindowStats(int(calls), int(errors), float(cost_usd))

    return query


Rule = Literal["error_rate", "cost_rate"]


class AlertEvaluator:
    """Evaluates the rules once per `evaluate()`; remembers which are firing so each incident notifies once."""

    def __init__(
        self, rules: AlertRules, query: WindowQuery, *, sink: Callable[[Notification], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rules = rules
        self.query = query
        self.sink = sink or _notify.notify
        self.clock = clock
        self.firing: dict[Rule, bool] = {"error_rate": False, "cost_rate": False}
        self._failing = False

    def evaluate(self) -> list[Notification]:
        """Query the window ending now; returns (and sends) the notifications of the rules that changed."""
        rules = self.rules
        now = self.clock()
        hi = int(now * _NS)
        lo = hi - int(rules.window_s * _NS)
        try:
            stats = self.query(lo, hi)
        except Exception:
            if not self._failing:
                logger.warning("the alert query failed; trying again in %g s", rules.interval_s, exc_info=True)
            self._failing = True
            return []
        if self._failing:
            logger.info("the alert query works again")
            self._failing = False
        start = datetime.fromtimestamp(lo / _NS, timezone.utc).isoformat()
        window = format_window(rules.window_s)
        out: list[Notification] = []
        if rules.error_rate is not None:
            rate = stats.errors / stats.calls if stats.calls else 0.0
            breached = stats.calls >= rules.min_calls and rate > rules.error_rate
            counted = f"{stats.errors} of {stats.calls} calls failed"
            if breached:
                message = (f"error rate {rate:.0%} over the last {window} ({counted}), "
                           f"above the limit of {rules.error_rate:.0%}")
            else:
                few = f"; fewer than {rules.min_calls} calls" if stats.calls < rules.min_calls else ""
                message = (f"error rate back to {rate:.0%} over the last {window} ({counted}{few}), "
                           f"at or under the limit of {rules.error_rate:.0%}")
            out += self._change("error_rate", breached, rate, rules.error_rate, window, start, message)
        if rules.cost_per_hour is not None:
            per_hour = stats.cost_usd * 3600 / rules.window_s
            spent = f"{_usd(stats.cost_usd)} in {stats.calls} calls"
            if per_hour > rules.cost_per_hour:
                message = (f"cost rate {_usd(per_hour)}/h over the last {window} ({spent}), "
                           f"above the limit of {_usd(rules.cost_per_hour)}/h")
            else:
                message = (f"cost rate back to {_usd(per_hour)}/h over the last {window} ({spent}), "
                           f"at or under the limit of {_usd(rules.cost_per_hour)}/h")
            out += self._change("cost_rate", per_hour > rules.cost_per_hour, per_hour, rules.cost_per_hour,
                                window, start, message)
        for notification in out:
            # the record's level is the notification's severity: CRITICAL for a breach, INFO for a recovery
            logger.log(_LOG_LEVELS[notification.severity], "alert: %s", notification.message)
            self.sink(notification)
        return out

    def _change(
        self, rule: Rule, breached: bool, value: float, limit: float, window: str, start: str, message: str,
    ) -> list[Notification]:
        if breached == self.firing[rule]:
            return []
        self.firing[rule] = breached
        # threshold: the fraction of the limit crossed, as for a budget (1.0: the limit itself)
        return [Notification(kind=rule, name=rule, severity="critical" if breached else "info", threshold=1.0,
                             value=value, limit=limit, period=window, period_start=start, message=message)]


class AlertLoop:
    """The server's alert thread: evaluates at start, then every `interval_s`, until `stop()`."""

    def __init__(self, evaluator: AlertEvaluator) -> None:
        self.evaluator = evaluator
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="otel-ai-alerts", daemon=True)

    def start(self) -> AlertLoop:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                self.evaluator.evaluate()
            except Exception:  # a sink or a message bug: log it, keep the loop
                logger.warning("evaluating the alerts failed", exc_info=True)
            if self._stop.wait(self.evaluator.rules.interval_s):
                return

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)


def start_alerts(
    store: object, rules: AlertRules, *, sink: Callable[[Notification], None] | None = None,
) -> AlertLoop | None:
    """The alert thread on `store`, started; None when no rule is set or the store cannot be queried."""
    if not rules.enabled:
        return None
    query = store_window_query(store)
    if query is None:
        logger.warning("alerts are off: this store cannot be queried for them")
        return None
    return AlertLoop(AlertEvaluator(rules, query, sink=sink)).start()
