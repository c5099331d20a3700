"""The JSON API of `otel-ai serve` (`/api/v1/…`, OpenAPI at `/openapi.json`): reports over the store.

`create_app(store, stats=…)` builds the FastAPI app. Every report takes the same time range:
``since`` (inclusive) and ``until`` (exclusive) are ISO-8601 times (``2026-11-01``,
``2026-11-01T12:00:00Z``; a time without an offset is UTC) or durations before now (``30m``,
``12h``, ``7d``, ``2w``, combined as ``1d12h``). A value that is neither answers 422 with FastAPI's
usual body, ``{"detail": [{"loc": ["query", "since"], "msg": "…", …}]}``.

The handlers are plain functions: FastAPI runs them in its thread pool, so the store's blocking
queries never hold the event loop. The `*_report` functions build the same answers for
`otel-ai report`, whose ``--format json`` prints exactly what the API returns.
"""

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from otel_ai.money import json_usd
from otel_ai.version import __version__

if TYPE_CHECKING:
    from fastapi import FastAPI

    from otel_ai.budgets import Budget
    from otel_ai.serve.access import Access
    from otel_ai.serve.store import Store

__all__ = [
    "API_PREFIX",
    "EXPORT_COLUMNS",
    "GROUP_BY",
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

API_PREFIX: Final = "/api/v1"
# The web dashboard: static files (no CDN; Chart.js vendored) and one HTML shell for every page.
WEB_DIR: Final = Path(__file__).parent / "web"
PAGES: Final = ("/", "/traces", "/traces/{trace_id}", "/costs", "/errors")
GROUP_BY: Final = ("model", "provider", "operation", "service", "task_type", "day", "response_model")

# The columns of a CSV export, in order; a JSON export's objects carry the same keys.
EXPORT_COLUMNS: Final = (
    "time",
    "trace_id",
    "span_id",
    "service",
    "provider",
    "operation",
    "model",
    "task_type",
    "input_tokens",
    "output_tokens",
    "characters",
    "cost_usd",
    "duration_ms",
    "outcome",
    "error_category",
    "error_type",
    "error_code",
    "response_model",  # the model that answered; `model` is the one the app asked for
)

_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DURATION: Final = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_DURATION_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_MAX_DURATION_S: Final = 100 * 366 * 86400
_EXPORT_CHUNK: Final = 500  # rows per chunk written to the response
# Bounds on parameters, so that a hostile value answers 422 rather than reaching the database:
# SQLite's LIKE refuses patterns over 50,000 bytes and its integers stop at 2^63 - 1.
_MAX_TEXT: Final = 1024  # characters of a filter value or a time
MAX_OFFSET: Final = 1_000_000_000  # paging offsets (traces, spans, log records)
TRACE_PAGE: Final = 1000  # spans (and log records) per page of a trace's detail, by default
MAX_TRACE_PAGE: Final = 5000  # and at most
# The store counts time in nanoseconds since 1970 in 64-bit integers (good until 2262-04-11): times
# outside are moved to these ends, which selects the same data.
_EARLIEST: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LATEST: Final = datetime(2262, 1, 1, tzinfo=timezone.utc)


# -- time ranges -----------------------------------------------------------------------------------------


class TimeRangeError(ValueError):
    """A `since`/`until` value that is neither an ISO-8601 time nor a duration like 7d (or a reversed range)."""

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


def parse_time(value: str, *, now: datetime | None = None) -> datetime:
    """An aware UTC datetime from ISO-8601 (no offset: UTC), ``now``, or a duration before `now` (``7d``,
    ``12h``, ``30m``, ``1d12h``; units s, m, h, d, w)."""
    text = value.strip()
    current = (now if now is not None else datetime.now(timezone.utc)).astimezone(timezone.utc)
    if not text:
        raise TimeRangeError("empty: use an ISO-8601 time (2026-11-01T12:00:00Z) or a duration (30m, 12h, 7d)")
    if text.lower() == "now":
        return current
    compact = text.replace(" ", "").lower()
    if _DURATION.fullmatch(compact):
        seconds = math.fsum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(compact))
        if seconds > _MAX_DURATION_S:
            raise TimeRangeError(f"{value!r} is too long a duration (at most 100 years)")
        return max(current - timedelta(seconds=seconds), _EARLIEST)
    iso = text[:-1] + "+00:00" if text[-1] in "Zz" else text
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise TimeRangeError(
            f"{value!r} is neither an ISO-8601 time (2026-11-01, 2026-11-01T12:00:00Z) "
            "nor a duration before now (30m, 12h, 7d, 2w)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        utc = parsed.astimezone(timezone.utc)
    except OverflowError:  # year 1 or 9999 moved out of range by its offset
        return _EARLIEST if parsed.year < 1970 else _LATEST
    return min(max(utc, _EARLIEST), _LATEST)


def resolve_range(
    since: str | None, until: str | None, *, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """Both ends against the same `now`; a TimeRangeError says which parameter is at fault."""
    current = now if now is not None else datetime.now(timezone.utc)
    ends: dict[str, datetime | None] = {}
    for name, value in (("since", since), ("until", until)):
        try:
            ends[name] = None if value is None else parse_time(value, now=current)
        except TimeRangeError as exc:
            raise TimeRangeError(f"{name}: {exc}", name) from None
    lo, hi = ends["since"], ends["until"]
    if lo is not None and hi is not None and lo >= hi:
        raise TimeRangeError(f"since ({lo.isoformat()}) must be before until ({hi.isoformat()})", "until")
    return lo, hi


# -- response models -------------------------------------------------------------------------------------


# Money in JSON: USD as a number rounded to 10 significant digits (no float noise such as
# 0.0006187300000000001; docs/local.md, "API").
Usd = Annotated[float, PlainSerializer(json_usd, return_type=float)]


class _Model(BaseModel):
    # Fields the store adds later pass through (the schema lists the ones documented here).
    model_config = ConfigDict(extra="allow")


class GroupBy(str, Enum):
    model = "model"
    provider = "provider"
    operation = "operation"
    service = "service"
    task_type = "task_type"
    day = "day"
    response_model = "response_model"


class CallStatus(str, Enum):
    ok = "ok"
    error = "error"


class ExportFormat(str, Enum):
    csv = "csv"
    json = "json"


class UnpricedModel(_Model):
    model: str | None = Field(description="the model (null: the calls did not record one)")
    calls: int


class Summary(_Model):
    since: datetime | None = Field(description="start of the range (inclusive, UTC); null: the beginning")
    until: datetime | None = Field(description="end of the range (exclusive, UTC); null: now")
    calls: int = Field(description="GenAI calls in the range")
    errors: int = Field(description="failed calls")
    error_rate: float = Field(description="errors / calls, 0..1 (0 without calls)")
    cost_usd: Usd
    input_tokens: int
    output_tokens: int
    characters: int = Field(description="characters sent to speech synthesis")
    avg_duration_ms: float | None = Field(description="null without calls")
    p50_duration_ms: float | None = Field(description="median call duration; null without calls")
    p95_duration_ms: float | None
    cost_today: Usd = Field(description="cost of the current UTC day, whatever the range")
    cost_this_month: Usd = Field(description="cost of the current UTC calendar month, whatever the range")
    unpriced_calls: list[UnpricedModel] = Field(
        default_factory=list,
        description="calls in the range with usage but no cost (no price for the model), per model, most "
                    "first: their cost is missing from every total; add a price with OTEL_AI_PRICING_FILE")


class CostTotals(_Model):
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    characters: int
    cost_usd: Usd


class CostGroup(CostTotals):
    key: str | None = Field(description="the group's value; YYYY-MM-DD (UTC) by day; null when the calls did not "
                            "record it (shown as \"(none)\"; the filter value for those calls is '')")


class Costs(_Model):
    group_by: GroupBy
    since: datetime | None
    until: datetime | None
    groups: list[CostGroup] = Field(description="by day: oldest first; otherwise most expensive first")
    total: CostTotals = Field(description="the sums of the groups")


class ErrorCode(_Model):
    code: str | None = Field(description="otel_ai.error.code, the provider's code (null: none recorded)")
    count: int
    action: str | None = Field(description="advice specific to this code, when it says more than the category's")


class ErrorCategory(_Model):
    category: str = Field(description="otel_ai.error.category: rate_limit, timeout, auth, quota, context_length, …")
    count: int
    share: float = Field(description="part of the failed calls, 0..1")
    rate: float = Field(description="part of all calls in the range, 0..1")
    action: str = Field(description="the recommended action (otel_ai.genai.advice, shared with the report)")
    codes: list[ErrorCode] = Field(description="the provider codes seen under this category, most frequent first")


class Errors(_Model):
    since: datetime | None
    until: datetime | None
    total: int = Field(description="failed calls in the range")
    categories: list[ErrorCategory] = Field(description="most frequent first")


class ForecastDay(_Model):
    day: date
    cost_usd: Usd
    calls: int | None = Field(None, description="calls that day (days so far only)")


class Forecast(_Model):
    method: str = Field(description="how forecast_month_end was computed, in words")
    now: datetime
    month: str = Field(description="YYYY-MM, UTC")
    days_in_month: int
    days_elapsed: float
    month_to_date: Usd = Field(description="USD spent this month so far")
    forecast_month_end: Usd = Field(description="USD expected for the whole month")
    daily: list[ForecastDay] = Field(description="each day of the month so far")
    projected: list[ForecastDay] = Field(description="the forecast for each remaining day of the month")
    basis: dict[str, Any] = Field(description="the method's parameters (slope, window, rate)")


class TraceSummary(_Model):
    trace_id: str
    name: str = Field(description="the root span's name")
    service: str | None
    start: datetime
    start_ns: int
    duration_ms: float
    span_count: int
    error: bool = Field(description="a span of the trace failed")
    error_count: int = Field(description="spans with status ERROR (the HTTP spans beneath a failed call included)")
    genai_calls: int | None
    failed_calls: int | None = Field(default=None, description="failed GenAI calls: what the trace list shows")
    cost_usd: Usd | None


class TracePage(_Model):
    items: list[TraceSummary] = Field(description="newest first")
    total: int = Field(description="traces that match the filters, all pages, counted up to 1,000")
    total_capped: bool = Field(description="more than `total` match (show it as 1,000+)")
    limit: int
    offset: int
    has_more: bool = Field(description="another page follows (offset + limit)")


class SpanEvent(_Model):
    name: str
    time_ns: int
    attributes: dict[str, Any]


class SpanScope(_Model):
    name: str | None
    version: str | None


class Span(_Model):
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str = Field(description="INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER or UNSPECIFIED")
    service: str | None
    start: datetime
    start_ns: int
    end_ns: int
    duration_ms: float
    status_code: str = Field(description="UNSET, OK or ERROR")
    status_message: str | None
    trace_state: str | None
    attributes: dict[str, Any]
    events: list[SpanEvent]
    links: list[dict[str, Any]]
    resource: dict[str, Any]
    scope: SpanScope
    children: list[str] = Field(description="span ids of the children on this page, in start order")
    child_count: int = Field(0, description="children of this span, on any page")
    depth: int = Field(description="0 for a root; the spans list is in waterfall (depth-first) order")


class LogRecord(_Model):
    log_id: str
    time: datetime
    time_ns: int
    trace_id: str | None
    span_id: str | None
    severity_number: int
    severity_text: str | None
    body: Any
    attributes: dict[str, Any]
    event_name: str | None
    service: str | None
    scope: str | None


class TraceDetail(TraceSummary):
    roots: list[str] = Field(description="span ids on this page without a stored parent")
    root_count: int = Field(description="spans without a stored parent, on any page")
    spans: list[Span] = Field(description="a page of the spans, in waterfall (depth-first) order: "
                              "`limit` of them from `offset`")
    span_total: int = Field(description="the trace's stored spans, all pages")
    offset: int = Field(description="spans skipped before this page, in waterfall order")
    limit: int = Field(description="the page size asked for")
    next_offset: int | None = Field(description="`offset` of the next page; null: this page is the last")
    logs: list[LogRecord] = Field(description="a page of the trace's log records, oldest first")
    log_total: int = Field(description="the trace's log records, all pages")
    log_offset: int
    log_limit: int
    next_log_offset: int | None = Field(description="`log_offset` of the next page of logs; null: none")


class SignalCounters(_Model):
    requests: int
    accepted: int
    rejected_invalid: int
    rejected_unavailable: int
    stored: int


class ReceiverCounters(_Model):
    started_at: float = Field(description="Unix time the counters started")
    traces: SignalCounters
    logs: SignalCounters
    metrics: SignalCounters
    http_requests: int
    grpc_requests: int
    malformed: int
    too_large: int
    unsupported: int
    not_found: int
    store_failures: int
    overloaded: int = Field(0, description="503 + Retry-After before the body was read (memory or connections)")
    unauthorized: int = Field(0, description="401 (no or wrong token) and 421 (a Host not allowed)")
    internal_errors: int
    last_error: str | None
    last_error_at: float | None


class StorageState(_Model):
    """What the store holds against its limits (`--max-db-size`, `--retention`): `Store.storage()`."""

    backend: str
    used_bytes: int = Field(description="SQLite: the pages in use, as the size cap counts them; PostgreSQL: "
                            "the tables' size on disk (the cap counts the live rows in them)")
    file_bytes: int | None = Field(description="SQLite: the database file and its WAL on disk")
    max_bytes: int | None = Field(description="the size cap, null: none")
    retention_days: float | None
    oldest: str | None = Field(description="the oldest raw span, log or call kept (roll-ups may reach further)")
    oldest_ns: int | None
    dropped_rows: int = Field(description="rows the limits deleted since the server started")
    dropped: dict[str, int]
    limits_checked_at: str | None


class Health(_Model):
    status: Literal["ok", "degraded"] = Field(description="degraded: the store does not answer")
    version: str
    store: str = Field(description="ok, or why the store does not answer")
    store_url: str | None = Field(description="where the data is (password hidden)")
    receiver: ReceiverCounters | None = Field(description="the OTLP receiver's counters, when serving one")
    storage: StorageState | None = Field(default=None, description="size, cap and oldest data kept")


class Problem(_Model):
    detail: str


class BudgetState(_Model):
    name: str
    scope: dict[str, str] = Field(description="what the budget counts: any of provider, model, task_type, service")
    period: str = Field(description="day, week (ISO, Monday first) or month, in `timezone`")
    timezone: str
    period_start: datetime
    period_end: datetime = Field(description="exclusive: spend starts again from 0 then")
    limit_usd: Usd
    spent_usd: Usd = Field(description="the whole fleet's spend in the scope this period, from the store")
    calls: int
    fraction: float = Field(description="spent_usd / limit_usd")
    warn_at: list[float]
    status: Literal["ok", "warning", "exceeded"] = Field(
        description="exceeded: the limit is reached; warning: a warn_at threshold is")
    action: Literal["alert", "block"]


class Budgets(_Model):
    now: datetime
    budgets: list[BudgetState] = Field(description="as declared, in order")
    source: str | None = Field(description="the variable the budgets were read from (none declared: null)")
    problems: list[str] = Field(description="entries skipped as invalid, one line each")


class BudgetSpend(_Model):
    since: datetime
    until: datetime | None
    scope: dict[str, str]
    spent_usd: Usd = Field(description="USD of the calls in the scope over [since, until)")
    calls: int


# -- the reports (shared with `otel-ai report`) -----------------------------------------------------------


def summary_report(store: "Store", since: datetime | None, until: datetime | None, **filters: str | None) -> Summary:
    # (`summary` also takes a keyword `now`: the filters are dimension names only)
    return Summary.model_validate(store.summary(since, until, **cast("dict[str, Any]", filters)))


def costs_report(
    store: "Store", group_by: str, since: datetime | None, until: datetime | None, **filters: str | None
) -> Costs:
    groups = [CostGroup.model_validate({**row, "key": row["key"] or None})  # '' (not recorded): null
              for row in store.costs(group_by, since, until, **filters)]
    total = CostTotals(
        calls=sum(g.calls for g in groups),
        errors=sum(g.errors for g in groups),
        input_tokens=sum(g.input_tokens for g in groups),
        output_tokens=sum(g.output_tokens for g in groups),
        characters=sum(g.characters for g in groups),
        cost_usd=math.fsum(g.cost_usd for g in groups),
    )
    return Costs(group_by=GroupBy(group_by), since=since, until=until, groups=groups, total=total)


def errors_report(store: "Store", since: datetime | None, until: datetime | None, **filters: str | None) -> Errors:
    categories = [ErrorCategory.model_validate(row) for row in store.errors(since, until, **filters)]
    return Errors(since=since, until=until, total=sum(c.count for c in categories), categories=categories)


def forecast_report(store: "Store", now: datetime | None, **filters: str | None) -> Forecast:
    return Forecast.model_validate(store.forecast(now, **filters))


BUDGETS_VARS: Final = ("OTEL_AI_SERVE_BUDGETS", "OTEL_AI_BUDGETS")  # the first one set wins


def load_budgets(env: Mapping[str, str] | None = None) -> tuple[list["Budget"], list[str], str | None]:
    """The server's budgets: OTEL_AI_SERVE_BUDGETS, else the apps' OTEL_AI_BUDGETS; (budgets, problems, variable)."""
    import os

    from otel_ai.budgets import parse_budgets

    env = os.environ if env is None else env
    for variable in BUDGETS_VARS:
        if (env.get(variable) or "").strip():
            budgets, problems = parse_budgets(env[variable], variable)
            return budgets, problems, variable
    return [], [], None


def budgets_report(
    store: "Store", budgets: Iterable["Budget"], now: datetime | None = None, *,
    problems: Iterable[str] = (), source: str | None = None,
) -> Budgets:
    """Each budget's current period, fleet spend (every service in the store) and status."""
    from otel_ai.budgets import period_bounds
    from otel_ai.serve.store.budgets import spend

    current = now if now is not None else datetime.now(timezone.utc)
    states = []
    for budget in budgets:
        start, end = period_bounds(budget.period, budget.tz, current.timestamp())
        found = spend(store, start, scope=budget.scope)
        fraction = found["spent_usd"] / budget.limit_usd
        warn = min((w for w in budget.warn_at), default=1.0)
        status: Literal["ok", "warning", "exceeded"] = (
            "exceeded" if fraction >= 1.0 else "warning" if fraction >= warn else "ok")
        states.append(BudgetState(
            name=budget.name, scope=dict(budget.scope), period=budget.period, timezone=budget.timezone,
            period_start=start, period_end=end, limit_usd=budget.limit_usd, spent_usd=found["spent_usd"],
            calls=found["calls"], fraction=fraction, warn_at=sorted(budget.warn_at), status=status,
            action=budget.action,
        ))
    return Budgets(now=current, budgets=states, source=source, problems=list(problems))


# -- the app -----------------------------------------------------------------------------------------------

_RANGE_HELP = "ISO-8601 time (no offset: UTC) or a duration before now: 30m, 12h, 7d, 2w"
_422: dict[int | str, dict[str, Any]] = {
    422: {"description": "a bad parameter (e.g. since/until neither ISO-8601 nor a duration)"},
}


def _text(value: str | None) -> str | None:
    """A filter value as the store keeps text (NUL, which PostgreSQL text cannot hold, as U+FFFD)."""
    return value.replace("\x00", "\ufffd") if value is not None else None


def _dims(
    service: str | None, provider: str | None, operation: str | None, model: str | None, task_type: str | None,
) -> dict[str, str | None]:
    return {"service": _text(service), "provider": _text(provider), "operation": _text(operation),
            "model": _text(model), "task_type": _text(task_type)}


def _range(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    from fastapi.exceptions import RequestValidationError

    try:
        return resolve_range(since, until)
    except TimeRangeError as exc:
        name = exc.parameter or "since"
        raise RequestValidationError([{
            "type": "value_error", "loc": ("query", name), "msg": str(exc),
            "input": since if name == "since" else until,
        }]) from None


def create_app(
    store: "Store", *, stats: Callable[[], Mapping[str, Any]] | None = None,
    budgets: tuple[list["Budget"], list[str], str | None] | None = None,
    access: "Access | None" = None,
) -> "FastAPI":
    """The API over `store`; `stats` (the OTLP receiver's `stats`) adds its counters to /health;
    `budgets` is what `load_budgets()` returns (default: read from the environment now); `access`
    the allowed Host names and the token (default: loopback names, no token), applied with the
    security headers by `otel_ai.serve.guard.Guard` to every request."""
    # FastAPI is imported here, not with the module: `otel-ai report` uses the models and reports only.
    # For the same reason this module does not use `from __future__ import annotations`: the
    # endpoints' annotations below are objects (FastAPI cannot resolve a string naming a local).
    from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    from otel_ai.serve.access import Access
    from otel_ai.serve.guard import AUTHENTICATED, Guard

    since_q = Query(description=f"start, inclusive: {_RANGE_HELP}", examples=["7d"], max_length=_MAX_TEXT)
    until_q = Query(description=f"end, exclusive (default: now): {_RANGE_HELP}", max_length=_MAX_TEXT)
    service_q = Query(description="only calls of this service.name", max_length=_MAX_TEXT)
    provider_q = Query(description="only calls to this gen_ai.provider.name", max_length=_MAX_TEXT)
    operation_q = Query(description="only calls of this gen_ai.operation.name", max_length=_MAX_TEXT)
    model_q = Query(description="only calls to this model (the response's, else the request's)",
                    max_length=_MAX_TEXT)
    task_type_q = Query(description="only calls of this otel_ai.task.type", max_length=_MAX_TEXT)

    # The time range and the five dimensions every report takes, declared once (FastAPI lists
    # a dependency's query parameters in the OpenAPI of each endpoint that uses it).
    def time_range(
        since: Annotated[str | None, since_q] = None, until: Annotated[str | None, until_q] = None
    ) -> tuple[datetime | None, datetime | None]:
        return _range(since, until)

    def dimensions(
        service: Annotated[str | None, service_q] = None,
        provider: Annotated[str | None, provider_q] = None,
        operation: Annotated[str | None, operation_q] = None,
        model: Annotated[str | None, model_q] = None,
        task_type: Annotated[str | None, task_type_q] = None,
    ) -> dict[str, Any]:
        return _dims(service, provider, operation, model, task_type)

    Window = Annotated[tuple[datetime | None, datetime | None], Depends(time_range)]
    Dimensions = Annotated[dict[str, Any], Depends(dimensions)]  # keyword arguments of the store's reports

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

    @app.get(f"{API_PREFIX}/health", response_model=Health, tags=["meta"])
    def health(request: Request) -> Any:
        """Liveness and the receiver's counters. With a token set and none sent, only ``{"status": …}``
        (open for probes, nothing else revealed)."""
        state = "ok"
        try:
            store.traces(limit=1)
        except Exception as exc:  # the answer is the report: any failure means "degraded"
            state = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        if not request.scope.get(AUTHENTICATED, True):
            return JSONResponse({"status": "ok" if state == "ok" else "degraded"})
        receiver = ReceiverCounters.model_validate(dict(stats())) if stats is not None else None
        storage = None
        if state == "ok" and callable(getattr(store, "storage", None)):
            try:
                storage = StorageState.model_validate(store.storage())
            except Exception:  # an optional part of the answer: health still answers without it
                import logging

                logging.getLogger("otel_ai.serve").warning("reading the store's storage state failed", exc_info=True)
        return Health(status="ok" if state == "ok" else "degraded", version=__version__, store=state,
                      store_url=getattr(store, "url", None), receiver=receiver, storage=storage)

    @app.get(f"{API_PREFIX}/summary", response_model=Summary, tags=["reports"], responses=_422)
    def summary(window: Window, dims: Dimensions) -> Summary:
        return summary_report(store, *window, **dims)

    @app.get(f"{API_PREFIX}/costs", response_model=Costs, tags=["reports"], responses=_422)
    def costs(
        window: Window,
        dims: Dimensions,
        group_by: Annotated[GroupBy, Query(description="what each group is")] = GroupBy.model,
    ) -> Costs:
        return costs_report(store, group_by.value, *window, **dims)

    @app.get(f"{API_PREFIX}/errors", response_model=Errors, tags=["reports"], responses=_422)
    def errors(window: Window, dims: Dimensions) -> Errors:
        return errors_report(store, *window, **dims)

    @app.get(f"{API_PREFIX}/forecast", response_model=Forecast, tags=["reports"])
    def forecast(dims: Dimensions) -> Forecast:
        return forecast_report(store, None, **dims)

    @app.get(f"{API_PREFIX}/traces", response_model=TracePage, tags=["traces"], responses=_422)
    def traces(
        service: Annotated[str | None, Query(description="the trace's root service", max_length=_MAX_TEXT)] = None,
        model: Annotated[str | None, Query(description="traces with a GenAI call to this model",
                                           max_length=_MAX_TEXT)] = None,
        status: Annotated[CallStatus | None, Query(description="error: a span failed; ok: none did")] = None,
        since: Annotated[str | None, since_q] = None,
        until: Annotated[str | None, until_q] = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="traces to skip (newest first)")] = 0,
    ) -> TracePage:
        lo, hi = _range(since, until)
        page = store.traces(service=_text(service), model=_text(model), status=status.value if status else None,
                            since=lo, until=hi, limit=limit, offset=offset)
        return TracePage.model_validate(page)

    @app.get(
        f"{API_PREFIX}/traces/{{trace_id}}", response_model=TraceDetail, tags=["traces"],
        responses={404: {"model": Problem, "description": "no span of this trace is stored"}, **_422},
    )
    def trace(
        trace_id: Annotated[str, Path(pattern="^[0-9a-fA-F]{32}$", description="32 hex digits")],
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="spans to skip, in waterfall order")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_TRACE_PAGE, description="spans per page")] = TRACE_PAGE,
        log_offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="log records to skip (oldest first)")]
        = 0,
        log_limit: Annotated[int, Query(ge=1, le=MAX_TRACE_PAGE, description="log records per page")] = TRACE_PAGE,
    ) -> TraceDetail:
        """One trace, a page at a time: at most `limit` spans and `log_limit` log records per answer
        (a trace can hold 100,000 spans); `next_offset` / `next_log_offset` say where the next page starts."""
        found = store.trace(trace_id, offset=offset, limit=limit, log_offset=log_offset, log_limit=log_limit)
        if found is None:
            raise HTTPException(status_code=404, detail=f"no trace {trace_id.lower()} in the store")
        return TraceDetail.model_validate(found)

    @app.get(
        f"{API_PREFIX}/export",
        tags=["export"],
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "the GenAI calls, oldest first: CSV with a header row, or a JSON array of objects; "
                f"columns/keys: {', '.join(EXPORT_COLUMNS)}",
                "content": {"text/csv": {}, "application/json": {}},
            },
            **_422,
        },
    )
    def export(
        window: Window,
        dims: Dimensions,
        format: Annotated[ExportFormat, Query(description="csv or json")] = ExportFormat.json,
        status: Annotated[CallStatus | None, Query(description="ok or error calls only")] = None,
        error_category: Annotated[str | None, Query(description="failed calls of this category only",
                                                    max_length=_MAX_TEXT)] = None,
    ) -> StreamingResponse:
        lo, hi = window
        rows = store.export_calls(
            lo, hi, **dims,
            outcome=status.value if status else None, error_category=_text(error_category),
        )
        if format is ExportFormat.csv:
            return StreamingResponse(_csv_chunks(rows), media_type="text/csv; charset=utf-8",
                                     headers={"Content-Disposition": 'attachment; filename="otel-ai-calls.csv"'})
        return StreamingResponse(_json_chunks(rows), media_type="application/json",
                                 headers={"Content-Disposition": 'attachment; filename="otel-ai-calls.json"'})

    declared, budget_problems, budget_source = load_budgets() if budgets is None else budgets
    for line in budget_problems:
        import logging

        logging.getLogger("otel_ai.serve").warning("%s", line)

    @app.get(f"{API_PREFIX}/budgets", response_model=Budgets, tags=["budgets"])
    def budget_status() -> Budgets:
        """Budgets declared in OTEL_AI_SERVE_BUDGETS (else OTEL_AI_BUDGETS), with the fleet's spend this period."""
        return budgets_report(store, declared, problems=budget_problems, source=budget_source)

    @app.get(f"{API_PREFIX}/budgets/spend", response_model=BudgetSpend, tags=["budgets"], responses=_422)
    def budget_spend(
        since: Annotated[str, Query(description=f"start, inclusive: {_RANGE_HELP}", max_length=_MAX_TEXT)],
        until: Annotated[str | None, until_q] = None,
        service: Annotated[str | None, service_q] = None,
        provider: Annotated[str | None, provider_q] = None,
        model: Annotated[str | None, Query(description="this model and its dated snapshots (<model>-YYYY-MM-DD)",
                                           max_length=_MAX_TEXT)] = None,
        task_type: Annotated[str | None, task_type_q] = None,
    ) -> BudgetSpend:
        """What a scope spent over a range: fleet budgets in the apps (OTEL_AI_BUDGET_SERVER) ask this."""
        from otel_ai.serve.store.budgets import spend

        lo, hi = _range(since, until)
        assert lo is not None
        scope = {k: v for k, v in (("provider", provider), ("model", model), ("task_type", task_type),
                                   ("service", service)) if v is not None}
        found = spend(store, lo, hi, scope={k: _text(v) or "" for k, v in scope.items()})
        return BudgetSpend(since=lo, until=hi, scope=scope, spent_usd=found["spent_usd"], calls=found["calls"])

    _mount_dashboard(app)
    return app


