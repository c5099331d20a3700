"""The one GenAI recorder: span naming, attributes, metrics, cost and content for every provider.

Instrumentors read their library's request and response into the plain model of `genai.model` and
hand it here; every telemetry decision lives in this module, so a new provider is one thin module.

The hot path is built once per distinct call shape: the span's start attributes and the metric
attribute sets are cached per (operation, provider, model, server, response model, outcome), so a
call builds no dicts for metrics and the SDK sees the same attribute objects every time.
"""

from __future__ import annotations

import json
import logging
import time
from array import array
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import Logger, LoggerProvider, SeverityNumber, get_logger
from opentelemetry.metrics import MeterProvider, get_meter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AnyValue, AttributeValue

from otel_ai.conventions import Conventions
from otel_ai.genai import conversation as _conversation
from otel_ai.genai import evaluation as _evaluation
from otel_ai.genai import hooks as _calls
from otel_ai.genai import names as _names
from otel_ai.genai import semconv as sc
from otel_ai.genai.classify import categorize, error_code, error_type
from otel_ai.genai.cost_shapes import CostShapes
from otel_ai.genai.model import ContentMode, GenAIRequest, GenAIResponse, Usage
from otel_ai.genai.sums import Sums, sums_for
from otel_ai.guard import report
from otel_ai.pricing.catalog import PricingCatalog
from otel_ai.pricing.cost import Cost
from otel_ai.pricing.cost import reported as reported_cost
from otel_ai.privacy.cut import truncate

__all__ = ["GenAIRecorder", "GenAIRequest", "GenAIResponse", "Invocation", "Usage"]

_logger = logging.getLogger("otel_ai")
_SCOPE = "otel_ai"
_SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
# Model names come from user code: bound every per-shape cache so they cannot grow without limit.
_CACHE_LIMIT = 2048
_CATALOG = "catalog:"  # how the catalog labels its prices (`catalog:<date of the price file>`)

Attributes = dict[str, AttributeValue]
Clean = Callable[[str], str]


class Invocation:
    """One call in flight. Ends exactly once, whichever of `end`/`fail` comes first."""

    __slots__ = ("_claim", "chunks", "closer", "conversation_id", "first_chunk", "gaps", "last_chunk", "request",
                 "span", "start", "task_type", "user")

    def __init__(self, request: GenAIRequest, span: Span, start: float, task_type: str | None = None,
                 conversation_id: str | None = None, user: str | None = None, gaps: array[float] | None = None,
                 ) -> None:
        self.request = request
        self.span = span
        self.start = start
        # The `otel_ai.task.type` of the unit of work the call started in (a stream may end elsewhere).
        self.task_type = task_type
        # The conversation and (exported) user the call started in: budgets scoped to them count it.
        self.conversation_id = conversation_id
        self.user = user
        self.first_chunk: float | None = None
        self.last_chunk = 0.0
        self.chunks = 0
        # With `OTEL_AI_CHUNK_TIMING=each`: the gap before each output chunk after the first, 8 bytes a chunk,
        # each recorded into time_per_output_chunk when the stream ends; None: the mean gap is recorded.
        self.gaps = gaps
        # Set when something else (a stream proxy) holds what the call delivered: ends the call
        # with it, given the exception the call ended with (or None).
        self.closer: Callable[[BaseException | None], None] | None = None
        self._claim = [True]  # list.pop is atomic: the one caller that pops it ends the call

    @property
    def ended(self) -> bool:
        return not self._claim

    def chunk(self) -> None:
        """Note one streamed chunk; accumulation only, metrics are recorded when the stream ends."""
        now = time.perf_counter()
        if self.first_chunk is None:
            self.first_chunk = now
        elif self.gaps is not None:
            self.gaps.append(now - self.last_chunk)
        self.last_chunk = now
        self.chunks += 1

    def claim_end(self) -> bool:
        """True for the first caller only; every later `end`/`fail` is a no-op."""
        try:
            self._claim.pop()
        except IndexError:
            return False
        return True


