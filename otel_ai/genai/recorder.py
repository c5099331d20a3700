"""The one GenAI recorder: span naming, attributes, metrics, cost and content for every provider.

Instrumentors read their library's request and response and hand plain values to this module; all
telemetry decisions live here, so a new provider is one thin module against `GenAIRecorder`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import Logger, LoggerProvider, get_logger
from opentelemetry.metrics import MeterProvider, get_meter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AttributeValue

from otel_ai.genai import semconv as sc
from otel_ai.genai.errors import categorize, error_type
from otel_ai.pricing.catalog import Cost, PricingCatalog
from otel_ai.sdk.guard import report
from otel_ai.sdk.settings import ContentMode, Settings

_logger = logging.getLogger("otel_ai")
_SCOPE = "otel_ai"
_SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"


@dataclass(slots=True)
class GenAIRequest:
    """What an instrumentor knows before the call: enough to name the span and start it."""

    operation: str
    provider: str
    model: str | None
    server_address: str | None = None
    server_port: int | None = None
    stream: bool = False
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    # Content, built by the instrumentor only when `GenAIRecorder.capture_content` is true.
    system_instructions: list[dict[str, Any]] | None = None
    input_messages: list[dict[str, Any]] | None = None
    tool_definitions: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class GenAIResponse:
    """What an instrumentor read from the provider's answer (a whole response or a finished stream)."""

    response_id: str | None = None
    model: str | None = None
    finish_reasons: Sequence[str] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    output_messages: list[dict[str, Any]] | None = None


class Invocation:
    """One call in flight. Ends exactly once, whichever of `end`/`fail` comes first."""

    __slots__ = ("_lock", "chunks", "ended", "first_chunk", "last_chunk", "request", "span", "start")

    def __init__(self, request: GenAIRequest, span: Span, start: float) -> None:
        self.request = request
        self.span = span
        self.start = start
        self.first_chunk: float | None = None
        self.last_chunk = 0.0
        self.chunks = 0
        self.ended = False
        self._lock = threading.Lock()

    def chunk(self) -> None:
        """Note one streamed chunk; accumulation only, metrics are recorded when the stream ends."""
        now = time.perf_counter()
        if self.first_chunk is None:
            self.first_chunk = now
        self.last_chunk = now
        self.chunks += 1

    def _claim_end(self) -> bool:
        with self._lock:
            if self.ended:
                return False
            self.ended = True
            return True


