"""Month-end cost forecast from the daily cost series (UTC calendar months).

Two methods, named in the answer:

* "linear trend of the last N days" (N up to 14) when at least 7 complete days precede today: a
  least-squares line through the complete days' costs (days without calls count as 0), extended
  over the rest of today and the remaining days of the month, never below 0 per day;
* "month-to-date run rate" otherwise: the month's cost so far divided by the time elapsed in the
  month, times the month's length.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, timezone
from typing import Any

__all__ = ["MIN_TREND_DAYS", "TREND_DAYS", "forecast"]

TREND_DAYS = 14
MIN_TREND_DAYS = 7


def _fit(values: list[float]) -> tuple[float, float]:
    """Least-squares intercept and slope of values against 0..n-1."""
    n = len(values)
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    var = sum((x - mean_x) ** 2 for x in range(n))
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / var if var else 0.0
    return mean_y - slope * mean_x, slope


def forecast(daily: dict[date, tuple[float, int]], now: datetime, first_day: date | None) -> dict[str, Any]:
    """`daily`: cost and calls per UTC day (any days; those the method needs); `first_day`: the first day with data."""
    today = now.date()
    month_start = today.replace(day=1)
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    month_end = month_start + timedelta(days=days_in_month)
    start_dt = datetime(month_start.year, month_start.month, 1, tzinfo=timezone.utc)
    elapsed_days = max((now - start_dt).total_seconds() / 86400, 0.0)
    today_fraction = elapsed_days - (today - month_start).days

    month_days = [month_start + timedelta(days=i) for i in range((today - month_start).days + 1)]
    month_to_date = sum(daily.get(d, (0.0, 0))[0] for d in month_days)
    series = [
        {"day": d.isoformat(), "cost_usd": daily.get(d, (0.0, 0))[0], "calls": daily.get(d, (0.0, 0))[1]}
        for d in month_days
    ]

    history = (today - first_day).days if first_day is not None else 0
    window = min(TREND_DAYS, history)
    projected: list[dict[str, Any]] = []
    basis: dict[str, Any]
    if window >= MIN_TREND_DAYS:
        days = [today - timedelta(days=window - i) for i in range(window)]
        intercept, slope = _fit([daily.get(d, (0.0, 0))[0] for d in days])

        def predict(d: date) -> float:
            return max(0.0, intercept + slope * ((d - days[0]).days))

        rest = predict(today) * (1.0 - today_fraction)
        for i in range(1, (month_end - today).days):
            d = today + timedelta(days=i)
            projected.append({"day": d.isoformat(), "cost_usd": predict(d)})
        forecast_total = month_to_date + rest + sum(p["cost_usd"] for p in projected)
        method = f"linear trend of the last {window} days"
        basis = {"days": window, "from": days[0].isoformat(), "to": days[-1].isoformat(),
                 "slope_usd_per_day": slope, "today_usd": predict(today)}
    else:
        method = "month-to-date run rate"
        rate = month_to_date / elapsed_days if elapsed_days > 0 else 0.0
        forecast_total = rate * days_in_month if month_to_date else 0.0
        for i in range(1, (month_end - today).days):
            projected.append({"day": (today + timedelta(days=i)).isoformat(), "cost_usd": rate})
        basis = {"usd_per_day": rate}
    return {
        "method": method,
        "now": now.isoformat(),
        "month": month_start.strftime("%Y-%m"),
        "days_in_month": days_in_month,
        "days_elapsed": elapsed_days,
        "month_to_date": month_to_date,
        "forecast_month_end": max(forecast_total, month_to_date),
        "daily": series,
        "projected": projected,
        "basis": basis,
    }
