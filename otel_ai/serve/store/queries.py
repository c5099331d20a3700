"""Queries over the GenAI calls for the API, reports and dashboard: totals, costs, errors, forecast, export.

Queries read the roll-ups for whole days and hours and the raw rows only at the edges of the range
(aggregates.py), inside one read transaction (PostgreSQL: REPEATABLE READ) so that the parts agree.
All answers are plain JSON-ready dicts: times as ISO 8601 (UTC) plus `*_ns` integers, money in USD.
The trace list and the trace view are traces.py's.

The functions take the store first: `Store` (store.py) has them as its methods.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import ColumnElement, Table, and_, case, func, or_, select
from sqlalchemy.engine import Connection

from otel_ai.genai.advice import action_for, code_action
from otel_ai.serve.store import schema
from otel_ai.serve.store.aggregates import (
    DAY_NS,
    EPOCH,
    LATENCY,
    MEASURES,
    ROLLUPS,
    SECOND_NS,
    Segment,
    as_utc,
    floor_to,
    iso,
    percentiles,
    plan,
    to_ns,
)
from otel_ai.serve.store.forecast import TREND_DAYS
from otel_ai.serve.store.forecast import forecast as _forecast

if TYPE_CHECKING:
    from otel_ai.serve.store.store import Store

__all__ = [
    "FILTERS",
    "GROUP_BY",
    "CallTotals",
    "Conditions",
    "costs",
    "errors",
    "export_calls",
    "forecast",
    "ns_range",
    "segment_query",
    "summary",
    "totals",
    "unpriced",
]

GROUP_BY = ("model", "provider", "operation", "service", "task_type", "day", "response_model")
# Groups the roll-ups do not key: read from the raw calls over the whole range.
_RAW_GROUPS = frozenset({"response_model"})
FILTERS = schema.DIMENSIONS  # keyword filters of summary, costs, errors, forecast and export_calls
_EXPORT_FILTERS = (*schema.DIMENSIONS, "outcome", "error_category")

# Extra WHERE conditions on a roll-up table or genai_calls (both have the dimension columns).
Conditions = Callable[[Table], Sequence[ColumnElement[bool]]]


class CallTotals(NamedTuple):
    calls: int
    errors: int
    cost_usd: float


@dataclass
class _Totals:
    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    characters: int = 0
    cost_usd: float = 0.0
    duration_ns: int = 0

    def add(self, row: Mapping[Any, Any]) -> None:
        self.calls += int(row["calls"] or 0)
        self.errors += int(row["errors"] or 0)
        self.input_tokens += int(row["input_tokens"] or 0)
        self.output_tokens += int(row["output_tokens"] or 0)
        self.characters += int(row["characters"] or 0)
        self.cost_usd += float(row["cost_usd"] or 0.0)
        self.duration_ns += int(row["duration_ns"] or 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": self.errors,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "characters": self.characters,
            "cost_usd": self.cost_usd,
        }


def _day(seconds: int) -> str:
    return (EPOCH + timedelta(seconds=seconds)).date().isoformat()


def _check_filters(filters: Mapping[str, str | None], allowed: Sequence[str]) -> dict[str, str]:
    unknown = set(filters) - set(allowed)
    if unknown:
        raise ValueError(f"unknown filter(s) {sorted(unknown)}; known: {list(allowed)}")
    return {k: v for k, v in filters.items() if v is not None}


def _aggregate(
    connection: Connection, group_by: Sequence[str], lo: int | None, hi: int | None,
    filters: Mapping[str, str], where: Conditions | None = None,
) -> dict[tuple[Any, ...], _Totals]:
    """Totals per group over [lo, hi) ns; group names: DIMENSIONS, outcome, error_category, day."""
    out: dict[tuple[Any, ...], _Totals] = defaultdict(_Totals)
    segments = [Segment(0, lo, hi)] if _RAW_GROUPS.intersection(group_by) else plan(lo, hi)
    for segment in segments:
        for row in connection.execute(segment_query(segment, group_by, filters, where)).mappings():
            key = tuple(
                (int(row[g]) // SECOND_NS if segment.step == 0 else int(row[g])) if g == "day" else row[g]
                for g in group_by
            )
            out[key].add(row)
    return out


def _latency_histogram(
    connection: Connection, lo: int | None, hi: int | None, filters: Mapping[str, str],
) -> list[tuple[int, int, int]]:
    histogram: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    segments = plan(lo, hi) if not filters else [Segment(0, lo, hi)]
    for segment in segments:
        if segment.step:
            table = LATENCY[segment.step]
            where = _period_range(table, segment)
            query = (select(table.c.bucket, func.sum(table.c.calls), func.sum(table.c.duration_ns))
                     .where(*where).group_by(table.c.bucket))
        else:
            calls = schema.genai_calls
            where = [*ns_range(calls.c.start_ns, segment.lo, segment.hi),
                     *(calls.c[k] == v for k, v in filters.items())]
            query = (select(calls.c.duration_bucket, func.count(), func.sum(calls.c.duration_ns))
                     .where(*where).group_by(calls.c.duration_bucket))
        for bucket, count, duration in connection.execute(query):
            entry = histogram[int(bucket)]
            entry[0] += int(count or 0)
            entry[1] += int(duration or 0)
    return [(b, n, s) for b, (n, s) in histogram.items()]


def totals(store: Store, lo_ns: int | None, hi_ns: int | None, where: Conditions | None = None) -> CallTotals:
    """Calls, failed calls and USD over [lo_ns, hi_ns), optionally only the rows `where(table)`
    selects (a roll-up table or genai_calls, which share the dimension columns): for what the
    equality filters cannot say, such as a budget's model scope. Alerts and budgets read this."""
    with store._read() as connection:
        totals = _aggregate(connection, (), lo_ns, hi_ns, {}, where).get((), _Totals())
    return CallTotals(totals.calls, totals.errors, totals.cost_usd)


