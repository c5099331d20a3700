"""Evaluation results (`otel_ai.evaluate()`, docs/evaluations.md) from the `evaluations` table (revision 0005).

Ingest writes one row per `gen_ai.evaluation.result` span event or log record (evaluation_rows.py: the same
result sent both ways counts once). Joined to `genai_calls` on (trace_id, span_id) each has the evaluated
call's model, task type, cost and conversation. An evaluation's conversation is its call's
`gen_ai.conversation.id`, else the one the evaluation record carried itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, func, select

from otel_ai.serve.store import schema
from otel_ai.serve.store.aggregates import iso, to_ns
from otel_ai.serve.store.evaluation_rows import EVENT
from otel_ai.serve.store.queries import ns_range

if TYPE_CHECKING:
    from otel_ai.serve.store.store import Store

__all__ = ["EVENT", "GROUPS", "evaluation_summary", "evaluations"]

SCAN_LIMIT = 100_000  # evaluations a summary reads at most (the newest)
_MAX_OFFSET = 1_000_000
GROUPS = ("model", "task_type", "conversation")  # what a summary groups by, besides the evaluation name
GOOD_LABELS = ("pass", "correct", "good", "thumbs_up")


def _conversation() -> Any:
    calls, evals = schema.genai_calls, schema.evaluations
    return func.coalesce(func.nullif(calls.c.conversation_id, ""), evals.c.conversation_id, "")


def _query(columns: Sequence[Any], *, name: str | None, model: str | None, task_type: str | None,
           conversation: str | None, since: datetime | None, until: datetime | None) -> Any:
    evals, calls = schema.evaluations, schema.genai_calls
    where: list[ColumnElement[bool]] = list(ns_range(evals.c.time_ns, to_ns(since), to_ns(until)))
    if name is not None:
        where.append(evals.c.name == name)
    if model is not None:
        where.append(calls.c.model == model)
    if task_type is not None:
        where.append(calls.c.task_type == task_type)
    if conversation is not None:
        where.append(_conversation() == conversation)
    join = evals.outerjoin(calls, and_(evals.c.trace_id == calls.c.trace_id, evals.c.span_id == calls.c.span_id))
    return select(*columns).select_from(join).where(*where)


def _columns() -> list[Any]:
    evals, calls = schema.evaluations, schema.genai_calls
    return [evals.c.time_ns, evals.c.trace_id, evals.c.span_id, evals.c.name, evals.c.score, evals.c.label,
            evals.c.explanation, evals.c.response_id, evals.c.service, evals.c.source, calls.c.provider,
            calls.c.model, calls.c.task_type, calls.c.cost_usd, calls.c.user_id,
            _conversation().label("conversation_id")]


def _item(row: Any) -> dict[str, Any]:
    return {
        "time": iso(row["time_ns"]), "time_ns": row["time_ns"], "name": row["name"],
        "score": row["score"], "label": row["label"], "explanation": row["explanation"],
        "response_id": row["response_id"], "trace_id": row["trace_id"], "span_id": row["span_id"],
        "service": row["service"], "source": row["source"], "provider": row["provider"] or None,
        "model": row["model"] or None, "task_type": row["task_type"] or None, "cost_usd": row["cost_usd"],
        "conversation_id": row["conversation_id"] or None, "user": row["user_id"] or None,
    }


def evaluations(
    store: Store, *, name: str | None = None, model: str | None = None, task_type: str | None = None,
    conversation: str | None = None, since: datetime | None = None, until: datetime | None = None,
    limit: int = 50, offset: int = 0,
) -> dict[str, Any]:
    """A page of evaluations, newest first: `items`, `total`, `limit`, `offset`, `has_more`."""
    limit = max(1, min(int(limit), 1000))
    offset = max(0, min(int(offset), _MAX_OFFSET))
    evals = schema.evaluations

    def query(columns: Sequence[Any]) -> Any:
        return _query(columns, name=name, model=model, task_type=task_type, conversation=conversation,
                      since=since, until=until)

    page = query(_columns()).order_by(evals.c.time_ns.desc(), evals.c.evaluation_id).limit(limit).offset(offset)
    with store._read() as connection:
        items = [_item(row) for row in connection.execute(page).mappings()]
        total = int(connection.execute(select(func.count()).select_from(
            query([evals.c.evaluation_id]).subquery())).scalar() or 0)
    return {"items": items, "total": total, "limit": limit, "offset": offset, "has_more": offset + limit < total}


def evaluation_summary(
    store: Store, *, name: str | None = None, model: str | None = None, task_type: str | None = None,
    conversation: str | None = None, since: datetime | None = None, until: datetime | None = None,
    threshold: float = 0.7, good_labels: Collection[str] = GOOD_LABELS,
    group_by: Sequence[str] = ("model", "task_type"),
) -> dict[str, Any]:
    """Scores per evaluation name and `group_by` (model, task type, conversation), with the cost per good answer.

    Cost per good answer: the cost of the evaluated calls (each call once per group) divided by the
    evaluations counted good (score >= threshold, or a label in `good_labels`); None without one."""
    keys = ["name", *(g for g in GROUPS if g in group_by)]
    evals = schema.evaluations
    query = (_query(_columns(), name=name, model=model, task_type=task_type, conversation=conversation,
                    since=since, until=until)
             .order_by(evals.c.time_ns.desc(), evals.c.evaluation_id).limit(SCAN_LIMIT))
    groups: dict[tuple[str, ...], dict[str, Any]] = defaultdict(
        lambda: {"evaluations": 0, "scored": 0, "score_sum": 0.0, "good": 0, "calls": {}})
    with store._read() as connection:
        rows = connection.execute(query).mappings().all()
    for row in rows:
        item = _item(row)
        item["conversation"] = item["conversation_id"]
        group = groups[tuple(item[k] or "" for k in keys)]
        group["evaluations"] += 1
        if item["score"] is not None:
            group["scored"] += 1
            group["score_sum"] += item["score"]
        good = (item["score"] is not None and item["score"] >= threshold) or item["label"] in good_labels
        group["good"] += int(good)
        if item["span_id"] and item["cost_usd"] is not None:
            group["calls"][(item["trace_id"], item["span_id"])] = item["cost_usd"]
    out = []
    for values, group in sorted(groups.items()):
        named = dict(zip(keys, values, strict=True))
        cost = sum(group["calls"].values())
        out.append({
            "name": named["name"], "model": named.get("model") or None,
            "task_type": named.get("task_type") or None, "conversation_id": named.get("conversation") or None,
            "evaluations": group["evaluations"],
            "mean_score": group["score_sum"] / group["scored"] if group["scored"] else None,
            "good": group["good"], "cost_usd": cost,
            "cost_per_good_answer_usd": cost / group["good"] if group["good"] else None,
        })
    return {"threshold": threshold, "good_labels": sorted(good_labels), "group_by": keys, "groups": out}
