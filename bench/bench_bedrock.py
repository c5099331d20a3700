"""What otel_ai adds to a Bedrock call and to each streamed event.

    .venv/bin/python bench/bench_bedrock.py          # ~1 min; prints a markdown table

Each mode runs in its own process (instrumentation is process-wide): `baseline` (no agent),
`sdk_floor` (a bare SDK span and metric per call, bench/floor.py) and `otel_ai` (the agent, spans and
metrics into no-op exporters). The real boto3 `bedrock-runtime` client runs with botocore's `Stubber`
(it answers in `before-call`, inside `_make_api_call`, so the wrapped seam and botocore's validation and
parsing of the request run; no network). The clock is the calling thread's CPU time; each figure is the
median of 7 runs, the lowest over 4 processes per mode. Per event: the stream proxy and the
`converse_stream` accumulator over 200 parsed events, against iterating them bare.
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
SAMPLES = 7
MODEL = "amazon.nova-pro-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]
RESPONSE = {"output": {"message": {"role": "assistant", "content": [{"text": "Hi there."}]}}, "stopReason": "end_turn",
            "usage": {"inputTokens": 12, "outputTokens": 3, "totalTokens": 15}, "metrics": {"latencyMs": 42}}


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
    if mode == "sdk_floor":
        return
    from otel_ai.instrumentation.bedrock import BedrockInstrumentor

    BedrockInstrumentor().instrument()


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
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="AKIAEXAMPLEEXAMPLE00",
                          aws_secret_access_key="x" * 40)
    stubber = Stubber(client)
    stubber.activate()

    def converse() -> object:
        stubber.add_response("converse", RESPONSE)
        return client.converse(modelId=MODEL, messages=MESSAGES, inferenceConfig={"maxTokens": 64})

    op = floor(converse, "aws.bedrock", MODEL, "bedrock-runtime.us-east-1.amazonaws.com") \
        if mode == "sdk_floor" else converse
    return {"converse": _per_call(op, 200), **_per_event(mode)}


def _per_event(mode: str) -> dict[str, float]:
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    events += [{"contentBlockDelta": {"delta": {"text": " word"}, "contentBlockIndex": 0}} for _ in range(196)]
    events += [{"contentBlockStop": {"contentBlockIndex": 0}}, {"messageStop": {"stopReason": "end_turn"}},
               {"metadata": {"usage": {"inputTokens": 12, "outputTokens": 196, "totalTokens": 208}}}]
    if mode in ("baseline", "sdk_floor"):
        return {"event": _per_call(lambda: [e for e in iter(events)], 2000) / len(events)}
    from otel_ai.genai.model import GenAIRequest
    from otel_ai.genai.streams import SyncStreamProxy
    from otel_ai.instrumentation.bedrock.converse import ConverseStream
    from otel_ai.runtime import state

    recorder = state.recorder()
    inv = recorder.start(GenAIRequest("chat", "aws.bedrock", MODEL, stream=True))
    assert inv is not None
    inv.claim_end()

    def through_proxy() -> object:
        return [e for e in SyncStreamProxy(iter(events), recorder, inv, ConverseStream(False, 0))]

    return {"event": _per_call(through_proxy, 2000) / len(events)}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2])))
        return
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "sdk_floor": [], "otel_ai": []}
    for _ in range(ROUNDS):
        for mode in runs:
            out = subprocess.run([sys.executable, __file__, "--worker", mode], capture_output=True, text=True,
                                 check=True)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    base, low, agent = ({key: min(r[key] for r in runs[mode]) for key in runs[mode][0]}
                        for mode in ("baseline", "sdk_floor", "otel_ai"))
    print(f"calling thread's CPU time, best of {ROUNDS} processes x median of {SAMPLES} runs (microseconds)\n")
    print("| work | uninstrumented | SDK floor | otel_ai | otel_ai added | floor added |")
    print("|---|---:|---:|---:|---:|---:|")
    for key, label, digits in (("converse", "Bedrock converse (Stubber)", 0),
                               ("event", "per converse_stream event (proxy + accumulator)", 2)):
        print(f"| {label} | {base[key] * 1e6:.{digits}f} | {low[key] * 1e6:.{digits}f} | {agent[key] * 1e6:.{digits}f} "
              f"| {(agent[key] - base[key]) * 1e6:.{digits}f} | {(low[key] - base[key]) * 1e6:.{digits}f} |")


if __name__ == "__main__":
    main()
