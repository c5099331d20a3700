"""Evaluation results (`otel_ai.evaluate()`, docs/evaluations.md) read from the stored log records.

Why no table of their own (yet): the agent sends an evaluation of a finished call as a log record
with event name `gen_ai.evaluation.result` and the call's trace and span id, which the store already
keeps in `logs`; joined to `genai_calls` on (trace_id, span_id) it has the call's model, task type
and cost. Evaluations sent as span events (the call's span still open) are not read here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, select

from otel_ai.serve.store import schema
from otel_ai.serve.store.aggregates import iso, to_ns
from otel_ai.serve.store.queries import ns_range

if TYPE_CHECKING:
    from otel_ai.serve.store.store import Store

__all__ = ["EVENT", "evaluation_summary", "evaluations"]

EVENT = "gen_ai.evaluation.result"
SCAN_LIMIT = 100_000  # evaluations read per answer at most (the newest)
_MAX_OFFSET = 1_000_000


def _rows(store: Store, *, model: str | None, task_type: str | None, since: datetime | None,
          until: datetime | None) -> list[dict[str, Any]]:
    logs, calls = schema.logs, schema.genai_calls
    where: list[ColumnElement[bool]] = [
        logs.c.event_name == EVENT, *ns_range(logs.c.time_ns, to_ns(since), to_ns(until)),
    ]
    if model is not None:
        where.append(calls.c.model == model)
    if task_type is not None:
        where.append(calls.c.task_type == task_type)
    join = logs.outerjoin(calls, and_(logs.c.trace_id == calls.c.trace_id, logs.c.span_id == calls.c.span_id))
    query = (
        select(logs.c.time_ns, logs.c.trace_id, logs.c.span_id, logs.c.attributes, logs.c.service,
               calls.c.provider, calls.c.model, calls.c.task_type, calls.c.cost_usd)
        .select_from(join).where(*where).order_by(logs.c.time_ns.desc(), logs.c.log_id).limit(SCAN_LIMIT)
    )
    with store._read() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def _item(row: dict[str, Any]) -> dict[str, Any] | None:
    try:
        attrs = json.loads(row["attributes"] or "{}")
    except ValueError:
        return None
    name = attrs.get("gen_ai.evaluation.name")
    if not isinstance(name, str):
        return None
    score = attrs.get("gen_ai.evaluation.score.value")
    return {
        "time": iso(row["time_ns"]),
        "time_ns": row["time_ns"],
        "name": name,
        "score": float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
        "label": attrs.get("gen_ai.evaluation.score.label"),
        "explanation": attrs.get("gen_ai.evaluation.explanation"),
        "response_id": attrs.get("gen_ai.response.id"),
        "trace_id": row["trace_id"],
        "span_id": row["span_id"],
        "service": row["service"],
        "provider": row["provider"] or None,
        "model": row["model"] or None,
        "task_type": row["task_type"] or None,
        "cost_usd": row["cost_usd"],
    }


def _matching(store: Store, name: str | None, model: str | None, task_type: str | None,
              since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
    items = (_item(row) for row in _rows(store, model=model, task_type=task_type, since=since, until=until))
    return [item for item in items if item is not None and (name is None or item["name"] == name)]


def evaluations(
    store: Store, *, name: str | None = None, model: str | None = None, task_type: str | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: int = 50, offset: int = 0,
) -> dict[str, Any]:
    """A page of evaluations, newest first: `items`, `total`, `limit`, `offset`, `has_more`."""
    limit = max(1, min(int(limit), 1000))
    offset = max(0, min(int(offset), _MAX_OFFSET))
    found = _matching(store, name, model, task_type, since, until)
    page = found[offset : offset + limit]
    return {"items": page, "total": len(found), "limit": limit, "offset": offset,
            "has_more": offset + limit < len(found)}


def evaluation_summary(
    store: Store, *, name: str | None = None, model: str | None = None, task_type: str | None = None,
    since: datetime | None = None, until: datetime | None = None, threshold: float = 0.7,
    good_labels: Collection[str] = ("pass", "correct", "good", "thumbs_up"),
) -> dict[str, Any]:
    """Scores per evaluation name, model and task type, with the cost per good answer.

    Cost per good answer: the cost of the evaluated calls (each call once per group) divided by the
    evaluations counted good (score >= threshold, or a label in `good_labels`); None without one."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(
        lambda: {"evaluations": 0, "scored": 0, "score_sum": 0.0, "good": 0, "calls": {}})
    for item in _matching(store, name, model, task_type, since, until):
        group = groups[(item["name"], item["model"] or "", item["task_type"] or "")]
        group["evaluations"] += 1
        if item["score"] is not None:
            group["scored"] += 1
            group["score_sum"] += item["score"]
        good = (item["score"] is not None and item["score"] >= threshold) or item["label"] in good_labels
        group["good"] += int(good)
        if item["span_id"] and item["cost_usd"] is not None:
            group["calls"][(item["trace_id"], item["span_id"])] = item["cost_usd"]
    rows = []
    for (eval_name, eval_model, eval_task), group in sorted(groups.items()):
        cost = sum(group["calls"].values())
        rows.append({
            "name": eval_name, "model": eval_model or None, "task_type": eval_task or None,
            "evaluations": group["evaluations"],
            "mean_score": group["score_sum"] / group["scored"] if group["scored"] else None,
            "good": group["good"], "cost_usd": cost,
            "cost_per_good_answer_usd": cost / group["good"] if group["good"] else None,
        })
    return {"threshold": threshold, "good_labels": sorted(good_labels), "groups": rows}
