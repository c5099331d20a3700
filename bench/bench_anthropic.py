"""What otel_ai adds to an Anthropic `messages.create` call and to each streamed event.

    bench/.venv/bin/python bench/bench_anthropic.py    # ~2 min; prints a markdown table (bench/.venv: bench/run.sh
                                                       # makes it; the official instrumentation stays out of .venv)

Each mode runs in its own process (instrumentation is process-wide): `baseline` (no OpenTelemetry SDK:
the anthropic client makes no spans), `sdk_spans` (an SDK tracer provider: the client's own call spans,
which is what an app with OpenTelemetry set up pays without otel_ai), `official` (the official
`opentelemetry-instrumentation-genai-anthropic`, next to the client's own spans, which it leaves on) and
`otel_ai` (the agent: our span, metrics and cost; the client's own spans switched off), and `sdk_floor`
(bench/floor.py: the bare SDK span and metric records of our contract around the call, the client's own
spans off). The real `anthropic` client runs over an
httpx2 mock transport, so no network is involved. The clock is the calling thread's CPU time; each
figure is the median of 7 runs of many calls in one process, the lowest such median over 4 processes per
mode (modes interleaved). The per-event cost is the slope between 10- and 200-delta streams.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from floor import floor  # bench/floor.py, next to this file

ROUNDS = 4
MODES = ("baseline", "sdk_spans", "sdk_floor", "official", "otel_ai")
USAGE = {"input_tokens": 12, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0, "output_tokens": 3}


def _sse(event: str, payload: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(payload)}\n\n".encode()


def _stream_body(deltas: int) -> bytes:
    message = {"id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
               "content": [], "stop_reason": None, "stop_sequence": None, "usage": {**USAGE, "output_tokens": 1}}
    parts = [_sse("message_start", {"type": "message_start", "message": message}),
             _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                          "content_block": {"type": "text", "text": ""}})]
    parts += [_sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": "text_delta", "text": " word"}})] * deltas
    parts += [_sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
              _sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                     "usage": {**USAGE, "output_tokens": deltas}}),
              _sse("message_stop", {"type": "message_stop"})]
    return b"".join(parts)


def _client() -> Any:
    import anthropic
    import httpx2

    whole = json.dumps({"id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
                        "content": [{"type": "text", "text": "Hi there."}], "stop_reason": "end_turn",
                        "stop_sequence": None, "usage": USAGE}).encode()
    streams = {10: _stream_body(10), 200: _stream_body(200)}

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        if body.get("stream"):
            deltas = 200 if body["max_tokens"] == 200 else 10
            return httpx2.Response(200, content=streams[deltas], headers={"content-type": "text/event-stream"})
        return httpx2.Response(200, content=whole, headers={"content-type": "application/json"})

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    return anthropic.Anthropic(api_key="sk-ant-api03-bench", base_url="https://api.anthropic.com", http_client=http)


def _setup(mode: str) -> None:
    if mode == "baseline":
        return
    if mode == "sdk_floor":  # the floor is our telemetry alone: the client's own spans off, as otel_ai has them
        os.environ["ANTHROPIC_OPEN_TELEMETRY"] = "false"
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
    if mode == "otel_ai":
        from otel_ai.instrumentation.anthropic import AnthropicInstrumentor

        AnthropicInstrumentor().instrument()
    if mode == "official":  # the conventions' own (`opentelemetry-instrumentation-genai-anthropic`, bench extra)
        from opentelemetry.instrumentation.genai.anthropic import AnthropicInstrumentor as Official

        Official().instrument()


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
    client = _client()
    messages = [{"role": "user", "content": "hi"}]

    def wrap(op: Callable[[], object]) -> Callable[[], object]:
        return floor(op, "anthropic", "claude-sonnet-4-6", "api.anthropic.com") if mode == "sdk_floor" else op

    def stream(deltas: int) -> Callable[[], object]:
        return wrap(lambda: list(client.messages.create(model="claude-sonnet-4-6", max_tokens=deltas,
                                                        messages=messages, stream=True)))

    return {
        "create": _per_call(wrap(lambda: client.messages.create(model="claude-sonnet-4-6", max_tokens=64,
                                                                messages=messages)), 300),
        "stream_10": _per_call(stream(10), 200),
        "stream_200": _per_call(stream(200), 50),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2])))
        return
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for _ in range(ROUNDS):  # modes interleaved, each in fresh processes: this machine is shared and noisy
        for mode in MODES:
            out = subprocess.run([sys.executable, __file__, "--worker", mode], capture_output=True, text=True,
                                 check=True)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = {mode: {key: min(r[key] for r in runs[mode]) for key in runs[mode][0]} for mode in MODES}
    base, sdk, low, official, agent = (best[mode] for mode in MODES)

    def added(mode: dict[str, float], key: str) -> float:
        return (mode[key] - base[key]) * 1e6

    print(f"calling thread's CPU time, best of {ROUNDS} processes x median of 7 runs (microseconds)\n")
    print("| work | no OpenTelemetry | SDK's own spans | SDK floor | official genai-anthropic | otel_ai "
          "| otel_ai added | ÷ floor's added | ÷ official's added |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, label in (("create", "messages.create"), ("stream_10", "stream, 10 deltas"),
                       ("stream_200", "stream, 200 deltas")):
        print(f"| {label} | {base[key] * 1e6:.0f} | {sdk[key] * 1e6:.0f} | {low[key] * 1e6:.0f} "
              f"| {official[key] * 1e6:.0f} | {agent[key] * 1e6:.0f} | {added(agent, key):.0f} "
              f"| {added(agent, key) / added(low, key):.2f}x | {added(agent, key) / added(official, key):.2f}x |")

    def slope(mode: dict[str, float]) -> float:
        return (mode["stream_200"] - mode["stream_10"]) / 190 * 1e6

    print(f"| per streamed event (slope 10 → 200), added | | {slope(sdk) - slope(base):.2f} "
          f"| {slope(low) - slope(base):.2f} | {slope(official) - slope(base):.2f} "
          f"| {slope(agent) - slope(base):.2f} | | | |")


if __name__ == "__main__":
    main()
