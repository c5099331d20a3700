"""The store (`otel_ai/serve/store`) on SQLite and on a real PostgreSQL.

The main data comes from the real agent: the `openai` client, instrumented into in-memory exporters
(tests/conftest.py), calls the OpenAI simulator (successes, a stream, embeddings, every error
scenario); the finished spans are encoded by the OTLP exporters' own encoder and ingested, and the
store's answers are compared with sums over those spans. Synthetic requests (built as protobuf here)
cover what the simulator cannot: many days of history, exact range edges, retention, the size cap.
"""

from __future__ import annotations

import base64
import itertools
import logging
import math
import random
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from otel_ai.serve.store import ERROR_ACTIONS, GROUP_BY, Store
from otel_ai.serve.store.aggregates import DAY_NS, HOUR_NS, duration_bucket, percentiles, plan
from otel_ai.serve.store.convert import any_value
from tests.conftest import scenario

openai = pytest.importorskip("openai")

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ERROR_SCENARIOS = (
    ("rate_limit", "rate_limit"),
    ("server_error", "server_error"),
    ("auth_error", "auth"),
    ("bad_request", "bad_request"),
    ("content_filter", "content_filter"),
    ("quota", "quota"),
)
MESSAGES = [{"role": "user", "content": "Say hello to the store in a few words"}]


