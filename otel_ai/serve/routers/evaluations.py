"""`/api/v1/evaluations` (a page of evaluation results) and `/api/v1/evaluations/summary` (per model and task type)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from otel_ai.serve.models import EvaluationPage, EvaluationSummary
from otel_ai.serve.routers.deps import (
    API_PREFIX,
    MAX_OFFSET,
    MAX_TEXT,
    RESPONSES_422,
    StoreDep,
    since_q,
    task_type_q,
    text,
    to_range,
    until_q,
)

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, tags=["evaluations"])
name_q = Query(description="only this gen_ai.evaluation.name", max_length=MAX_TEXT)
model_q = Query(description="only evaluations of calls to this request model", max_length=MAX_TEXT)
conversation_q = Query(description="only evaluations in this conversation (gen_ai.conversation.id)",
                       max_length=MAX_TEXT)
GroupBy = Literal["model", "task_type", "conversation"]


@router.get("/evaluations", response_model=EvaluationPage, responses=RESPONSES_422)
def evaluations(
    store: StoreDep,
    name: Annotated[str | None, name_q] = None,
    model: Annotated[str | None, model_q] = None,
    task_type: Annotated[str | None, task_type_q] = None,
    conversation: Annotated[str | None, conversation_q] = None,
    since: Annotated[str | None, since_q] = None,
    until: Annotated[str | None, until_q] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="evaluations to skip (newest first)")] = 0,
) -> EvaluationPage:
    """Evaluation results (`otel_ai.evaluate()`), newest first, with the evaluated call's model and cost."""
    lo, hi = to_range(since, until)
    return EvaluationPage.model_validate(store.evaluations(
        name=text(name), model=text(model), task_type=text(task_type), conversation=text(conversation), since=lo,
        until=hi, limit=limit, offset=offset,
    ))


@router.get("/evaluations/summary", response_model=EvaluationSummary, responses=RESPONSES_422)
def evaluation_summary(
    store: StoreDep,
    name: Annotated[str | None, name_q] = None,
    model: Annotated[str | None, model_q] = None,
    task_type: Annotated[str | None, task_type_q] = None,
    conversation: Annotated[str | None, conversation_q] = None,
    since: Annotated[str | None, since_q] = None,
    until: Annotated[str | None, until_q] = None,
    group_by: Annotated[list[GroupBy] | None, Query(
        description="group by the evaluation name and these (repeatable; default model and task_type)")] = None,
    threshold: Annotated[float, Query(ge=-1e9, le=1e9, description="a score at or above it is good")] = 0.7,
    good_label: Annotated[list[str] | None, Query(description="labels that count as good (repeatable)")] = None,
) -> EvaluationSummary:
    """Mean score, good answers and cost per good answer per evaluation name and `group_by` (model, task type,
    conversation)."""
    lo, hi = to_range(since, until)
    labels = good_label if good_label else ("pass", "correct", "good", "thumbs_up")
    return EvaluationSummary.model_validate(store.evaluation_summary(
        name=text(name), model=text(model), task_type=text(task_type), conversation=text(conversation), since=lo,
        until=hi, threshold=threshold, good_labels=labels, group_by=group_by or ("model", "task_type"),
    ))
