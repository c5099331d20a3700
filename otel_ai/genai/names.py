"""The GenAI names the recorder writes under `OTEL_AI_SEMCONV` and `OTEL_AI_SEMCONV_PROPOSALS`.

Both are settled once, when the recorder is built: the usage rows (a span attribute per `Usage` field) for
the names in effect, and the instruments of the open proposals asked for. A call then costs what it cost
before: the same loop over a tuple of rows, and one `None` check when no proposal is on.
docs/conventions.md lists every name, with the release or proposal it comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.metrics import Meter
from opentelemetry.util.types import AttributeValue

from otel_ai.conventions import Names
from otel_ai.genai import semconv as sc
from otel_ai.genai.model import Usage
from otel_ai.genai.sums import Sums, sums_for

__all__ = ["RENAMED_ATTRIBUTES", "ProposedMetrics", "proposed_metrics", "usage_rows"]

# Span attributes the conventions renamed: today's name -> the previous one (docs/conventions.md).
RENAMED_ATTRIBUTES: Mapping[str, str] = {
    sc.USAGE_CACHE_WRITE_INPUT_TOKENS: sc.USAGE_CACHE_CREATION_INPUT_TOKENS,
}

# Usage field -> span attribute (today's names), in the order they appear on the span.
_USAGE_FIELDS: tuple[tuple[str, str], ...] = (
    ("input_tokens", sc.USAGE_INPUT_TOKENS),
    ("output_tokens", sc.USAGE_OUTPUT_TOKENS),
    ("cache_read_input_tokens", sc.USAGE_CACHE_READ_INPUT_TOKENS),
    ("cache_creation_input_tokens", sc.USAGE_CACHE_WRITE_INPUT_TOKENS),
    ("reasoning_output_tokens", sc.USAGE_REASONING_OUTPUT_TOKENS),
    # Audio tokens (part of the input and output tokens). A reader whose `audio_input_tokens` leaves out
    # cached audio (it is priced apart) puts the full count in `resp.attributes`, which is applied after.
    ("audio_input_tokens", sc.USAGE_AUDIO_INPUT_TOKENS),
    ("audio_output_tokens", sc.USAGE_AUDIO_OUTPUT_TOKENS),
    ("characters", sc.USAGE_CHARACTERS),
    ("audio_seconds", sc.AUDIO_SECONDS),
    ("images", sc.USAGE_IMAGES),
    ("search_units", sc.USAGE_SEARCH_UNITS),
)


def usage_rows(names: Names) -> tuple[tuple[str, str], ...]:
    """The (Usage field, span attribute) rows for `names`: a renamed attribute under its current name, its
    previous one, or both (current first)."""
    rows: list[tuple[str, str]] = []
    for field_name, attribute in _USAGE_FIELDS:
        previous = RENAMED_ATTRIBUTES.get(attribute)
        if previous is None or names.current:
            rows.append((field_name, attribute))
        if previous is not None and names.previous:
            rows.append((field_name, previous))
    return tuple(rows)


# The operations #374 and #521 call inference (the conventions' inference client span).
_INFERENCE = frozenset({"chat", "text_completion", "generate_content"})
Attributes = dict[str, AttributeValue]
# The call shape's cached add (`_Shape.add` of the recorder): a sum's cell looked up once per shape.
AddToShape = Callable[[Sums, Attributes, float], None]


class ProposedMetrics:
    """The instruments of the proposals asked for, and what one call records on them."""

    __slots__ = ("_counters", "_duration", "_histograms")

    def __init__(self, meter: Meter, proposals: frozenset[str]) -> None:
        self._counters: tuple[tuple[str, Sums], ...] = ()
        self._histograms: tuple[tuple[str, Any], ...] = ()
        self._duration: Any = None
        if "token_metrics" in proposals:  # semantic-conventions-genai#374
            # Counters as the recorder's own are: sums kept in-process, observed once per collection.
            self._counters = tuple(
                (field_name, sums_for(meter, name, "{token}", description))
                for field_name, name, description in (
                    ("input_tokens", sc.METRIC_USAGE_INPUT_TOKENS, "Input tokens used by inference calls."),
                    ("output_tokens", sc.METRIC_USAGE_OUTPUT_TOKENS, "Output tokens produced by inference calls."),
                    ("cache_read_input_tokens", sc.METRIC_USAGE_CACHE_READ_INPUT_TOKENS,
                     "Input tokens served from a provider-managed cache."),
                    ("cache_creation_input_tokens", sc.METRIC_USAGE_CACHE_WRITE_INPUT_TOKENS,
                     "Input tokens written to a provider-managed cache."),
                    ("reasoning_output_tokens", sc.METRIC_USAGE_REASONING_OUTPUT_TOKENS,
                     "Output tokens spent on reasoning."),
                )
            )
            buckets = [float(b) for b in sc.TOKEN_BUCKETS]
            self._histograms = tuple(
                (field_name, meter.create_histogram(name, unit="{token}", description=description,
                                                    explicit_bucket_boundaries_advisory=buckets))
                for field_name, name, description in (
                    ("input_tokens", sc.METRIC_OPERATION_INPUT_TOKENS, "Input tokens per inference call."),
                    ("output_tokens", sc.METRIC_OPERATION_OUTPUT_TOKENS, "Output tokens per inference call."),
                )
            )
        if "inference_duration" in proposals:  # semantic-conventions-genai#521
            self._duration = meter.create_histogram(
                sc.METRIC_INFERENCE_DURATION, unit="s", description="Duration of GenAI inference calls.",
                explicit_bucket_boundaries_advisory=list(sc.SECONDS_BUCKETS),
            )

    def record(self, operation: str, usage: Usage | None, attributes: Attributes, duration: float,
               add: AddToShape | None = None) -> None:
        """One inference call: its tokens by direction and its duration, with the duration metric's attributes.

        `add`: the call shape's cached add, for a call whose `attributes` are the shape's own set (no error)."""
        if operation not in _INFERENCE:
            return
        if self._duration is not None:
            self._duration.record(duration, attributes)
        if usage is None:
            return
        for field_name, sums in self._counters:
            value = getattr(usage, field_name)
            if value:
                if add is not None:
                    add(sums, attributes, value)
                else:
                    sums.add(value, attributes)
        for field_name, histogram in self._histograms:
            value = getattr(usage, field_name)
            if value is not None:
                histogram.record(value, attributes)


def proposed_metrics(meter: Meter, proposals: frozenset[str]) -> ProposedMetrics | None:
    """The proposals' instruments, or None when none is asked for (the recorder then checks one `None`)."""
    return ProposedMetrics(meter, proposals) if proposals else None
