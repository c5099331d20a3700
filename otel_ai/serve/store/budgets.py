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
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Table, func, or_, select

from otel_ai.serve.store import schema
from otel_ai.serve.store.aggregates import to_ns
from otel_ai.serve.store.queries import ns_range

if TYPE_CHECKING:
    from otel_ai.serve.store import Store

__all__ = ["SCOPE_COLUMNS", "spend"]

SCOPE_COLUMNS = ("provider", "model", "task_type", "service")


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
    scope = scope or {}
    if any(key in scope for key in _RAW_SCOPES):
        return _raw_spend(store, since, until, scope)
    totals = store.totals(to_ns(since), to_ns(until), lambda table: _scope_filter(table, scope))
    return {"spent_usd": totals.cost_usd, "calls": totals.calls}


_RAW_SCOPES = {"user": "user_id", "conversation": "conversation_id"}


def _raw_spend(store: Store, since: datetime, until: datetime | None, scope: Mapping[str, str]) -> dict[str, Any]:
    """A user or conversation scope, from genai_calls; `"*"`: the spend of the value that spent most."""
    table = schema.genai_calls
    where = [*ns_range(table.c.start_ns, to_ns(since), to_ns(until)),
             *_scope_filter(table, {k: v for k, v in scope.items() if k not in _RAW_SCOPES})]
    each = None
    for key, column in _RAW_SCOPES.items():
        value = scope.get(key)
        if value == "*":
            each = table.c[column]
            where.append(each != "")
        elif value is not None:
            where.append(table.c[column] == value)
    cost, calls = func.coalesce(func.sum(table.c.cost_usd), 0.0), func.count()
    query = select(cost.label("cost"), calls.label("calls")).where(*where)
    if each is not None:
        query = query.group_by(each).order_by(cost.desc()).limit(1)
    with store._read() as connection:
        row = connection.execute(query).mappings().first()
    return {"spent_usd": float(row["cost"]) if row else 0.0, "calls": int(row["calls"]) if row else 0}