def summary(
    store: Store, since: datetime | None = None, until: datetime | None = None, *, now: datetime | None = None,
    **filters: str | None,
) -> dict[str, Any]:
    """Totals over [since, until): calls, errors, error_rate, cost, tokens, characters, p50/p95 latency;
    plus cost_today and cost_this_month (UTC calendar, relative to `now`, ignoring since/until)."""
    active = _check_filters(filters, FILTERS)
    lo, hi = to_ns(since), to_ns(until)
    moment = as_utc(now)
    today_ns = floor_to(to_ns(moment) or 0, DAY_NS)
    month_ns = to_ns(datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)) or 0
    with store._read() as connection:
        totals = _aggregate(connection, (), lo, hi, active).get((), _Totals())
        p50, p95 = percentiles(_latency_histogram(connection, lo, hi, active), (0.5, 0.95))
        by_day = _aggregate(connection, ("day",), month_ns, today_ns + DAY_NS, active)
        unpriced = _unpriced(connection, lo, hi, active)
    today_s = today_ns // SECOND_NS
    return {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        **totals.as_dict(),
        "error_rate": totals.errors / totals.calls if totals.calls else 0.0,
        "avg_duration_ms": totals.duration_ns / totals.calls / 1e6 if totals.calls else None,
        "p50_duration_ms": p50,
        "p95_duration_ms": p95,
        "cost_today": sum((t.cost_usd for (day,), t in by_day.items() if day == today_s), 0.0),
        "cost_this_month": sum((t.cost_usd for t in by_day.values()), 0.0),
        "unpriced_calls": unpriced,
    }


