"""Cost arithmetic: USD from a model's prices and what one call used. Pure functions, no lookups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otel_ai.pricing.catalog import ModelPrice


@dataclass(frozen=True, slots=True)
class Cost:
    """A call's cost; ``source`` (otel_ai.pricing.source) is ``catalog:<date>``, ``override``, ``header``,
    ``provider`` or ``local``. A total the provider reported has no input and output parts (None)."""

    total_usd: float
    input_usd: float | None
    output_usd: float | None
    source: str


def reported(total_usd: float) -> Cost:
    """The cost the provider itself reported for the call: a total, without input and output parts."""
    return Cost(total_usd, None, None, "provider")


def tokens(
    price: ModelPrice,
    source: str,
    input_tokens: int | None,
    output_tokens: int | None,
    cached_input_tokens: int | None,
    cache_write_tokens: int | None = None,
    cache_write_1h_tokens: int | None = None,
    audio_input_tokens: int | None = None,
    audio_output_tokens: int | None = None,
) -> Cost | None:
    """Cache-aware token cost: cache reads and writes are part of the input count, each at its own price.

    `input_tokens` counts every input token as the conventions do (uncached + cache read + cache
    write); `cache_write_1h_tokens` is the part of the writes kept for an hour (Anthropic), priced at
    the 1-hour write price. Missing prices fall back: a read or a write to the input price, a 1-hour
    write to the 5-minute one. `audio_input_tokens` (uncached audio, part of `input_tokens`) and
    `audio_output_tokens` (part of `output_tokens`) are priced at the audio rates where the model has
    them (Realtime voice models), otherwise at the text rates.
    """
    input_price = price.input_per_mtok
    output_price = price.output_per_mtok
    if input_price is None and output_price is None:
        return None
    total_in = max(input_tokens or 0, 0)
    # Clamp so that bad usage data (more cached than input, negatives) never yields a negative cost.
    cached = min(max(cached_input_tokens or 0, 0), total_in)
    written = min(max(cache_write_tokens or 0, 0), total_in - cached)
    written_1h = min(max(cache_write_1h_tokens or 0, 0), written)
    audio_in = audio_out = 0
    if price.audio_input_per_mtok is not None:
        audio_in = min(max(audio_input_tokens or 0, 0), total_in - cached - written)
    total_out = max(output_tokens or 0, 0)
    if price.audio_output_per_mtok is not None:
        audio_out = min(max(audio_output_tokens or 0, 0), total_out)
    input_micro = audio_in * (price.audio_input_per_mtok or 0.0)  # USD per 1M, divided once: exact sums
    if input_price is not None:
        cached_price = price.cached_input_per_mtok
        if cached_price is None:
            cached_price = input_price
        write_price = price.cache_write_per_mtok
        if write_price is None:
            write_price = input_price
        write_1h_price = price.cache_write_1h_per_mtok
        if write_1h_price is None:
            write_1h_price = write_price
        input_micro += (
            (total_in - cached - written - audio_in) * input_price
            + cached * cached_price
            + (written - written_1h) * write_price
            + written_1h * write_1h_price
        )
    input_usd = input_micro / 1e6
    output_micro = audio_out * (price.audio_output_per_mtok or 0.0)
    if output_price is not None:
        output_micro += (total_out - audio_out) * output_price
    output_usd = output_micro / 1e6
    return Cost(input_usd + output_usd, input_usd, output_usd, source)


def characters(price: ModelPrice, source: str, count: int) -> Cost | None:
    """Speech synthesis billed per 1,000 characters sent."""
    if price.per_kchar is None:
        return None
    usd = max(count, 0) * price.per_kchar / 1000
    return Cost(usd, usd, 0.0, source)


def audio(price: ModelPrice, source: str, seconds: float) -> Cost | None:
    """Transcription billed per hour of input audio."""
    if price.per_hour is None:
        return None
    usd = max(seconds, 0.0) * price.per_hour / 3600
    return Cost(usd, usd, 0.0, source)


def images(price: ModelPrice, source: str, count: int, kind: str | None) -> Cost | None:
    """Image generation billed per image, at the price of its "<quality> <size>" (None if not listed)."""
    table = price.per_image
    if table is None or kind is None:
        return None
    each = table.get(kind.strip().lower())
    if each is None:
        return None
    usd = max(count, 0) * each
    return Cost(usd, 0.0, usd, source)


def searches(price: ModelPrice, source: str, count: int) -> Cost | None:
    """Search (rerank) billed per 1,000 search units; a search is input, so it is input cost."""
    if price.per_ksearch is None:
        return None
    usd = max(count, 0) * price.per_ksearch / 1000
    return Cost(usd, usd, 0.0, source)
