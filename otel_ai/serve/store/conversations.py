"""Conversation queries: conversations with their totals, one conversation's turns in order, users.

They read `genai_calls` (its `conversation_id` and `user_id`, since revision 0004), not the roll-ups: a
conversation or a user is never a roll-up key (one row per user would make the roll-ups as large as the
calls). So what they show is what retention keeps of the calls themselves. The functions take the store
first: `Store` (store.py) has them as its methods.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, case, func, literal, select

from otel_ai.serve.store import schema
from otel_ai.serve.store.aggregates import iso, to_ns
from otel_ai.serve.store.queries import ns_range, unpriced

if TYPE_CHECKING:
    from otel_ai.serve.store.store import Store

__all__ = ["COUNT_CAP", "SORTS", "conversation", "conversations", "users"]

COUNT_CAP = 1_000  # totals past this say "1,000+" (a count over every conversation would read every call)
_MAX_OFFSET = 2**62
_NS_PER_MS = 1_000_000


def _measures(table: Any) -> list[Any]:
    """The totals every view shows, as labelled SQL aggregates over genai_calls rows."""
    c = table.c
    return [
        func.count().label("calls"),
        func.sum(case((c.outcome == "error", 1), else_=0)).label("errors"),
        func.coalesce(func.sum(c.cost_usd), 0.0).label("cost_usd"),
        func.sum(case((unpriced(table), 1), else_=0)).label("unpriced_calls"),
        func.sum(c.input_tokens).label("input_tokens"),
        func.sum(c.output_tokens).label("output_tokens"),
        func.sum(c.duration_ns).label("duration_ns"),
        func.max(c.duration_ns).label("max_duration_ns"),
        func.min(c.start_ns).label("first_ns"),
        func.max(c.start_ns + c.duration_ns).label("last_ns"),
    ]


def _totals(row: Any) -> dict[str, Any]:
    calls = int(row["calls"] or 0)
    return {
        "calls": calls,
        "errors": int(row["errors"] or 0),
        "cost_usd": float(row["cost_usd"] or 0.0),
        "unpriced_calls": int(row["unpriced_calls"] or 0),
        "input_tokens": int(row["input_tokens"] or 0),
        "output_tokens": int(row["output_tokens"] or 0),
        "mean_latency_ms": (int(row["duration_ns"] or 0) / calls / _NS_PER_MS) if calls else None,
        "max_latency_ms": int(row["max_duration_ns"] or 0) / _NS_PER_MS if calls else None,
        "first_at": iso(int(row["first_ns"])) if row["first_ns"] is not None else None,
        "last_at": iso(int(row["last_ns"])) if row["last_ns"] is not None else None,
    }


# What a list can be sorted by, highest first (the dashboard's column headers): SQL over genai_calls rows.
SORTS = ("recent", "cost", "calls", "errors", "tokens", "latency")


def _order(table: Any, sort: str) -> Any:
    c = table.c
    if sort == "cost":
        return func.coalesce(func.sum(c.cost_usd), 0.0)
    if sort == "calls":
        return func.count()
    if sort == "errors":
        return func.sum(case((c.outcome == "error", 1), else_=0))
    if sort == "tokens":
        return func.sum(c.input_tokens + c.output_tokens)
    if sort == "latency":
        return func.sum(c.duration_ns) * 1.0 / func.count()
    if sort == "recent":
        return func.max(c.start_ns + c.duration_ns)
    raise ValueError(f"unknown sort {sort!r}; known: {', '.join(SORTS)}")


def _page(limit: int, offset: int) -> tuple[int, int]:
    return max(1, min(int(limit), 1000)), max(0, min(int(offset), _MAX_OFFSET))


def _filters(table: Any, *, service: str | None, user: str | None, since: datetime | None,
             until: datetime | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = list(ns_range(table.c.start_ns, to_ns(since), to_ns(until)))
    if service is not None:
        where.append(table.c.service == service)
    if user is not None:
        where.append(table.c.user_id == user)
    return where


def conversations(
    store: Store, *, user: str | None = None, service: str | None = None, since: datetime | None = None,
    until: datetime | None = None, limit: int = 50, offset: int = 0, sort: str = "recent",
) -> dict[str, Any]:
    """A page of conversations, the most recently active first (or the highest `sort`: SORTS), each with its
    totals and users.

    `since`/`until` bound the calls counted (a conversation shows only its calls in the window)."""
    limit, offset = _page(limit, offset)
    table = schema.genai_calls
    where = [table.c.conversation_id != "", *_filters(table, service=service, user=user, since=since, until=until)]
    query = (select(table.c.conversation_id, *_measures(table), func.count(func.distinct(table.c.user_id))
                    .label("user_count"), func.max(table.c.user_id).label("a_user"))
             .where(*where).group_by(table.c.conversation_id)
             .order_by(_order(table, sort).desc(), table.c.conversation_id)
             .limit(limit + 1).offset(offset))
    with store._read() as connection:
        rows = connection.execute(query).mappings().all()
        if offset == 0 and len(rows) <= limit:
            total = len(rows)
        else:
            ids = (select(literal(1)).select_from(table).where(*where).group_by(table.c.conversation_id)
                   .limit(COUNT_CAP + 1).subquery())
            total = int(connection.execute(select(func.count()).select_from(ids)).scalar() or 0)
    items = []
    for row in rows[:limit]:
        users = int(row["user_count"] or 0)
        items.append({"conversation_id": row["conversation_id"], **_totals(row),
                      # the one user, '' (none) counted as a user only when it is the only one
                      "user": (row["a_user"] or None) if users <= 1 else None, "users": users})
    return {"items": items, "total": min(total, COUNT_CAP), "total_capped": total > COUNT_CAP,
            "limit": limit, "offset": offset, "has_more": len(rows) > limit}


def conversation(store: Store, conversation_id: str, *, limit: int = 200, offset: int = 0) -> dict[str, Any] | None:
    """One conversation's turns (its GenAI calls) in the order they started, with its totals; None if unknown."""
    limit, offset = _page(limit, offset)
    table = schema.genai_calls
    c = table.c
    where = c.conversation_id == conversation_id
    with store._read() as connection:
        head = connection.execute(select(*_measures(table)).where(where)).mappings().one()
        if not head["calls"]:
            return None
        users = [u for (u,) in connection.execute(
            select(c.user_id).where(where, c.user_id != "").group_by(c.user_id).order_by(c.user_id).limit(100))]
        rows = connection.execute(
            select(c.trace_id, c.span_id, c.start_ns, c.duration_ns, c.service, c.provider, c.operation, c.model,
                   c.task_type, c.user_id, c.input_tokens, c.output_tokens, c.cost_usd, c.outcome,
                   c.error_category, c.error_type)
            .where(where).order_by(c.start_ns, c.span_id).limit(limit + 1).offset(offset)
        ).mappings().all()
    turns = [{
        "trace_id": r["trace_id"], "span_id": r["span_id"], "started_at": iso(int(r["start_ns"])),
        "latency_ms": int(r["duration_ns"]) / _NS_PER_MS, "service": r["service"] or None,
        "provider": r["provider"] or None, "operation": r["operation"] or None, "model": r["model"] or None,
        "task_type": r["task_type"] or None, "user": r["user_id"] or None,
        "input_tokens": int(r["input_tokens"]), "output_tokens": int(r["output_tokens"]),
        "cost_usd": float(r["cost_usd"]) if r["cost_usd"] is not None else None,
        "outcome": r["outcome"], "error_category": r["error_category"] or None,
        "error_type": r["error_type"] or None,
    } for r in rows[:limit]]
    return {"conversation_id": conversation_id, **_totals(head), "users": users, "turns": turns,
            "limit": limit, "offset": offset,
            "next_offset": offset + limit if len(rows) > limit else None}


def users(
    store: Store, *, service: str | None = None, since: datetime | None = None, until: datetime | None = None,
    limit: int = 50, offset: int = 0, sort: str = "cost",
) -> dict[str, Any]:
    """A page of users, the highest spend first (or the highest `sort`: SORTS): calls, cost, tokens, errors,
    latency and conversations."""
    limit, offset = _page(limit, offset)
    table = schema.genai_calls
    where = [table.c.user_id != "", *_filters(table, service=service, user=None, since=since, until=until)]
    conversations_count = func.count(func.distinct(case((table.c.conversation_id != "", table.c.conversation_id))))
    query = (select(table.c.user_id, *_measures(table), conversations_count.label("conversations"))
             .where(*where).group_by(table.c.user_id)
             .order_by(_order(table, sort).desc(), table.c.user_id)
             .limit(limit + 1).offset(offset))
    with store._read() as connection:
        rows = connection.execute(query).mappings().all()
    return {"items": [{"user": row["user_id"], "conversations": int(row["conversations"] or 0), **_totals(row)}
                      for row in rows[:limit]],
            "limit": limit, "offset": offset, "has_more": len(rows) > limit}
