"""Shared by the benchmarks: a real `openai.OpenAI` client over an in-process mock transport, and the modes.

baseline: no instrumentation, no SDK | otel_ai: our instrumentor | official: opentelemetry-instrumentation-genai-openai
sdk_floor: no instrumentor; around the same call, the bare SDK work our contract needs (one CLIENT span with
otel_ai's attributes, current during the call so HTTP spans nest under it, 4 metric records).
All but baseline share one SDK set-up: TracerProvider + BatchSpanProcessor over an exporter that drops every batch,
MeterProvider + InMemoryMetricReader, LoggerProvider.
"""

import importlib
import json
import os
import time
from importlib.metadata import distributions

MODES = ("baseline", "otel_ai", "official", "sdk_floor")
INSTRUMENTORS = {"otel_ai": "otel_ai.instrumentation.openai", "official": "opentelemetry.instrumentation.genai.openai"}
MODEL, RESPONSE_MODEL = "gpt-4o-mini", "gpt-4o-mini-2024-07-18"
MESSAGES = [
    {"role": "system", "content": "You are a concise assistant for an online bookshop. Answer in two sentences."},
    {"role": "user", "content": "Which of your fantasy novels would suit a twelve-year-old who loved The Hobbit?"},
]
ANSWER = (
    'If they loved The Hobbit, try "A Wizard of Earthsea" by Ursula K. Le Guin: a short, beautifully told '
    'coming-of-age quest with dragons and wizards. "The Girl Who Drank the Moon" is another warm pick.'
)
HEAD = {"id": "chatcmpl-BENCH0123456789abcdef", "created": 1763780000, "model": RESPONSE_MODEL,
        "service_tier": "default", "system_fingerprint": "fp_0123456789"}
DETAILS = {"prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
           "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                         "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def chat_body() -> bytes:
    message = {"role": "assistant", "content": ANSWER, "refusal": None, "annotations": []}
    usage = {"prompt_tokens": 48, "completion_tokens": 61, "total_tokens": 109, **DETAILS}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
    return json.dumps({**HEAD, "object": "chat.completion", "choices": [choice], "usage": usage}).encode()


def chunks(n: int) -> list:
    """A role chunk, n-1 content chunks, a finish chunk and a usage chunk, as parsed `ChatCompletionChunk`s."""
    from openai.types.chat import ChatCompletionChunk

    def chunk(delta, finish=None, usage=None):
        choices = [] if usage else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        return ChatCompletionChunk.model_validate(
            {**HEAD, "object": "chat.completion.chunk", "choices": choices, "usage": usage})

    words = ANSWER.split(" ")
    usage = {"prompt_tokens": 48, "completion_tokens": n, "total_tokens": 48 + n, **DETAILS}
    return [chunk({"role": "assistant", "content": ""}), *(chunk({"content": " " + words[i % len(words)]})
            for i in range(n - 1)), chunk({}, "stop"), chunk(None, usage=usage)]


def make_client(stream_chunks: int | None = None):
    import openai

    http = __import__("httpx2" if int(openai.__version__.split(".")[0]) >= 3 else "httpx")
    body = chat_body()
    if stream_chunks:
        # openai's SSE decoding and pydantic parsing cost ~150 µs a chunk here, and their noise would bury a
        # 1-2 µs difference: in every mode, streams yield the same chunks, parsed once up front.
        parsed = chunks(stream_chunks)
        openai.Stream.__stream__ = lambda self: iter(parsed)

    def handler(request):
        if stream_chunks:
            return http.Response(200, headers={"content-type": "text/event-stream"}, content=b"data: [DONE]\n\n")
        return http.Response(200, headers={"content-type": "application/json"}, content=body)

    return openai.OpenAI(api_key="sk-bench-00000000000000000000", base_url="https://api.openai.com/v1",
                         http_client=http.Client(transport=http.MockTransport(handler)), max_retries=0)


# sdk_floor's telemetry: the span otel_ai emits for this call (its 21 attributes, values taken from a real span
# of this benchmark; with content capture, 3 content attributes: JSON of the same messages) and its 4 contract
# metric records, with otel_ai's attribute sets.
START = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": MODEL,
         "server.address": "api.openai.com", "server.port": 443, "openai.api.type": "chat_completions",
         "gen_ai.request.temperature": 0.2, "gen_ai.request.max_tokens": 200}
END = {"gen_ai.response.id": HEAD["id"], "gen_ai.response.model": RESPONSE_MODEL,
       "gen_ai.response.finish_reasons": ("stop",), "gen_ai.usage.input_tokens": 48,
       "gen_ai.usage.output_tokens": 61, "gen_ai.usage.cache_read.input_tokens": 0,
       "gen_ai.usage.reasoning.output_tokens": 0, "openai.response.system_fingerprint": "fp_0123456789",
       "openai.response.service_tier": "default", "otel_ai.cost.usd": 4.38e-05, "otel_ai.cost.input_usd": 7.2e-06,
       "otel_ai.cost.output_usd": 3.66e-05, "otel_ai.pricing.source": "catalog",
       "otel_ai.pricing.catalog_date": "2026-11-22"}
