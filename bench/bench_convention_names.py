"""What OTEL_AI_SEMCONV and OTEL_AI_SEMCONV_PROPOSALS cost per call, in the recorder alone.

    .venv/bin/python bench/bench_convention_names.py    # ~1 min; one line per setting

One recorder per setting (names chosen once, at construction), each fed the same Anthropic-shaped chat
call with cache reads and writes: `start` then `end`, no client, no HTTP, SDK providers with no exporter.
The settings run interleaved, 9 rounds of 5,000 calls; the clock is the thread's CPU time; the figure is
the median µs per call (and the fastest round).
"""

from __future__ import annotations

import statistics
import time

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from otel_ai.conventions import Conventions, Names
from otel_ai.genai.model import GenAIRequest, GenAIResponse, Usage
from otel_ai.genai.recorder import GenAIRecorder
from otel_ai.pricing.catalog import PricingCatalog

CASES = {
    "current": Conventions(),
    "previous": Conventions(Names.PREVIOUS),
    "both": Conventions(Names.BOTH),
    "current + proposals all": Conventions(Names.CURRENT, frozenset({"token_metrics", "inference_duration"})),
}
REQUEST = GenAIRequest(operation="chat", provider="anthropic", model="claude-sonnet-4-6",
                       server_address="api.anthropic.com", server_port=443)
RESPONSE = GenAIResponse(model="claude-sonnet-4-6", response_id="msg_01", finish_reasons=["end_turn"],
                         usage=Usage(input_tokens=1000, output_tokens=200, cache_read_input_tokens=400,
                                     cache_creation_input_tokens=30))
CALLS, ROUNDS = 5_000, 9


def main() -> None:
    catalog = PricingCatalog.load()
    recorders = {
        name: GenAIRecorder(catalog, tracer_provider=TracerProvider(),
                            meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]), conventions=conv)
        for name, conv in CASES.items()
    }
    for recorder in recorders.values():  # the per-shape caches filled
        for _ in range(500):
            recorder.end(recorder.start(REQUEST), RESPONSE)  # type: ignore[arg-type]
    rounds: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(ROUNDS):
        for name, recorder in recorders.items():
            began = time.thread_time()
            for _ in range(CALLS):
                recorder.end(recorder.start(REQUEST), RESPONSE)  # type: ignore[arg-type]
            rounds[name].append((time.thread_time() - began) / CALLS * 1e6)
    for name, values in rounds.items():
        print(f"{name:<24} {statistics.median(values):6.1f} µs/call (fastest round {min(values):.1f})")


if __name__ == "__main__":
    main()
