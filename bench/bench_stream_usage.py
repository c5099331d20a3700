"""What OTEL_AI_STREAM_USAGE costs per Chat Completions chunk: the stream proxy and accumulator alone.

The openai SDK's own SSE decoding and pydantic parsing (~150 µs a chunk) would bury a 1 µs difference,
so each mode iterates the same already-parsed `ChatCompletionChunk` objects through what the agent
wraps around a stream (docs/benchmarks.md, "Stream usage"):

* `off`: `SyncStreamProxy` + `ChatStream`, what every Chat Completions stream gets with the setting off;
* `inject`: `SyncUsageStream` + `ChatStream` over the chunks an injected request gets (`usage: null` on
  each, one usage chunk at the end, which the proxy reads and drops);
* `estimate`: `SyncStreamProxy` + `EstimatingChatStream` (keeps the output text for the count).

Per chunk: the slope between 20 and 200 content chunks, less the bare loop's. The count itself
(`estimate`, once per stream that ended without usage) is timed apart.

    .venv/bin/python bench/bench_stream_usage.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from openai.types.chat import ChatCompletionChunk

from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.genai.streams import SyncStreamProxy
from otel_ai.instrumentation.openai import stream_usage
from otel_ai.instrumentation.openai.chat import ChatStream
from otel_ai.runtime import state

SAMPLES, CALLS = 15, 200
WORD = "Hello"
MESSAGES = [{"role": "user", "content": "Stream a short greeting for the tests"}]


def chunks(count: int, injected: bool) -> list[Any]:
    def chunk(delta: dict[str, Any], finish: str | None = None, choices: bool = True) -> Any:
        payload: dict[str, Any] = {
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [],
        }
        if injected:
            payload["usage"] = None
        return ChatCompletionChunk.model_validate(payload)

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": f" {WORD}{i}"}) for i in range(count)]
    out.append(chunk({}, "stop"))
    if injected:
        usage = ChatCompletionChunk.model_validate({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
            "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": count, "total_tokens": 9 + count},
        })
        out.append(usage)
    return out


def per_call(op: Callable[[], object]) -> float:
    for _ in range(20):
        op()
    samples = []
    for _ in range(SAMPLES):
        started = time.thread_time()
        for _ in range(CALLS):
            op()
        samples.append((time.thread_time() - started) / CALLS)
    return statistics.median(samples)


def main() -> None:
    recorder = state.recorder()
    inv = recorder.start(GenAIRequest("chat", "openai", "gpt-4o-mini", stream=True))
    assert inv is not None
    inv.claim_end()  # chunks only: the span never ends in the loop
    encoding = stream_usage.tokens.encoding_for("gpt-4o-mini")
    plan = stream_usage.UsagePlan(True, encoding, MESSAGES, None)
    stream_usage.tokens._encoding(encoding or "")  # built once, untimed

    def modes(count: int) -> dict[str, Callable[[], object]]:
        plain, injected = chunks(count, False), chunks(count, True)
        return {
            "bare": lambda: [c for c in iter(plain)],
            "off": lambda: [c for c in SyncStreamProxy(iter(plain), recorder, inv, ChatStream(False, 0))],
            "inject": lambda: [c for c in stream_usage.SyncUsageStream(iter(injected), recorder, inv,
                                                                       ChatStream(False, 0))],
            "estimate": lambda: [c for c in SyncStreamProxy(iter(plain), recorder, inv,
                                                            stream_usage.EstimatingChatStream(False, 0, plan))],
        }

    short, long = modes(20), modes(200)
    times = {name: (per_call(short[name]), per_call(long[name])) for name in short}
    bare = (times["bare"][1] - times["bare"][0]) / 180
    print("| mode | 20 chunks (µs) | 200 chunks (µs) | added per chunk (µs) |")
    print("|---|---:|---:|---:|")
    for name, (t20, t200) in times.items():
        slope = (t200 - t20) / 180 - bare
        print(f"| {name} | {t20 * 1e6:.1f} | {t200 * 1e6:.1f} | {'—' if name == 'bare' else f'{slope * 1e6:.2f}'} |")
    for count in (20, 200):
        texts = ["".join(f" {WORD}{i}" for i in range(count))]
        cost = per_call(lambda texts=texts: stream_usage.estimate(GenAIResponse(), plan, texts))  # type: ignore[misc]
        print(f"estimate at the end of a {count}-chunk stream: {cost * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
