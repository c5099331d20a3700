"""Reading helpers both OpenAI text APIs share: numbers, usage, output type, response attributes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIResponse
from otel_ai.instrumentation.openai.content import get
from otel_ai.instrumentation.openai.reported import body_cost


def number(value: Any) -> AttributeValue | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def put(attrs: dict[str, AttributeValue], key: str, value: Any) -> None:
    """Set a numeric request attribute; anything else (None, NOT_GIVEN, a bool) is left out."""
    value = number(value)
    if value is not None:
        attrs[key] = value


def output_type(response_format: Any) -> str | None:
    if response_format is None:
        return None
    kind = get(response_format, "type")
    if kind in ("json_object", "json_schema"):
        return "json"
    if kind == "text":
        return "text"
    if isinstance(response_format, type):  # a pydantic model passed to `parse`
        return "json"
    return None


def service_tier(attrs: dict[str, AttributeValue], tier: Any) -> None:
    if isinstance(tier, str) and tier != "auto":
        attrs[sc.OPENAI_REQUEST_SERVICE_TIER] = tier


Reader = Callable[[dict[str, AttributeValue], Any], None]


def read_request(
    attrs: dict[str, AttributeValue],
    kwargs: dict[str, Any],
    numeric: Mapping[str, str],
    other: Mapping[str, Reader],
) -> None:
    """One pass over what the caller passed (a handful of keys) instead of a lookup per attribute.

    `numeric` maps a request key to the attribute its number feeds; `other` to a reader of its own.
    """
    for key, value in kwargs.items():
        name = numeric.get(key)
        if name is not None:
            put(attrs, name, value)
        else:
            reader = other.get(key)
            if reader is not None:
                reader(attrs, value)


def _positive(value: Any) -> int | None:
    """A count of audio tokens worth recording: every chat answer carries `audio_tokens: 0`, text calls too."""
    return value if isinstance(value, int) and value > 0 else None


def read_usage(resp: GenAIResponse, usage: Any, input_key: str, output_key: str) -> None:
    """Token counts; both APIs name the details objects after their totals (`<key>_details`)."""
    if usage is None:
        return
    counts = resp.usage
    counts.input_tokens = get(usage, input_key)
    counts.output_tokens = get(usage, output_key)
    input_details = get(usage, f"{input_key}_details")
    if input_details is not None:
        counts.cache_read_input_tokens = get(input_details, "cached_tokens")
        counts.audio_input_tokens = _positive(get(input_details, "audio_tokens"))
    output_details = get(usage, f"{output_key}_details")
    if output_details is not None:
        counts.reasoning_output_tokens = get(output_details, "reasoning_tokens")
        counts.audio_output_tokens = _positive(get(output_details, "audio_tokens"))
    cost = get(usage, "cost")  # OpenRouter (and LiteLLM's streaming usage): what the call was charged
    if cost is not None:
        counts.reported_cost_usd = body_cost(cost, get(usage, "is_byok"), get(usage, "cost_details"))


def response_attributes(resp: GenAIResponse, result: Any) -> None:
    fingerprint = get(result, "system_fingerprint")
    if isinstance(fingerprint, str):
        resp.attributes[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = fingerprint
    tier = get(result, "service_tier")
    if isinstance(tier, str):
        resp.attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] = tier