def _call_attributes(request: GenAIRequest, *, server: bool) -> Attributes:
    """Operation, provider and request model; with `server`, the server address and port too."""
    attributes: Attributes = {sc.OPERATION: request.operation, sc.PROVIDER: request.provider}
    if request.model:
        attributes[sc.REQUEST_MODEL] = request.model
    if server and request.server_address:
        attributes[sc.SERVER_ADDRESS] = request.server_address
        if request.server_port:
            attributes[sc.SERVER_PORT] = request.server_port
    return attributes


def call_scope(request: GenAIRequest, inv: Invocation | None) -> _calls.CallScope:
    """Who is about to spend, for the budget gate: from the call in flight, or the caller's context."""
    if inv is not None:
        return _calls.CallScope(request.provider, request.operation, request.model, inv.task_type,
                                inv.conversation_id, inv.user)
    conversation = _conversation.current()
    return _calls.CallScope(request.provider, request.operation, request.model, _calls.task_type(),
                            conversation.id if conversation else None, conversation.user if conversation else None)


class _Shape:
    """Attribute sets shared by every call of one shape, built once and reused."""

    __slots__ = ("_cells", "counted", "duration", "input_tokens", "labels", "ok", "output_tokens", "timed")

    def __init__(
        self, request: GenAIRequest, response_model: str | None, clean: Clean | None = None,
        task_type: str | None = None, user: str | None = None, tier: tuple[str, str] | None = None,
    ) -> None:
        timed = _call_attributes(request, server=True)
        if response_model:
            timed[sc.RESPONSE_MODEL] = response_model
        counted = _call_attributes(request, server=False)  # low-cardinality: cost and call counters
        if task_type is not None:  # cost by task type (dashboards, `group_by=task_type`)
            timed[sc.TASK_TYPE] = counted[sc.TASK_TYPE] = task_type
        if user is not None:  # OTEL_AI_METRICS_USER: cost and calls per user, on the counters only
            counted[sc.USER_HASH if _conversation.OPTIONS.hash_user else sc.USER_ID] = user
        if clean is not None:
            # Metric attributes reach pull readers (Prometheus) without passing an exporter:
            # redacted here, once per shape (a model name may hold an e-mail).
            timed = {k: clean(v) if isinstance(v, str) else v for k, v in timed.items()}
            counted = {k: clean(v) if isinstance(v, str) else v for k, v in counted.items()}
        self.counted = counted
        self.timed = timed  # the conventions' metric attributes: chunk timings (and our audio histograms)
        # The duration and token histograms add the response's service tier where the provider's
        # conventions list it (`openai.response.service_tier`; Anthropic's alike): `tier` is (name, value).
        spent = timed if tier is None else {**timed, tier[0]: clean(tier[1]) if clean is not None else tier[1]}
        self.duration = spent
        self.input_tokens: Attributes = {**spent, sc.TOKEN_TYPE: "input"}
        self.output_tokens: Attributes = {**spent, sc.TOKEN_TYPE: "output"}
        self.ok: Attributes = {**self.counted, sc.OUTCOME: "ok"}
        # What `otel_ai.evaluate()` labels a score of this call with (`genai.evaluation`): read-only, shared.
        self.labels: Attributes = {sc.PROVIDER: request.provider}
        if request.model:
            self.labels[sc.REQUEST_MODEL] = clean(request.model) if clean is not None else request.model
        if task_type:
            self.labels[sc.TASK_TYPE] = task_type
        # The running total this shape adds to in each in-process sum, looked up on first use (see
        # `genai.sums`): a series exists only once something was added to it.
        self._cells: dict[Sums, list[Any]] = {}

    def add(self, sums: Sums, attributes: Attributes, amount: float) -> None:
        """Add `amount` to `sums` under `attributes`, one of this shape's sets (one set per sum)."""
        cell = self._cells.get(sums)
        if cell is None:
            cell = self._cells[sums] = sums.cell(attributes)
        sums.add_to(cell, amount)


