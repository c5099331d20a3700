"""The reports of `otel-ai serve` and `otel-ai report`: summary, costs, errors, forecast and budgets over the store.

No web framework here: the API's routers (`otel_ai.serve.routers`) and the CLI (`otel_ai.cli.report`,
whose ``--format json`` prints exactly what the API returns) build their answers with these functions.
They return the response models of `otel_ai.serve.models`.

Every report takes the same time range: ``since`` (inclusive) and ``until`` (exclusive) are ISO-8601
times (``2026-11-01``, ``2026-11-01T12:00:00Z``; a time without an offset is UTC) or durations before
now (``30m``, ``12h``, ``7d``, ``2w``, combined as ``1d12h``). `resolve_range` reads them; a value
that is neither raises `TimeRangeError` (the API answers 422 with FastAPI's usual body,
``{"detail": [{"loc": ["query", "since"], "msg": "…", …}]}``).
"""

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from otel_ai.serve.models import (
    Budgets,
    BudgetState,
    BudgetValue,
    BudgetValues,
    CostGroup,
    Costs,
    CostTotals,
    ErrorCategory,
    Errors,
    Forecast,
    GroupBy,
    Summary,
)

if TYPE_CHECKING:
    from otel_ai.budgets import Budget
    from otel_ai.serve.store import Store

__all__ = [
    "BUDGETS_VARS",
    "GROUP_BY",
    "Budgets",
    "Costs",
    "ErrorCategory",
    "Errors",
    "Forecast",
    "GroupBy",
    "Summary",
    "TimeRangeError",
    "budgets_report",
    "costs_report",
    "errors_report",
    "forecast_report",
    "load_budgets",
    "parse_time",
    "resolve_range",
    "summary_report",
]

GROUP_BY: Final = ("model", "provider", "operation", "service", "task_type", "day", "response_model")

_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DURATION: Final = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_DURATION_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_MAX_DURATION_S: Final = 100 * 366 * 86400
# The store counts time in nanoseconds since 1970 in 64-bit integers (good until 2262-04-11): times
# outside are moved to these ends, which selects the same data.
_EARLIEST: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LATEST: Final = datetime(2262, 1, 1, tzinfo=timezone.utc)


# -- time ranges -----------------------------------------------------------------------------------------


class TimeRangeError(ValueError):
    """A `since`/`until` value that is neither an ISO-8601 time nor a duration like 7d (or a reversed range)."""

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


