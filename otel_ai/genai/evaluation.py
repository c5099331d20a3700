"""Evaluation results: `otel_ai.evaluate()` records the conventions' `gen_ai.evaluation.result` event.

Why here: an evaluation scores one GenAI call, so it belongs next to the recorder that made the call's
span. The recorder remembers its recent calls (response id and span id -> span context and the call's
low-cardinality facts) in a bounded queue, so an evaluation that arrives after the span ended (a judge
model, a user's thumbs-up) is still tied to it: as a log record carrying the call's trace and span id.
Every call is remembered and few are evaluated, so remembering is one append (no lock, no index) and a
lookup searches from the newest call back.
While the span is still open the result is a span event on it instead.

The explanation is content-like; it leaves only through the redacting exporters (span events and log
records are both walked there), never through a metric. The score histogram is labelled with the
evaluation name (redacted, and bounded), provider, request model and task type: never ids or text.
Nothing here raises into the caller: bad arguments give one warning and record nothing.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from typing import Final, NamedTuple

from opentelemetry import trace
from opentelemetry._logs import Logger, LoggerProvider, get_logger
from opentelemetry.metrics import Histogram, MeterProvider, get_meter
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext
from opentelemetry.util.types import AttributeValue

from otel_ai.genai import semconv as sc
from otel_ai.guard import report

__all__ = ["EVENT", "METRIC_SCORE", "EvaluationSink", "evaluate", "remember"]

EVENT: Final = "gen_ai.evaluation.result"
NAME: Final = "gen_ai.evaluation.name"
SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
EXPLANATION: Final = "gen_ai.evaluation.explanation"
METRIC_SCORE: Final = "otel_ai.evaluation.score"
# Recent calls kept for lookup by response id / span id; evaluation names kept as metric labels.
RECENT_LIMIT: Final = 10_000
NAMES_LIMIT: Final = 100
OTHER_NAME: Final = "other"

Attributes = dict[str, AttributeValue]


class EvaluationArgumentWarning(UserWarning):
    """`otel_ai.evaluate()` was called with arguments it cannot record (nothing was recorded)."""


class EvaluationSink:
    """Where one recorder's evaluations go: its meter (score histogram) and logger (ended spans)."""

    def __init__(self, meter_provider: MeterProvider | None, logger_provider: LoggerProvider | None,
                 clean: Callable[[str], str] | None) -> None:
        from otel_ai.version import __version__

        meter = get_meter("otel_ai", __version__, meter_provider)
        self.histogram: Histogram = meter.create_histogram(
            METRIC_SCORE, unit="1", description="Evaluation scores of GenAI calls (otel_ai.evaluate()).")
        self.logger: Logger = get_logger("otel_ai", __version__, logger_provider)
        self.clean = clean
        self._names: set[str] = set()
        self._lock = threading.Lock()

    def metric_name(self, name: str) -> str:
        """The evaluation name as a metric label: redacted, and `other` past NAMES_LIMIT distinct names."""
        if self.clean is not None:
            name = self.clean(name)
        with self._lock:
            if name in self._names:
                return name
            if len(self._names) >= NAMES_LIMIT:
                return OTHER_NAME
            self._names.add(name)
            return name


class _Call(NamedTuple):
    context: SpanContext
    response_id: str | None
    labels: Attributes  # provider, request model, task type: what the score histogram carries (shared, read-only)
    sink: EvaluationSink


class _Recent:
    """The most recent calls, newest last (the oldest forgotten first); looked up by response id or span id.

    `add` runs once per GenAI call, a lookup once per evaluation: a bounded deque (its `append` is atomic)
    searched from the newest end, so the latest call with an id wins."""

    def __init__(self, limit: int) -> None:
        self._calls: deque[_Call] = deque(maxlen=limit)
        self.default: EvaluationSink | None = None

    def add(self, call: _Call) -> None:
        self._calls.append(call)

    def _find(self, found: Callable[[_Call], bool]) -> _Call | None:
        # `list()` copies the deque in one step under the GIL: other threads may go on appending.
        for call in reversed(list(self._calls)):
            if found(call):
                return call
        return None

    def by_response(self, response_id: str) -> _Call | None:
        if not response_id:
            return None
        return self._find(lambda call: call.response_id == response_id)

    def by_span(self, span_id: int) -> _Call | None:
        return self._find(lambda call: call.context.span_id == span_id)

    def clear(self) -> None:
        self._calls.clear()


