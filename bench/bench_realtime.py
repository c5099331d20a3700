"""What otel_ai adds to each event of an OpenAI Realtime session (`client.realtime.connect()`).

    .venv/bin/python bench/bench_realtime.py    # ~30 s; prints a markdown table

The real `RealtimeConnection` reads a recorded session from an in-process websocket stand-in (no
network): per response `response.created`, 50 audio deltas of 0.1 s (pcm16, 24 kHz: 6,400 base64
characters each) with their transcript deltas, and `response.done` with usage. Each mode runs in its
own process (instrumentation is process-wide): `baseline` (no otel_ai) and `otel_ai` (a session span
and one span per response, metrics and cost, into an SDK with no exporter). The clock is the thread's
CPU time; each figure is the median of 7 runs, the lowest median over 3 processes per mode. The
difference is within the noise of the client's own parsing (~120 µs an event, pydantic), so the last
row times the observer alone on the same events.
"""

from __future__ import annotations

import base64
import json
import statistics
import subprocess
import sys
import time
from typing import Any

ROUNDS = 3
RESPONSES = 20
AUDIO = base64.b64encode(bytes(4800)).decode()


def _session() -> list[bytes]:
    events: list[dict[str, Any]] = [{"type": "session.created", "session": {"id": "sess_1", "model": "gpt-realtime"}}]
    for n in range(RESPONSES):
        rid = f"resp_{n}"
        events.append({"type": "response.created", "response": {"id": rid, "status": "in_progress"}})
        for _ in range(50):
            events.append({"type": "response.output_audio.delta", "response_id": rid, "item_id": "i",
                           "output_index": 0, "content_index": 0, "delta": AUDIO})
            events.append({"type": "response.output_audio_transcript.delta", "response_id": rid, "item_id": "i",
                           "output_index": 0, "content_index": 0, "delta": "word "})
        usage = {"input_tokens": 30, "output_tokens": 60, "input_token_details": {"audio_tokens": 10},
                 "output_token_details": {"audio_tokens": 50, "text_tokens": 10}}
        events.append({"type": "response.done", "response": {"id": rid, "status": "completed", "usage": usage}})
    return [json.dumps(e).encode() for e in events]


class _Socket:
    """Stands in for a `websockets` client connection: hands out the recorded messages."""

    def __init__(self, messages: list[bytes]) -> None:
        self.messages = messages
        self.i = 0
        self.request = None

    def recv(self, decode: bool | None = None) -> bytes:
        message = self.messages[self.i]
        self.i += 1
        return message

    def close(self, code: int = 1000, reason: str = "") -> None:
        pass


def _child(mode: str) -> None:
    if mode == "otel_ai":
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider

        from otel_ai.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
    from openai.resources.realtime.realtime import RealtimeConnection

    messages = _session()
    runs = []
    for _ in range(8):
        conn = RealtimeConnection(_Socket(messages))  # type: ignore[arg-type]
        start = time.thread_time()
        for _ in messages:
            conn.recv()
        runs.append((time.thread_time() - start) / len(messages))
        assert (mode == "otel_ai") == ("_otel_ai_realtime" in vars(conn)), "instrumentation not as the mode says"
        conn.close()
    print(json.dumps({"per_event_us": statistics.median(runs[1:]) * 1e6, "events": len(messages)}))


def _observer() -> float:
    """The observer alone (what otel_ai does per event, without the client's own parsing): µs per event."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    from otel_ai.instrumentation.openai.realtime import RealtimeSession
    from otel_ai.runtime import state

    recorder = state.recorder(TracerProvider(), MeterProvider())
    messages = _session()
    best = float("inf")
    for _ in range(7):
        session = RealtimeSession(recorder, "gpt-realtime", None, None)
        start = time.thread_time()
        for message in messages:
            session.received(message)
        best = min(best, (time.thread_time() - start) / len(messages))
        session.close(None)
    return best * 1e6


def main() -> None:
    results: dict[str, float] = {}
    events = 0
    for _ in range(ROUNDS):
        for mode in ("baseline", "otel_ai"):
            out = subprocess.run([sys.executable, __file__, mode], capture_output=True, text=True, check=True)
            figure = json.loads(out.stdout)
            events = figure["events"]
            results[mode] = min(results.get(mode, float("inf")), figure["per_event_us"])
    added = results["otel_ai"] - results["baseline"]
    print(f"Realtime session, {events} events ({RESPONSES} responses of 50 audio + 50 transcript deltas)\n")
    print("| mode | µs per event (CPU) |\n|---|---|")
    for mode, value in results.items():
        print(f"| {mode} | {value:.2f} |")
    print(f"| added by otel_ai | {added:.2f} ({added / results['baseline']:.0%}) |")
    print(f"| the observer alone (in process) | {_observer():.2f} |")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        _child(sys.argv[1])
    else:
        main()