class GenAIRecorder:
    """Turns `GenAIRequest`/`GenAIResponse` pairs into spans, metrics, cost and content events."""

    def __init__(
        self,
        pricing: PricingCatalog | None,
        *,
        content: ContentMode = ContentMode.NO_CONTENT,
        content_limit: int = 8192,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
        clean: Clean | None = None,
        chunk_timing: str = "mean",
        cost_shapes: CostShapes | None = None,
        conventions: Conventions | None = None,
    ) -> None:
        """`content` and `content_limit`: the two settings it reads (capture mode, `OTEL_AI_CONTENT_MAX_LENGTH`).

        `clean` redacts a metric attribute value (applied once per call shape); `chunk_timing`
        (`OTEL_AI_CHUNK_TIMING`): `each` records time_per_output_chunk once per chunk, `mean` once per stream;
        `cost_shapes`: the names the cost goes under besides ours (`OTEL_AI_COST_ATTRIBUTES`; None: the default);
        `conventions`: the names (`OTEL_AI_SEMCONV`) and proposals (`OTEL_AI_SEMCONV_PROPOSALS`) in effect,
        settled here once."""
        from otel_ai.version import __version__

        self.content: ContentMode = content
        self.capture_content = content is not ContentMode.NO_CONTENT
        self.content_limit = content_limit
        self._pricing = pricing
        self._clean = clean
        self._each_chunk = chunk_timing == "each"
        shapes = CostShapes() if cost_shapes is None else cost_shapes
        self._cost_shapes: CostShapes | None = shapes if shapes.any else None
        self._warned_models: set[str] = set()
        self._starts: dict[tuple[Any, ...], tuple[str, Attributes]] = {}
        self._shapes: dict[tuple[Any, ...], _Shape] = {}
        self._tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider, schema_url=_SCHEMA_URL)
        self._events: Logger | None = (
            get_logger(_SCOPE, __version__, logger_provider, schema_url=_SCHEMA_URL)
            if content.on_event
            else None
        )
        self._evaluations = _evaluation.EvaluationSink(meter_provider, logger_provider, clean)
        _evaluation.register(self._evaluations)
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
        self._audio_seconds = meter.create_histogram(
            sc.METRIC_AUDIO_DURATION, unit="s", description="Seconds of audio produced or transcribed per call.",
            explicit_bucket_boundaries_advisory=seconds,
        )
        self._rtf = meter.create_histogram(
            sc.METRIC_AUDIO_REAL_TIME_FACTOR, unit="1",
            description="Processing time divided by audio time; below 1 keeps up with playback.",
            explicit_bucket_boundaries_advisory=list(sc.RTF_BUCKETS),
        )
        # Plain sums: kept in-process and observed once per collection (see `genai.sums`).
        self._cost = sums_for(
            meter, sc.METRIC_COST, "{USD}", "Cost of GenAI calls in US dollars, from the pricing catalog."
        )
        self._requests = sums_for(meter, sc.METRIC_REQUESTS, "{request}", "GenAI calls by outcome and error category.")
        self._characters = sums_for(meter, sc.METRIC_CHARACTERS, "{character}", "Characters sent to speech synthesis.")
        self._unpriced = sums_for(meter, sc.METRIC_UNPRICED, "{request}",
                                  "GenAI calls that reported usage but had no price (otel_ai.pricing.source=unknown).")
        conventions = conventions or Conventions()
        self._usage_rows = _names.usage_rows(conventions.names)  # span attributes of usage, by name version
        self._proposed = _names.proposed_metrics(meter, conventions.proposals)  # None unless asked for

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, request: GenAIRequest) -> Invocation | None:
        """Start the CLIENT span; returns None (and the call goes on uninstrumented) if that fails."""
        try:
            key = (request.operation, request.provider, request.model, request.server_address,
                   request.server_port, request.stream)
            cached = self._starts.get(key)
            if cached is None:
                cached = self._start_attributes(request)
                if len(self._starts) < _CACHE_LIMIT:
                    self._starts[key] = cached
            name, base = cached
            attributes = {**base, **request.attributes} if request.attributes else base
            task = _calls.task_type() if _calls.SEAM.task_type_of is not None else None
            if task is not None:
                attributes = {**attributes, sc.TASK_TYPE: task}
            conversation = _conversation.current()
            cid = user = None
            if conversation is not None:
                # the call's own conversation (a `conversation` the library was given) wins over the block's
                attributes = {**attributes, **conversation.attributes, **request.attributes}
                cid, user = conversation.id, conversation.user
            if request.attributes:
                own = request.attributes.get(sc.CONVERSATION_ID)
                if isinstance(own, str):
                    cid = own
            span = self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            gaps: array[float] | None = array("d") if self._each_chunk and request.stream else None
            return Invocation(request, span, time.perf_counter(), task, cid, user, gaps)
        except Exception as exc:
            report("recorder.start", exc)
            return None

    @staticmethod
    def _start_attributes(request: GenAIRequest) -> tuple[str, Attributes]:
        """The span name and the attributes every call of this shape starts with."""
        attributes = _call_attributes(request, server=True)
        if request.stream:
            attributes[sc.REQUEST_STREAM] = True
        return (f"{request.operation} {request.model}" if request.model else request.operation), attributes

    @staticmethod
    def activate(invocation: Invocation) -> object:
        """Make the GenAI span current so HTTP spans underneath become its children (None if that fails)."""
        try:
            return otel_context.attach(trace.set_span_in_context(invocation.span))
        except Exception as exc:
            report("recorder.activate", exc)
            return None

    @staticmethod
    def deactivate(token: object) -> None:
        if token is None:
            return
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
        if not invocation.claim_end():
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
        duration = time.perf_counter() - inv.start
        request, span = inv.request, inv.span
        attrs: Attributes = {}
        usage: Usage | None = None
        response_model = None
        if resp is not None:
            usage = resp.usage
            response_model = resp.model
            if resp.response_id:
                attrs[sc.RESPONSE_ID] = resp.response_id
            if response_model:
                attrs[sc.RESPONSE_MODEL] = response_model
            if resp.finish_reasons:
                attrs[sc.RESPONSE_FINISH_REASONS] = tuple(resp.finish_reasons)
            _usage_attributes(usage, attrs, self._usage_rows)
            if resp.attributes:
                attrs.update(resp.attributes)
        if inv.first_chunk is not None:
            attrs[sc.RESPONSE_TIME_TO_FIRST_CHUNK] = inv.first_chunk - inv.start
        if usage is not None and usage.audio_seconds:
            attrs[sc.AUDIO_REAL_TIME_FACTOR] = duration / usage.audio_seconds

        tier = _tier(resp)  # prices the call and labels its duration and token metrics
        cost = None
        unpriced = False  # used something, no price: counted apart, never a 0 cost
        if resp is not None and not resp.usage.is_empty:
            cost = self._cost_of(request, resp, tier[1] if tier is not None else None)
            if cost is None:
                attrs[sc.PRICING_SOURCE] = "unknown"
                unpriced = True
        if cost is not None:
            attrs[sc.COST_USD] = cost.total_usd
            if cost.input_usd is not None and cost.output_usd is not None:  # a provider's total has no parts
                attrs[sc.COST_INPUT_USD] = cost.input_usd
                attrs[sc.COST_OUTPUT_USD] = cost.output_usd
            source = cost.source
            if source.startswith(_CATALOG):  # the label `catalog:<date>`: the value is `catalog`, the date apart
                attrs[sc.PRICING_SOURCE] = "catalog"
                attrs[sc.PRICING_CATALOG_DATE] = source[len(_CATALOG):]
            else:
                attrs[sc.PRICING_SOURCE] = source
        if self._cost_shapes is not None:  # the cost under other backends' names (genai/cost_shapes.py)
            self._cost_shapes.write(attrs, cost, request, usage, response_model)

        etype = category = None
        if exc is not None:
            category = categorize(exc)
            etype = error_type(exc)
            attrs[sc.ERROR_TYPE] = etype
            attrs[sc.ERROR_CATEGORY] = category
            code = error_code(exc)
            if code is not None:
                attrs[sc.ERROR_CODE] = code  # span only: metrics keep the category
            # Cut where no piece of a key is left at the cut (the exporter redacts whole secrets only).
            span.set_status(Status(StatusCode.ERROR, truncate(str(exc), 512)))
            span.record_exception(exc, escaped=True)

        if self.capture_content:
            self._content(inv, resp, attrs)

        if span.is_recording():  # a sampled-out span takes no attributes: skip the SDK's checks
            span.set_attributes(attrs)
        span.end()
        user = inv.user if inv.user is not None and _conversation.OPTIONS.user_on_metrics else None
        shape = self._shape(request, response_model, inv.task_type, user, tier)
        self._metrics(shape, inv, usage, etype, category, cost, duration)
        if unpriced:  # counted, so a dashboard or an alert sees what the cost cannot
            shape.add(self._unpriced, shape.counted, 1)
        # Keep the call findable by `otel_ai.evaluate(response_id=...)` after its span ended.
        _evaluation.remember(self._evaluations, span, resp.response_id if resp else None, shape.labels)
        if _calls.SEAM.listeners:  # units of work and budgets count this call
            _calls.publish(_calls.CallFacts(
                call_scope(request, inv),
                cost.total_usd if cost is not None else 0.0,
                (usage.input_tokens or 0) if usage is not None else 0,
                (usage.output_tokens or 0) if usage is not None else 0,
                (usage.characters or 0) if usage is not None else 0,
                exc is not None,
                unpriced,
            ))

    def _cost_of(self, request: GenAIRequest, resp: GenAIResponse, tier: str | None) -> Cost | None:
        if self._pricing is None:
            return None
        if request.provider in self._pricing.local_providers:
            return Cost(0.0, 0.0, 0.0, "local")  # a model on the user's own hardware: a known zero, whatever its name
        usage = resp.usage
        if usage.reported_cost_usd is not None:  # what the provider billed for this very call beats any list price
            return reported_cost(usage.reported_cost_usd)
        for model in self._pricing_order(request, resp):
            if model:
                cost = self._pricing.cost(
                    model,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    cached_input_tokens=usage.cache_read_input_tokens,
                    cache_write_tokens=usage.cache_creation_input_tokens,
                    cache_write_1h_tokens=usage.cache_creation_1h_input_tokens,
                    audio_input_tokens=usage.audio_input_tokens,
                    audio_output_tokens=usage.audio_output_tokens,
                    characters=usage.characters,
                    audio_seconds=usage.audio_seconds,
                    images=usage.images,
                    image_kind=usage.image_kind,
                    search_units=usage.search_units,
                    source=resp.pricing_source,
                    service_tier=tier,
                )
                if cost is not None:
                    return cost
        model = resp.model or request.model
        if model and model not in self._warned_models and len(self._warned_models) < _CACHE_LIMIT:
            self._warned_models.add(model)
            from otel_ai import agent_warnings

            agent_warnings.warn(
                "pricing.unknown_model", model,
                f"no price for model {model!r}; its calls carry otel_ai.pricing.source=unknown and no cost. "
                "Add it with OTEL_AI_PRICING_FILE.",
            )
        return None

    def _pricing_order(self, request: GenAIRequest, resp: GenAIResponse) -> tuple[str | None, str | None]:
        """The response's model first, unless only the request's is priced for this call's provider.

        Bedrock's Anthropic bodies name the first-party model ("claude-sonnet-4-5-…"), whose price is
        Anthropic's, not Bedrock's regional one; the request's Bedrock model id is the billed one.
        """
        first, second = resp.model, request.model
        if first and second and first != second and self._pricing is not None:
            provider = request.provider
            if (self._pricing.provider_of(first) not in (None, provider)
                    and self._pricing.provider_of(second) == provider):
                return second, first
        return first, second

    def _shape(self, request: GenAIRequest, response_model: str | None, task_type: str | None,
               user: str | None = None, tier: tuple[str, str] | None = None) -> _Shape:
        key = (request.operation, request.provider, request.model, request.server_address,
               request.server_port, response_model, task_type, user, tier)
        shape = self._shapes.get(key)
        if shape is None:
            shape = _Shape(request, response_model, self._clean, task_type, user, tier)
            if len(self._shapes) < _CACHE_LIMIT:
                self._shapes[key] = shape
        return shape

    def _metrics(
        self,
        shape: _Shape,
        inv: Invocation,
        usage: Usage | None,
        etype: str | None,
        category: str | None,
        cost: Cost | None,
        duration: float,
    ) -> None:
        if etype is None:
            timed = shape.timed
            spent = shape.duration
            shape.add(self._requests, shape.ok, 1)
        else:
            timed = {**shape.timed, sc.ERROR_TYPE: etype}
            spent = timed if shape.duration is shape.timed else {**shape.duration, sc.ERROR_TYPE: etype}
            outcome = {**shape.counted, sc.OUTCOME: "error", sc.ERROR_CATEGORY: category or "other"}
            self._requests.add(1, outcome)
        self._duration.record(duration, spent)
        if usage is not None:
            if usage.input_tokens is not None:
                self._tokens.record(usage.input_tokens, shape.input_tokens)
            if usage.output_tokens is not None:
                self._tokens.record(usage.output_tokens, shape.output_tokens)
            if usage.characters is not None:
                shape.add(self._characters, shape.counted, usage.characters)
            if usage.audio_seconds:
                self._audio_seconds.record(usage.audio_seconds, timed)
                self._rtf.record(duration / usage.audio_seconds, timed)
        if inv.first_chunk is not None:
            self._ttfc.record(inv.first_chunk - inv.start, timed)
            if inv.gaps is not None:  # OTEL_AI_CHUNK_TIMING=each: one value per chunk after the first
                record = self._tpoc.record
                for gap in inv.gaps:
                    record(gap, timed)
            elif inv.chunks > 1:  # the default: one value per stream, the mean gap (docs/benchmarks.md)
                self._tpoc.record((inv.last_chunk - inv.first_chunk) / (inv.chunks - 1), timed)
        if cost is not None:
            shape.add(self._cost, shape.counted, cost.total_usd)
        if self._proposed is not None:  # OTEL_AI_SEMCONV_PROPOSALS: the open proposals' metrics (genai/names.py)
            self._proposed.record(inv.request.operation, usage, timed, duration, shape.add if etype is None else None)

    def _content(self, inv: Invocation, resp: GenAIResponse | None, attrs: Attributes) -> None:
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
        # Span attributes cannot be structured: JSON strings there. The event gets the same documents as
        # structured values (AnyValue maps and arrays), as the conventions require on events; parsing the
        # JSON back makes them exactly what the span says (`default=str` included).
        encoded = {key: json.dumps(value, ensure_ascii=False, default=str) for key, value in parts.items()}
        if self.content.on_span:
            attrs.update(encoded)
        if self._events is not None:
            # The event repeats the call's identifying attributes so it stands alone in a log store.
            event_attrs: dict[str, AnyValue] = dict(getattr(inv.span, "attributes", None) or {})
            event_attrs.update(attrs)
            event_attrs.update({key: json.loads(text) for key, text in encoded.items()})
            self._events.emit(
                event_name=sc.DETAILS_EVENT,
                severity_number=SeverityNumber.DEBUG,
                severity_text="DEBUG",
                attributes=event_attrs,
                context=trace.set_span_in_context(inv.span),
            )


# The response attributes that name the service tier a call ran on, by provider namespace.
_TIERS = (sc.OPENAI_RESPONSE_SERVICE_TIER, sc.ANTHROPIC_RESPONSE_SERVICE_TIER)


def _tier(resp: GenAIResponse | None) -> tuple[str, str] | None:
    """(attribute, value) of the service tier the response reports: its price, and a label of the duration
    and token metrics."""
    if resp is None or not resp.attributes:
        return None
    for name in _TIERS:
        value = resp.attributes.get(name)
        if isinstance(value, str) and value:
            return name, value
    return None


def _usage_attributes(usage: Usage, attrs: Attributes, rows: tuple[tuple[str, str], ...]) -> None:
    """The usage span attributes; `rows` (Usage field, attribute) were chosen once, by `genai.names.usage_rows`."""
    for field_name, attribute in rows:
        value = getattr(usage, field_name)
        if value is not None:
            attrs[attribute] = value
