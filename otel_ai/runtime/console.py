"""A console span exporter that prints one readable line per GenAI call (`OTEL_TRACES_EXPORTER=otel_ai_console`)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from otel_ai.genai import semconv as sc
from otel_ai.money import format_usd


def format_cost(cost: float) -> str:
    """Dollars by the one money rule of every surface (`otel_ai.money`): never `$0.0000`."""
    return format_usd(cost)


def format_call(span: ReadableSpan) -> str | None:
    """The one-line summary of a GenAI call or unit of work, or None for other spans."""
    attrs = span.attributes or {}
    if sc.TASK_CALLS in attrs:
        return _format_unit(span, attrs)
    operation = attrs.get(sc.OPERATION)
    if operation is None:
        return None
    model = attrs.get(sc.RESPONSE_MODEL) or attrs.get(sc.REQUEST_MODEL) or "?"
    fields = [f"{operation} {model}", f"provider={attrs.get(sc.PROVIDER, '?')}"]
    tokens_in, tokens_out = attrs.get(sc.USAGE_INPUT_TOKENS), attrs.get(sc.USAGE_OUTPUT_TOKENS)
    if tokens_in is not None or tokens_out is not None:
        cached = attrs.get(sc.USAGE_CACHE_READ_INPUT_TOKENS)
        shown_in = "-" if tokens_in is None else tokens_in
        # embeddings have no output tokens: `tokens=2in`, not `tokens=2in/-out`
        tokens = f"tokens={shown_in}in" if tokens_out is None else f"tokens={shown_in}in/{tokens_out}out"
        if cached:
            tokens += f" (cached {cached})"
        fields.append(tokens)
    characters = attrs.get(sc.USAGE_CHARACTERS)
    if isinstance(characters, int):
        fields.append(f"chars={characters}")
    seconds = attrs.get(sc.AUDIO_SECONDS)
    if isinstance(seconds, (int, float)):
        audio = f"audio={seconds:.2f}s"
        rtf = attrs.get(sc.AUDIO_REAL_TIME_FACTOR)
        if isinstance(rtf, (int, float)):
            audio += f" rtf={rtf:.2f}"
        fields.append(audio)
    cost = attrs.get(sc.COST_USD)
    if isinstance(cost, (int, float)):
        fields.append(f"cost={format_cost(float(cost))}")
    elif attrs.get(sc.PRICING_SOURCE) == "unknown":
        fields.append("cost=unknown")
    _latency(span, fields)
    ttfc = attrs.get(sc.RESPONSE_TIME_TO_FIRST_CHUNK)
    if isinstance(ttfc, (int, float)):
        fields.append(f"ttfc={ttfc * 1000:.0f}ms")
    _status(span, attrs, fields)
    return "[otel-ai] " + "  ".join(fields)


def _format_unit(span: ReadableSpan, attrs: Mapping[str, Any]) -> str:
    """A workflow, agent, tool or task: its name and the roll-up of the calls beneath it."""
    failed = attrs.get(sc.TASK_CALLS_FAILED) or 0
    fields = [span.name, f"calls={attrs.get(sc.TASK_CALLS)}" + (f" ({failed} failed)" if failed else "")]
    tokens_in, tokens_out = attrs.get(sc.TASK_INPUT_TOKENS), attrs.get(sc.TASK_OUTPUT_TOKENS)
    if tokens_in or tokens_out:
        fields.append(f"tokens={tokens_in or 0}in/{tokens_out or 0}out")
    characters = attrs.get(sc.TASK_CHARACTERS)
    if characters:
        fields.append(f"chars={characters}")
    cost = attrs.get(sc.TASK_COST_USD)
    if isinstance(cost, (int, float)):
        unpriced = attrs.get(sc.TASK_CALLS_UNPRICED)
        fields.append(f"cost={format_cost(float(cost))}" + (f" (+{unpriced} unpriced)" if unpriced else ""))
    _latency(span, fields)
    _status(span, attrs, fields)
    return "[otel-ai] " + "  ".join(fields)


def _latency(span: ReadableSpan, fields: list[str]) -> None:
    if span.start_time is not None and span.end_time is not None:
        fields.append(f"latency={(span.end_time - span.start_time) / 1e6:.0f}ms")


def _status(span: ReadableSpan, attrs: Mapping[str, Any], fields: list[str]) -> None:
    if span.status.status_code is StatusCode.ERROR:
        fields.append(f"status=ERROR {attrs.get(sc.ERROR_TYPE, '')} ({attrs.get(sc.ERROR_CATEGORY, 'other')})")
    else:
        fields.append("status=ok")
    fields.append(f"trace={span.context.trace_id:032x}" if span.context is not None else "trace=?")


class ConsoleGenAISpanExporter(SpanExporter):
    """Prints GenAI calls and units of work only; HTTP and server spans stay quiet (a call log)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [line for line in map(format_call, spans) if line is not None]
        if lines:
            out = self._out or sys.stdout
            with self._lock:
                out.write("\n".join(lines) + "\n")
                out.flush()
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
