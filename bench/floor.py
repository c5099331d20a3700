"""The per-call floor for the provider benchmarks: the bare OpenTelemetry SDK work otel_ai's contract needs.

Around a call: one CLIENT span with the attributes otel_ai writes for it (about 20), current during the
call so that HTTP spans would nest under it, and the four metric records (duration, input and output
token usage, cost). No instrumentor, no parsing of the response: what any instrumentation emitting the
same telemetry must at least pay. `bench/harness.py` has the OpenAI one; the targets compare the added
time of otel_ai with the added time of this floor (docs/benchmarks.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

_END = {"gen_ai.response.id": "resp_0123456789abcdef", "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 3,
        "gen_ai.usage.cache_read.input_tokens": 0, "gen_ai.usage.cache_write.input_tokens": 0,
        "otel_ai.cost.usd": 4.5e-05, "otel_ai.cost.input_usd": 3.6e-05, "otel_ai.cost.output_usd": 9e-06,
        "otel_ai.pricing.source": "catalog", "otel_ai.pricing.catalog_date": "2026-11-22"}


def floor(call: Callable[[], Any], provider: str, model: str, server: str = "api.example.com",
          operation: str = "chat") -> Callable[[], Any]:
    """`call` with the floor's telemetry around it, on the global tracer and meter providers."""
    from opentelemetry import metrics, trace
    from opentelemetry.context import attach, detach
    from opentelemetry.trace import SpanKind, set_span_in_context

    tracer, meter, clock = trace.get_tracer("sdk_floor"), metrics.get_meter("sdk_floor"), time.perf_counter
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s",
                                      explicit_bucket_boundaries_advisory=[0.01 * 2**i for i in range(14)])
    tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}",
                                    explicit_bucket_boundaries_advisory=[4.0**i for i in range(14)])
    cost = meter.create_counter("otel_ai.client.cost", unit="{USD}")
    start = {"gen_ai.operation.name": operation, "gen_ai.provider.name": provider, "gen_ai.request.model": model,
             "server.address": server, "server.port": 443, "gen_ai.request.max_tokens": 64}
    end = _END | {"gen_ai.response.model": model}
    metric = {k: start[k] for k in list(start)[:5]} | {"gen_ai.response.model": model}
    counted = {k: start[k] for k in list(start)[:3]}
    name = f"{operation} {model}"

    def op() -> Any:
        t0 = clock()
        span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=start)
        token = attach(set_span_in_context(span))
        try:
            result = call()
        finally:
            detach(token)
        span.set_attributes(end)
        span.end()
        duration.record(clock() - t0, metric)
        tokens.record(12, metric | {"gen_ai.token.type": "input"})
        tokens.record(3, metric | {"gen_ai.token.type": "output"})
        cost.add(4.5e-05, counted)
        return result

    return op
