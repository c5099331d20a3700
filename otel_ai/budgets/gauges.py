"""The budget gauges: each budget's spend this period and its limit, read from the tracker at collection."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from otel_ai.budgets.tracker import BudgetTracker
from otel_ai.guard import report

__all__ = ["register_gauges"]


def register_gauges(
    tracker: BudgetTracker, meter_provider: Any, current: Callable[[], BudgetTracker | None]
) -> None:
    """Register the two gauges; they report nothing once `current()` is no longer `tracker`."""
    from opentelemetry.metrics import CallbackOptions, Observation, get_meter_provider

    from otel_ai.genai import semconv
    from otel_ai.version import __version__

    provider = meter_provider if meter_provider is not None else get_meter_provider()
    meter = provider.get_meter("otel_ai.budgets", __version__)

    def observe(which: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterator[Observation]:
            if current() is not tracker:  # uninstalled or replaced: report nothing
                return
            try:
                statuses = tracker.statuses()
            except Exception as exc:
                report("work.budgets.gauges", exc)
                return
            for status in statuses:
                attributes = {semconv.BUDGET_NAME: status.budget.name, semconv.BUDGET_PERIOD: status.budget.period}
                value = status.spent_usd if which == "spent" else status.budget.limit_usd
                yield Observation(value, attributes)

        return callback

    meter.create_observable_gauge(semconv.METRIC_BUDGET_SPENT, callbacks=[observe("spent")], unit="{USD}",
                                  description="Spend of the budget's current period (fleet-wide with "
                                  "OTEL_AI_BUDGET_SERVER, else this process's)")
    meter.create_observable_gauge(semconv.METRIC_BUDGET_LIMIT, callbacks=[observe("limit")], unit="{USD}",
                                  description="The budget's limit per period")