class GenAIRecorder:
    """Turns `GenAIRequest`/`GenAIResponse` pairs into spans, metrics, cost and content events."""

    def __init__(
        self,
        settings: Settings,
        pricing: PricingCatalog | None,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> None:
        from otel_ai import __version__

        self.settings = settings
        self.content: ContentMode = settings.content
        self.capture_content = settings.content is not ContentMode.NO_CONTENT
        self._pricing = pricing
        self._warned_models: set[str] = set()
        self._tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider, schema_url=_SCHEMA_URL)
        self._events: Logger | None = (
            get_logger(_SCOPE, __version__, logger_provider, schema_url=_SCHEMA_URL)
            if settings.content.on_event
            else None
        )
        meter = get_meter(_SCOPE, __version__, meter_provider, schema_url=_SCHEMA_URL)
        seconds = list(sc.SECONDS_BUCKETS)
        self._duration = meter.create_histogram(
            sc.METRIC_DURATION, unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=seconds,
        )
        self._tokens = meter.create_histogram(
            sc.METRIC_TOKEN_USAGE, unit="{token}", description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=[float(b) for b in sc.TOKEN_BUCKETS],
        )
        self._ttfc = meter.create_histogram(
            sc.METRIC_TIME_TO_FIRST_CHUNK, unit="s", description="Time to receive the first chunk of a stream.",
            explicit_bucket_boundaries_advisory=seconds,
        )
        self._tpoc = meter.create_histogram(
            sc.METRIC_TIME_PER_OUTPUT_CHUNK, unit="s",
            description="Time between chunks of a stream, after the first.",
            explicit_bucket_boundaries_advisory=seconds,
        )
        self._cost = meter.create_counter(
            sc.METRIC_COST, unit="{USD}", description="Cost of GenAI calls in US dollars, from the pricing catalog."
        )
        self._requests = meter.create_counter(
            sc.METRIC_REQUESTS, unit="{request}", description="GenAI calls by outcome and error category."
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, request: GenAIRequest) -> Invocation | None:
        """Start the CLIENT span; returns None (and the call goes on uninstrumented) if that fails."""
        try:
            attributes: dict[str, AttributeValue] = {
                sc.OPERATION: request.operation,
                sc.PROVIDER: request.provider,
            }
            if request.model:
                attributes[sc.REQUEST_MODEL] = request.model
            if request.server_address:
                attributes[sc.SERVER_ADDRESS] = request.server_address
                if request.server_port:
                    attributes[sc.SERVER_PORT] = request.server_port
            if request.stream:
                attributes[sc.REQUEST_STREAM] = True
            attributes.update(request.attributes)
            name = f"{request.operation} {request.model}" if request.model else request.operation
            span = self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            return Invocation(request, span, time.perf_counter())
        except Exception as exc:
            report("recorder.start", exc)
            return None

    @staticmethod
    def activate(invocation: Invocation) -> object:
        """Make the GenAI span current so HTTP spans underneath become its children."""
        return otel_context.attach(trace.set_span_in_context(invocation.span))

    @staticmethod
    def deactivate(token: object) -> None:
        try:
            otel_context.detach(token)  # type: ignore[arg-type]
        except Exception as exc:
            report("recorder.deactivate", exc)

    def end(self, invocation: Invocation, response: GenAIResponse | None) -> None:
        """Finish a successful call (or a stream that ended, however it ended)."""
        self._close(invocation, response, None)

    def fail(self, invocation: Invocation, exc: BaseException, response: GenAIResponse | None = None) -> None:
        """Finish a call that raised; `response` holds whatever a stream delivered before it broke."""
        self._close(invocation, response, exc)

    def _close(self, invocation: Invocation, response: GenAIResponse | None, exc: BaseException | None) -> None:
        if not invocation._claim_end():
            return
        try:
            self._finish(invocation, response, exc)
        except Exception as inner:
            report("recorder.finish", inner)
            try:
                invocation.span.end()
            except Exception as last:
                report("recorder.end_span", last)

    # -- the work, done once per call --------------------------------------------------------------

    def _finish(self, inv: Invocation, resp: GenAIResponse | None, exc: BaseException | None) -> None:
        now = time.perf_counter()
        request, span = inv.request, inv.span
        duration = now - inv.start
        attrs: dict[str, AttributeValue] = {}
        response_model = None
        if resp is not None:
            response_model = resp.model
            if resp.response_id:
                attrs[sc.RESPONSE_ID] = resp.response_id
            if resp.model:
                attrs[sc.RESPONSE_MODEL] = resp.model
            if resp.finish_reasons:
                attrs[sc.RESPONSE_FINISH_REASONS] = tuple(resp.finish_reasons)
            if resp.input_tokens is not None:
                attrs[sc.USAGE_INPUT_TOKENS] = resp.input_tokens
            if resp.output_tokens is not None:
                attrs[sc.USAGE_OUTPUT_TOKENS] = resp.output_tokens
            if resp.cached_input_tokens is not None:
                attrs[sc.USAGE_CACHE_READ_INPUT_TOKENS] = resp.cached_input_tokens
            if resp.reasoning_tokens is not None:
                attrs[sc.USAGE_REASONING_OUTPUT_TOKENS] = resp.reasoning_tokens
            attrs.update(resp.attributes)
        if inv.first_chunk is not None:
            attrs[sc.RESPONSE_TIME_TO_FIRST_CHUNK] = inv.first_chunk - inv.start

        cost = self._cost_of(request, resp)
        if cost is not None:
            attrs[sc.COST_USD] = cost.total_usd
            attrs[sc.COST_INPUT_USD] = cost.input_usd
            attrs[sc.COST_OUTPUT_USD] = cost.output_usd
            attrs[sc.PRICING_SOURCE] = cost.source
        elif resp is not None and (resp.input_tokens is not None or resp.output_tokens is not None):
            attrs[sc.PRICING_SOURCE] = "unknown"

        category = None
        if exc is not None:
            category = categorize(exc)
            etype = error_type(exc)
            attrs[sc.ERROR_TYPE] = etype
            attrs[sc.ERROR_CATEGORY] = category
            span.set_status(Status(StatusCode.ERROR, str(exc)[:512]))
            span.record_exception(exc, escaped=True)

        if self.capture_content:
            self._content(inv, resp, attrs)

        span.set_attributes(attrs)
        span.end()
        self._metrics(inv, resp, exc, category, cost, duration, response_model)

    def _cost_of(self, request: GenAIRequest, resp: GenAIResponse | None) -> Cost | None:
        if resp is None or self._pricing is None:
            return None
        if resp.input_tokens is None and resp.output_tokens is None:
            return None
        for model in (resp.model, request.model):
            if model:
                cost = self._pricing.token_cost(
                    model, resp.input_tokens, resp.output_tokens, resp.cached_input_tokens
                )
                if cost is not None:
                    return cost
        model = resp.model or request.model
        if model and model not in self._warned_models:
            self._warned_models.add(model)
            _logger.warning(
                "otel-ai: no price for model %r; its calls carry otel_ai.pricing.source=unknown and no cost. "
                "Add it with OTEL_AI_PRICING_FILE.",
                model,
            )
        return None

    def _metrics(
        self,
        inv: Invocation,
        resp: GenAIResponse | None,
        exc: BaseException | None,
        category: str | None,
        cost: Cost | None,
        duration: float,
        response_model: str | None,
    ) -> None:
        request = inv.request
        base: dict[str, AttributeValue] = {sc.OPERATION: request.operation, sc.PROVIDER: request.provider}
        if request.model:
            base[sc.REQUEST_MODEL] = request.model
        counted = dict(base)
        if request.server_address:
            base[sc.SERVER_ADDRESS] = request.server_address
            if request.server_port:
                base[sc.SERVER_PORT] = request.server_port
        if response_model:
            base[sc.RESPONSE_MODEL] = response_model

        timed = base
        if exc is not None:
            timed = dict(base)
            timed[sc.ERROR_TYPE] = error_type(exc)
        self._duration.record(duration, timed)

        if resp is not None:
            if resp.input_tokens is not None:
                self._tokens.record(resp.input_tokens, {**base, sc.TOKEN_TYPE: "input"})
            if resp.output_tokens is not None:
                self._tokens.record(resp.output_tokens, {**base, sc.TOKEN_TYPE: "output"})
        if inv.first_chunk is not None:
            self._ttfc.record(inv.first_chunk - inv.start, timed)
            if inv.chunks > 1:
                self._tpoc.record((inv.last_chunk - inv.first_chunk) / (inv.chunks - 1), timed)

        if cost is not None:
            self._cost.add(cost.total_usd, counted)
        outcome = dict(counted)
        outcome[sc.OUTCOME] = "ok" if exc is None else "error"
        if category is not None:
            outcome[sc.ERROR_CATEGORY] = category
        self._requests.add(1, outcome)

    def _content(self, inv: Invocation, resp: GenAIResponse | None, attrs: dict[str, AttributeValue]) -> None:
        request = inv.request
        parts: dict[str, Any] = {}
        if request.system_instructions:
            parts[sc.SYSTEM_INSTRUCTIONS] = request.system_instructions
        if request.input_messages:
            parts[sc.INPUT_MESSAGES] = request.input_messages
        if request.tool_definitions:
            parts[sc.TOOL_DEFINITIONS] = request.tool_definitions
        if resp is not None and resp.output_messages:
            parts[sc.OUTPUT_MESSAGES] = resp.output_messages
        if not parts:
            return
        if self.content.on_span:
            for key, value in parts.items():
                attrs[key] = json.dumps(value, ensure_ascii=False, default=str)
        if self._events is not None:
            # The event repeats the call's identifying attributes so it stands alone in a log store;
            # the body carries the structured messages, the attributes their JSON strings.
            event_attrs: dict[str, AttributeValue] = dict(getattr(inv.span, "attributes", None) or {})
            event_attrs.update(attrs)
            for key, value in parts.items():
                event_attrs[key] = json.dumps(value, ensure_ascii=False, default=str)
            self._events.emit(
                event_name=sc.DETAILS_EVENT,
                body=parts,
                attributes=event_attrs,
                context=trace.set_span_in_context(inv.span),
            )