def costs(
    store: Store, group_by: str = "model", since: datetime | None = None, until: datetime | None = None,
    **filters: str | None,
) -> list[dict[str, Any]]:
    """Cost groups: key, calls, errors, input/output tokens, characters, cost_usd. Days ascending,
    other groups by cost descending. A missing dimension (no task type, say) has key ''.
    `model` is the model the app asked for; `response_model` the one that answered (read from the
    raw calls, not the roll-ups: slower over long ranges)."""
    if group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}")
    active = _check_filters(filters, FILTERS)
    with store._read() as connection:
        groups = _aggregate(connection, (group_by,), to_ns(since), to_ns(until), active)
    rows: list[dict[str, Any]] = []
    for (key,), totals in groups.items():
        if not totals.calls:
            continue
        label = _day(key) if group_by == "day" else key
        rows.append({"key": label, **totals.as_dict()})
    if group_by == "day":
        rows.sort(key=lambda r: r["key"])
    else:
        rows.sort(key=lambda r: (-r["cost_usd"], -r["calls"], r["key"]))
    return rows


def errors(
    store: Store, since: datetime | None = None, until: datetime | None = None, **filters: str | None,
) -> list[dict[str, Any]]:
    """Failed calls by `otel_ai.error.category`, most frequent first: category, count, share (of the
    failed calls), rate (of all calls), the recommended action, and `codes`: the provider codes
    (`otel_ai.error.code`) seen under the category, most frequent first, each with its count and
    its own action when it has one (code None: the span carried no code)."""
    active = _check_filters(filters, FILTERS)
    with store._read() as connection:
        groups = _aggregate(
            connection, ("outcome", "error_category", "error_code"), to_ns(since), to_ns(until), active,
        )
    calls = sum(t.calls for t in groups.values())
    by_category: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (outcome, category, code), totals in groups.items():
        if outcome == "error" and totals.calls:
            by_category[category or "other"][code or ""] += totals.calls
    failed = sum(sum(codes.values()) for codes in by_category.values())
    rows: list[dict[str, Any]] = []
    for category, codes in by_category.items():
        count = sum(codes.values())
        ordered = sorted(codes.items(), key=lambda item: (-item[1], item[0]))
        rows.append({
            "category": category, "count": count, "share": count / failed, "rate": count / calls,
            "action": action_for(category),
            "codes": [{"code": code or None, "count": n, "action": code_action(code) if code else None}
                      for code, n in ordered],
        })
    rows.sort(key=lambda r: (-r["count"], r["category"]))
    return rows


def forecast(store: Store, now: datetime | None = None, **filters: str | None) -> dict[str, Any]:
    """Month-end cost (UTC month of `now`) from the daily series; `method` names how (forecast.py)."""
    active = _check_filters(filters, FILTERS)
    moment = as_utc(now)
    today_ns = floor_to(to_ns(moment) or 0, DAY_NS)
    month_ns = to_ns(datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)) or 0
    window_ns = min(month_ns, today_ns - TREND_DAYS * DAY_NS)
    day_table = schema.genai_rollup_day
    with store._read() as connection:
        groups = _aggregate(connection, ("day",), window_ns, today_ns + DAY_NS, active)
        first = connection.execute(
            select(func.min(day_table.c.period_start)).where(*(day_table.c[k] == v for k, v in active.items()))
        ).scalar()
    daily = {
        (EPOCH + timedelta(seconds=day)).date(): (totals.cost_usd, totals.calls)
        for (day,), totals in groups.items()
    }
    first_day: date | None = (EPOCH + timedelta(seconds=int(first))).date() if first is not None else None
    return _forecast(daily, moment, first_day)


def unpriced(calls: Table) -> ColumnElement[bool]:
    """A raw call (genai_calls) with usage but no cost: one the agent had no price for."""
    used = or_(calls.c.input_tokens > 0, calls.c.output_tokens > 0, calls.c.characters > 0)
    return and_(calls.c.cost_usd.is_(None), used)


def _unpriced(
    connection: Connection, lo: int | None, hi: int | None, filters: Mapping[str, str],
) -> list[dict[str, Any]]:
    """Calls with usage but no cost (the agent had no price for the model: its span carries
    `otel_ai.pricing.source=unknown` and no `otel_ai.cost.*`), per model, most first. Exact from the
    raw calls: a priced call always has a cost, and a call without usage has nothing to price."""
    calls = schema.genai_calls
    query = (select(calls.c.model, func.count().label("calls"))
             .where(unpriced(calls), *ns_range(calls.c.start_ns, lo, hi),
                    *(calls.c[k] == v for k, v in filters.items()))
             .group_by(calls.c.model))
    rows = [{"model": model or None, "calls": int(count)} for model, count in connection.execute(query)]
    return sorted(rows, key=lambda r: (-r["calls"], r["model"] or ""))


