"""What otel_ai adds to a Gemini call and to each streamed chunk, against the official instrumentation.

    .venv/bin/python bench/bench_gemini.py          # ~1 min; prints a markdown table

Each mode runs in its own process (instrumentation is process-wide): `baseline` (no agent), `sdk_floor`
(bench/floor.py: the bare SDK span and metric records of our contract around the call), `otel_ai`
(the agent, spans and metrics into no-op exporters) and `peer` (the official
`opentelemetry-instrumentation-google-genai`, same providers), skipped if it is not installed. The
real `google-genai` client talks to the Gemini simulator on 127.0.0.1 (a server thread): the clock
is the calling thread's CPU time, so the server's work is not counted. Each figure is the median of
7 runs of many calls in one process, and the lowest such median over 4 processes per mode.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from floor import floor  # bench/floor.py, next to this file

ROUNDS = 4
SAMPLES = 7
KEY = "AIzaSyBench0123456789abcdefghijklmnopqr"
MODEL = "gemini-2.5-flash"


def _setup(mode: str) -> None:
    if mode == "baseline":
        return
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Null(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tp = TracerProvider()
    tp.add_span_processor(BatchSpanProcessor(Null()))
    trace.set_tracer_provider(tp)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    if mode == "sdk_floor":  # the floor is our telemetry alone, made by bench/floor.py around the call
        return
    if mode == "peer":
        from opentelemetry.instrumentation.google_genai import GoogleGenAiSdkInstrumentor

        GoogleGenAiSdkInstrumentor().instrument()
        return
    from otel_ai.instrumentation.gemini import GeminiInstrumentor

    GeminiInstrumentor().instrument()


def _per_call(op: Callable[[], object], calls: int) -> float:
    for _ in range(20):
        op()
    samples = []
    for _ in range(SAMPLES):
        started = time.thread_time()
        for _ in range(calls):
            op()
        samples.append((time.thread_time() - started) / calls)
    return statistics.median(samples)


def worker(mode: str) -> dict[str, float]:
    _setup(mode)
    from google import genai

    from otel_ai.testing.gemini_simulator import GeminiSimulator

    with GeminiSimulator() as sim:
        client = genai.Client(api_key=KEY, http_options=sim.http_options())
        short = "hi"
        long_reply = {"http_options": {"headers": {"x-simulator-reply": " ".join(["word"] * 100)}}}

        def wrap(op: Callable[[], object]) -> Callable[[], object]:
            server = "generativelanguage.googleapis.com"
            return floor(op, "gcp.gemini", MODEL, server, "generate_content") if mode == "sdk_floor" else op

        def stream(config: Any) -> Callable[[], object]:
            return wrap(lambda: list(client.models.generate_content_stream(model=MODEL, contents=short,
                                                                           config=config)))

        return {
            "generate": _per_call(wrap(lambda: client.models.generate_content(model=MODEL, contents=short)), 100),
            "stream_5": _per_call(stream(None), 30),
            "stream_100": _per_call(stream(long_reply), 5),
        }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2])))
        return
    modes = ["baseline", "sdk_floor", "otel_ai"]
    if importlib.util.find_spec("opentelemetry.instrumentation.google_genai") is not None:
        modes.append("peer")
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    for _ in range(ROUNDS):
        for mode in modes:
            out = subprocess.run([sys.executable, __file__, "--worker", mode], capture_output=True, text=True,
                                 check=True)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = {m: {k: min(r[k] for r in runs[m]) for k in runs[m][0]} for m in modes}
    base = best["baseline"]

    def added(mode: str, key: str) -> float:
        return (best[mode][key] - base[key]) * 1e6

    print(f"calling thread's CPU time, best of {ROUNDS} processes x median of {SAMPLES} runs (microseconds)\n")
    head = "| work | uninstrumented | " + " | ".join(f"{m} added" for m in modes[1:]) + " |"
    print(head)
    print("|---|---:|" + "---:|" * (len(modes) - 1))
    for key, label in (("generate", "generate_content"), ("stream_5", "generate_content_stream, 5 chunks"),
                       ("stream_100", "generate_content_stream, 100 chunks")):
        cells = " | ".join(f"{added(m, key):.0f}" for m in modes[1:])
        print(f"| {label} | {base[key] * 1e6:.0f} | {cells} |")
    cells = " | ".join(f"{(added(m, 'stream_100') - added(m, 'stream_5')) / 95:.2f}" for m in modes[1:])
    print(f"| per streamed chunk (slope 5 → 100) | | {cells} |")
    ratio = added("otel_ai", "generate") / added("sdk_floor", "generate")
    print(f"| otel_ai added ÷ floor's added, per call | | | {ratio:.2f}x |" + " |" * (len(modes) - 3))


if __name__ == "__main__":
    main()
