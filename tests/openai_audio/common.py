"""Audio the tests upload, and the numbers the simulator answers with."""

from __future__ import annotations

import io
import wave

from otel_ai.pricing.catalog import PricingCatalog

TEXT = "The quick brown fox jumps over the lazy dog."


def wav_bytes(seconds: float, rate: int = 16_000) -> bytes:
    """A mono 16-bit WAV file of silence lasting `seconds`."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\0\0" * round(seconds * rate))
    return buffer.getvalue()


def price(model: str) -> object:
    return PricingCatalog.load().entries[model]