def ns(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def at(nanos: int) -> datetime:
    return EPOCH + timedelta(microseconds=nanos // 1000)


# --- the real agent's spans --------------------------------------------------------------------------


def drive(client: Any) -> None:
    """Real calls through the instrumented client: successes on two models, a stream, embeddings, errors."""
    for model in ("gpt-4o-mini", "gpt-4o-mini", "gpt-4o", "gpt-4o-mini"):
        client.chat.completions.create(model=model, messages=MESSAGES)
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    client.embeddings.create(model="text-embedding-3-small", input="four words of input")
    for name, _category in ERROR_SCENARIOS:
        with pytest.raises(openai.APIError):
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers=scenario(name))


def genai(spans: Iterable[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if (s.attributes or {}).get("gen_ai.operation.name")]


def model_of(span: ReadableSpan) -> str:
    attrs = span.attributes or {}
    return str(attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model"))


def expected_by(spans: Iterable[ReadableSpan], key: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"calls": 0, "input_tokens": 0, "output_tokens": 0, "characters": 0, "cost_usd": 0.0})
    for span in genai(spans):
        attrs = span.attributes or {}
        group = model_of(span) if key == "model" else str(attrs.get(key, ""))
        row = out[group]
        row["calls"] += 1
        row["input_tokens"] += int(attrs.get("gen_ai.usage.input_tokens", 0))
        row["output_tokens"] += int(attrs.get("gen_ai.usage.output_tokens", 0))
        row["characters"] += int(attrs.get("otel_ai.usage.characters", 0))
        row["cost_usd"] += float(attrs.get("otel_ai.cost.usd", 0.0))
    return dict(out)


def plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@pytest.fixture
def agent_spans(client: Any, telemetry: Any) -> list[ReadableSpan]:
    drive(client)
    spans = telemetry.spans()
    assert len(genai(spans)) == 6 + len(ERROR_SCENARIOS)
    return list(spans)


def test_summary_and_costs_equal_the_sums_of_the_exported_spans(store: Store, agent_spans: list[ReadableSpan]):
    request = encode_spans(agent_spans)
    assert store.ingest_traces(request) == len(agent_spans)

    calls = genai(agent_spans)
    expected_cost = sum(float((s.attributes or {}).get("otel_ai.cost.usd", 0.0)) for s in calls)
    assert expected_cost > 0
    now = at(max(s.end_time or 0 for s in agent_spans))
    summary = store.summary(now=now)
    assert summary["calls"] == len(calls)
    assert summary["errors"] == len(ERROR_SCENARIOS)
    assert summary["error_rate"] == pytest.approx(len(ERROR_SCENARIOS) / len(calls))
    assert summary["cost_usd"] == pytest.approx(expected_cost, rel=1e-12)
    assert summary["input_tokens"] == sum(int((s.attributes or {}).get("gen_ai.usage.input_tokens", 0)) for s in calls)
    assert summary["output_tokens"] == sum(
        int((s.attributes or {}).get("gen_ai.usage.output_tokens", 0)) for s in calls)
    assert summary["cost_today"] == pytest.approx(expected_cost, rel=1e-12)
    assert summary["cost_this_month"] == pytest.approx(expected_cost, rel=1e-12)
    durations = sorted(((s.end_time or 0) - (s.start_time or 0)) / 1e6 for s in calls)
    exact_p50 = durations[math.ceil(0.5 * len(durations)) - 1]
    exact_p95 = durations[math.ceil(0.95 * len(durations)) - 1]
    assert summary["p50_duration_ms"] == pytest.approx(exact_p50, rel=0.05)
    assert summary["p95_duration_ms"] == pytest.approx(exact_p95, rel=0.05)

    for group_by, attribute in (("model", "model"), ("provider", "gen_ai.provider.name"),
                                ("operation", "gen_ai.operation.name")):
        rows = {row["key"]: row for row in store.costs(group_by)}
        expected = expected_by(agent_spans, attribute)
        assert set(rows) == set(expected), group_by
        for key, want in expected.items():
            got = rows[key]
            assert got["calls"] == want["calls"]
            assert got["input_tokens"] == want["input_tokens"]
            assert got["output_tokens"] == want["output_tokens"]
            assert got["cost_usd"] == pytest.approx(want["cost_usd"], rel=1e-12, abs=1e-15)
    [service] = store.costs("service")
    assert service["key"] == agent_spans[0].resource.attributes["service.name"] and service["calls"] == len(calls)
    [task] = store.costs("task_type")
    assert task["key"] == ""  # no task type on these calls
    [day] = store.costs("day")
    assert day["key"] == now.date().isoformat() and day["cost_usd"] == pytest.approx(expected_cost, rel=1e-12)


def test_errors_per_category_with_the_recommended_action(store: Store, agent_spans: list[ReadableSpan]):
    store.ingest_traces(encode_spans(agent_spans))
    failed = [s for s in genai(agent_spans) if s.status.status_code is StatusCode.ERROR]
    expected = Counter(str((s.attributes or {})["otel_ai.error.category"]) for s in failed)
    assert expected == Counter(category for _, category in ERROR_SCENARIOS)
    rows = store.errors()
    assert {r["category"]: r["count"] for r in rows} == dict(expected)
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    for row in rows:
        assert row["action"] == ERROR_ACTIONS[row["category"]]
        assert row["rate"] == pytest.approx(row["count"] / len(genai(agent_spans)))
    assert "Back off" in ERROR_ACTIONS["rate_limit"]


def test_the_trace_tree_is_the_chat_span_with_its_http_child(store: Store, agent_spans: list[ReadableSpan]):
    store.ingest_traces(encode_spans(agent_spans))
    chat = next(s for s in genai(agent_spans) if s.status.status_code is not StatusCode.ERROR
                and (s.attributes or {})["gen_ai.operation.name"] == "chat")
    trace_id = format(chat.context.trace_id, "032x")
    tree = store.trace(trace_id.upper())
    assert tree is not None
    assert tree["trace_id"] == trace_id
    assert tree["span_count"] == 2 and tree["genai_calls"] == 1 and not tree["error"]
    root, child = tree["spans"]
    assert tree["roots"] == [root["span_id"]]
    assert root["span_id"] == format(chat.context.span_id, "016x")
    assert root["name"] == chat.name and root["kind"] == "CLIENT" and root["depth"] == 0
    assert root["attributes"] == {k: plain(v) for k, v in (chat.attributes or {}).items()}
    assert root["children"] == [child["span_id"]]
    assert child["parent_span_id"] == root["span_id"] and child["depth"] == 1
    assert child["kind"] == "CLIENT" and child["name"].startswith("POST")
    assert tree["cost_usd"] == pytest.approx(float((chat.attributes or {})["otel_ai.cost.usd"]))
    assert root["resource"] == dict(chat.resource.attributes)

    failed = next(s for s in genai(agent_spans) if s.status.status_code is StatusCode.ERROR)
    tree = store.trace(format(failed.context.trace_id, "032x"))
    assert tree is not None and tree["error"]
    span = tree["spans"][0]
    assert span["status_code"] == "ERROR"
    assert [e["name"] for e in span["events"]] == [e.name for e in failed.events]
    assert "exception.type" in span["events"][0]["attributes"]

    page = store.traces(limit=3)
    assert page["total"] == len(genai(agent_spans)) and len(page["items"]) == 3 and page["has_more"]
    assert store.traces(status="error")["total"] == len(ERROR_SCENARIOS)
    assert store.traces(model="text-embedding-3-small")["total"] == 1
    assert store.traces(service="nope")["items"] == []
    assert store.trace("0" * 32) is None and store.trace("not-a-trace-id") is None


def test_ingesting_the_same_batch_again_counts_nothing_twice(store: Store, agent_spans: list[ReadableSpan]):
    request = encode_spans(agent_spans)
    assert store.ingest_traces(request) == len(agent_spans)
    first = (store.summary(), store.costs("model"), store.errors(), store.traces(limit=100))
    again = store.ingest_traces_detailed(request)
    assert again.stored == 0 and again.duplicates == len(agent_spans) and again.rejected == 0
    # a retry that overlaps: half old, half new
    extra = synthetic_request([call(model="gpt-4o", start=ns(datetime.now(timezone.utc)), cost=1.0)])
    mixed = ExportTraceServiceRequest()
    mixed.MergeFrom(request)
    mixed.MergeFrom(extra)
    assert store.ingest_traces(mixed) == 1
    assert store.ingest_traces(mixed) == 0
    summary = store.summary()
    assert summary["calls"] == first[0]["calls"] + 1
    assert summary["cost_usd"] == pytest.approx(first[0]["cost_usd"] + 1.0)
    assert [(r["category"], r["count"]) for r in store.errors()] == [(r["category"], r["count"]) for r in first[2]]
    assert store.traces(limit=100)["total"] == first[3]["total"] + 1


def test_logs_are_stored_once_with_their_trace(store: Store, telemetry: Any, client: Any):
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger("tests.serve.store")
    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    tracer = telemetry.providers["tracer_provider"].get_tracer("tests")
    try:
        with tracer.start_as_current_span("work") as span:
            logger.info("calling the model")
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            logger.warning("done: %s", "ok")
        logger.info("outside any trace")
    finally:
        logger.removeHandler(handler)
        provider.shutdown()
    request = encode_logs(exporter.get_finished_logs())
    assert store.ingest_logs(request) == 3
    assert store.ingest_logs(request) == 0
    store.ingest_traces(encode_spans(telemetry.spans()))
    tree = store.trace(format(span.get_span_context().trace_id, "032x"))
    assert tree is not None
    assert [s["name"] for s in tree["spans"]][:2] == ["work", "chat gpt-4o-mini"]
    assert [s["depth"] for s in tree["spans"]] == [0, 1, 2]
    assert [log["body"] for log in tree["logs"]] == ["calling the model", "done: ok"]
    assert [log["severity_text"] for log in tree["logs"]] == ["INFO", "WARN"]
    assert all(log["span_id"] == format(span.get_span_context().span_id, "016x") for log in tree["logs"])
    assert tree["name"] == "work"


def test_an_empty_store_answers_with_zeros_and_empty_lists(store: Store):
    summary = store.summary()
    assert summary["calls"] == 0 and summary["errors"] == 0 and summary["error_rate"] == 0.0
    assert summary["cost_usd"] == 0.0 and summary["cost_today"] == 0.0 and summary["cost_this_month"] == 0.0
    assert summary["p50_duration_ms"] is None and summary["p95_duration_ms"] is None
    for group_by in GROUP_BY:
        assert store.costs(group_by) == []
    assert store.errors() == []
    forecast = store.forecast()
    assert forecast["method"] == "month-to-date run rate"
    assert forecast["month_to_date"] == 0.0 and forecast["forecast_month_end"] == 0.0
    assert store.traces() == {"items": [], "total": 0, "total_capped": False, "limit": 50, "offset": 0,
                              "has_more": False}
    assert store.trace("1" * 32) is None
    assert list(store.export_calls()) == []
    assert store.enforce_limits()["deleted"] == {}
    assert store.ingest_traces(ExportTraceServiceRequest()) == 0
    assert store.ingest_logs(ExportLogsServiceRequest()) == 0


# --- synthetic requests --------------------------------------------------------------------------------


def _any(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, (list, tuple)):
        return AnyValue(array_value=ArrayValue(values=[_any(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=_kvs(value)))
    return AnyValue()


def _kvs(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=_any(v)) for k, v in attributes.items() if v is not None]


_rng = random.Random(7)


def call(
    *, model: str = "gpt-4o-mini", start: int, duration_ms: float = 100.0, cost: float | None = 0.001,
    input_tokens: int = 10, output_tokens: int = 5, characters: int | None = None, service: str = "app",
    provider: str = "openai", operation: str = "chat", task_type: str | None = None,
    category: str | None = None, trace_id: bytes | None = None, parent: bytes = b"", code: str | None = None,
) -> dict[str, Any]:
    attributes = {
        "gen_ai.operation.name": operation, "gen_ai.provider.name": provider, "gen_ai.request.model": model,
        "gen_ai.response.model": model, "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens, "otel_ai.cost.usd": cost,
        "otel_ai.usage.characters": characters, "otel_ai.task.type": task_type,
        "otel_ai.error.category": category, "error.type": "openai.RateLimitError" if category else None,
        "otel_ai.error.code": code,
    }
    return {
        "service": service,
        "span": Span(
            trace_id=trace_id or _rng.randbytes(16), span_id=_rng.randbytes(8), parent_span_id=parent,
            name=f"{operation} {model}", kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=start,
            end_time_unix_nano=start + int(duration_ms * 1e6), attributes=_kvs(attributes),
            status=Status(code=Status.STATUS_CODE_ERROR if category else Status.STATUS_CODE_UNSET),
        ),
    }


def synthetic_request(items: Iterable[dict[str, Any]]) -> ExportTraceServiceRequest:
    by_service: dict[str, list[Span]] = defaultdict(list)
    for item in items:
        by_service[item["service"]].append(item["span"])
    return ExportTraceServiceRequest(resource_spans=[
        ResourceSpans(
            resource=Resource(attributes=_kvs({"service.name": service})),
            scope_spans=[ScopeSpans(spans=spans)],
        )
        for service, spans in by_service.items()
    ])


def random_calls(count: int, lo: int, hi: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    items = []
    for _ in range(count):
        items.append(call(
            model=rng.choice(["gpt-4o", "gpt-4o-mini", "deepseek-chat", "eleven_flash_v2_5"]),
            start=rng.randrange(lo, hi), duration_ms=rng.uniform(5, 5000), cost=rng.choice([None, rng.random() / 100]),
            input_tokens=rng.randrange(0, 2000), output_tokens=rng.randrange(0, 800),
            characters=rng.choice([None, rng.randrange(1, 500)]), service=rng.choice(["api", "worker"]),
            task_type=rng.choice([None, "summarize", "translate"]),
            category=(category := rng.choice([None] * 8 + ["rate_limit", "timeout"])),
            code=rng.choice(["rate_limit_exceeded", "too_many_concurrent_requests", None]) if category else None,
        ))
    return items


def brute(items: Iterable[dict[str, Any]], lo: int | None, hi: int | None, key: str | None = None) -> dict[Any, Any]:
    out: dict[Any, dict[str, Any]] = defaultdict(
        lambda: {"calls": 0, "errors": 0, "input_tokens": 0, "output_tokens": 0, "characters": 0, "cost_usd": 0.0})
    for item in items:
        span = item["span"]
        start = span.start_time_unix_nano
        if (lo is not None and start < lo) or (hi is not None and start >= hi):
            continue
        attrs = {kv.key: any_value(kv.value) for kv in span.attributes}
        if key is None:
            group: Any = None
        elif key == "day":
            group = at(start).date().isoformat()
        elif key == "service":
            group = item["service"]
        else:
            group = attrs.get({"model": "gen_ai.response.model", "task_type": "otel_ai.task.type"}[key]) or ""
        row = out[group]
        row["calls"] += 1
        row["errors"] += span.status.code == Status.STATUS_CODE_ERROR
        row["input_tokens"] += attrs.get("gen_ai.usage.input_tokens", 0)
        row["output_tokens"] += attrs.get("gen_ai.usage.output_tokens", 0)
        row["characters"] += attrs.get("otel_ai.usage.characters", 0)
        row["cost_usd"] += attrs.get("otel_ai.cost.usd", 0.0)
    return dict(out)


def brute_codes(items: Iterable[dict[str, Any]], lo: int | None, hi: int | None) -> dict[tuple[str, str | None], int]:
    """Failed calls per (category, code) in [lo, hi), counted from the spans themselves."""
    out: dict[tuple[str, str | None], int] = defaultdict(int)
    for item in items:
        span = item["span"]
        start = span.start_time_unix_nano
        if span.status.code != Status.STATUS_CODE_ERROR or (lo is not None and start < lo) or (
                hi is not None and start >= hi):
            continue
        attrs = {kv.key: any_value(kv.value) for kv in span.attributes}
        out[(attrs.get("otel_ai.error.category") or "other", attrs.get("otel_ai.error.code"))] += 1
    return dict(out)


def assert_rows(got: list[dict[str, Any]], want: dict[Any, Any]) -> None:
    assert {r["key"] for r in got} == set(want)
    for row in got:
        expected = want[row["key"]]
        for field in ("calls", "errors", "input_tokens", "output_tokens", "characters"):
            assert row[field] == expected[field], (row["key"], field)
        assert row["cost_usd"] == pytest.approx(expected["cost_usd"], rel=1e-9, abs=1e-12)


def test_any_value_becomes_plain_json():
    value = _any({"s": "a\x00b", "i": -(2**63), "d": 1.5, "b": True, "bytes": b"\x00\xff",
                  "list": [1, "x", [2.0]], "nested": {"k": {"deep": False}}})
    assert any_value(value) == {
        "s": "a\ufffdb", "i": -(2**63), "d": 1.5, "b": True, "bytes": base64.b64encode(b"\x00\xff").decode(),
        "list": [1, "x", [2.0]], "nested": {"k": {"deep": False}},
    }
    assert any_value(AnyValue()) is None
    assert [any_value(AnyValue(double_value=x)) for x in (math.nan, math.inf, -math.inf)] == ["nan", "inf", "-inf"]


def test_ranges_are_exact_at_any_edge(store: Store):
    base = ns(datetime(2026, 3, 1, tzinfo=timezone.utc))
    items = random_calls(600, base, base + 9 * DAY_NS)
    assert store.ingest_traces(synthetic_request(items)) == len(items)
    rng = random.Random(3)
    edges: list[tuple[int | None, int | None]] = [(None, None), (base + 2 * DAY_NS, base + 5 * DAY_NS),
                                                  (base + 90 * 60 * 10**9, None), (None, base + 3 * HOUR_NS + 17)]
    edges += [tuple(sorted(rng.sample(range(base - HOUR_NS, base + 10 * DAY_NS), 2))) for _ in range(6)]  # type: ignore[misc]
    for lo, hi in edges:
        since = None if lo is None else at(lo)
        until = None if hi is None else at(hi)
        lo_us = None if lo is None else lo // 1000 * 1000
        hi_us = None if hi is None else hi // 1000 * 1000
        total = brute(items, lo_us, hi_us).get(None, {"calls": 0, "errors": 0, "cost_usd": 0.0})
        summary = store.summary(since, until)
        assert summary["calls"] == total["calls"]
        assert summary["errors"] == total["errors"]
        assert summary["cost_usd"] == pytest.approx(total["cost_usd"], rel=1e-9, abs=1e-12)
        for key in ("model", "day", "service", "task_type"):
            assert_rows(store.costs(key, since, until), brute(items, lo_us, hi_us, key))
        rows = store.errors(since, until)
        errors = {r["category"]: r["count"] for r in rows}
        assert sum(errors.values()) == total["errors"]
        codes = {(r["category"], c["code"]): c["count"] for r in rows for c in r["codes"]}
        assert codes == brute_codes(items, lo_us, hi_us)
        assert all(r["count"] == sum(c["count"] for c in r["codes"]) for r in rows)
    # filters
    want = brute([i for i in items if i["service"] == "api"], None, None, "model")
    assert_rows(store.costs("model", service="api"), want)
    assert store.summary(service="api", model="gpt-4o")["calls"] == want.get("gpt-4o", {"calls": 0})["calls"]
    with pytest.raises(ValueError):
        store.costs("colour")
    with pytest.raises(ValueError):
        store.summary(colour="red")


def test_percentiles_are_close_to_the_exact_ones():
    rng = random.Random(5)
    durations = [int(rng.lognormvariate(19, 1)) for _ in range(5000)]
    buckets: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for d in durations:
        buckets[duration_bucket(d)][0] += 1
        buckets[duration_bucket(d)][1] += d
    got = percentiles([(b, n, s) for b, (n, s) in buckets.items()], (0.5, 0.95, 0.99))
    ordered = sorted(durations)
    for q, value in zip((0.5, 0.95, 0.99), got, strict=True):
        exact = ordered[math.ceil(q * len(ordered)) - 1] / 1e6
        assert value == pytest.approx(exact, rel=2 ** (1 / 16) - 1)
    assert percentiles([], (0.5,)) == [None]
    assert percentiles([(duration_bucket(123_456_789), 1, 123_456_789)], (0.5, 0.95)) == [123.456789, 123.456789]


def test_plan_covers_the_range_once():
    rng = random.Random(11)
    for _ in range(300):
        lo, hi = sorted(rng.sample(range(0, 40 * DAY_NS, 7 * 60 * 10**9 + 13), 2))
        segments = plan(lo, hi)
        covered = sorted((s.lo, s.hi) for s in segments)
        assert covered[0][0] == lo and covered[-1][1] == hi
        assert all(a[1] == b[0] for a, b in itertools.pairwise(covered))
        for s in segments:
            if s.step:
                assert s.lo is not None and s.hi is not None and s.lo % s.step == 0 and s.hi % s.step == 0


def test_task_types_characters_and_units_of_work(store: Store):
    now = ns(datetime.now(timezone.utc))
    trace = b"\x01" * 16
    agent = Span(trace_id=trace, span_id=b"\x02" * 8, name="invoke_agent helper", start_time_unix_nano=now,
                 end_time_unix_nano=now + 10**9,
                 attributes=_kvs({"gen_ai.operation.name": "invoke_agent", "otel_ai.task.cost.usd": 5.0,
                                  "gen_ai.usage.input_tokens": 99}))
    items = [
        call(model="eleven_flash_v2_5", provider="elevenlabs", operation="text_to_speech", characters=120,
             input_tokens=0, output_tokens=0, cost=0.012, task_type="narrate", start=now + 1, trace_id=trace,
             parent=b"\x02" * 8),
        call(model="gpt-4o", task_type="narrate", start=now + 2, cost=0.5, trace_id=trace, parent=b"\x02" * 8),
    ]
    request = synthetic_request(items)
    request.resource_spans[0].scope_spans[0].spans.append(agent)
    assert store.ingest_traces(request) == 3
    [row] = store.costs("task_type")
    assert row == {"key": "narrate", "calls": 2, "errors": 0, "input_tokens": 10, "output_tokens": 5,
                   "characters": 120, "cost_usd": pytest.approx(0.512)}
    assert {r["key"] for r in store.costs("provider")} == {"elevenlabs", "openai"}
    tree = store.trace(trace.hex())
    assert tree is not None and tree["name"] == "invoke_agent helper" and tree["genai_calls"] == 2
    assert [s["depth"] for s in tree["spans"]] == [0, 1, 1]


def test_rebuilt_aggregates_equal_the_incremental_ones(store: Store):
    base = ns(datetime(2026, 2, 10, 7, 13, tzinfo=timezone.utc))
    items = random_calls(300, base, base + 3 * DAY_NS, seed=12)
    store.ingest_traces(synthetic_request(items))
    since = at(base + 5 * HOUR_NS + 123)
    before = (store.summary(since), store.costs("day"), store.costs("model", since), store.errors())
    store.rebuild_aggregates()
    after = (store.summary(since), store.costs("day"), store.costs("model", since), store.errors())
    assert after[0].pop("unpriced_calls") == before[0].pop("unpriced_calls")  # read from the raw calls
    assert after[0] == pytest.approx(before[0])
    for got, want in zip(after[1:], before[1:], strict=True):
        assert [{k: pytest.approx(v) if isinstance(v, float) else v for k, v in row.items()} for row in want] == got


def test_spans_with_invalid_ids_are_rejected(store: Store):
    now = ns(datetime.now(timezone.utc))
    good = call(start=now)
    bad_trace = call(start=now, trace_id=b"\x00" * 16)
    bad_span = call(start=now)
    bad_span["span"].span_id = b"\x01\x02"
    result = store.ingest_traces_detailed(synthetic_request([good, bad_trace, bad_span]))
    assert (result.stored, result.duplicates, result.rejected) == (1, 0, 2)


def test_out_of_range_numbers_do_not_fail_the_batch(store: Store):
    now = ns(datetime.now(timezone.utc))
    huge = call(start=now, input_tokens=2**63 - 1, cost=1e308)
    huge["span"].attributes.append(KeyValue(key="otel_ai.usage.characters", value=AnyValue(double_value=1e30)))
    far = call(start=2**64 - 10**9, duration_ms=0.5)  # fixed64 times beyond the signed range
    far["span"].end_time_unix_nano = 2**64 - 1
    logs = ExportLogsServiceRequest(resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(log_records=[
        LogRecord(time_unix_nano=2**64 - 1, body=AnyValue(string_value="late"))])])])
    assert store.ingest_traces(synthetic_request([huge, far])) == 2
    assert store.ingest_logs(logs) == 1
    assert store.summary()["calls"] == 2 and store.summary()["cost_usd"] == 1e9 + 0.001
    assert store.summary()["input_tokens"] == 2**40 + 10  # per-call ceiling (convert.MAX_COUNT)


def test_export_calls_streams_the_rows(store: Store):
    base = ns(datetime(2026, 5, 4, tzinfo=timezone.utc))
    items = random_calls(50, base, base + DAY_NS, seed=9)
    store.ingest_traces(synthetic_request(items))
    rows = list(store.export_calls())
    assert len(rows) == 50
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    assert sum(r["cost_usd"] or 0.0 for r in rows) == pytest.approx(brute(items, None, None)[None]["cost_usd"])
    failed = list(store.export_calls(outcome="error"))
    assert failed and all(r["error_category"] in ("rate_limit", "timeout") for r in failed)
    assert set(rows[0]) == {"time", "trace_id", "span_id", "service", "provider", "operation", "model", "task_type",
                            "input_tokens", "output_tokens", "characters", "cost_usd", "duration_ms", "outcome",
                            "error_category", "error_type", "error_code", "response_model"}
    window = [i for i in items if base + HOUR_NS <= i["span"].start_time_unix_nano < base + 5 * HOUR_NS]
    chosen = list(store.export_calls(at(base + HOUR_NS), at(base + 5 * HOUR_NS), model="gpt-4o"))
    wanted = {i["span"].span_id.hex() for i in window if i["span"].name == "chat gpt-4o"}
    assert {r["span_id"] for r in chosen} == wanted
    iterator = store.export_calls()
    next(iterator)
    iterator.close()  # an abandoned export gives its connection back
    assert store.summary()["calls"] == 50


def test_retention_deletes_old_data_and_keeps_the_sums_exact(open_stores: Any):
    now = datetime(2026, 6, 20, 15, 30, 7, tzinfo=timezone.utc)
    lo = ns(now - timedelta(days=10))
    items = random_calls(400, lo, ns(now), seed=4)
    store = open_stores(retention_days=4.3)
    store.ingest_traces(synthetic_request(items))
    logs = ExportLogsServiceRequest(resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(log_records=[
        LogRecord(time_unix_nano=lo + i * DAY_NS, body=AnyValue(string_value=f"day {i}")) for i in range(10)
    ])])])
    assert store.ingest_logs(logs) == 10
    report = store.enforce_limits(now=now)
    cutoff = ns(now) - int(4.3 * DAY_NS)
    kept = [i for i in items if i["span"].start_time_unix_nano >= cutoff]
    assert report["deleted"]["genai_calls"] == len(items) - len(kept)
    assert report["deleted"]["logs"] == sum(lo + i * DAY_NS < cutoff for i in range(10))
    assert store.summary()["calls"] == len(kept)
    for key in ("model", "day"):
        assert_rows(store.costs(key), brute(kept, None, None, key))
    assert_rows(store.costs("model", at(cutoff - HOUR_NS), at(cutoff + 2 * HOUR_NS)),
                brute(kept, cutoff - HOUR_NS, cutoff + 2 * HOUR_NS, "model"))
    # the histogram lost the same calls
    durations = sorted((i["span"].end_time_unix_nano - i["span"].start_time_unix_nano) / 1e6 for i in kept)
    assert store.summary()["p95_duration_ms"] == pytest.approx(durations[math.ceil(0.95 * len(durations)) - 1],
                                                                rel=0.05)
    assert store.traces(since=at(0), limit=1000)["total"] == len(kept)
    assert store.enforce_limits(now=now)["deleted"] == {"genai_calls": 0, "spans": 0, "logs": 0, "evaluations": 0,
                                                         "traces": 0}
    # the next runs cut inside hours and days already cut: still exact
    for later in (now + timedelta(hours=3, minutes=17), now + timedelta(days=1, hours=5, seconds=3)):
        store.enforce_limits(now=later)
        cutoff = ns(later) - int(4.3 * DAY_NS)
        kept = [i for i in kept if i["span"].start_time_unix_nano >= cutoff]
        assert store.summary()["calls"] == len(kept)
        for key in ("model", "day", "task_type"):
            assert_rows(store.costs(key), brute(kept, None, None, key))