def _mount_dashboard(app: "FastAPI") -> None:
    """The web dashboard: `/static/…` and the pages (`/`, `/traces`, `/traces/{id}`, `/costs`, `/errors`),
    each the same HTML shell whose script renders the page from the JSON API."""
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    shell = WEB_DIR / "index.html"
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    def page() -> FileResponse:
        return FileResponse(shell, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})

    for path in PAGES:
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False, response_class=FileResponse)


# -- export encodings ----------------------------------------------------------------------------------------


# A spreadsheet opening the CSV runs a cell that starts with one of these as a formula (=HYPERLINK(…),
# =cmd|…): OWASP's "CSV injection" advice is to prefix such a text cell with a single quote.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell a spreadsheet shows as text: text starting like a formula gets a leading ``'``.

    Numbers are left alone (a negative number is a number, not a formula); the csv module quotes any
    cell holding a comma, a quote or a line break, so no cell can spill into the next.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_chunks(rows: Iterator[Mapping[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    try:
        for i, row in enumerate(rows, 1):
            writer.writerow({key: csv_cell(value) for key, value in row.items()})
            if i % _EXPORT_CHUNK == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    finally:
        _close(rows)


def _json_chunks(rows: Iterator[Mapping[str, Any]]) -> Iterator[str]:
    parts = ["["]
    separator = "\n"
    try:
        for row in rows:
            parts.append(separator + json.dumps({k: row.get(k) for k in EXPORT_COLUMNS}, ensure_ascii=False))
            separator = ",\n"
            if len(parts) >= _EXPORT_CHUNK:
                yield "".join(parts)
                parts = []
        parts.append("\n]\n" if separator == ",\n" else "]\n")
        yield "".join(parts)
    finally:
        _close(rows)


def _close(rows: Iterable[Any]) -> None:
    """End the store's read transaction now, also when the client went away mid-export."""
    close = getattr(rows, "close", None)
    if callable(close):
        close()
