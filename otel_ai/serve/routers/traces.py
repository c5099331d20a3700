"""`/api/v1/traces` (a page of traces, newest first) and `/api/v1/traces/{trace_id}` (one trace, paged)."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from otel_ai.serve.models import CallStatus, Problem, TraceDetail, TracePage
from otel_ai.serve.routers.deps import (
    API_PREFIX,
    MAX_OFFSET,
    MAX_TEXT,
    MAX_TRACE_PAGE,
    RESPONSES_422,
    TRACE_PAGE,
    StoreDep,
    since_q,
    text,
    to_range,
    until_q,
)

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, tags=["traces"])


@router.get("/traces", response_model=TracePage, responses=RESPONSES_422)
def traces(
    store: StoreDep,
    service: Annotated[str | None, Query(description="the trace's root service", max_length=MAX_TEXT)] = None,
    model: Annotated[str | None, Query(description="traces with a GenAI call to this model",
                                       max_length=MAX_TEXT)] = None,
    status: Annotated[CallStatus | None, Query(description="error: a span failed; ok: none did")] = None,
    since: Annotated[str | None, since_q] = None,
    until: Annotated[str | None, until_q] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="traces to skip (newest first)")] = 0,
) -> TracePage:
    lo, hi = to_range(since, until)
    page = store.traces(service=text(service), model=text(model), status=status.value if status else None,
                        since=lo, until=hi, limit=limit, offset=offset)
    return TracePage.model_validate(page)


@router.get(
    "/traces/{trace_id}", response_model=TraceDetail,
    responses={404: {"model": Problem, "description": "no span of this trace is stored"}, **RESPONSES_422},
)
def trace(
    store: StoreDep,
    trace_id: Annotated[str, Path(pattern="^[0-9a-fA-F]{32}$", description="32 hex digits")],
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="spans to skip, in waterfall order")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_TRACE_PAGE, description="spans per page")] = TRACE_PAGE,
    log_offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="log records to skip (oldest first)")] = 0,
    log_limit: Annotated[int, Query(ge=1, le=MAX_TRACE_PAGE, description="log records per page")] = TRACE_PAGE,
) -> TraceDetail:
    """One trace, a page at a time: at most `limit` spans and `log_limit` log records per answer
    (a trace can hold 100,000 spans); `next_offset` / `next_log_offset` say where the next page starts."""
    found = store.trace(trace_id, offset=offset, limit=limit, log_offset=log_offset, log_limit=log_limit)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no trace {trace_id.lower()} in the store")
    return TraceDetail.model_validate(found)
