"""Calendar periods of a budget: the day, ISO week or month holding an instant, in the budget's time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo

__all__ = ["period_bounds"]


def period_bounds(period: str, tz: tzinfo, now: float) -> tuple[datetime, datetime]:
    """The calendar day, ISO week (Monday first) or month holding `now` (unix seconds), in `tz`:
    (start, end) as aware datetimes, end exclusive."""
    local = datetime.fromtimestamp(now, tz)
    day = local.date()
    if period == "day":
        first, after = day, day + timedelta(days=1)
    elif period == "week":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        after = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return _midnight(first, tz), _midnight(after, tz)


def _midnight(day: date, tz: tzinfo) -> datetime:
    # Round-trip through UTC: a zone whose clocks skip midnight (DST at 00:00) gets the real instant.
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(timezone.utc).astimezone(tz)
