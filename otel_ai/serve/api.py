"""The JSON API of `otel-ai serve` (`/api/v1/…`, OpenAPI at `/openapi.json`) and the dashboard, assembled.

`create_app(store, stats=…)` builds the FastAPI app: the `Guard` middleware (allowed Host names, the
token, the security headers), the state the routers read (``app.state``: the store, the receiver's
counters, the budgets), the routers of `otel_ai.serve.routers` (one per resource) and the dashboard's
static files and pages. The reports themselves are in `otel_ai.serve.reports` (no web framework), the
response models in `otel_ai.serve.models`; both names are re-exported here.

The handlers are plain functions: FastAPI runs them in its thread pool, so the store's blocking
queries never hold the event loop.
"""

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from otel_ai.serve.access import Access
from otel_ai.serve.guard import Guard
from otel_ai.serve.models import Costs, Errors, Forecast, GroupBy, Summary
from otel_ai.serve.reports import (
    GROUP_BY,
    TimeRangeError,
    budgets_report,
    costs_report,
    errors_report,
    forecast_report,
    load_budgets,
    parse_time,
    resolve_range,
    summary_report,
)
from otel_ai.serve.routers import budgets as budget_routes
from otel_ai.serve.routers import conversations, evaluations, export, health, reports, traces
from otel_ai.serve.routers.deps import API_PREFIX, MAX_OFFSET, MAX_TRACE_PAGE, TRACE_PAGE
from otel_ai.serve.routers.export import EXPORT_COLUMNS, csv_cell
from otel_ai.version import __version__

if TYPE_CHECKING:
    from otel_ai.budgets import Budget
    from otel_ai.serve.store import Store

__all__ = [
    "API_PREFIX",
    "EXPORT_COLUMNS",
    "GROUP_BY",
    "MAX_OFFSET",
    "MAX_TRACE_PAGE",
    "PAGES",
    "TRACE_PAGE",
    "WEB_DIR",
    "Costs",
    "Errors",
    "Forecast",
    "GroupBy",
    "Summary",
    "TimeRangeError",
    "budgets_report",
    "costs_report",
    "create_app",
    "csv_cell",
    "errors_report",
    "forecast_report",
    "load_budgets",
    "parse_time",
    "resolve_range",
    "summary_report",
]

# The web dashboard: static files (no CDN; Chart.js vendored) and one HTML shell for every page.
WEB_DIR: Final = Path(__file__).parent / "web"
PAGES: Final = ("/", "/traces", "/traces/{trace_id}", "/costs", "/errors", "/evaluations", "/conversations",
                 "/conversations/{conversation_id:path}")


def create_app(
    store: "Store", *, stats: Callable[[], Mapping[str, Any]] | None = None,
    budgets: "tuple[list[Budget], list[str], str | None] | None" = None,
    access: Access | None = None,
) -> FastAPI:
    """The API over `store`; `stats` (the OTLP receiver's `stats`) adds its counters to /health;
    `budgets` is what `load_budgets()` returns (default: read from the environment now); `access`
    the allowed Host names and the token (default: loopback names, no token), applied with the
    security headers by `otel_ai.serve.guard.Guard` to every request."""
    app = FastAPI(
        title="otel-ai local API",
        version=__version__,
        description="Reports over the GenAI calls, traces and logs that `otel-ai serve` received: "
        "cost, tokens, errors, a month-end forecast, traces and exports.",
        # No Swagger UI or ReDoc page: both load their code from a CDN (blank offline) and run inline
        # script, which the Content-Security-Policy forbids. The schema stays at /openapi.json.
        docs_url=None, redoc_url=None,
    )
    app.add_middleware(Guard, access=access if access is not None else Access())

    # What the routers read through `otel_ai.serve.routers.deps`.
    app.state.store = store
    app.state.stats = stats
    app.state.budgets = load_budgets() if budgets is None else budgets
    for line in app.state.budgets[1]:
        logging.getLogger("otel_ai.serve").warning("%s", line)

    # In this order: the order of the paths in /openapi.json.
    for module in (health, reports, traces, conversations, evaluations, export, budget_routes):
        app.include_router(module.router)
    _mount_dashboard(app)
    return app


def _mount_dashboard(app: FastAPI) -> None:
    """The web dashboard: `/static/…` and the pages (`/`, `/traces`, `/traces/{id}`, `/costs`, `/errors`),
    each the same HTML shell whose script renders the page from the JSON API."""
    shell = WEB_DIR / "index.html"
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    def page() -> FileResponse:
        return FileResponse(shell, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})

    for path in PAGES:
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False, response_class=FileResponse)
