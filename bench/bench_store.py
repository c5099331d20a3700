"""The store's report queries at 1,000,000 GenAI calls, and its ingest rate.

    .venv/bin/python bench/bench_store.py                        # SQLite in a temporary directory
    .venv/bin/python bench/bench_store.py --db /tmp/big.db --keep  # keep (and reuse) the loaded file
    .venv/bin/python bench/bench_store.py --db postgresql://user@host/db
    .venv/bin/python bench/bench_store.py --calls 200000 --runs 10 --json out.json

Load: `--calls` synthetic calls over `--days` days (default 30) ending now, in time order, from a
fixed set of workloads (service, task type, provider, model, operation: what real apps look like;
`--workloads N` spreads them over N workloads for a high-cardinality test), ~3% failed across the
error categories. They are bulk inserted straight into `genai_calls` and `traces` (executemany on
SQLite, COPY on PostgreSQL), then `Store.rebuild_aggregates()` builds the roll-ups. A small set of
realistic traces (server span -> chat span -> HTTP span, plus logs) goes through the real
`ingest_traces`, which is also timed (spans/s, each batch committed durably).

Each query then runs `--runs` times (the first one included: the caches are as the load left
them) and the table shows p50/p95/max in ms. The target (docs/benchmarks.md): summary, costs and
errors within 250 ms p95.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from otel_ai.serve.store import Store, open_store
from otel_ai.serve.store.aggregates import duration_bucket

# service, task type, provider, model, operation, share of calls, median latency (ms), $ per call
WORKLOADS = [
    ("api", "answer", "openai", "gpt-4o", "chat", 0.12, 1800, 0.004),
    ("api", "summarize", "openai", "gpt-4o-mini", "chat", 0.25, 900, 0.0003),
    ("api", "search", "openai", "text-embedding-3-small", "embeddings", 0.15, 120, 0.00001),
    ("api", "classify", "deepseek", "deepseek-chat", "chat", 0.08, 700, 0.0002),
    ("worker", "extract", "openai", "gpt-4o-mini", "chat", 0.12, 1100, 0.0004),
    ("worker", "plan", "openai", "o3-mini", "chat", 0.04, 6000, 0.006),
    ("worker", "narrate", "elevenlabs", "eleven_flash_v2_5", "text_to_speech", 0.06, 800, 0.002),
    ("worker", "transcribe", "elevenlabs", "scribe_v1", "speech_to_text", 0.03, 2500, 0.003),
    ("batch", "report", "openai", "gpt-4.1", "chat", 0.05, 4000, 0.01),
    ("batch", "index", "openai", "text-embedding-3-large", "embeddings", 0.06, 200, 0.00005),
    ("batch", "", "openai", "gpt-4o-mini", "chat", 0.04, 1000, 0.0003),
]
ERRORS = [("rate_limit", 0.4), ("timeout", 0.15), ("server_error", 0.15), ("bad_request", 0.1),
          ("content_filter", 0.05), ("quota", 0.05), ("auth", 0.03), ("connection", 0.05), ("other", 0.02)]
ERROR_RATE = 0.03
NS = 1_000_000_000


def workloads(count: int | None) -> list[tuple[Any, ...]]:
    if not count or count <= len(WORKLOADS):
        return WORKLOADS
    rng = random.Random(3)
    out = []
    for i in range(count):
        base = WORKLOADS[i % len(WORKLOADS)]
        out.append((f"{base[0]}-{i % 17}", f"{base[1] or 'task'}-{i % 23}", base[2], f"{base[3]}-{i % 13}", base[4],
                    rng.random(), base[6], base[7]))
    return out


def generate(calls: int, days: float, end_ns: int, kinds: list[tuple[Any, ...]], seed: int = 1):
    """Rows for genai_calls and traces, oldest first (one trace per call)."""
    rng = random.Random(seed)
    weights = [k[5] for k in kinds]
    categories, category_weights = zip(*ERRORS, strict=True)
    span = int(days * 86400 * NS)
    step = span / calls
    start0 = end_ns - span
    picks = rng.choices(range(len(kinds)), weights=weights, k=calls)
    for i in range(calls):
        service, task, provider, model, operation, _, median_ms, price = kinds[picks[i]]
        start = start0 + int(i * step + rng.random() * step)
        duration = int(rng.lognormvariate(0, 0.6) * median_ms * 1e6)
        failed = rng.random() < ERROR_RATE
        input_tokens = 0 if operation in ("text_to_speech", "speech_to_text") else int(rng.lognormvariate(6, 1))
        output_tokens = 0 if failed or operation != "chat" else int(rng.lognormvariate(5, 0.8))
        characters = int(rng.lognormvariate(5, 0.7)) if operation == "text_to_speech" else 0
        cost = None if failed else price * rng.lognormvariate(0, 0.5)
        trace_id = rng.getrandbits(128).to_bytes(16, "big").hex()
        span_id = rng.getrandbits(64).to_bytes(8, "big").hex()
        category = rng.choices(categories, weights=category_weights)[0] if failed else ""
        yield (
            (trace_id, span_id, start, duration, duration_bucket(duration), service, provider, operation, model, task,
             input_tokens, output_tokens, characters, cost, "error" if failed else "ok", category,
             "openai.RateLimitError" if category == "rate_limit" else ("" if not failed else "Exception")),
            (trace_id, start - 2_000_000, start + duration + 3_000_000, f"POST /v1/{task or 'run'}", service,
             rng.getrandbits(64).to_bytes(8, "big").hex(), 3, 1 if failed else 0, 1, cost or 0.0),
        )


CALL_COLUMNS = ("trace_id", "span_id", "start_ns", "duration_ns", "duration_bucket", "service", "provider",
                "operation", "model", "task_type", "input_tokens", "output_tokens", "characters", "cost_usd",
                "outcome", "error_category", "error_type")
TRACE_COLUMNS = ("trace_id", "start_ns", "end_ns", "name", "service", "root_span_id", "span_count", "error_count",
                 "genai_calls", "cost_usd")


def bulk_load(store: Store, rows, chunk: int = 50_000) -> None:
    calls_sql = f"INSERT INTO genai_calls ({', '.join(CALL_COLUMNS)}) VALUES ({', '.join('?' * len(CALL_COLUMNS))})"
    traces_sql = f"INSERT INTO traces ({', '.join(TRACE_COLUMNS)}) VALUES ({', '.join('?' * len(TRACE_COLUMNS))})"
    raw = store.engine.raw_connection()
    try:
        if store.backend == "postgresql":
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY genai_calls ({', '.join(CALL_COLUMNS)}) FROM STDIN") as copy_calls:  # type: ignore[attr-defined]
                    pending_traces = []
                    for call, trace in rows:
                        copy_calls.write_row(call)
                        pending_traces.append(trace)
                with cursor.copy(f"COPY traces ({', '.join(TRACE_COLUMNS)}) FROM STDIN") as copy_traces:  # type: ignore[attr-defined]
                    for trace in pending_traces:
                        copy_traces.write_row(trace)
            raw.commit()
            return
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        batch_calls, batch_traces = [], []
        for call, trace in rows:
            batch_calls.append(call)
            batch_traces.append(trace)
            if len(batch_calls) >= chunk:
                cursor.executemany(calls_sql, batch_calls)
                cursor.executemany(traces_sql, batch_traces)
                batch_calls, batch_traces = [], []
        if batch_calls:
            cursor.executemany(calls_sql, batch_calls)
            cursor.executemany(traces_sql, batch_traces)
        cursor.execute("COMMIT")
        cursor.execute("ANALYZE")
    finally:
        raw.close()


def _kv(key: str, value: Any) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def realistic_batches(
    batches: int, traces_per_batch: int, end_ns: int, seed: int = 2,
) -> list[ExportTraceServiceRequest]:
    """What the agent sends for a FastAPI app: per trace a SERVER span, a chat CLIENT span, an HTTP span."""
    rng = random.Random(seed)
    resource = Resource(attributes=[_kv("service.name", "api"), _kv("service.version", "1.4.2"),
                                    _kv("deployment.environment.name", "bench"),
                                    _kv("telemetry.sdk.name", "opentelemetry"),
                                    _kv("telemetry.sdk.language", "python"), _kv("telemetry.sdk.version", "1.38.0"),
                                    _kv("host.name", "bench-host"), _kv("process.pid", 4242)])
    out = []
    for b in range(batches):
        fastapi, genai, http = [], [], []
        for _ in range(traces_per_batch):
            trace_id = rng.randbytes(16)
            root, chat, child = rng.randbytes(8), rng.randbytes(8), rng.randbytes(8)
            start = end_ns - (batches - b) * 10**9 + rng.randrange(10**9)
            duration = int(rng.lognormvariate(0, 0.5) * 9e8)
            failed = rng.random() < ERROR_RATE
            fastapi.append(Span(
                trace_id=trace_id, span_id=root, name="POST /v1/answer", kind=Span.SPAN_KIND_SERVER,
                start_time_unix_nano=start, end_time_unix_nano=start + duration + 4_000_000,
                attributes=[_kv("http.request.method", "POST"), _kv("http.route", "/v1/answer"),
                            _kv("url.scheme", "http"), _kv("http.response.status_code", 500 if failed else 200),
                            _kv("server.address", "127.0.0.1"), _kv("server.port", 8000),
                            _kv("network.protocol.version", "1.1"), _kv("user_agent.original", "curl/8.5.0")]))
            genai.append(Span(
                trace_id=trace_id, span_id=chat, parent_span_id=root, name="chat gpt-4o-mini",
                kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=start + 1_000_000,
                end_time_unix_nano=start + 1_000_000 + duration,
                attributes=[_kv("gen_ai.operation.name", "chat"), _kv("gen_ai.provider.name", "openai"),
                            _kv("gen_ai.request.model", "gpt-4o-mini"),
                            _kv("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
                            _kv("gen_ai.request.temperature", 0.2), _kv("gen_ai.request.max_tokens", 400),
                            _kv("gen_ai.response.id", "chatcmpl-" + rng.randbytes(12).hex()),
                            _kv("gen_ai.response.finish_reasons", "stop"),
                            _kv("gen_ai.usage.input_tokens", rng.randrange(50, 3000)),
                            _kv("gen_ai.usage.output_tokens", rng.randrange(10, 500)),
                            _kv("otel_ai.cost.usd", rng.random() / 1000), _kv("otel_ai.cost.input_usd", 0.0001),
                            _kv("otel_ai.cost.output_usd", 0.0002), _kv("otel_ai.pricing.source", "catalog"),
                            _kv("otel_ai.pricing.catalog_date", "2025-11-01"),
                            _kv("otel_ai.task.type", "answer"), _kv("server.address", "api.openai.com"),
                            _kv("server.port", 443), _kv("openai.api.type", "chat_completions")]
                + ([_kv("error.type", "openai.RateLimitError"), _kv("otel_ai.error.category", "rate_limit")]
                   if failed else []),
                status=Status(code=Status.STATUS_CODE_ERROR if failed else Status.STATUS_CODE_UNSET),
                events=[Span.Event(name="exception", time_unix_nano=start + duration,
                                   attributes=[_kv("exception.type", "openai.RateLimitError"),
                                               _kv("exception.message", "Rate limit reached")])] if failed else []))
            http.append(Span(
                trace_id=trace_id, span_id=child, parent_span_id=chat, name="POST", kind=Span.SPAN_KIND_CLIENT,
                start_time_unix_nano=start + 2_000_000, end_time_unix_nano=start + duration,
                attributes=[_kv("http.request.method", "POST"), _kv("url.full", "https://api.openai.com/v1/chat/completions"),
                            _kv("server.address", "api.openai.com"),
                            _kv("http.response.status_code", 429 if failed else 200)]))
        out.append(ExportTraceServiceRequest(resource_spans=[ResourceSpans(resource=resource, scope_spans=[
            ScopeSpans(scope={"name": "opentelemetry.instrumentation.fastapi"}, spans=fastapi),
            ScopeSpans(scope={"name": "otel_ai.instrumentation.openai"}, spans=genai),
            ScopeSpans(scope={"name": "opentelemetry.instrumentation.httpx"}, spans=http),
        ])]))
    return out


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        if hasattr(result, "__next__"):
            for _ in result:
                pass
        times.append((time.perf_counter() - t0) * 1000)
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="SQLite path or postgresql:// URL (default: a temporary SQLite file)")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--workloads", type=int, default=0, help="spread calls over N workloads (default: 11)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--ingest-batches", type=int, default=40, help="batches of 512 spans through ingest_traces")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file; reuse it if already loaded")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()

    tmp = None
    url = args.db
    if url is None:
        tmp = tempfile.mkdtemp(prefix="bench-store-")
        url = os.path.join(tmp, "store.db")
    now = datetime.now(timezone.utc)
    end_ns = (now - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1) * 1000
    store = open_store(url)
    figures: dict[str, Any] = {"backend": store.backend, "calls": args.calls, "days": args.days, "queries": {}}
    loaded = store.summary()["calls"]
    if loaded and args.keep:
        print(f"reusing {loaded:,} stored calls in {url}")
    else:
        if loaded:
            print(f"{url} already holds {loaded:,} calls; use an empty database", file=sys.stderr)
            return 2
        kinds = workloads(args.workloads)
        t0 = time.perf_counter()
        bulk_load(store, generate(args.calls, args.days, end_ns - 3600 * NS, kinds))
        t1 = time.perf_counter()
        store.rebuild_aggregates()
        t2 = time.perf_counter()
        figures["load_s"], figures["rebuild_aggregates_s"] = t1 - t0, t2 - t1
        print(f"loaded {args.calls:,} calls + {args.calls:,} traces in {t1 - t0:.1f} s (bulk insert), "
              f"roll-ups rebuilt in {t2 - t1:.1f} s")

    batches = realistic_batches(args.ingest_batches, 512 // 3, end_ns, seed=end_ns)
    spans = sum(len(s.spans) for b in batches for r in b.resource_spans for s in r.scope_spans)
    t0 = time.perf_counter()
    for batch in batches:
        store.ingest_traces(batch)
    elapsed = time.perf_counter() - t0
    figures["ingest_spans_per_s"] = spans / elapsed if elapsed else None
    print(f"ingest_traces: {spans:,} spans in {len(batches)} batches (~{spans // len(batches)} spans each, "
          f"1/3 GenAI calls), {elapsed:.2f} s: {spans / elapsed:,.0f} spans/s, each batch committed")

    with store.engine.connect() as connection:
        counts = {t: connection.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar()
                  for t in ("genai_calls", "genai_rollup_hour", "genai_rollup_day", "genai_latency_hour",
                            "genai_latency_day", "traces", "spans")}
    figures["rows"] = counts
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    if store.backend == "sqlite":
        figures["db_bytes"] = store.used_bytes()
        print(f"database: {figures['db_bytes'] / 2**20:,.0f} MiB")

    week = now - timedelta(days=7)
    day = now - timedelta(days=1)
    trace_id = batches[-1].resource_spans[0].scope_spans[0].spans[0].trace_id.hex()
    queries: list[tuple[str, Callable[[], Any], bool]] = [
        ("summary()", lambda: store.summary(), True),
        ("summary(since=7d)", lambda: store.summary(week), True),
        ("summary(since=24h)", lambda: store.summary(day), True),
        ("costs(model)", lambda: store.costs("model"), True),
        ("costs(day)", lambda: store.costs("day"), True),
        ("costs(task_type, since=7d)", lambda: store.costs("task_type", week), True),
        ("costs(provider, since=24h)", lambda: store.costs("provider", day), True),
        ("errors()", lambda: store.errors(), True),
        ("errors(since=7d)", lambda: store.errors(week), True),
        ("forecast()", lambda: store.forecast(), False),
        ("costs(model, service=api)", lambda: store.costs("model", service="api"), False),
        ("summary(service=api) [raw p95]", lambda: store.summary(service="api"), False),
        ("traces() page 1", lambda: store.traces(), False),
        ("traces(status=error)", lambda: store.traces(status="error"), False),
        ("traces(model=gpt-4.1)", lambda: store.traces(model="gpt-4.1"), False),
        ("trace(id)", lambda: store.trace(trace_id), False),
        ("export_calls(since=1h)", lambda: store.export_calls(now - timedelta(hours=1)), False),
    ]
    print(f"\n{'query':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target")
    worst = 0.0
    for name, fn, targeted in queries:
        times = timed(fn, args.runs)
        p50, p95 = statistics.median(times), pct(times, 0.95)
        figures["queries"][name] = {"p50_ms": p50, "p95_ms": p95, "max_ms": max(times), "runs": len(times)}
        mark = ("ok" if p95 <= 250 else "OVER") if targeted else ""
        if targeted:
            worst = max(worst, p95)
        print(f"{name:34} {p50:8.1f} {p95:8.1f} {max(times):8.1f}  {mark}")
    print(f"\nworst p95 of summary/costs/errors: {worst:.1f} ms (target 250 ms)")
    figures["worst_targeted_p95_ms"] = worst
    store.close()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    if tmp and not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    elif tmp:
        print(f"kept {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
