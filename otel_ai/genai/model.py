"""The plain values an instrumentor hands the recorder: what was asked, what came back, what it used.

Instrumentors only fill these; the recorder decides every name, metric and cost from them. Usage is
not token-only, so a provider billed by characters or audio seconds needs no recorder change.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.util.types import AttributeValue

Message = dict[str, Any]


class ContentMode(enum.Enum):
    """Where message content goes, if anywhere (off unless the user opts in)."""

    NO_CONTENT = "no_content"
    SPAN_ONLY = "span_only"
    EVENT_ONLY = "event_only"
    SPAN_AND_EVENT = "span_and_event"

    @property
    def on_span(self) -> bool:
        return self in (ContentMode.SPAN_ONLY, ContentMode.SPAN_AND_EVENT)

    @property
    def on_event(self) -> bool:
        return self in (ContentMode.EVENT_ONLY, ContentMode.SPAN_AND_EVENT)


@dataclass(slots=True)
class Usage:
    """What a call consumed or produced, as the provider reported it (None: not reported)."""

    input_tokens: int | None = None  # includes cached input tokens, as the conventions define
    output_tokens: int | None = None  # includes reasoning tokens
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None  # cache writes, all of them (part of input_tokens)
    cache_creation_1h_input_tokens: int | None = None  # the writes kept for an hour (Anthropic), for pricing
    reasoning_output_tokens: int | None = None
    audio_input_tokens: int | None = None  # uncached audio input (Realtime), part of input_tokens, for pricing
    audio_output_tokens: int | None = None  # audio output (Realtime), part of output_tokens, for pricing
    characters: int | None = None  # text sent to speech synthesis
    audio_seconds: float | None = None  # audio transcribed or produced
    images: int | None = None  # images generated (image models billed per image)
    image_kind: str | None = None  # "<quality> <size>" of those images: what the per-image price depends on
    search_units: int | None = None  # searches billed (rerank: one unit per query of up to 100 documents)
    # What the provider itself says the call cost, in USD (OpenRouter's `usage.cost`, a LiteLLM proxy's
    # `x-litellm-response-cost`): a total, priced with source `provider` ahead of the catalog.
    reported_cost_usd: float | None = None

    @property
    def has_tokens(self) -> bool:
        return self.input_tokens is not None or self.output_tokens is not None

    @property
    def is_empty(self) -> bool:
        return (
            not self.has_tokens and self.characters is None and self.audio_seconds is None and self.images is None
            and self.search_units is None and self.reported_cost_usd is None
        )


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
    system_instructions: list[Message] | None = None
    input_messages: list[Message] | None = None
    tool_definitions: list[Message] | None = None


@dataclass(slots=True)
class GenAIResponse:
    """What an instrumentor read from the provider's answer (a whole response or a finished stream)."""

    response_id: str | None = None
    model: str | None = None
    finish_reasons: Sequence[str] | None = None
    usage: Usage = field(default_factory=Usage)
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    output_messages: list[Message] | None = None
    # Set when the provider itself reported what the call is billed on (a response header, say):
    # the cost then carries `otel_ai.pricing.source = <this value>` instead of the catalog's label.
    pricing_source: str | None = None
