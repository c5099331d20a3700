"""`/api/v1/budgets` (each declared budget's spend and status) and `/api/v1/budgets/spend` (what a scope
spent over a range: the apps' fleet budgets, OTEL_AI_BUDGET_SERVER, ask this)."""

from typing import Annotated

from fastapi import APIRouter, Query

from otel_ai.serve.models import Budgets, BudgetSpend
from otel_ai.serve.reports import budgets_report
from otel_ai.serve.routers.deps import (
    API_PREFIX,
    MAX_TEXT,
    RANGE_HELP,
    RESPONSES_422,
    BudgetsDep,
    StoreDep,
    provider_q,
    service_q,
    task_type_q,
    text,
    to_range,
    until_q,
)

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, tags=["budgets"])


@router.get("/budgets", response_model=Budgets, responses=RESPONSES_422)
def budget_status(
    store: StoreDep, budgets: BudgetsDep,
    top: Annotated[int, Query(ge=1, le=100, description="top spenders listed per `*` (per user or conversation) "
                                                       "budget")] = 10,
) -> Budgets:
    """Budgets declared in OTEL_AI_SERVE_BUDGETS (else OTEL_AI_BUDGETS), with the fleet's spend this period;
    a per-user or per-conversation budget (`"*"`) with its top spenders, each against the limit."""
    declared, problems, source = budgets
    return budgets_report(store, declared, problems=problems, source=source, top_values=top)


@router.get("/budgets/spend", response_model=BudgetSpend, responses=RESPONSES_422)
def budget_spend(
    store: StoreDep,
    since: Annotated[str, Query(description=f"start, inclusive: {RANGE_HELP}", max_length=MAX_TEXT)],
    until: Annotated[str | None, until_q] = None,
    service: Annotated[str | None, service_q] = None,
    provider: Annotated[str | None, provider_q] = None,
    model: Annotated[str | None, Query(description="this model and its dated snapshots (<model>-YYYY-MM-DD)",
                                       max_length=MAX_TEXT)] = None,
    task_type: Annotated[str | None, task_type_q] = None,
) -> BudgetSpend:
    """What a scope spent over a range: fleet budgets in the apps (OTEL_AI_BUDGET_SERVER) ask this."""
    from otel_ai.serve.store.budgets import spend

    lo, hi = to_range(since, until)
    assert lo is not None
    scope = {k: v for k, v in (("provider", provider), ("model", model), ("task_type", task_type),
                               ("service", service)) if v is not None}
    found = spend(store, lo, hi, scope={k: text(v) or "" for k, v in scope.items()})
    return BudgetSpend(since=lo, until=hi, scope=scope, spent_usd=found["spent_usd"], calls=found["calls"])
