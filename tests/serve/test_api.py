"""The JSON API (`otel_ai/serve/api.py`) over a real store filled with the real agent's spans.

The data set: the real `openai` client, instrumented by the agent into in-memory exporters, calls
the OpenAI simulator (successes, a stream, embeddings and every error scenario the simulator has)
under two service names; the finished spans and logs are encoded as OTLP exactly as the agent's
exporters would send them and ingested into a SQLite store. A copy of the first service's calls,
moved three days back with new trace ids, stands for history. Every number the API returns is
checked against sums computed here from the exported spans.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
from fastapi.testclient import TestClient

from otel_ai.serve.api import EXPORT_COLUMNS, GROUP_BY, TimeRangeError, create_app, parse_time, resolve_range
from otel_ai.serve.store import open_store
from otel_ai.testing.simulator import OpenAISimulator

HISTORY_SHIFT = timedelta(days=3)

# (scenario, model, expected otel_ai.error.category) for the calls that fail
ERROR_CALLS = (
    ("rate_limit", "gpt-4o", "rate_limit"),
    ("rate_limit", "gpt-4o-mini", "rate_limit"),
    ("server_error", "gpt-4o", "server_error"),
    ("auth_error", "gpt-4o-mini", "auth"),
    ("bad_request", "gpt-4o-mini", "bad_request"),
    ("content_filter", "gpt-4o", "content_filter"),
    ("quota", "gpt-4o-mini", "quota"),
)


# -- the data set ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """The GenAI facts of one exported span, read here from the span itself."""

    trace_id: str
    span_id: str
    start_ns: int
    duration_ns: int
    service: str
    provider: str
    operation: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    error: bool
    category: str
    error_type: str
    error_code: str = ""

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.start_ns / 1e9, timezone.utc).date().isoformat()


def call_of(span: ReadableSpan, service: str) -> Call | None:
    attributes = dict(span.attributes or {})
    if not attributes.get("gen_ai.operation.name"):
        return None
    error = span.status.status_code is StatusCode.ERROR
    assert span.start_time is not None and span.end_time is not None
    return Call(
        trace_id=f"{span.context.trace_id:032x}",
        span_id=f"{span.context.span_id:016x}",
        start_ns=span.start_time,
        duration_ns=span.end_time - span.start_time,
        service=service,
        provider=str(attributes.get("gen_ai.provider.name", "")),
        operation=str(attributes["gen_ai.operation.name"]),
        model=str(attributes.get("gen_ai.response.model") or attributes.get("gen_ai.request.model") or ""),
        input_tokens=int(attributes.get("gen_ai.usage.input_tokens", 0)),  # type: ignore[arg-type]
        output_tokens=int(attributes.get("gen_ai.usage.output_tokens", 0)),  # type: ignore[arg-type]
        cost_usd=float(attributes.get("otel_ai.cost.usd", 0.0)),  # type: ignore[arg-type]
        error=error,
        category=str(attributes.get("otel_ai.error.category", "other")) if error else "",
        error_type=str(attributes.get("error.type", "")) if error else "",
        error_code=str(attributes.get("otel_ai.error.code", "")) if error else "",
    )


@dataclass
class Dataset:
    db_path: Path
    calls: list[Call]  # today's calls of both services, then the shifted history
    spans: dict[str, list[ReadableSpan]]  # today's exported spans per service
    log_bodies: dict[str, list[str]]  # trace id -> the bodies of the logs written inside it
    tree_trace_id: str  # a trace with a server span above a chat span above its HTTP span
    between: datetime  # after the first service's calls, before the second's
    trace_service: dict[str, str] = field(default_factory=dict)  # every stored trace -> its service
    error_traces: set[str] = field(default_factory=set)  # traces with a span whose status is ERROR
    requests: list[ExportTraceServiceRequest] = field(default_factory=list)  # as the exporters send them
    log_requests: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db_path}"

    def fill(self, url: str) -> None:
        """Ingest the OTLP requests into the store at `url` (one ingest call per request, as the receiver)."""
        with open_store(url) as store:
            for request in self.requests:
                assert store.ingest_traces(request) == sum(
                    len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
            for log_request in self.log_requests:
                store.ingest_logs(log_request)

    def select(self, **where: Any) -> list[Call]:
        return [c for c in self.calls if all(getattr(c, k) == v for k, v in where.items())]

    def today(self) -> list[Call]:
        return [c for c in self.calls if c.start_ns > (self.between - HISTORY_SHIFT / 2).timestamp() * 1e9]

    def history(self) -> list[Call]:
        return [c for c in self.calls if c.start_ns < (self.between - HISTORY_SHIFT / 2).timestamp() * 1e9]


def _run_service(sim: OpenAISimulator, service: str, traffic: str) -> tuple[list[ReadableSpan], list[Any]]:
    """Instrument the real openai client into in-memory exporters under `service` and run `traffic`."""
    import openai
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor

    from otel_ai.instrumentation.openai import OpenAIInstrumentor
    from otel_ai.runtime import state

    resource = Resource.create({"service.name": service})
    span_exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    log_exporter = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    meter_provider = MeterProvider(resource=resource)
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider,
                 "logger_provider": logger_provider}
    state.reset()
    instrumentors = [OpenAIInstrumentor(), HTTPX2ClientInstrumentor(), HTTPXClientInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument(**providers)
    app_log = logging.getLogger(f"tests.serve.app.{service}")
    app_log.setLevel(logging.INFO)
    app_log.propagate = False
    handler = LoggingHandler(logger_provider=logger_provider)
    app_log.addHandler(handler)
    tracer = tracer_provider.get_tracer("tests.serve")
    try:
        with openai.OpenAI(base_url=sim.base_url, api_key="sk-test-serve-api-0123456789", max_retries=0) as client:
            if traffic == "chatbot":
                _chatbot_traffic(client, tracer, app_log)
            else:
                _search_traffic(client, tracer, app_log)
    finally:
        app_log.removeHandler(handler)
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
        tracer_provider.shutdown()
        logger_provider.shutdown()
        meter_provider.shutdown()
        state.reset()
    return list(span_exporter.get_finished_spans()), list(log_exporter.get_finished_logs())


def _chat(client: Any, model: str, text: str, scenario: str = "ok", **kwargs: Any) -> None:
    client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}],
        extra_headers={"x-simulator-scenario": scenario}, **kwargs,
    )


def _chatbot_traffic(client: Any, tracer: Any, log: logging.Logger) -> None:
    import openai

    with tracer.start_as_current_span("POST /chat", kind=SpanKind.SERVER):
        log.info("answering a chat request")
        _chat(client, "gpt-4o-mini", "What is the weather like in Paris today?")
        log.warning("slow answer")
    for i in range(6):
        _chat(client, "gpt-4o-mini", "hello " * (i + 1))
    for i in range(3):
        _chat(client, "gpt-4o", "Summarise this document in three sentences please " + "word " * i)
    _chat(client, "gpt-4o-mini", "a tool please", scenario="tool_call")
    _chat(client, "gpt-4o", "cached prompt " * 8, scenario="cached")
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "stream me a story"}], stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    for scenario, model, _category in ERROR_CALLS:
        with pytest.raises(openai.APIStatusError):
            _chat(client, model, f"this fails with {scenario}", scenario=scenario)


def _search_traffic(client: Any, tracer: Any, log: logging.Logger) -> None:
    import openai

    for i in range(4):
        client.embeddings.create(model="text-embedding-3-small", input=["query words " * (i + 1), "another doc"])
    with tracer.start_as_current_span("GET /search", kind=SpanKind.SERVER):
        log.info("searching")
        _chat(client, "gpt-4o-mini", "rerank these results")
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.2).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "too slow"}],
            extra_headers={"x-simulator-scenario": "slow", "x-simulator-delay": "1.5"},
        )


def _shifted(request: ExportTraceServiceRequest, shift_ns: int, trace_ids: dict[bytes, bytes]) -> None:
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                span.start_time_unix_nano -= shift_ns
                span.end_time_unix_nano -= shift_ns
                for event in span.events:
                    event.time_unix_nano -= shift_ns
                new = trace_ids.setdefault(span.trace_id, uuid.uuid4().bytes)
                span.trace_id = new


def build_dataset(directory: Path) -> Dataset:
    """Run the traffic, ingest it into a new SQLite store under `directory`, and return what was sent."""
    with OpenAISimulator() as sim:
        first_spans, first_logs = _run_service(sim, "chatbot", "chatbot")
        between = datetime.now(timezone.utc)
        second_spans, second_logs = _run_service(sim, "search", "search")

    calls: list[Call] = []
    for service, spans in (("chatbot", first_spans), ("search", second_spans)):
        calls += [c for c in (call_of(s, service) for s in spans) if c is not None]

    history_request = encode_spans(first_spans)
    trace_map: dict[bytes, bytes] = {}
    shift_ns = int(HISTORY_SHIFT.total_seconds() * 1e9)
    _shifted(history_request, shift_ns, trace_map)
    remap = {old.hex(): new.hex() for old, new in trace_map.items()}
    calls += [
        replace(c, trace_id=remap[c.trace_id], start_ns=c.start_ns - shift_ns)
        for c in calls if c.service == "chatbot"
    ]

    log_bodies: dict[str, list[str]] = defaultdict(list)
    for record in [*first_logs, *second_logs]:
        log_bodies[f"{record.log_record.trace_id:032x}"].append(str(record.log_record.body))

    [server] = [s for s in first_spans if s.name == "POST /chat"]
    requests = [encode_spans(first_spans), encode_spans(second_spans), history_request]
    log_requests = [encode_logs([*first_logs, *second_logs])]
    trace_service: dict[str, str] = {}
    error_traces: set[str] = set()
    for service, spans in (("chatbot", first_spans), ("search", second_spans)):
        for span in spans:
            trace_id = f"{span.context.trace_id:032x}"
            ids = [trace_id, remap[trace_id]] if service == "chatbot" else [trace_id]
            for tid in ids:
                trace_service[tid] = service
                if span.status.status_code is StatusCode.ERROR:
                    error_traces.add(tid)
    dataset = Dataset(
        db_path=directory / "otel-ai.db", calls=calls, spans={"chatbot": first_spans, "search": second_spans},
        log_bodies=dict(log_bodies), tree_trace_id=f"{server.context.trace_id:032x}", between=between,
        trace_service=trace_service, error_traces=error_traces, requests=requests, log_requests=log_requests,
    )
    dataset.fill(dataset.url)
    return dataset


def build_dataset_with_default_settings(directory: Path) -> Dataset:
    """`build_dataset` with the agent's settings at their defaults (no OTEL_AI_* from the environment)."""
    saved = {k: v for k, v in os.environ.items()
             if k.startswith("OTEL_AI_") or k == "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"}
    for var in saved:
        del os.environ[var]
    try:
        return build_dataset(directory)
    finally:
        os.environ.update(saved)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return build_dataset_with_default_settings(tmp_path_factory.mktemp("serve-api"))