RECENT: Final = _Recent(RECENT_LIMIT)
# The last GenAI call finished in this context: what `evaluate()` with no target scores.
_LAST: ContextVar[_Call | None] = ContextVar("otel_ai_last_genai_call", default=None)


def register(sink: EvaluationSink) -> None:
    """The sink an evaluation uses when it names no call the recorders know (the newest recorder's)."""
    RECENT.default = sink


def remember(sink: EvaluationSink, span: Span, response_id: str | None, labels: Attributes) -> None:
    """Called by the recorder as a call finishes: keep what a later evaluation needs (never raises)."""
    try:
        context = span.get_span_context()
        if context.is_valid:
            call = _Call(context, response_id, labels, sink)
            RECENT.add(call)
            _LAST.set(call)
    except Exception as exc:
        report("evaluation.remember", exc)


def _problem(name: object, score: object, label: object, explanation: object, response_id: object,
             span: object) -> str | None:
    if not isinstance(name, str) or not name.strip():
        return "name must be a non-empty string"
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int | float):
            return "score must be a number or None"
        if not math.isfinite(score):
            return "score must be finite"
    for what, value in (("label", label), ("explanation", explanation), ("response_id", response_id)):
        if value is not None and not isinstance(value, str):
            return f"{what} must be a string or None"
    if score is None and not label:
        return "give a score or a label"
    if span is not None and not isinstance(span, Span):
        return "span must be an OpenTelemetry span or None"
    return None


def evaluate(name: str, score: float | None = None, label: str | None = None, explanation: str | None = None,
             *, response_id: str | None = None, span: Span | None = None) -> bool:
    """Record an evaluation of a GenAI call; True when recorded. Never raises (bad arguments: a warning).

    The call is `span` when given, else the one that returned `response_id`, else the GenAI call last
    finished in this context, else the current span."""
    try:
        problem = _problem(name, score, label, explanation, response_id, span)
        if problem is not None:
            warnings.warn(f"otel_ai.evaluate(): {problem}; nothing recorded", EvaluationArgumentWarning,
                          stacklevel=2)
            return False
        _record(name, None if score is None else float(score), label, explanation, response_id, span)
        return True
    except Exception as exc:
        report("evaluation.evaluate", exc)
        return False


def _record(name: str, score: float | None, label: str | None, explanation: str | None,
            response_id: str | None, span: Span | None) -> None:
    call: _Call | None = None
    target: Span | None
    if span is None and response_id is not None:
        call = RECENT.by_response(response_id)
    if call is None:
        target = span if span is not None else trace.get_current_span()
        context = target.get_span_context()
        if context.is_valid:
            call = RECENT.by_span(context.span_id)
        if call is None and span is None and response_id is None:
            last = _LAST.get()  # "the call just made": its span has usually ended by now
            if last is not None and (not context.is_valid or last.context.trace_id == context.trace_id):
                call = last  # in the current trace, or no trace at all: never a call of another trace
        if call is not None or not context.is_valid:
            target = None if call is None or call.context != context else target
    else:
        target = None
    if call is not None and response_id is None:
        response_id = call.response_id
    attrs: Attributes = {NAME: name}
    if score is not None:
        attrs[SCORE_VALUE] = score
    if label:
        attrs[SCORE_LABEL] = label
    if explanation:
        attrs[EXPLANATION] = explanation
    if response_id:
        attrs[sc.RESPONSE_ID] = response_id
    sink = call.sink if call is not None else RECENT.default
    if target is not None and target.is_recording():
        target.add_event(EVENT, attrs)  # the span is still open: the event travels with it
    elif sink is not None:
        link = call.context if call is not None else (target.get_span_context() if target else None)
        sink.logger.emit(
            event_name=EVENT, attributes=attrs,
            context=trace.set_span_in_context(NonRecordingSpan(link)) if link is not None else None,
        )
    if score is not None and sink is not None:
        labels: Attributes = {NAME: sink.metric_name(name)}
        if call is not None:
            labels.update(call.labels)
        elif target is not None:
            labels.update(_labels_of(target))
        sink.histogram.record(score, labels)


def _labels_of(span: Span) -> Attributes:
    """Provider, request model and task type read off a live SDK span (the call is still open)."""
    found = getattr(span, "attributes", None) or {}
    return {key: found[key] for key in (sc.PROVIDER, sc.REQUEST_MODEL, sc.TASK_TYPE) if key in found}