def parse_time(value: str, *, now: datetime | None = None) -> datetime:
    """An aware UTC datetime from ISO-8601 (no offset: UTC), ``now``, or a duration before `now` (``7d``,
    ``12h``, ``30m``, ``1d12h``; units s, m, h, d, w)."""
    text = value.strip()
    current = (now if now is not None else datetime.now(timezone.utc)).astimezone(timezone.utc)
    if not text:
        raise TimeRangeError("empty: use an ISO-8601 time (2026-11-01T12:00:00Z) or a duration (30m, 12h, 7d)")
    if text.lower() == "now":
        return current
    compact = text.replace(" ", "").lower()
    if _DURATION.fullmatch(compact):
        seconds = math.fsum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(compact))
        if seconds > _MAX_DURATION_S:
            raise TimeRangeError(f"{value!r} is too long a duration (at most 100 years)")
        return max(current - timedelta(seconds=seconds), _EARLIEST)
    iso = text[:-1] + "+00:00" if text[-1] in "Zz" else text
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise TimeRangeError(
            f"{value!r} is neither an ISO-8601 time (2026-11-01, 2026-11-01T12:00:00Z) "
            "nor a duration before now (30m, 12h, 7d, 2w)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        utc = parsed.astimezone(timezone.utc)
    except OverflowError:  # year 1 or 9999 moved out of range by its offset
        return _EARLIEST if parsed.year < 1970 else _LATEST
    return min(max(utc, _EARLIEST), _LATEST)


def resolve_range(
    since: str | None, until: str | None, *, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """Both ends against the same `now`; a TimeRangeError says which parameter is at fault."""
    current = now if now is not None else datetime.now(timezone.utc)
    ends: dict[str, datetime | None] = {}
    for name, value in (("since", since), ("until", until)):
        try:
            ends[name] = None if value is None else parse_time(value, now=current)
        except TimeRangeError as exc:
            raise TimeRangeError(f"{name}: {exc}", name) from None
    lo, hi = ends["since"], ends["until"]
    if lo is not None and hi is not None and lo >= hi:
        raise TimeRangeError(f"since ({lo.isoformat()}) must be before until ({hi.isoformat()})", "until")
    return lo, hi


# -- the reports (shared with `otel-ai report`) -----------------------------------------------------------


def summary_report(store: "Store", since: datetime | None, until: datetime | None, **filters: str | None) -> Summary:
    # (`summary` also takes a keyword `now`: the filters are dimension names only)
    return Summary.model_validate(store.summary(since, until, **cast("dict[str, Any]", filters)))


def costs_report(
    store: "Store", group_by: str, since: datetime | None, until: datetime | None, **filters: str | None
) -> Costs:
    groups = [CostGroup.model_validate({**row, "key": row["key"] or None})  # '' (not recorded): null
              for row in store.costs(group_by, since, until, **filters)]
    total = CostTotals(
        calls=sum(g.calls for g in groups),
        errors=sum(g.errors for g in groups),
        input_tokens=sum(g.input_tokens for g in groups),
        output_tokens=sum(g.output_tokens for g in groups),
        characters=sum(g.characters for g in groups),
        cost_usd=math.fsum(g.cost_usd for g in groups),
    )
    return Costs(group_by=GroupBy(group_by), since=since, until=until, groups=groups, total=total)


def errors_report(store: "Store", since: datetime | None, until: datetime | None, **filters: str | None) -> Errors:
    categories = [ErrorCategory.model_validate(row) for row in store.errors(since, until, **filters)]
    return Errors(since=since, until=until, total=sum(c.count for c in categories), categories=categories)


def forecast_report(store: "Store", now: datetime | None, **filters: str | None) -> Forecast:
    return Forecast.model_validate(store.forecast(now, **filters))


BUDGETS_VARS: Final = ("OTEL_AI_SERVE_BUDGETS", "OTEL_AI_BUDGETS")  # the first one set wins


def load_budgets(env: Mapping[str, str] | None = None) -> tuple[list["Budget"], list[str], str | None]:
    """The server's budgets: OTEL_AI_SERVE_BUDGETS, else the apps' OTEL_AI_BUDGETS; (budgets, problems, variable)."""
    import os

    from otel_ai.budgets import parse_budgets

    env = os.environ if env is None else env
    for variable in BUDGETS_VARS:
        if (env.get(variable) or "").strip():
            budgets, problems = parse_budgets(env[variable], variable)
            return budgets, problems, variable
    return [], [], None


def budgets_report(
    store: "Store", budgets: Iterable["Budget"], now: datetime | None = None, *,
    problems: Iterable[str] = (), source: str | None = None, top_values: int = 10,
) -> Budgets:
    """Each budget's current period, fleet spend (every service in the store) and status; a per-user or
    per-conversation (`"*"`) budget also its `top_values` top spenders, each against the whole limit."""
    from otel_ai.budgets import period_bounds
    from otel_ai.serve.store.budgets import spend, top_spenders

    current = now if now is not None else datetime.now(timezone.utc)
    states = []
    for budget in budgets:
        start, end = period_bounds(budget.period, budget.tz, current.timestamp())
        found = spend(store, start, scope=budget.scope)
        fraction = found["spent_usd"] / budget.limit_usd
        warn = min((w for w in budget.warn_at), default=1.0)

        def status_of(part: float, warn: float = warn) -> Literal["ok", "warning", "exceeded"]:
            return "exceeded" if part >= 1.0 else "warning" if part >= warn else "ok"

        status = status_of(fraction)
        per_value = None
        if "*" in budget.scope.values():
            top = top_spenders(store, start, scope=budget.scope, limit=top_values, at_least=budget.limit_usd)
            per_value = BudgetValues(
                top=[BudgetValue(values=item["values"], spent_usd=item["spent_usd"], calls=item["calls"],
                                 fraction=item["spent_usd"] / budget.limit_usd,
                                 status=status_of(item["spent_usd"] / budget.limit_usd)) for item in top["items"]],
                values=top["values"], exceeded=top["at_least"] or 0)
        states.append(BudgetState(
            name=budget.name, scope=dict(budget.scope), period=budget.period, timezone=budget.timezone,
            period_start=start, period_end=end, limit_usd=budget.limit_usd, spent_usd=found["spent_usd"],
            calls=found["calls"], fraction=fraction, warn_at=sorted(budget.warn_at), status=status,
            action=budget.action, per_value=per_value,
        ))
    return Budgets(now=current, budgets=states, source=source, problems=list(problems))

