"""What otel_ai adds to OpenAI speech, transcription, image and moderation calls, and per speech chunk.

    .venv/bin/python bench/bench_openai_audio.py          # ~1 min; prints a markdown table

As bench_elevenlabs.py: each mode in its own process (`baseline`: no agent; `otel_ai`: the agent,
spans and metrics into no-op exporters), the real `openai` client over an httpx2 mock transport (no
network), the calling thread's CPU time, the median of 7 runs per process and the lowest median over
the processes of a mode (modes interleaved). Speech read through `with_streaming_response` arrives in
1024-byte chunks; the per-chunk cost is the slope between 10- and 200-chunk calls.
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import time
import wave
from collections.abc import Callable
from typing import Any

CHUNK = 1024
ROUNDS = 3


def _wav(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\0\0" * round(seconds * rate))
    return buffer.getvalue()


def _chunked(chunks: list[bytes]) -> Any:
    """A response body that arrives in pieces, as a real chunked answer does."""
    import httpx2

    class Chunks(httpx2.SyncByteStream):
        def __iter__(self) -> Any:
            return iter(chunks)

    return Chunks()


def _client(speech_chunks: int) -> Any:
    import httpx2
    import openai

    speech = b"\x00" * (CHUNK * speech_chunks)
    answers = {
        "/v1/audio/transcriptions": json.dumps({"text": "Hello there.", "usage": {"type": "duration", "seconds": 1}}),
        "/v1/images/generations": json.dumps({"created": 1, "data": [{"url": "https://img.example/a.png",
                                                                    "revised_prompt": "a cat"}]}),
        "/v1/moderations": json.dumps({"id": "modr-1", "model": "omni-moderation-2024-09-26", "results": [
            {"flagged": False, "categories": {}, "category_scores": {}, "category_applied_input_types": {}}]}),
    }

    def handler(request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path == "/v1/audio/speech":
            chunks = [speech[i : i + CHUNK] for i in range(0, len(speech), CHUNK)]
            return httpx2.Response(200, stream=_chunked(chunks),
                                   headers={"content-type": "audio/pcm"})
        return httpx2.Response(200, content=answers[path].encode(), headers={"content-type": "application/json"})

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
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
    tp.add_span_processor(BatchSpanProcessor(Null()))
    trace.set_tracer_provider(tp)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    from otel_ai.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument()


def _per_call(op: Callable[[], object], calls: int) -> float:
    for _ in range(30):
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
    c10, c200 = _client(10), _client(200)
    audio = _wav()
    text = "Hello from the benchmark, forty chars."

    def streamed(client: Any) -> Callable[[], object]:
        def op() -> int:
            with client.audio.speech.with_streaming_response.create(
                model="tts-1", voice="alloy", input=text, response_format="pcm",
            ) as response:
                return sum(len(chunk) for chunk in response.iter_bytes(CHUNK))

        return op

    return {
        "speech": _per_call(lambda: c10.audio.speech.create(model="tts-1", voice="alloy", input=text,
                                                            response_format="pcm"), 200),
        "speech_10": _per_call(streamed(c10), 200),
        "speech_200": _per_call(streamed(c200), 60),
        "transcription": _per_call(lambda: c10.audio.transcriptions.create(model="whisper-1",
                                                                           file=("a.wav", audio)), 200),
        "transcription_text": _per_call(lambda: c10.audio.transcriptions.create(
            model="whisper-1", file=("a.wav", audio), response_format="text"), 200),
        "image": _per_call(lambda: c10.images.generate(model="dall-e-3", prompt="a cat"), 200),
        "moderation": _per_call(lambda: c10.moderations.create(input="hello"), 200),
    }


LABELS = (
    ("speech", "speech.create (pcm, whole body)"),
    ("speech_10", "speech with_streaming_response, 10 chunks"),
    ("speech_200", "speech with_streaming_response, 200 chunks"),
    ("transcription", "transcriptions.create (json, whisper-1)"),
    ("transcription_text", "transcriptions.create (text: seconds read from the upload)"),
    ("image", "images.generate (dall-e-3)"),
    ("moderation", "moderations.create"),
)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2])))
        return
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "otel_ai": []}
    for _ in range(ROUNDS):
        for mode in runs:
            command = [sys.executable, __file__, "--worker", mode]
            out = subprocess.run(command, capture_output=True, text=True, check=True)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    base, agent = ({key: min(r[key] for r in runs[mode]) for key in runs[mode][0]} for mode in ("baseline", "otel_ai"))

    def added(key: str) -> float:
        return (agent[key] - base[key]) * 1e6

    per_chunk = (added("speech_200") - added("speech_10")) / 190
    print(f"calling thread's CPU time, best of {ROUNDS} processes x median of 7 runs (microseconds)\n")
    print("| work | uninstrumented | otel_ai | added |")
    print("|---|---:|---:|---:|")
    for key, label in LABELS:
        print(f"| {label} | {base[key] * 1e6:.0f} | {agent[key] * 1e6:.0f} | {added(key):.0f} |")
    print(f"| per speech chunk (slope 10 → 200) | | | {per_chunk:.2f} |")


if __name__ == "__main__":
    main()