@contextmanager
def postgres_copy(request: pytest.FixtureRequest, dataset: Dataset) -> Iterator[str]:
    """A new database on the tests' PostgreSQL server (tests/serve/conftest.py) holding the data set."""
    server = request.getfixturevalue("postgres")  # skips without PostgreSQL binaries
    name = "api_" + uuid.uuid4().hex[:16]
    server.admin(f"CREATE DATABASE {name}")
    try:
        url = server.url(name)
        dataset.fill(url)
        yield url
    finally:
        server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api_store_url(request: pytest.FixtureRequest, dataset: Dataset) -> Iterator[str]:
    """The data set in a SQLite file, then in PostgreSQL: every API test runs against both."""
    if request.param == "sqlite":
        yield dataset.url
        return
    with postgres_copy(request, dataset) as url:
        yield url


@pytest.fixture(scope="module")
def api(api_store_url: str) -> Iterator[TestClient]:
    with open_store(api_store_url) as store, TestClient(create_app(store), base_url="http://127.0.0.1") as client:
        yield client


def get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(f"/api/v1/{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def assert_money(actual: float, expected: float) -> None:
    assert actual == pytest.approx(expected, rel=1e-9, abs=1e-15)


# -- helpers ---------------------------------------------------------------------------------------------


def totals(calls: list[Call]) -> dict[str, Any]:
    return {
        "calls": len(calls),
        "errors": sum(c.error for c in calls),
        "input_tokens": sum(c.input_tokens for c in calls),
        "output_tokens": sum(c.output_tokens for c in calls),
        "characters": 0,
        "cost_usd": math.fsum(c.cost_usd for c in calls),
    }


def assert_totals(row: dict[str, Any], calls: list[Call]) -> None:
    expected = totals(calls)
    assert {k: row[k] for k in expected if k != "cost_usd"} == {k: v for k, v in expected.items() if k != "cost_usd"}
    assert row["cost_usd"] == pytest.approx(expected["cost_usd"], rel=1e-9, abs=1e-15)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def by(calls: list[Call], key: str) -> dict[Any, list[Call]]:
    groups: dict[Any, list[Call]] = defaultdict(list)
    for call in calls:
        groups[getattr(call, key)].append(call)
    return groups


# -- the data set itself -----------------------------------------------------------------------------------


def test_the_data_set_covers_what_the_api_reports(dataset: Dataset) -> None:
    today = dataset.today()
    assert {c.model for c in today} >= {"gpt-4o", "gpt-4o-mini", "text-embedding-3-small"}
    assert {c.operation for c in today} == {"chat", "embeddings"}
    assert {c.category for c in today if c.error} == {
        "rate_limit", "server_error", "auth", "bad_request", "content_filter", "quota", "timeout",
    }
    assert all(c.cost_usd > 0 for c in today if not c.error)
    assert sum(c.input_tokens for c in today) > 0 and sum(c.output_tokens for c in today) > 0
    assert len(dataset.history()) == len(dataset.select(service="chatbot")) // 2 > 0
    assert dataset.log_bodies.get(dataset.tree_trace_id) == ["answering a chat request", "slow answer"]


# -- summary, costs, errors ----------------------------------------------------------------------------------


def test_summary_equals_the_sums_of_the_exported_spans(api: TestClient, dataset: Dataset) -> None:
    body = get(api, "summary")
    assert_totals(body, dataset.calls)
    assert body["error_rate"] == pytest.approx(sum(c.error for c in dataset.calls) / len(dataset.calls))
    assert body["since"] is None and body["until"] is None
    durations = sorted(c.duration_ns / 1e6 for c in dataset.calls)
    assert durations[0] <= body["p50_duration_ms"] <= body["p95_duration_ms"] <= durations[-1] * 1.0001
    assert body["avg_duration_ms"] == pytest.approx(sum(durations) / len(durations))
    now = datetime.now(timezone.utc)
    today, month = now.date().isoformat(), now.strftime("%Y-%m")
    assert body["cost_today"] == pytest.approx(math.fsum(c.cost_usd for c in dataset.calls if c.day == today))
    assert body["cost_this_month"] == pytest.approx(
        math.fsum(c.cost_usd for c in dataset.calls if c.day.startswith(month)))


def test_summary_filters_by_service_and_model(api: TestClient, dataset: Dataset) -> None:
    assert_totals(get(api, "summary", service="search"), dataset.select(service="search"))
    assert_totals(get(api, "summary", model="gpt-4o"), dataset.select(model="gpt-4o"))
    assert_totals(get(api, "summary", operation="embeddings", service="search"),
                  dataset.select(operation="embeddings", service="search"))
    assert get(api, "summary", model="odd\x00model")["calls"] == 0  # no 500 (PostgreSQL text has no NUL)
    assert get(api, "traces", service="a\x00b")["items"] == []
    assert api.get("/api/v1/export", params={"model": "\x00", "error_category": "\x00"}).json() == []
    empty = get(api, "summary", model="no-such-model")
    assert empty["calls"] == 0 and empty["cost_usd"] == 0 and empty["p50_duration_ms"] is None


@pytest.mark.parametrize("group_by", ["model", "provider", "operation", "service"])
def test_costs_per_group_equal_the_sums_of_the_exported_spans(
    api: TestClient, dataset: Dataset, group_by: str,
) -> None:
    body = get(api, "costs", group_by=group_by)
    assert body["group_by"] == group_by
    expected = by(dataset.calls, group_by)
    assert {g["key"] for g in body["groups"]} == set(expected)
    for group in body["groups"]:
        assert_totals(group, expected[group["key"]])
    costs = [g["cost_usd"] for g in body["groups"]]
    assert costs == sorted(costs, reverse=True)
    assert_totals(body["total"], dataset.calls)


def test_costs_by_day_and_task_type(api: TestClient, dataset: Dataset) -> None:
    body = get(api, "costs", group_by="day")
    expected = by(dataset.calls, "day")
    assert [g["key"] for g in body["groups"]] == sorted(expected)
    assert len(expected) >= 2  # today and the history three days back
    for group in body["groups"]:
        assert_totals(group, expected[group["key"]])
    # The agent records no task type for these calls: one group, key null (the filter value for them is '').
    [group] = get(api, "costs", group_by="task_type")["groups"]
    assert group["key"] is None
    assert_totals(group, dataset.calls)
    assert_totals(get(api, "summary", task_type=""), dataset.calls)


def test_costs_per_model_in_a_range(api: TestClient, dataset: Dataset) -> None:
    body = get(api, "costs", group_by="model", since=iso(dataset.between))
    expected = by(dataset.select(service="search"), "model")
    assert {g["key"]: g["calls"] for g in body["groups"]} == {k: len(v) for k, v in expected.items()}
    for group in body["groups"]:
        assert_totals(group, expected[group["key"]])
    assert body["since"] is not None and body["until"] is None


def test_errors_per_category_and_code_with_advice(api: TestClient, dataset: Dataset) -> None:
    from otel_ai.genai.advice import CODE_ACTIONS
    from otel_ai.serve.store import ERROR_ACTIONS

    body = get(api, "errors")
    failed = [c for c in dataset.calls if c.error]
    expected = Counter(c.category for c in failed)
    assert body["total"] == len(failed)
    assert {row["category"]: row["count"] for row in body["categories"]} == dict(expected)
    for row in body["categories"]:
        assert row["share"] == pytest.approx(expected[row["category"]] / len(failed))
        assert row["rate"] == pytest.approx(expected[row["category"]] / len(dataset.calls))
        assert row["action"] == ERROR_ACTIONS[row["category"]]
    counts = [row["count"] for row in body["categories"]]
    assert counts == sorted(counts, reverse=True)
    assert body["categories"][0]["category"] == "rate_limit"  # twice today, twice in the history
    for row in body["categories"]:  # the provider codes under each category, with their own advice
        codes = Counter(c.error_code for c in failed if c.category == row["category"])
        assert {(c["code"] or ""): c["count"] for c in row["codes"]} == dict(codes)
        assert [c["count"] for c in row["codes"]] == sorted(codes.values(), reverse=True)
        for code in row["codes"]:
            assert code["action"] == (CODE_ACTIONS.get(code["code"]) if code["code"] else None)
    by_category = {row["category"]: {c["code"] for c in row["codes"]} for row in body["categories"]}
    assert by_category["quota"] == {"insufficient_quota"}
    assert by_category["rate_limit"] == {"rate_limit_exceeded"}
    assert by_category["auth"] == {"invalid_api_key"}
    assert by_category["content_filter"] == {"content_filter"}
    assert by_category["server_error"] == {"server_error"}  # code null: the type stands in
    assert by_category["timeout"] == {None}
    only_search = get(api, "errors", service="search")
    assert [(r["category"], r["count"]) for r in only_search["categories"]] == [("timeout", 1)]


# -- time ranges -----------------------------------------------------------------------------------------------


def test_since_and_until_as_iso_times(api: TestClient, dataset: Dataset) -> None:
    after = dataset.select(service="search")
    assert_totals(get(api, "summary", since=iso(dataset.between)), after)
    before = [c for c in dataset.calls if c.service == "chatbot"]
    assert_totals(get(api, "summary", until=iso(dataset.between)), before)
    naive = dataset.between.replace(tzinfo=None).isoformat()  # no offset: UTC
    assert_totals(get(api, "summary", until=naive), before)
    offset = dataset.between.astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert_totals(get(api, "summary", since=offset), after)


def test_since_and_until_as_durations_before_now(api: TestClient, dataset: Dataset) -> None:
    assert_totals(get(api, "summary", since="2d"), dataset.today())
    assert_totals(get(api, "summary", since="1d12h"), dataset.today())
    assert_totals(get(api, "summary", since="4d"), dataset.calls)
    assert_totals(get(api, "summary", since="1w"), dataset.calls)
    assert_totals(get(api, "summary", since="4d", until="2d"), dataset.history())
    assert_totals(get(api, "summary", since="90m"), dataset.today())
    assert_totals(get(api, "summary", since="2.5d", until="2d"), [])
    assert_totals(get(api, "summary", since="5d", until="now"), dataset.calls)
    assert_totals(get(api, "summary", since="0001-01-01", until="9999-12-31T23:59:59-01:00"), dataset.calls)
    assert_totals(get(api, "summary", since="5000w"), dataset.calls)  # back to 1930: from 1970 on
    assert get(api, "traces", since="9000-01-01")["items"] == []


@pytest.mark.parametrize(
    ("path", "params", "field", "words"),
    [
        ("summary", {"since": "yesterday"}, "since", "neither an ISO-8601 time"),
        ("summary", {"since": "7x"}, "since", "duration"),
        ("costs", {"until": "2026-13-45"}, "until", "neither an ISO-8601 time"),
        ("errors", {"since": ""}, "since", "empty"),
        ("summary", {"since": "1d", "until": "2d"}, "until", "must be before until"),
        ("traces", {"since": "-3d"}, "since", "neither"),
        ("export", {"since": "soon"}, "since", "neither"),
        ("costs", {"group_by": "colour"}, "group_by", "model"),
        ("traces", {"limit": "0"}, "limit", "greater than or equal to 1"),
        ("traces", {"offset": "-1"}, "offset", "greater than or equal to 0"),
        ("traces", {"status": "maybe"}, "status", "'ok' or 'error'"),
        ("export", {"format": "xml"}, "format", "'csv' or 'json'"),
    ],
)
def test_bad_parameters_answer_422_naming_the_parameter(
    api: TestClient, path: str, params: dict[str, str], field: str, words: str,
) -> None:
    response = api.get(f"/api/v1/{path}", params=params)
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", field]
    assert words in problem["msg"]


def test_parse_time() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
    assert parse_time("7d", now=now) == now - timedelta(days=7)
    assert parse_time("12h", now=now) == now - timedelta(hours=12)
    assert parse_time("30m", now=now) == now - timedelta(minutes=30)
    assert parse_time("1d12h", now=now) == now - timedelta(hours=36)
    assert parse_time("2w", now=now) == now - timedelta(days=14)
    assert parse_time("1.5h", now=now) == now - timedelta(minutes=90)
    assert parse_time("now", now=now) == now
    assert parse_time("2026-11-01", now=now) == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert parse_time("2026-11-01T10:00:00Z") == datetime(2026, 11, 1, 10, tzinfo=timezone.utc)
    assert parse_time("2026-11-01T10:00:00+02:00") == datetime(2026, 11, 1, 8, tzinfo=timezone.utc)
    assert parse_time("2026-11-01T10:00:00.250") == datetime(2026, 11, 1, 10, 0, 0, 250000, tzinfo=timezone.utc)
    # The store's nanosecond clock covers 1970..2262: times outside are moved to its ends.
    latest, earliest = datetime(2262, 1, 1, tzinfo=timezone.utc), datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert parse_time("9999-12-31T23:59:59-01:00") == parse_time("3000-01-01") == latest
    assert parse_time("0001-01-01T00:00:00+01:00") == parse_time("1900-01-01") == earliest
    for bad in ("", "7", "d", "7 days", "-7d", "1e3d", "next week", "2026-11-31", "999999999w"):
        with pytest.raises(TimeRangeError):
            parse_time(bad, now=now)
    with pytest.raises(TimeRangeError, match="since"):
        resolve_range("x", None)
    with pytest.raises(TimeRangeError, match="must be before"):
        resolve_range("2026-11-02", "2026-11-01")


# -- traces ----------------------------------------------------------------------------------------------------


def all_pages(api: TestClient, limit: int, **params: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = get(api, "traces", limit=limit, offset=offset, **params)
        assert page["limit"] == limit and page["offset"] == offset
        assert len(page["items"]) <= limit
        seen += page["items"]
        assert page["has_more"] == (offset + limit < page["total"])
        if not page["has_more"]:
            assert len(seen) == page["total"]
            return seen
        assert len(page["items"]) == limit
        offset += limit


def test_trace_list_pages_through_every_trace_newest_first(api: TestClient, dataset: Dataset) -> None:
    traces = all_pages(api, limit=7)
    ids = [t["trace_id"] for t in traces]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(dataset.trace_service)
    starts = [t["start_ns"] for t in traces]
    assert starts == sorted(starts, reverse=True)
    per_trace = by(dataset.calls, "trace_id")
    for item in traces:
        calls = per_trace.get(item["trace_id"], [])
        assert item["genai_calls"] == len(calls)
        assert item["cost_usd"] == pytest.approx(math.fsum(c.cost_usd for c in calls), abs=1e-15)
        assert item["service"] == dataset.trace_service[item["trace_id"]]
        assert item["error"] == (item["trace_id"] in dataset.error_traces)
    assert get(api, "traces", limit=1000, offset=len(ids)) == {
        "items": [], "total": len(ids), "total_capped": False, "limit": 1000, "offset": len(ids), "has_more": False,
    }


def test_trace_list_filters(api: TestClient, dataset: Dataset) -> None:
    ids = {t["trace_id"] for t in all_pages(api, limit=5, service="search")}
    assert ids == {t for t, s in dataset.trace_service.items() if s == "search"}
    ids = {t["trace_id"] for t in all_pages(api, limit=50, model="gpt-4o")}
    assert ids == {c.trace_id for c in dataset.select(model="gpt-4o")}
    ids = {t["trace_id"] for t in all_pages(api, limit=50, status="error")}
    assert ids == dataset.error_traces
    ids = {t["trace_id"] for t in all_pages(api, limit=50, status="ok")}
    assert ids == set(dataset.trace_service) - dataset.error_traces
    ids = {t["trace_id"] for t in all_pages(api, limit=50, since="2d", service="chatbot", status="error")}
    assert ids == {c.trace_id for c in dataset.today() if c.service == "chatbot" and c.error}
    ids = {t["trace_id"] for t in all_pages(api, limit=50, until="2d")}
    assert ids == {c.trace_id for c in dataset.history()}


def test_one_trace_is_the_tree_with_attributes_events_and_logs(api: TestClient, dataset: Dataset) -> None:
    body = get(api, f"traces/{dataset.tree_trace_id}")
    exported = [s for s in dataset.spans["chatbot"] if f"{s.context.trace_id:032x}" == dataset.tree_trace_id]
    assert body["trace_id"] == dataset.tree_trace_id
    assert body["name"] == "POST /chat" and body["service"] == "chatbot"
    assert body["span_count"] == len(exported) == 3
    assert [(s["name"], s["depth"], s["kind"]) for s in body["spans"]] == [
        ("POST /chat", 0, "SERVER"), ("chat gpt-4o-mini", 1, "CLIENT"), ("POST", 2, "CLIENT"),
    ]
    server, chat, http = body["spans"]
    assert body["roots"] == [server["span_id"]]
    assert server["children"] == [chat["span_id"]] and chat["children"] == [http["span_id"]]
    assert chat["parent_span_id"] == server["span_id"] and http["parent_span_id"] == chat["span_id"]
    [exported_chat] = [s for s in exported if s.name == "chat gpt-4o-mini"]
    attributes = {k: list(v) if isinstance(v, tuple) else v for k, v in (exported_chat.attributes or {}).items()}
    assert chat["attributes"] == attributes
    assert chat["resource"]["service.name"] == "chatbot"
    assert [log["body"] for log in body["logs"]] == dataset.log_bodies[dataset.tree_trace_id]
    assert [log["severity_text"] for log in body["logs"]] == ["INFO", "WARN"]
    assert {log["span_id"] for log in body["logs"]} == {server["span_id"]}
    assert body["genai_calls"] == 1
    assert body["cost_usd"] == pytest.approx(exported_chat.attributes["otel_ai.cost.usd"])  # type: ignore[index]


def test_a_failed_call_shows_its_exception_event(api: TestClient, dataset: Dataset) -> None:
    [call] = [c for c in dataset.today() if c.category == "quota"]
    body = get(api, f"traces/{call.trace_id}")
    [span] = [s for s in body["spans"] if s["span_id"] == call.span_id]
    assert span["status_code"] == "ERROR"
    assert span["attributes"]["otel_ai.error.category"] == "quota"
    assert [e["name"] for e in span["events"]] == ["exception"]
    assert span["events"][0]["attributes"]["exception.type"] == call.error_type
    assert body["error"] is True


def test_unknown_trace_is_404_and_a_malformed_id_422(api: TestClient) -> None:
    response = api.get(f"/api/v1/traces/{uuid.uuid4().hex}")
    assert response.status_code == 404
    assert "no trace" in response.json()["detail"]
    assert api.get("/api/v1/traces/not-a-trace-id").status_code == 422
    assert api.get("/api/v1/traces/" + "0" * 31).status_code == 422


# -- forecast --------------------------------------------------------------------------------------------------


def test_forecast_month_to_date_is_the_sum_of_this_months_calls(api: TestClient, dataset: Dataset) -> None:
    body = get(api, "forecast")
    month = body["month"]
    assert month == datetime.now(timezone.utc).strftime("%Y-%m")
    this_month = [c for c in dataset.calls if c.day.startswith(month)]
    assert body["month_to_date"] == pytest.approx(math.fsum(c.cost_usd for c in this_month))
    assert math.fsum(d["cost_usd"] for d in body["daily"]) == pytest.approx(body["month_to_date"])
    per_day = by(this_month, "day")
    for day in body["daily"]:
        assert day["calls"] == len(per_day.get(day["day"], []))
    assert body["method"] in ("month-to-date run rate",) or body["method"].startswith("linear trend")
    assert body["forecast_month_end"] >= body["month_to_date"]
    assert len(body["daily"]) + len(body["projected"]) == body["days_in_month"]


# -- export ----------------------------------------------------------------------------------------------------


def test_json_export_is_every_call_with_the_exported_numbers(api: TestClient, dataset: Dataset) -> None:
    response = api.get("/api/v1/export", params={"format": "json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    rows = response.json()
    assert len(rows) == len(dataset.calls)
    assert all(list(row) == list(EXPORT_COLUMNS) for row in rows)
    expected = {(c.trace_id, c.span_id): c for c in dataset.calls}
    for row in rows:
        call = expected[(row["trace_id"], row["span_id"])]
        assert datetime.fromisoformat(row["time"]) == datetime.fromtimestamp(call.start_ns // 1000 / 1e6, timezone.utc)
        assert (row["service"], row["provider"], row["operation"], row["model"]) == (
            call.service, call.provider, call.operation, call.model)
        assert (row["input_tokens"], row["output_tokens"]) == (call.input_tokens, call.output_tokens)
        assert (row["cost_usd"] or 0.0) == pytest.approx(call.cost_usd)
        assert row["outcome"] == ("error" if call.error else "ok")
        assert row["error_category"] == (call.category or None)
        assert row["error_type"] == (call.error_type or None)
        assert row["error_code"] == (call.error_code or None)
        assert row["duration_ms"] == pytest.approx(call.duration_ns / 1e6)
    times = [datetime.fromisoformat(r["time"]) for r in rows]
    assert times == sorted(times)


def test_csv_export_has_the_same_rows(api: TestClient, dataset: Dataset) -> None:
    response = api.get("/api/v1/export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(response.text))
    assert tuple(reader.fieldnames or ()) == EXPORT_COLUMNS
    rows = list(reader)
    as_json = api.get("/api/v1/export").json()
    assert len(rows) == len(as_json) == len(dataset.calls)
    for text_row, json_row in zip(rows, as_json, strict=True):
        assert text_row["trace_id"] == json_row["trace_id"] and text_row["model"] == json_row["model"]
        assert int(text_row["input_tokens"]) == json_row["input_tokens"]
        assert float(text_row["cost_usd"] or 0) == (json_row["cost_usd"] or 0)  # exact: repr round-trips
        assert text_row["error_category"] == (json_row["error_category"] or "")
    assert math.fsum(float(r["cost_usd"] or 0) for r in rows) == pytest.approx(totals(dataset.calls)["cost_usd"])


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_filters(api: TestClient, dataset: Dataset, fmt: str) -> None:
    def exported(**params: str) -> set[tuple[str, str]]:
        response = api.get("/api/v1/export", params={"format": fmt, **params})
        assert response.status_code == 200, response.text
        rows = response.json() if fmt == "json" else list(csv.DictReader(io.StringIO(response.text)))
        return {(r["trace_id"], r["span_id"]) for r in rows}

    def keys(calls: list[Call]) -> set[tuple[str, str]]:
        return {(c.trace_id, c.span_id) for c in calls}

    assert exported(model="gpt-4o") == keys(dataset.select(model="gpt-4o"))
    assert exported(service="search", status="error") == keys(dataset.select(service="search", error=True))
    assert exported(status="ok", since="2d") == keys([c for c in dataset.today() if not c.error])
    assert exported(since=iso(dataset.between)) == keys(dataset.select(service="search"))
    assert exported(error_category="rate_limit") == keys(dataset.select(category="rate_limit"))
    assert exported(model="no-such-model") == set()


# -- health, OpenAPI ---------------------------------------------------------------------------------------------


def test_health(api: TestClient, dataset: Dataset) -> None:
    body = get(api, "health")
    assert body["status"] == "ok" and body["store"] == "ok" and body["receiver"] is None
    assert body["store_url"].split("://")[0] in ("sqlite", "postgresql+psycopg")


def test_health_with_receiver_counters(api_store_url: str) -> None:
    from otel_ai.serve.otlp_ingest import OTLPIngest

    with open_store(api_store_url) as store:
        ingest = OTLPIngest(store)
        with TestClient(create_app(store, stats=ingest.stats), base_url="http://127.0.0.1") as client:
            body = get(client, "health")
    assert body["receiver"]["traces"]["requests"] == 0
    assert set(body["receiver"]) >= {"started_at", "traces", "logs", "metrics", "malformed", "store_failures"}


def test_openapi_describes_every_endpoint_with_its_response_model(api: TestClient) -> None:
    schema = get_json(api, "/openapi.json")
    paths = schema["paths"]
    assert set(paths) == {
        "/api/v1/health", "/api/v1/summary", "/api/v1/costs", "/api/v1/errors", "/api/v1/forecast",
        "/api/v1/traces", "/api/v1/traces/{trace_id}", "/api/v1/export", "/api/v1/budgets", "/api/v1/budgets/spend",
        "/api/v1/conversations", "/api/v1/conversations/{conversation_id}", "/api/v1/users",
        "/api/v1/evaluations", "/api/v1/evaluations/summary",
    }
    for path, model in (("/api/v1/conversations", "ConversationPage"), ("/api/v1/users", "UserPage"),
                        ("/api/v1/conversations/{conversation_id}", "ConversationDetail"),
                        ("/api/v1/summary", "Summary"), ("/api/v1/costs", "Costs"), ("/api/v1/errors", "Errors"),
                        ("/api/v1/forecast", "Forecast"), ("/api/v1/traces", "TracePage"),
                        ("/api/v1/traces/{trace_id}", "TraceDetail"), ("/api/v1/health", "Health"),
                        ("/api/v1/budgets", "Budgets"), ("/api/v1/budgets/spend", "BudgetSpend"),
                        ("/api/v1/evaluations", "EvaluationPage"),
                        ("/api/v1/evaluations/summary", "EvaluationSummary")):
        ok = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{model}"}
    assert "cost_usd" in schema["components"]["schemas"]["CostGroup"]["properties"]
    assert schema["components"]["schemas"]["GroupBy"]["enum"] == list(GROUP_BY)
    assert {p["name"] for p in paths["/api/v1/export"]["get"]["parameters"]} >= {
        "format", "since", "until", "service", "model", "status",
    }
    params = {path: {p["name"] for p in paths[path]["get"].get("parameters", [])} for path in paths}
    assert {"conversation", "group_by"} <= params["/api/v1/evaluations/summary"]
    assert "conversation" in params["/api/v1/evaluations"] and "top" in params["/api/v1/budgets"]
    assert "sort" in params["/api/v1/conversations"] and "sort" in params["/api/v1/users"]
    assert "per_value" in schema["components"]["schemas"]["BudgetState"]["properties"]
    # no Swagger UI / ReDoc page: they load from a CDN and run inline script (see docs/local.md, Security)
    assert api.get("/docs").status_code == 404 and api.get("/redoc").status_code == 404


def get_json(client: TestClient, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json()


# -- an empty store ----------------------------------------------------------------------------------------------


def test_an_empty_store_answers_zeros_and_empty_lists(store_url: str) -> None:
    # store_url: a new SQLite file, then a new PostgreSQL database (tests/serve/conftest.py)
    with open_store(store_url) as store, TestClient(create_app(store), base_url="http://127.0.0.1") as client:
        summary = get(client, "summary", since="7d")
        assert {k: summary[k] for k in ("calls", "errors", "error_rate", "cost_usd", "cost_today",
                                        "cost_this_month")} == dict.fromkeys(
            ("calls", "errors", "error_rate", "cost_usd", "cost_today", "cost_this_month"), 0)
        assert summary["p50_duration_ms"] is None and summary["p95_duration_ms"] is None
        for group_by in GROUP_BY:
            costs = get(client, "costs", group_by=group_by)
            assert costs["groups"] == [] and costs["total"]["calls"] == 0
        assert get(client, "errors") == {"since": None, "until": None, "total": 0, "categories": []}
        assert get(client, "traces") == {
            "items": [], "total": 0, "total_capped": False, "limit": 50, "offset": 0, "has_more": False,
        }
        forecast = get(client, "forecast")
        assert forecast["month_to_date"] == 0 and forecast["forecast_month_end"] == 0
        assert forecast["method"] == "month-to-date run rate"
        assert client.get("/api/v1/export").json() == []
        assert client.get("/api/v1/export", params={"format": "csv"}).text == ",".join(EXPORT_COLUMNS) + "\r\n"
        assert client.get(f"/api/v1/traces/{uuid.uuid4().hex}").status_code == 404


# -- over real HTTP ----------------------------------------------------------------------------------------------


def test_over_real_http_with_uvicorn(api: TestClient, api_store_url: str, dataset: Dataset) -> None:
    import socket
    import threading

    import httpx
    import uvicorn

    with open_store(api_store_url) as store:
        server = uvicorn.Server(uvicorn.Config(create_app(store), log_level="warning", lifespan="off"))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=30) as http:
                for _ in range(100):
                    if server.started:
                        break
                    threading.Event().wait(0.05)
                summary = http.get("/api/v1/summary", params={"since": "7d"})
                assert summary.status_code == 200
                assert_totals(summary.json(), dataset.calls)
                chunks: list[bytes] = []
                with http.stream("GET", "/api/v1/export", params={"format": "csv"}) as response:
                    assert response.status_code == 200
                    assert response.headers.get("transfer-encoding") == "chunked"  # streamed, not buffered
                    chunks.extend(response.iter_raw())
                assert b"".join(chunks).decode() == api.get("/api/v1/export", params={"format": "csv"}).text
                assert http.get("/api/v1/costs", params={"since": "last week"}).status_code == 422
                assert http.get("/openapi.json").status_code == 200
        finally:
            server.should_exit = True
            thread.join(10)
            sock.close()
    assert not thread.is_alive()