# The size cap: tests/serve/test_store_limits.py.


def test_forecast_names_its_method(store: Store):
    now = datetime(2026, 4, 20, 12, 0, tzinfo=timezone.utc)
    young = store.forecast(now=now)
    assert young["method"] == "month-to-date run rate"
    # $1 a day for 30 days (one call at noon each day)
    items = [call(start=ns(now - timedelta(days=d)) - 1, cost=1.0) for d in range(1, 31)]
    store.ingest_traces(synthetic_request(items))
    forecast = store.forecast(now=now)
    assert forecast["method"] == "linear trend of the last 14 days"
    assert forecast["month"] == "2026-04"
    assert forecast["month_to_date"] == pytest.approx(19.0)
    assert [d["cost_usd"] for d in forecast["daily"]] == [1.0] * 19 + [0.0]
    # flat $1/day: half of today and 10 more days
    assert forecast["forecast_month_end"] == pytest.approx(19.0 + 0.5 + 10.0)
    assert len(forecast["projected"]) == 10
    # a rising series: the trend sees it
    store.ingest_traces(synthetic_request(
        [call(start=ns(now - timedelta(days=d)) - 2, cost=float(14 - d)) for d in range(1, 14)]))
    rising = store.forecast(now=now)
    assert rising["basis"]["slope_usd_per_day"] > 0.5
    assert rising["forecast_month_end"] > forecast["forecast_month_end"] + 10
    assert store.forecast(now=now, service="elsewhere")["method"] == "month-to-date run rate"


