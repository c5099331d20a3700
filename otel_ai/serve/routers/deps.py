"""What the API's routers share: the prefix, the query parameters every report takes, paging bounds,
and the app's state (the store, the receiver's counters, the budgets) as FastAPI dependencies.

`create_app` puts the state on ``app.state``; the handlers reach it through `StoreDep`, `StatsDep` and
`BudgetsDep` rather than through closures, so the routers are plain modules.
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError

from otel_ai.budgets import Budget
from otel_ai.serve.guard import AUTHENTICATED
from otel_ai.serve.reports import TimeRangeError, resolve_range
from otel_ai.serve.store import Store

__all__ = [
    "API_PREFIX",
    "MAX_OFFSET",
    "MAX_TEXT",
    "MAX_TRACE_PAGE",
    "RANGE_HELP",
    "RESPONSES_422",
    "TRACE_PAGE",
    "AuthenticatedDep",
    "BudgetsDep",
    "Dimensions",
    "StatsDep",
    "StoreDep",
    "Window",
    "model_q",
    "provider_q",
    "service_q",
    "task_type_q",
    "text",
    "to_range",
    "until_q",
]

API_PREFIX: Final = "/api/v1"
# Bounds on parameters, so that a hostile value answers 422 rather than reaching the database:
# SQLite's LIKE refuses patterns over 50,000 bytes and its integers stop at 2^63 - 1.
MAX_TEXT: Final = 1024  # characters of a filter value or a time
MAX_OFFSET: Final = 1_000_000_000  # paging offsets (traces, spans, log records)
TRACE_PAGE: Final = 1000  # spans (and log records) per page of a trace's detail, by default
MAX_TRACE_PAGE: Final = 5000  # and at most

RANGE_HELP: Final = "ISO-8601 time (no offset: UTC) or a duration before now: 30m, 12h, 7d, 2w"
RESPONSES_422: dict[int | str, dict[str, Any]] = {
    422: {"description": "a bad parameter (e.g. since/until neither ISO-8601 nor a duration)"},
}

since_q = Query(description=f"start, inclusive: {RANGE_HELP}", examples=["7d"], max_length=MAX_TEXT)
until_q = Query(description=f"end, exclusive (default: now): {RANGE_HELP}", max_length=MAX_TEXT)
service_q = Query(description="only calls of this service.name", max_length=MAX_TEXT)
provider_q = Query(description="only calls to this gen_ai.provider.name", max_length=MAX_TEXT)
operation_q = Query(description="only calls of this gen_ai.operation.name", max_length=MAX_TEXT)
model_q = Query(description="only calls to this model (the response's, else the request's)", max_length=MAX_TEXT)
task_type_q = Query(description="only calls of this otel_ai.task.type", max_length=MAX_TEXT)


def text(value: str | None) -> str | None:
    """A filter value as the store keeps text (NUL, which PostgreSQL text cannot hold, as U+FFFD)."""
    return value.replace("\x00", "\ufffd") if value is not None else None


def to_range(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """`resolve_range`, with a bad value answered as FastAPI answers a bad parameter (422)."""
    try:
        return resolve_range(since, until)
    except TimeRangeError as exc:
        name = exc.parameter or "since"
        raise RequestValidationError([{
            "type": "value_error", "loc": ("query", name), "msg": str(exc),
            "input": since if name == "since" else until,
        }]) from None


# The time range and the five dimensions every report takes, declared once (FastAPI lists
# a dependency's query parameters in the OpenAPI of each endpoint that uses it).
def time_range(
    since: Annotated[str | None, since_q] = None, until: Annotated[str | None, until_q] = None
) -> tuple[datetime | None, datetime | None]:
    return to_range(since, until)


def dimensions(
    service: Annotated[str | None, service_q] = None,
    provider: Annotated[str | None, provider_q] = None,
    operation: Annotated[str | None, operation_q] = None,
    model: Annotated[str | None, model_q] = None,
    task_type: Annotated[str | None, task_type_q] = None,
) -> dict[str, Any]:
    return {"service": text(service), "provider": text(provider), "operation": text(operation),
            "model": text(model), "task_type": text(task_type)}


Window = Annotated[tuple[datetime | None, datetime | None], Depends(time_range)]
Dimensions = Annotated[dict[str, Any], Depends(dimensions)]  # keyword arguments of the store's reports


# -- the app's state -----------------------------------------------------------------------------------------


def store(request: Request) -> Store:
    """The store the app serves (``app.state.store``)."""
    return request.app.state.store  # type: ignore[no-any-return]


def stats(request: Request) -> Callable[[], Mapping[str, Any]] | None:
    """The OTLP receiver's `stats` (``app.state.stats``); None without a receiver."""
    return request.app.state.stats  # type: ignore[no-any-return]


def budgets(request: Request) -> tuple[list[Budget], list[str], str | None]:
    """The declared budgets, the entries skipped as invalid, and the variable read (``app.state.budgets``)."""
    return request.app.state.budgets  # type: ignore[no-any-return]


def authenticated(request: Request) -> bool:
    """The request carried the token, or none is set (`otel_ai.serve.guard.Guard` says so in the scope)."""
    return bool(request.scope.get(AUTHENTICATED, True))


StoreDep = Annotated[Store, Depends(store)]
StatsDep = Annotated[Callable[[], Mapping[str, Any]] | None, Depends(stats)]
BudgetsDep = Annotated[tuple[list[Budget], list[str], str | None], Depends(budgets)]
AuthenticatedDep = Annotated[bool, Depends(authenticated)]
