"""Spend in a budget's scope since a time: the store query behind `/api/v1/budgets` and fleet budgets.

Whole days and hours come from the roll-ups and only the edges from the raw `genai_calls` rows
(aggregates.plan), so a month-to-date answer reads a few hundred rows whatever the traffic.

A budget's `model` names what the app asks for (`gpt-4o-mini`); the store keeps the model the
provider answered with, often a dated snapshot (`gpt-4o-mini-2024-07-18`). So a model scope matches
the model itself and its dated snapshots `<model>-YYYY-MM-DD`, nothing else (`gpt-4o` does not
match `gpt-4o-mini-…`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Table, func, or_, select

from otel_ai.serve.store import schema
from otel_ai.serve.store.aggregates import DAY_NS, HOUR_NS, plan

if TYPE_CHECKING:
    from otel_ai.serve.store import Store

__all__ = ["SCOPE_COLUMNS", "spend"]

SCOPE_COLUMNS = ("provider", "model", "task_type", "service")
_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ROLLUPS = {DAY_NS: schema.genai_rollup_day, HOUR_NS: schema.genai_rollup_hour}


def _ns(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _scope_filter(table: Table, scope: Mapping[str, str]) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    for key, value in scope.items():
        if key not in SCOPE_COLUMNS:
            raise ValueError(f"unknown scope key {key!r}; known: {', '.join(SCOPE_COLUMNS)}")
        column = table.c[key]
        if key == "model":
            where.append(or_(column == value, column.like(_like_escape(value) + "-____-__-__", escape="\\")))
        else:
            where.append(column == value)
    return where


def spend(
    store: Store, since: datetime, until: datetime | None = None, *, scope: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Calls and USD in `scope` over [since, until) (until: no end): `{"spent_usd", "calls"}`."""
    lo, hi = _ns(since), (None if until is None else _ns(until))
    scope = scope or {}
    cost = 0.0
    count = 0
    with store.engine.connect() as connection, connection.begin():
        for segment in plan(lo, hi):
            if segment.step:
                table = _ROLLUPS[segment.step]
                where = [*_range(table.c.period_start, segment.lo, segment.hi, _NS), *_scope_filter(table, scope)]
                query = select(func.coalesce(func.sum(table.c.cost_usd), 0.0),
                               func.coalesce(func.sum(table.c.calls), 0))
            else:
                table = schema.genai_calls
                where = [*_range(table.c.start_ns, segment.lo, segment.hi, 1), *_scope_filter(table, scope)]
                query = select(func.coalesce(func.sum(table.c.cost_usd), 0.0), func.count())
            row = connection.execute(query.where(*where)).one()
            cost += float(row[0] or 0.0)
            count += int(row[1] or 0)
    return {"spent_usd": cost, "calls": count}


def _range(column: Any, lo: int | None, hi: int | None, divisor: int) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if lo is not None:
        where.append(column >= lo // divisor)
    if hi is not None:
        where.append(column < hi // divisor)
    return where