def test_forecast_run_rate_without_history(store: Store):
    early = datetime(2026, 9, 3, 12, 0, tzinfo=timezone.utc)
    store.ingest_traces(synthetic_request([call(start=ns(early - timedelta(hours=h)), cost=0.5) for h in range(60)]))
    forecast = store.forecast(now=early)
    assert forecast["method"] == "month-to-date run rate"
    assert forecast["month_to_date"] == pytest.approx(0.5 * 60)
    assert forecast["forecast_month_end"] == pytest.approx(30.0 / 2.5 * 30)


def test_concurrent_writers_count_every_span_once(store: Store):
    now = ns(datetime.now(timezone.utc))
    batches = [synthetic_request(random_calls(100, now - HOUR_NS, now, seed=s)) for s in range(8)]
    errors: list[BaseException] = []

    def work(batch: ExportTraceServiceRequest) -> None:
        try:
            store.ingest_traces(batch)
            store.ingest_traces(batch)  # the retry after a lost acknowledgement
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(b,)) for b in batches + batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.summary()["calls"] == 800
    assert sum(r["calls"] for r in store.costs("model")) == 800


def test_acknowledged_batches_survive_a_reopen(open_stores: Any, backend: str):
    first = open_stores()
    now = ns(datetime.now(timezone.utc))
    assert first.ingest_traces(synthetic_request(random_calls(20, now - HOUR_NS, now))) == 20
    second = open_stores()  # another process would see the same: the batch is committed
    assert second.summary()["calls"] == 20
    first.close()
    assert open_stores().summary()["calls"] == 20
    if backend == "sqlite":
        with second.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_a_schema_newer_than_the_code_is_refused(store: Store, store_url: str):
    from sqlalchemy import text

    from otel_ai.serve.store import SchemaTooNew, open_store
    from otel_ai.serve.store.database import VERSION_TABLE

    with store.engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(SchemaTooNew, match="9999"):
        open_store(store_url)


