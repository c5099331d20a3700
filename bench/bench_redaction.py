"""What redaction costs on the exporter thread: per span, per log record, per metric batch, per string.

    .venv/bin/python bench/bench_redaction.py            # best of 7 runs of 2,000 items each

Each figure is the time the redacting exporter adds over handing the same batch straight to the
inner exporter (a no-op), measured in the same run. Redaction runs on the batch processor's
background thread, never on the thread that makes the call.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_ai.privacy.exporters import RedactingLogExporter, RedactingMetricExporter, RedactingSpanExporter
from otel_ai.privacy.redactor import Redactor

GENAI = {
    "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
    "server.address": "api.openai.com", "server.port": 443, "gen_ai.response.id": "chatcmpl-abc123XYZ",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.usage.input_tokens": 12,
    "gen_ai.usage.output_tokens": 30, "otel_ai.cost.usd": 0.00012, "otel_ai.pricing.source": "catalog",
    "otel_ai.pricing.catalog_date": "2026-11-22",
    "gen_ai.response.finish_reasons": ("stop",),
}
HTTP = {
    "http.request.method": "POST", "url.full": "https://api.openai.com/v1/chat/completions",
    "server.address": "api.openai.com", "server.port": 443, "http.response.status_code": 200,
    "network.protocol.version": "1.1",
}
PROMPT = "Summarise the quarterly report for the board.\nKeep it short and list the three main risks with owners."
ANSWER = "Here is the summary:\n1. Supply chain.\n2. Currency.\n3. Hiring."
INPUT = json.dumps([{"role": "user", "parts": [{"type": "text", "content": PROMPT}]}], ensure_ascii=False)
OUTPUT = json.dumps(
    [{"role": "assistant", "parts": [{"type": "text", "content": ANSWER}], "finish_reason": "stop"}], ensure_ascii=False
)
DIRTY_PROMPT = PROMPT + "\nMy card is 4539 1488 0343 6467, mail jane.doe@example.com."


class _NullSpans(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class _NullMetrics(MetricExporter):
    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _spans(n: int, attributes: dict[str, Any]) -> list[ReadableSpan]:
    tracer = TracerProvider().get_tracer("bench")
    spans = []
    for i in range(n):
        unique = {"gen_ai.response.id": f"chatcmpl-{i:08d}Xq3"} if "gen_ai.response.id" in attributes else {}
        span = tracer.start_span("chat gpt-4o-mini", attributes={**attributes, **unique})
        span.end()
        spans.append(span)  # type: ignore[arg-type]
    return spans  # type: ignore[return-value]


def _logs(n: int, body: Any) -> list[ReadableLogRecord]:
    from opentelemetry._logs import LogRecord
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    return [
        ReadableLogRecord(
            log_record=LogRecord(body=body, attributes=dict(GENAI)),
            resource=Resource.create({}),
            instrumentation_scope=InstrumentationScope("bench"),
        )
        for _ in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2000, help="items per batch")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    n, repeat = args.n, args.repeat
    redactor = Redactor()
    rows: list[tuple[str, float, float]] = []

    span_null = _NullSpans()
    span_redacting = RedactingSpanExporter(span_null, redactor)
    for label, attributes in (
        ("GenAI span, no content", GENAI),
        ("GenAI span, content captured (clean)", {**GENAI, "gen_ai.input.messages": INPUT,
                                                  "gen_ai.output.messages": OUTPUT}),
        ("GenAI span, content with a card and an e-mail", {**GENAI, "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": DIRTY_PROMPT}]}])}),
        ("HTTP client span", HTTP),
    ):
        batch = _spans(n, attributes)
        base = _best(lambda batch=batch: span_null.export(batch), repeat)
        red = _best(lambda batch=batch: span_redacting.export(batch), repeat)
        rows.append((label, base / n, red / n))

    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

    log_inner = InMemoryLogRecordExporter()
    log_redacting = RedactingLogExporter(log_inner, redactor)
    body = {"gen_ai.input.messages": json.loads(INPUT), "gen_ai.output.messages": json.loads(OUTPUT)}
    batch_logs = _logs(n, body)

    def export_plain() -> None:
        log_inner.export(batch_logs)
        log_inner.clear()

    def export_redacted() -> None:
        log_redacting.export(batch_logs)
        log_inner.clear()

    rows.append(("content event (log record)", _best(export_plain, repeat) / n, _best(export_redacted, repeat) / n))

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("bench")
    histogram = meter.create_histogram("gen_ai.client.operation.duration")
    labels = {k: v for k, v in GENAI.items() if isinstance(v, str)}
    for i in range(50):  # 50 series: models x operations, a realistic app's worth
        histogram.record(0.5, {**labels, "gen_ai.request.model": f"m{i}"})
    data = reader.get_metrics_data()
    assert data is not None
    metric_null = _NullMetrics()
    metric_redacting = RedactingMetricExporter(metric_null, redactor)
    rows.append((
        "metric batch of 50 series (per batch)",
        _best(lambda: metric_null.export(data), repeat),
        _best(lambda: metric_redacting.export(data), repeat),
    ))

    print(f"redaction on the exporter thread, best of {repeat} x {n} items (microseconds per item)\n")
    print("| item | without redaction | with redaction | added |")
    print("|---|---|---|---|")
    for label, base, red in rows:
        print(f"| {label} | {base * 1e6:.1f} | {red * 1e6:.1f} | {(red - base) * 1e6:.1f} |")


if __name__ == "__main__":
    main()
