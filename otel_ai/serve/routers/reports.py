"""`/api/v1/summary`, `/costs`, `/errors`, `/forecast`: the reports of `otel_ai.serve.reports` over HTTP."""

from typing import Annotated

from fastapi import APIRouter, Query

from otel_ai.serve.models import Costs, Errors, Forecast, GroupBy, Summary
from otel_ai.serve.reports import costs_report, errors_report, forecast_report, summary_report
from otel_ai.serve.routers.deps import API_PREFIX, RESPONSES_422, Dimensions, StoreDep, Window

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, tags=["reports"])


@router.get("/summary", response_model=Summary, responses=RESPONSES_422)
def summary(store: StoreDep, window: Window, dims: Dimensions) -> Summary:
    return summary_report(store, *window, **dims)


@router.get("/costs", response_model=Costs, responses=RESPONSES_422)
def costs(
    store: StoreDep,
    window: Window,
    dims: Dimensions,
    group_by: Annotated[GroupBy, Query(description="what each group is")] = GroupBy.model,
) -> Costs:
    return costs_report(store, group_by.value, *window, **dims)


@router.get("/errors", response_model=Errors, responses=RESPONSES_422)
def errors(store: StoreDep, window: Window, dims: Dimensions) -> Errors:
    return errors_report(store, *window, **dims)


@router.get("/forecast", response_model=Forecast)
def forecast(store: StoreDep, dims: Dimensions) -> Forecast:
    return forecast_report(store, None, **dims)