def test_memory_store_for_quick_use():
    from otel_ai.serve.store import open_store

    with open_store("sqlite://") as store:
        store.ingest_traces(synthetic_request([call(start=ns(datetime.now(timezone.utc)), cost=0.25)]))
        assert store.summary()["cost_usd"] == 0.25
        store.ping()


def test_migrations_match_the_schema(store: Store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from otel_ai.serve.store.database import VERSION_TABLE
    from otel_ai.serve.store.schema import metadata

    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        assert context.get_current_revision() == "0005"
        diff = [d for d in compare_metadata(context, metadata) if not (
            d[0] == "remove_table" and d[1].name == VERSION_TABLE)]
    assert diff == []


# --- error codes (otel_ai.error.code, revision 0002) ------------------------------------------------------


def test_errors_carry_the_provider_codes_of_the_real_agent(store: Store, agent_spans: list[ReadableSpan]):
    """The simulator's error bodies, through the real client and recorder, to codes under each category."""
    store.ingest_traces(encode_spans(agent_spans))
    codes = {r["category"]: [(c["code"], c["count"], c["action"]) for c in r["codes"]] for r in store.errors()}
    from otel_ai.genai.advice import CODE_ACTIONS

    assert codes == {
        "rate_limit": [("rate_limit_exceeded", 1, CODE_ACTIONS["rate_limit_exceeded"])],
        "server_error": [("server_error", 1, None)],
        "auth": [("invalid_api_key", 1, CODE_ACTIONS["invalid_api_key"])],
        "bad_request": [("invalid_value", 1, None)],
        "content_filter": [("content_filter", 1, CODE_ACTIONS["content_filter"])],
        "quota": [("insufficient_quota", 1, CODE_ACTIONS["insufficient_quota"])],
    }
    assert {r["error_code"] for r in store.export_calls(outcome="error")} == {
        "rate_limit_exceeded", "server_error", "invalid_api_key", "invalid_value", "content_filter",
        "insufficient_quota"}


@pytest.mark.parametrize("value", ["Rate limit reached, try later", "x" * 65, "", "  ", "code\x00", "été", "a b"])
def test_a_code_that_is_not_a_token_is_stored_as_none(store: Store, value: str):
    base = ns(datetime(2026, 6, 1, tzinfo=timezone.utc))
    store.ingest_traces(synthetic_request([call(start=base, category="rate_limit", code=value)]))
    [row] = store.errors()
    assert row["codes"] == [{"code": None, "count": 1, "action": None}]
    [exported] = store.export_calls()
    assert exported["error_code"] is None


def test_a_code_is_stored_in_lower_case_and_only_on_failed_calls(store: Store):
    base = ns(datetime(2026, 6, 1, tzinfo=timezone.utc))
    store.ingest_traces(synthetic_request([
        call(start=base, category="quota", code=" Insufficient_Quota "),
        call(start=base + 1, code="rate_limit_exceeded"),  # succeeded: a stray code is not an error code
    ]))
    [row] = store.errors()
    assert row["codes"][0]["code"] == "insufficient_quota"
    assert sorted((r["outcome"], r["error_code"]) for r in store.export_calls()) == [
        ("error", "insufficient_quota"), ("ok", None)]


def test_revision_0002_adds_the_code_and_rebuilds_the_rollups(store_url: str):
    """A store written by 0001 keeps every total after the upgrade; its failed calls have no code."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from otel_ai.serve.store import open_store
    from otel_ai.serve.store.database import _MIGRATIONS, create_store_engine

    engine = create_store_engine(store_url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    base = ns(datetime(2026, 4, 1, tzinfo=timezone.utc))
    rows = [
        {"trace_id": f"{i:032x}", "span_id": f"{i:016x}", "start_ns": base + i * 7 * HOUR_NS, "duration_ns": 10**8,
         "duration_bucket": duration_bucket(10**8), "service": "app", "provider": "openai", "operation": "chat",
         "model": "gpt-4o", "task_type": "", "input_tokens": 10, "output_tokens": 5, "characters": 0,
         "cost_usd": 0.5, "outcome": "error" if i % 3 == 0 else "ok",
         "error_category": "quota" if i % 3 == 0 else "", "error_type": "x" if i % 3 == 0 else ""}
        for i in range(12)
    ]
    try:
        with engine.connect() as connection, connection.begin():
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            columns, values = ", ".join(rows[0]), ", ".join(":" + k for k in rows[0])
            connection.execute(text(f"INSERT INTO genai_calls ({columns}) VALUES ({values})"), rows)
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        summary = store.summary()
        assert (summary["calls"], summary["errors"]) == (12, 4)
        assert summary["cost_usd"] == pytest.approx(6.0)
        assert [(r["key"], r["calls"]) for r in store.costs("day")] == [
            ("2026-04-01", 4), ("2026-04-02", 3), ("2026-04-03", 4), ("2026-04-04", 1)]
        [quota] = store.errors()
        assert (quota["category"], quota["count"], quota["codes"]) == ("quota", 4, [
            {"code": None, "count": 4, "action": None}])
        store.ingest_traces(synthetic_request([call(start=base, category="quota", code="insufficient_quota")]))
        assert [(c["code"], c["count"]) for c in store.errors()[0]["codes"]] == [(None, 4), ("insufficient_quota", 1)]