def export_calls(
    store: Store, since: datetime | None = None, until: datetime | None = None, **filters: str | None,
) -> Iterator[dict[str, Any]]:
    """GenAI calls oldest first, streamed (exhaust or close the iterator). Filters: the dimensions,
    outcome and error_category."""
    active = _check_filters(filters, _EXPORT_FILTERS)
    calls = schema.genai_calls
    query = (select(calls)
             .where(*ns_range(calls.c.start_ns, to_ns(since), to_ns(until)),
                    *(calls.c[k] == v for k, v in active.items()))
             .order_by(calls.c.start_ns, calls.c.trace_id, calls.c.span_id))
    return _export(store, query)


def _export(store: Store, query: Any) -> Iterator[dict[str, Any]]:
    with store._read() as connection:
        result = connection.execution_options(yield_per=2000).execute(query).mappings()
        for row in result:
            yield {
                "time": iso(row["start_ns"]),
                "trace_id": row["trace_id"],
                "span_id": row["span_id"],
                **{d: row[d] or None for d in schema.DIMENSIONS},
                "input_tokens": row["input_tokens"],
                "output_tokens": row["output_tokens"],
                "characters": row["characters"],
                "cost_usd": row["cost_usd"],
                "duration_ms": row["duration_ns"] / 1e6,
                "outcome": row["outcome"],
                "error_category": row["error_category"] or None,
                "error_type": row["error_type"] or None,
                "error_code": row["error_code"] or None,
                "response_model": row["response_model"] or None,
            }


def ns_range(column: Any, lo: int | None, hi: int | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if lo is not None:
        where.append(column >= lo)
    if hi is not None:
        where.append(column < hi)
    return where


def _period_range(table: Table, segment: Segment) -> list[ColumnElement[bool]]:
    return ns_range(
        table.c.period_start,
        None if segment.lo is None else segment.lo // SECOND_NS,
        None if segment.hi is None else segment.hi // SECOND_NS,
    )


def segment_query(
    segment: Segment, group_by: Sequence[str], filters: Mapping[str, str], where: Conditions | None = None,
) -> Any:
    """Sums per group for one segment, from a roll-up or (step 0) from the raw calls."""
    if segment.step:
        table = ROLLUPS[segment.step]
        columns = {g: (table.c.period_start - table.c.period_start % 86400 if g == "day" else table.c[g])
                   for g in group_by}
        measures = [
            func.sum(table.c.calls).label("calls"),
            func.sum(case((table.c.outcome == "error", table.c.calls), else_=0)).label("errors"),
            *(func.sum(table.c[m]).label(m) for m in MEASURES if m != "calls"),
        ]
        where_range = _period_range(table, segment)
    else:
        table = schema.genai_calls
        columns = {g: (table.c.start_ns - table.c.start_ns % DAY_NS if g == "day" else table.c[g]) for g in group_by}
        measures = [
            func.count().label("calls"),
            func.sum(case((table.c.outcome == "error", 1), else_=0)).label("errors"),
            func.sum(table.c.input_tokens).label("input_tokens"),
            func.sum(table.c.output_tokens).label("output_tokens"),
            func.sum(table.c.characters).label("characters"),
            func.sum(func.coalesce(table.c.cost_usd, 0.0)).label("cost_usd"),
            func.sum(table.c.duration_ns).label("duration_ns"),
        ]
        where_range = ns_range(table.c.start_ns, segment.lo, segment.hi)
    conditions = [*where_range, *(table.c[k] == v for k, v in filters.items()), *(where(table) if where else ())]
    labelled = [expr.label(g) for g, expr in columns.items()]
    query = select(*labelled, *measures).where(*conditions)
    if labelled:
        query = query.group_by(*columns.values())
    return query