CONTENT = {key: json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}]) for key, role, text in (
    ("gen_ai.system_instructions", "system", MESSAGES[0]["content"]),
    ("gen_ai.input.messages", "user", MESSAGES[1]["content"]), ("gen_ai.output.messages", "assistant", ANSWER))}
METRIC = {k: START[k] for k in list(START)[:5]} | {"gen_ai.response.model": RESPONSE_MODEL}
COUNTED = {k: START[k] for k in list(START)[:3]}


class Bench:
    """One mode set up in this process; `op()` makes one call (or iterates one whole stream)."""

    def __init__(self, mode: str, stream_chunks: int | None = None, capture: bool = False,
                 processor: str = "batch", queue: int = 2048, batch: int = 512, delay_ms: float = 5000):
        os.environ.pop("OTEL_SDK_DISABLED", None)
        # Both instrumentations read these spellings (the official one rejects "true").
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "span_and_event" if capture else "no_content"
        if mode == "official":  # 1.3b0 never reads it; older releases needed it for the latest conventions
            os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
        self.tracer_provider = self.instrumentor = self.exporter = None
        completions = make_client(stream_chunks).chat.completions  # `create` looked up per call: it gets patched
        kwargs = {"model": MODEL, "messages": MESSAGES, "temperature": 0.2, "max_tokens": 200}
        if stream_chunks:
            kwargs.update(stream=True, stream_options={"include_usage": True})
            self.op = lambda: list(completions.create(**kwargs))
        else:
            self.op = lambda: completions.create(**kwargs)
        if mode == "baseline":
            return
        from opentelemetry.sdk import _logs, metrics, trace
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import export as sx

        class Exporter(sx.SpanExporter):  # drops every batch; keeps counts as proof of what was emitted
            spans = attributes = 0

            def export(self, spans):
                self.spans, self.attributes = self.spans + len(spans), len(spans[-1].attributes or {})
                return sx.SpanExportResult.SUCCESS

        tp, self.exporter = trace.TracerProvider(), Exporter()
        tp.add_span_processor(sx.SimpleSpanProcessor(self.exporter) if processor == "simple" else sx.BatchSpanProcessor(
            self.exporter, max_queue_size=queue, max_export_batch_size=batch, schedule_delay_millis=delay_ms))
        mp, lp = metrics.MeterProvider(metric_readers=[InMemoryMetricReader()]), _logs.LoggerProvider()
        self.tracer_provider = tp
        if mode == "sdk_floor":
            self.op = floor(self.op, tp, mp, END | CONTENT if capture else END)
            return
        self.instrumentor = importlib.import_module(INSTRUMENTORS[mode]).OpenAIInstrumentor()
        self.instrumentor.instrument(tracer_provider=tp, meter_provider=mp, logger_provider=lp)

    def flush(self):
        if self.tracer_provider is not None:
            self.tracer_provider.force_flush()


def floor(call, tp, mp, end_attributes):
    from opentelemetry.context import attach, detach
    from opentelemetry.trace import SpanKind, set_span_in_context

    tracer, meter, clock = tp.get_tracer("sdk_floor"), mp.get_meter("sdk_floor"), time.perf_counter
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s",
                                      explicit_bucket_boundaries_advisory=[0.01 * 2**i for i in range(14)])
    tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}",
                                    explicit_bucket_boundaries_advisory=[4.0**i for i in range(14)])
    cost = meter.create_counter("otel_ai.client.cost", unit="{USD}")

    def op():
        t0 = clock()
        span = tracer.start_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=START)
        token = attach(set_span_in_context(span))  # current during the call: HTTP spans become its children
        try:
            result = call()
        finally:
            detach(token)
        span.set_attributes(end_attributes)
        span.end()
        duration.record(clock() - t0, METRIC)
        tokens.record(48, METRIC | {"gen_ai.token.type": "input"})
        tokens.record(61, METRIC | {"gen_ai.token.type": "output"})
        cost.add(4.38e-05, COUNTED)
        return result

    return op


def versions() -> dict:
    """pyperf metadata: the package versions that matter (pyperf adds Python, CPU, load average, date)."""
    wanted = {"openai", "httpx2", "httpx", "opentelemetry-sdk", "opentelemetry-instrumentation-genai-openai", "otel-ai"}
    named = ((d.metadata["Name"].lower().replace("_", "-"), d.version) for d in distributions())
    return {f"pkg_{name}": v for name, v in named if name in wanted}
