"""What otel_ai adds to an Ollama call and to each streamed line, next to what it adds to an OpenAI call.

    .venv/bin/python bench/bench_ollama.py          # ~1 min; prints a markdown table

Each mode runs in its own process (instrumentation is process-wide): `baseline` (no agent) and
`otel_ai` (the agent, spans and metrics into no-op exporters). The real `ollama` and `openai` clients
run over httpx mock transports, so no network is involved. The clock is the calling thread's CPU
time; each figure is the median of 7 runs of many calls in one process, and the lowest such median
over 4 processes per mode (modes interleaved). A stream is newline-delimited JSON, one object per
word; the per-line cost is the slope between 10- and 200-line streams.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from floor import floor  # bench/floor.py, next to this file

ROUNDS = 4
DONE = {"done": True, "done_reason": "stop", "total_duration": 1_000_000, "load_duration": 10_000,
        "prompt_eval_count": 12, "prompt_eval_duration": 100_000, "eval_count": 3, "eval_duration": 800_000}


def _ollama_client(lines: int) -> Any:
    import httpx
    import ollama

    head = {"model": "llama3.2", "created_at": "2025-01-01T00:00:00.000000Z"}
    whole = json.dumps({**head, "message": {"role": "assistant", "content": "Hi there."}, **DONE}).encode()
    piece = json.dumps({**head, "message": {"role": "assistant", "content": " word"}, "done": False})
    last = json.dumps({**head, "message": {"role": "assistant", "content": ""}, **DONE})
    streamed = ("\n".join([piece] * lines + [last]) + "\n").encode()

    def handler(request: httpx.Request) -> httpx.Response:
        if b'"stream":true' in request.content.replace(b" ", b""):
            return httpx.Response(200, content=streamed, headers={"content-type": "application/x-ndjson"})
        return httpx.Response(200, content=whole, headers={"content-type": "application/json"})

    return ollama.Client(host="127.0.0.1:11434", transport=httpx.MockTransport(handler))


def _openai_client() -> Any:
    import httpx
    import openai

    body = json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1763780000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi there."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return openai.OpenAI(api_key="sk-bench-0123456789", base_url="https://api.openai.com/v1", http_client=http)


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
    tp.add_span_processor(BatchSpanProcessor(Null()))  # export (and redaction) off the calling thread, as in an app
    trace.set_tracer_provider(tp)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    if mode == "sdk_floor":
        return
    from otel_ai.instrumentation.ollama import OllamaInstrumentor
    from otel_ai.instrumentation.openai import OpenAIInstrumentor

    OllamaInstrumentor().instrument()
    OpenAIInstrumentor().instrument()


def _per_call(op: Callable[[], object], calls: int) -> float:
    for _ in range(50):
        op()
    samples = []
    for _ in range(7):
        started = time.thread_time()
        for _ in range(calls):
            op()
        samples.append((time.thread_time() - started) / calls)
    return statistics.median(samples)


def worker(mode: str) -> dict[str, float]:
    _setup(mode)
    ol10, ol200, oa = _ollama_client(10), _ollama_client(200), _openai_client()
    messages = [{"role": "user", "content": "hi"}]

    def wrap(op: Callable[[], object], provider: str, model: str) -> Callable[[], object]:
        return floor(op, provider, model) if mode == "sdk_floor" else op

    def stream(client: Any) -> Callable[[], object]:
        return wrap(lambda: sum(1 for _ in client.chat(model="llama3.2", messages=messages, stream=True)),
                    "ollama", "llama3.2")

    return {
        "ollama": _per_call(wrap(lambda: ol10.chat(model="llama3.2", messages=messages), "ollama", "llama3.2"), 300),
        "ollama_10": _per_call(stream(ol10), 200),
        "ollama_200": _per_call(stream(ol200), 50),
        "openai": _per_call(wrap(lambda: oa.chat.completions.create(model="gpt-4o-mini", messages=messages),
                                 "openai", "gpt-4o-mini"), 300),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2])))
        return
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "sdk_floor": [], "otel_ai": []}
    for _ in range(ROUNDS):  # modes interleaved, each in fresh processes: this machine is shared and noisy
        for mode in runs:
            command = [sys.executable, __file__, "--worker", mode]
            out = subprocess.run(command, capture_output=True, text=True, check=True)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    # The least disturbed process of each mode: noise only ever adds time.
    base, low, agent = ({key: min(r[key] for r in runs[mode]) for key in runs[mode][0]}
                        for mode in ("baseline", "sdk_floor", "otel_ai"))

    def added(key: str, mode: dict[str, float] = agent) -> float:
        return (mode[key] - base[key]) * 1e6

    per_line = (added("ollama_200") - added("ollama_10")) / 190
    print(f"calling thread's CPU time, best of {ROUNDS} processes x median of 7 runs (microseconds)\n")
    print("| work | uninstrumented | SDK floor | otel_ai | otel_ai added | floor added | added ÷ floor's |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key, label in (("openai", "OpenAI chat call"), ("ollama", "Ollama chat call"),
                       ("ollama_10", "Ollama chat stream, 10 lines"), ("ollama_200", "Ollama chat stream, 200 lines")):
        print(f"| {label} | {base[key] * 1e6:.0f} | {low[key] * 1e6:.0f} | {agent[key] * 1e6:.0f} | {added(key):.0f} "
              f"| {added(key, low):.0f} | {added(key) / added(key, low):.2f}x |")
    print(f"| per streamed line (slope 10 → 200) | | | | {per_line:.2f} | | |")


if __name__ == "__main__":
    main()
