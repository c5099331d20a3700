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

__all__ = ["SCOPE_COLUMNS", "spend", "top_spenders"]

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


def _raw_where(table: Table, since: datetime, until: datetime | None,
               scope: Mapping[str, str]) -> tuple[list[ColumnElement[bool]], list[Any]]:
    """The filter of a user/conversation scope, and the columns of its `"*"` keys (each value on its own)."""
    where = [*ns_range(table.c.start_ns, to_ns(since), to_ns(until)),
             *_scope_filter(table, {k: v for k, v in scope.items() if k not in _RAW_SCOPES})]
    each = []
    for key, column in _RAW_SCOPES.items():
        value = scope.get(key)
        if value == "*":
            each.append(table.c[column])
            where.append(table.c[column] != "")
        elif value is not None:
            where.append(table.c[column] == value)
    return where, each


def top_spenders(
    store: Store, since: datetime, until: datetime | None = None, *, scope: Mapping[str, str], limit: int = 10,
    at_least: float | None = None,
) -> dict[str, Any]:
    """For a scope with a `"*"` (per user, per conversation): the values that spent most over [since, until).

    `{"items": [{"values": {"user": "u1"}, "spent_usd", "calls"}...], "values": n, "at_least": m}`: `values`
    counts the values that spent anything, `at_least` those that spent `at_least` USD or more (None if not
    asked). The keys without `"*"` filter as in `spend`. Raises ValueError without a `"*"`."""
    table = schema.genai_calls
    where, each = _raw_where(table, since, until, scope)
    if not each:
        raise ValueError("top_spenders needs a scope with user or conversation '*'")
    cost = func.coalesce(func.sum(table.c.cost_usd), 0.0)
    keys = [k for k in _RAW_SCOPES if scope.get(k) == "*"]
    grouped = select(*each, cost.label("cost"), func.count().label("calls")).where(*where).group_by(*each)
    query = grouped.order_by(cost.desc(), *each).limit(max(1, min(int(limit), 1000)))
    counted = grouped.subquery()
    with store._read() as connection:
        rows = connection.execute(query).all()
        values = int(connection.execute(select(func.count()).select_from(counted)).scalar() or 0)
        over = None if at_least is None else int(connection.execute(
            select(func.count()).select_from(counted).where(counted.c.cost >= at_least)).scalar() or 0)
    items = [{"values": dict(zip(keys, row[:len(keys)], strict=True)), "spent_usd": float(row[len(keys)]),
              "calls": int(row[len(keys) + 1])} for row in rows]
    return {"items": items, "values": values, "at_least": over}


def _raw_spend(store: Store, since: datetime, until: datetime | None, scope: Mapping[str, str]) -> dict[str, Any]:
    """A user or conversation scope, from genai_calls; `"*"`: the spend of the value that spent most."""
    if any(v == "*" for k, v in scope.items() if k in _RAW_SCOPES):
        top = top_spenders(store, since, until, scope=scope, limit=1)["items"]
        if not top:
            return {"spent_usd": 0.0, "calls": 0}
        return {"spent_usd": top[0]["spent_usd"], "calls": top[0]["calls"]}
    table = schema.genai_calls
    where, _ = _raw_where(table, since, until, scope)
    cost = func.coalesce(func.sum(table.c.cost_usd), 0.0)
    query = select(cost.label("cost"), func.count().label("calls")).where(*where)
    with store._read() as connection:
        row = connection.execute(query).mappings().first()
    return {"spent_usd": float(row["cost"]) if row else 0.0, "calls": int(row["calls"]) if row else 0}
