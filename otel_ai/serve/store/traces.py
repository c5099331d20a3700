"""Trace queries: the trace list (a page of trace summaries) and one trace's waterfall with its logs.

The functions take the store first: `Store` (store.py) has them as its methods.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, exists, func, literal, select
from sqlalchemy.engine import Connection

from otel_ai.serve.store import schema
from otel_ai.serve.store.aggregates import iso, to_ns
from otel_ai.serve.store.queries import ns_range

if TYPE_CHECKING:
    from otel_ai.serve.store.store import Store

__all__ = ["TRACE_COUNT_CAP", "trace", "traces"]

TRACE_COUNT_CAP = 1_000
_MAX_OFFSET = 2**62  # a paging offset past any real table, well inside a 64-bit SQL integer


def traces(
    store: Store, *, service: str | None = None, model: str | None = None, status: str | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: int = 50, offset: int = 0,
) -> dict[str, Any]:
    """A page of trace summaries, newest first: `items`, `total`, `total_capped`, `has_more`.

    `status`: "error" (a span failed) or "ok"; `service`: the trace's root service; `model`: traces
    with a GenAI call to that model; since/until: the trace's start. `total` counts the matching
    traces up to TRACE_COUNT_CAP (1,000); past that it is the cap and `total_capped` is true ("1,000+"),
    so that a page costs about the same at a million traces as at a thousand."""
    if status not in (None, "ok", "error"):
        raise ValueError('status must be "ok" or "error"')
    limit = max(1, min(int(limit), 1000))
    offset = max(0, min(int(offset), _MAX_OFFSET))  # SQL integers stop at 2^63 - 1
    table = schema.traces
    lo, hi = to_ns(since), to_ns(until)
    where: list[ColumnElement[bool]] = list(ns_range(table.c.start_ns, lo, hi))
    if service is not None:
        where.append(table.c.service == service)
    if status == "error":
        where.append(table.c.error_count > 0)
    elif status == "ok":
        where.append(table.c.error_count == 0)
    with store._read() as connection:
        if model is not None:
            where.append(_model_filter(connection, model, lo))
        query = (select(table).where(*where).order_by(table.c.start_ns.desc(), table.c.trace_id)
                 .limit(limit + 1).offset(offset))
        rows = connection.execute(query).mappings().all()
        failed = _failed_calls(connection, [row["trace_id"] for row in rows[:limit]])
        if offset == 0 and len(rows) <= limit:
            total = len(rows)
        else:
            capped = select(literal(1)).select_from(table).where(*where).limit(TRACE_COUNT_CAP + 1).subquery()
            total = int(connection.execute(select(func.count()).select_from(capped)).scalar() or 0)
    return {
        "items": [_trace_summary(row, failed.get(row["trace_id"], 0)) for row in rows[:limit]],
        "total": min(total, TRACE_COUNT_CAP),
        "total_capped": total > TRACE_COUNT_CAP,
        "limit": limit,
        "offset": offset,
        "has_more": len(rows) > limit,
    }


def _failed_calls(connection: Connection, trace_ids: Sequence[str]) -> dict[str, int]:
    """Failed GenAI calls per trace (a trace's `error_count` counts every failed span, the HTTP
    spans beneath a failed call included: one failed call reads as several errors)."""
    if not trace_ids:
        return {}
    calls = schema.genai_calls
    query = (select(calls.c.trace_id, func.count()).where(calls.c.trace_id.in_(list(trace_ids)),
                                                           calls.c.outcome == "error")
             .group_by(calls.c.trace_id))
    return {trace_id: int(count) for trace_id, count in connection.execute(query)}


def _model_filter(connection: Connection, model: str, lo: int | None) -> ColumnElement[bool]:
    """Traces with a call to `model`. A frequent model is found by probing the traces newest first (a
    page and the capped count need few probes); a rare one by listing its calls first (few to list):
    probing costs about cap/share lookups, listing share*calls index entries."""
    traces, calls = schema.traces, schema.genai_calls
    day = schema.genai_rollup_day
    total = int(connection.execute(select(func.coalesce(func.sum(day.c.calls), 0))).scalar() or 0)
    of_model = int(connection.execute(
        select(func.coalesce(func.sum(day.c.calls), 0)).where(day.c.model == model)).scalar() or 0)
    if of_model and of_model * of_model >= TRACE_COUNT_CAP * total:
        return exists().where(calls.c.trace_id == traces.c.trace_id, calls.c.model == model)
    # a call starts within its trace: the range's lower bound holds for it too, the upper one need not
    return traces.c.trace_id.in_(
        select(calls.c.trace_id).where(calls.c.model == model, *ns_range(calls.c.start_ns, lo, None)))


def trace(
    store: Store, trace_id: str, *, offset: int = 0, limit: int | None = None,
    log_offset: int = 0, log_limit: int | None = None,
) -> dict[str, Any] | None:
    """One trace, a page of it: spans in waterfall order (each with parent id, depth, children,
    attributes, events, links, resource) and its log records; None when no span of it is stored.

    `offset`/`limit` select the spans (None: all), `log_offset`/`log_limit` the log records, so a
    trace of 100k spans is read a page at a time: the waterfall order comes from the spans' ids,
    parents and start times only, and the full rows are read for the page's spans. `span_total`
    and `log_total` count all of them; `next_offset` / `next_log_offset` are null on the last page.
    A span's `children` and the `roots` name the spans of this page only (`child_count`,
    `root_count`: all of them)."""
    trace_id = trace_id.strip().lower()
    if len(trace_id) != 32 or any(c not in "0123456789abcdef" for c in trace_id):
        return None
    offset, log_offset = max(0, int(offset)), max(0, int(log_offset))
    spans_t, logs_t = schema.spans, schema.logs
    with store._read() as connection:
        shape = connection.execute(
            select(spans_t.c.span_id, spans_t.c.parent_span_id, spans_t.c.start_ns, spans_t.c.end_ns,
                   spans_t.c.status_code, spans_t.c.name, spans_t.c.service)
            .where(spans_t.c.trace_id == trace_id)
            .order_by(spans_t.c.start_ns, spans_t.c.span_id)
        ).all()
        if not shape:
            return None
        order, depths, child_counts, roots = _waterfall([(r[0], r[1]) for r in shape])
        page_ids = order[offset:] if limit is None else order[offset:offset + max(0, int(limit))]
        full: dict[str, dict[str, Any]] = {}
        for chunk in range(0, len(page_ids), 1000):  # bound the statement's parameters
            for row in connection.execute(
                select(spans_t).where(spans_t.c.trace_id == trace_id,
                                      spans_t.c.span_id.in_(page_ids[chunk:chunk + 1000]))
            ).mappings():
                full[row["span_id"]] = _span_dict(row)
        summary = connection.execute(
            select(schema.traces).where(schema.traces.c.trace_id == trace_id)
        ).mappings().first()
        log_total = int(connection.execute(
            select(func.count()).select_from(logs_t).where(logs_t.c.trace_id == trace_id)).scalar() or 0)
        log_query = (select(logs_t).where(logs_t.c.trace_id == trace_id)
                     .order_by(logs_t.c.time_ns, logs_t.c.log_id).offset(log_offset))
        if log_limit is not None:
            log_query = log_query.limit(max(0, int(log_limit)))
        log_rows_ = connection.execute(log_query).mappings().all() if log_offset < log_total else []
        failed = _failed_calls(connection, [trace_id])
    on_page = set(page_ids)
    spans = []
    for span_id in page_ids:
        span = full[span_id]
        span["depth"] = depths[span_id]
        span["child_count"] = child_counts.get(span_id, 0)
        spans.append(span)
    for span in spans:
        parent = span["parent_span_id"]
        if parent in on_page and parent != span["span_id"] and span["span_id"] not in roots:
            full[parent]["children"].append(span["span_id"])
    start = min(r[2] for r in shape)
    end = max(r[3] for r in shape)
    first = next(r for r in shape if r[0] in roots)  # the first root to start (_waterfall: one at least)
    head = _trace_summary(summary, failed.get(trace_id, 0)) if summary is not None else {
        "trace_id": trace_id, "name": first[5], "service": first[6],
        "start": iso(start), "start_ns": start, "duration_ms": (end - start) / 1e6, "span_count": len(shape),
        "error": any(r[4] == "ERROR" for r in shape),
        "error_count": sum(r[4] == "ERROR" for r in shape), "genai_calls": None,
        "failed_calls": failed.get(trace_id, 0), "cost_usd": None,
    }
    after = offset + len(page_ids)
    after_logs = log_offset + len(log_rows_)
    return {
        **head,
        "roots": [span_id for span_id in page_ids if span_id in roots], "root_count": len(roots),
        "spans": spans, "span_total": len(shape), "offset": offset, "limit": limit,
        "next_offset": after if after < len(shape) else None,
        "logs": [_log_dict(row) for row in log_rows_], "log_total": log_total, "log_offset": log_offset,
        "log_limit": log_limit, "next_log_offset": after_logs if after_logs < log_total else None,
    }


def _waterfall(
    spans: Sequence[tuple[str, str | None]],
) -> tuple[list[str], dict[str, int], dict[str, int], set[str]]:
    """Waterfall (depth-first, children in start order) of `spans`, (span id, parent id) in start
    order: (the ids in that order, each one's depth, each one's child count, the roots).

    A span whose parent is not stored is a root; spans in a parent cycle (no root above them) come
    last, flat, at depth 0, and the first of them counts as a root so that a trace always has one.
    """
    ids = {span_id for span_id, _ in spans}
    children: dict[str, list[str]] = defaultdict(list)
    roots: list[str] = []
    for span_id, parent in spans:
        if parent is None or parent == span_id or parent not in ids:
            roots.append(span_id)
        else:
            children[parent].append(span_id)
    order: list[str] = []
    depths: dict[str, int] = {}
    stack = [(root, 0) for root in reversed(roots)]
    while stack:
        span_id, depth = stack.pop()
        if span_id in depths:
            continue
        depths[span_id] = depth
        order.append(span_id)
        stack.extend((child, depth + 1) for child in reversed(children.get(span_id, ())))
    for span_id, _ in spans:  # parent cycles: shown flat
        if span_id not in depths:
            depths[span_id] = 0
            order.append(span_id)
            if not roots:
                roots.append(span_id)
    return order, depths, {k: len(v) for k, v in children.items()}, set(roots)


def _trace_summary(row: Mapping[Any, Any], failed_calls: int | None = None) -> dict[str, Any]:
    return {
        "trace_id": row["trace_id"],
        "name": row["name"],
        "service": row["service"],
        "start": iso(row["start_ns"]),
        "start_ns": row["start_ns"],
        "duration_ms": (row["end_ns"] - row["start_ns"]) / 1e6,
        "span_count": row["span_count"],
        "error": row["error_count"] > 0,
        "error_count": row["error_count"],
        "genai_calls": row["genai_calls"],
        "failed_calls": failed_calls,
        "cost_usd": row["cost_usd"],
    }


def _loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _span_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "span_id": row["span_id"],
        "parent_span_id": row["parent_span_id"],
        "name": row["name"],
        "kind": row["kind"],
        "service": row["service"],
        "start": iso(row["start_ns"]),
        "start_ns": row["start_ns"],
        "end_ns": row["end_ns"],
        "duration_ms": row["duration_ns"] / 1e6,
        "status_code": row["status_code"],
        "status_message": row["status_message"],
        "trace_state": row["trace_state"],
        "attributes": _loads(row["attributes"]),
        "events": _loads(row["events"]),
        "links": _loads(row["links"]),
        "resource": _loads(row["resource"]),
        "scope": {"name": row["scope_name"], "version": row["scope_version"]},
        "children": [],
        "depth": 0,
    }


def _log_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "log_id": row["log_id"],
        "time": iso(row["time_ns"]),
        "time_ns": row["time_ns"],
        "trace_id": row["trace_id"],
        "span_id": row["span_id"],
        "severity_number": row["severity_number"],
        "severity_text": row["severity_text"],
        "body": _loads(row["body"]),
        "attributes": _loads(row["attributes"]),
        "event_name": row["event_name"],
        "service": row["service"],
        "scope": row["scope_name"],
    }
