"""The response models of the JSON API (`/api/v1/…`), which are also what `otel-ai report --format json` prints.

Pydantic models only (no web framework): `otel_ai.serve.reports` builds the reports' models, the
routers (`otel_ai.serve.routers`) the others; FastAPI turns them into the schema at `/openapi.json`.
"""

from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from otel_ai.money import json_usd

__all__ = [
    "BudgetSpend",
    "BudgetState",
    "Budgets",
    "CallStatus",
    "ConversationDetail",
    "ConversationPage",
    "ConversationSummary",
    "CostGroup",
    "CostTotals",
    "Costs",
    "ErrorCategory",
    "ErrorCode",
    "Errors",
    "ExportFormat",
    "Forecast",
    "ForecastDay",
    "GroupBy",
    "Health",
    "LogRecord",
    "Problem",
    "ReceiverCounters",
    "SignalCounters",
    "Span",
    "SpanEvent",
    "SpanScope",
    "StorageState",
    "Summary",
    "TraceDetail",
    "TracePage",
    "TraceSummary",
    "Turn",
    "UnpricedModel",
    "Usd",
    "UserPage",
    "UserSummary",
]

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


class BudgetValue(_Model):
    """One value of a per-user or per-conversation (`"*"`) budget: its own spend against the limit."""

    values: dict[str, str] = Field(description="the value of each `*` key, e.g. {\"user\": \"u-42\"}")
    spent_usd: Usd
    calls: int
    fraction: float = Field(description="spent_usd / limit_usd")
    status: Literal["ok", "warning", "exceeded"]


class BudgetValues(_Model):
    """The top spenders of a `"*"` budget this period: each value has the whole limit to itself."""

    top: list[BudgetValue] = Field(description="the values that spent most, highest first")
    values: int = Field(description="values that made a call this period")
    exceeded: int = Field(description="values at or over the limit")


class BudgetState(_Model):
    name: str
    scope: dict[str, str] = Field(
        description="what the budget counts: any of provider, model, task_type, service, user, conversation "
                    "('*': each value on its own)")
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
    per_value: BudgetValues | None = Field(
        default=None, description="a `*` scope's top spenders (spent_usd above is the top one's); else null")


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



# --- conversations and users (store/conversations.py) -------------------------------------------------------


class _CallTotals(_Model):
    calls: int
    errors: int = Field(description="failed GenAI calls")
    cost_usd: Usd
    unpriced_calls: int = Field(description="calls with usage but no price: their cost is not in cost_usd")
    input_tokens: int
    output_tokens: int
    mean_latency_ms: float | None
    max_latency_ms: float | None
    first_at: datetime | None = Field(description="the first call's start")
    last_at: datetime | None = Field(description="the last call's end")


class ConversationSummary(_CallTotals):
    conversation_id: str
    user: str | None = Field(description="the conversation's user when it has one (user.id, or user.hash)")
    users: int = Field(description="distinct users seen in it")


class ConversationPage(_Model):
    items: list[ConversationSummary] = Field(description="the most recently active first")
    total: int = Field(description="conversations that match, all pages, counted up to 1,000")
    total_capped: bool
    limit: int
    offset: int
    has_more: bool


class Turn(_Model):
    trace_id: str
    span_id: str
    started_at: datetime
    latency_ms: float
    service: str | None
    provider: str | None
    operation: str | None
    model: str | None
    task_type: str | None
    user: str | None
    input_tokens: int
    output_tokens: int
    cost_usd: Usd | None
    outcome: str = Field(description="ok or error")
    error_category: str | None
    error_type: str | None


class ConversationDetail(_CallTotals):
    conversation_id: str
    users: list[str]
    turns: list[Turn] = Field(description="the conversation's GenAI calls in the order they started (a page)")
    limit: int
    offset: int
    next_offset: int | None = Field(description="where the next page of turns starts; null on the last")


class UserSummary(_CallTotals):
    user: str
    conversations: int


class UserPage(_Model):
    items: list[UserSummary] = Field(description="the highest spend first")
    limit: int
    offset: int
    has_more: bool


class Evaluation(_Model):
    """One `gen_ai.evaluation.result` (docs/evaluations.md), with the evaluated call's dimensions and cost."""

    time: str
    time_ns: int
    name: str
    score: float | None
    label: str | None
    explanation: str | None = Field(description="redacted by the agent's exporters")
    response_id: str | None
    trace_id: str | None
    span_id: str | None
    service: str | None
    provider: str | None
    model: str | None = Field(description="the evaluated call's request model")
    task_type: str | None
    cost_usd: float | None = Field(description="the evaluated call's cost")
    conversation_id: str | None = Field(
        default=None, description="the evaluated call's gen_ai.conversation.id, else the evaluation's own")
    user: str | None = Field(default=None, description="the evaluated call's user.id (or user.hash)")
    source: str = Field(default="log", description="how it arrived: span_event or log (the first of both kept)")


class EvaluationPage(_Model):
    items: list[Evaluation] = Field(description="newest first")
    total: int
    limit: int
    offset: int
    has_more: bool


class EvaluationGroup(_Model):
    name: str
    model: str | None = Field(description="null when not grouped by model, or the call had none")
    task_type: str | None
    conversation_id: str | None = Field(default=None, description="set when grouped by conversation")
    evaluations: int
    mean_score: float | None = Field(description="over the evaluations with a score")
    good: int = Field(description="score >= threshold, or a label in good_labels")
    cost_usd: float = Field(description="cost of the evaluated calls, each once")
    cost_per_good_answer_usd: float | None = Field(description="cost_usd / good; null without a good answer")


class EvaluationSummary(_Model):
    threshold: float
    good_labels: list[str]
    group_by: list[str] = Field(default=["name", "model", "task_type"], description="the group keys, in order")
    groups: list[EvaluationGroup]
