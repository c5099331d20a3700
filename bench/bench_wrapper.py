"""otel_ai's per-call work against the SDK floor's, without the client's own time: one process, modes interleaved.

    .venv/bin/python bench/bench_wrapper.py            # ~1 min; prints a markdown table

The provider benches compare whole calls in separate processes, so the client's own 150-800 µs and
its process-to-process spread (±20 µs on this 2-core machine) sit around a difference of 10-40 µs.
Here the call itself is taken out: the client's method returns a response it parsed once up front,
and otel_ai's wrapper (describe, read the request, start the span, make it current, read the
response, price it, end the span, record the metrics and the evaluation record) runs around it,
next to `bench/floor.py` around the same function (the bare SDK span with our attributes and four
metric records), in the same process with the same SDK set-up, alternating in short runs. The
lowest run of each is kept; the garbage collector is off during the runs so that a full collection
landing in one mode's run does not decide the comparison (both modes allocate alike).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from typing import Any

from floor import floor  # bench/floor.py, next to this file

RUNS = 30
CALLS = 500


def _anthropic() -> tuple[Callable[[], object], Callable[[], object]]:
    import anthropic.resources.messages.messages as messages_module
    import bench_anthropic

    bench_anthropic._setup("otel_ai")
    client = bench_anthropic._client()
    kwargs = {"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    message = client.messages.create(**kwargs)
    return _pair(vars(messages_module.Messages)["create"], client.messages, kwargs, message,
                 floor(lambda: message, "anthropic", "claude-sonnet-4-6", "api.anthropic.com"))


def _openai() -> tuple[Callable[[], object], Callable[[], object]]:
    import harness
    import openai.resources.chat.completions.completions as completions_module
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    bench = harness.Bench("otel_ai")
    completion = bench.op()
    kwargs = {"model": harness.MODEL, "messages": harness.MESSAGES, "temperature": 0.2, "max_tokens": 200}
    low = harness.floor(lambda: completion, bench.tracer_provider,
                        MeterProvider(metric_readers=[InMemoryMetricReader()]), harness.END)
    return _pair(vars(completions_module.Completions)["create"], harness.make_client().chat.completions, kwargs,
                 completion, low)


def _mistral() -> tuple[Callable[[], object], Callable[[], object]]:
    import bench_mistral

    bench_mistral._setup("otel_ai")
    client = bench_mistral._client()
    kwargs = {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2}
    response = client.chat.complete(**kwargs)
    return _pair(type(client.chat).__dict__["complete"], client.chat, kwargs, response,
                 floor(lambda: response, "mistral_ai", "mistral-small-latest", "api.mistral.ai"))


def _pair(patched: Any, instance: Any, kwargs: dict[str, Any], response: object,
          low: Callable[[], object]) -> tuple[Callable[[], object], Callable[[], object]]:
    """(otel_ai's wrapper around a method that returns `response`, the floor around the same)."""
    wrapper = patched._self_wrapper  # what wrapt calls: our wrapper, given the wrapped method and its arguments

    def returns(*args: Any, **kw: Any) -> object:
        return response

    return (lambda: wrapper(returns, instance, (), kwargs)), low


def _run(op: Callable[[], object]) -> float:
    started = time.thread_time()
    for _ in range(CALLS):
        op()
    return (time.thread_time() - started) / CALLS


def measure(build: Callable[[], tuple[Callable[[], object], Callable[[], object]]]) -> dict[str, float]:
    ours, low = build()
    for op in (ours, low):
        for _ in range(200):
            op()
    best = {"otel_ai": float("inf"), "sdk_floor": float("inf")}
    gc.collect()
    gc.disable()
    try:
        for _ in range(RUNS):
            best["otel_ai"] = min(best["otel_ai"], _run(ours))
            best["sdk_floor"] = min(best["sdk_floor"], _run(low))
    finally:
        gc.enable()
    return best


def main() -> None:
    import json
    import subprocess

    if len(sys.argv) == 3 and sys.argv[1] == "--worker":  # one provider per process: instrumentation is global
        print(json.dumps(measure({"anthropic": _anthropic, "openai": _openai, "mistral": _mistral}[sys.argv[2]])))
        return
    print(f"calling thread's CPU time per call, lowest of {RUNS} runs of {CALLS} calls (microseconds)\n")
    print("| provider, call | SDK floor | otel_ai | otel_ai ÷ floor |")
    print("|---|---:|---:|---:|")
    calls = (("anthropic", "Anthropic `messages.create`"), ("openai", "OpenAI `chat.completions.create`"),
             ("mistral", "Mistral `chat.complete`"))
    for provider, label in calls:
        out = subprocess.run([sys.executable, __file__, "--worker", provider], capture_output=True, text=True,
                             check=True)
        best = json.loads(out.stdout.strip().splitlines()[-1])
        low, ours = best["sdk_floor"] * 1e6, best["otel_ai"] * 1e6
        print(f"| {label} | {low:.1f} | {ours:.1f} | {ours / low:.2f}x |")


if __name__ == "__main__":
    main()
