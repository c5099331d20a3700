"""The built-in catalog against genai-prices, a maintained price database with dated prices.

Every entry the database also knows must carry the same rates, or be listed in DIFFERENCES with why
ours is the one we bill. A price that drifts from the database without a reason fails here instead of
being silently wrong. genai-prices is pinned to one release (pyproject.toml), so its data cannot move
under the test; bumping it re-runs the whole comparison.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from otel_ai.pricing.catalog import PricingCatalog

genai_prices = pytest.importorskip("genai_prices")  # in the test extra: never skipped in CI
from genai_prices import data as _gp_data  # noqa: E402

# our provider name -> genai-prices provider id
PROVIDERS = {
    "openai": "openai", "anthropic": "anthropic", "aws.bedrock": "aws", "gcp.gemini": "google",
    "mistral_ai": "mistral", "cohere": "cohere", "deepseek": "deepseek",
}
# our field -> genai-prices field
FIELDS = {
    "input_per_mtok": "input_mtok",
    "cached_input_per_mtok": "cache_read_mtok",
    "cache_write_per_mtok": "cache_write_mtok",
    "cache_write_1h_per_mtok": "cache_write_1h_mtok",
    "output_per_mtok": "output_mtok",
    "audio_input_per_mtok": "input_audio_mtok",
    "audio_output_per_mtok": "output_audio_mtok",
}
# (model, our field): why our rate differs from genai-prices 0.2.5's
DIFFERENCES = {
    **{(m, f): "DeepSeek moved deepseek-chat/-reasoner to V4-Flash prices on 2026-04-24 and made V4-Pro's 75% "
                "discount permanent; genai-prices 0.2.5 keeps the earlier list prices"
       for m in ("deepseek-chat", "deepseek-reasoner", "deepseek-v4-flash", "deepseek-v4-pro")
       for f in ("input_per_mtok", "cached_input_per_mtok", "output_per_mtok")},
    **{("mistral-large-latest", f): "the alias points at Mistral Large 3 (2512) since its release; genai-prices "
                                      "still maps it to Large 2 (2407) at 2 / 6"
       for f in ("input_per_mtok", "output_per_mtok")},
    ("gpt-4o-transcribe", "input_per_mtok"): "our input rate is the audio-token rate (6.00), the bulk of a "
                                             "transcription's input; genai-prices' input_mtok is the text rate",
    ("gpt-4o-mini-transcribe", "input_per_mtok"): "as gpt-4o-transcribe: the audio-token rate (3.00)",
}


def _their_model(provider: str, model: str) -> Any:
    """The database's entry for a model: its exact id, Bedrock's regional twin, then its match rules."""
    gp = next(p for p in _gp_data.providers if p.id == provider)
    wanted = [model]
    if provider == "aws" and not model.startswith("global."):
        wanted.append("regional." + model)  # in-region and geographic profiles share the regional price
    for name in wanted:
        for m in gp.models:
            if m.id == name:
                return m
    for m in gp.models:
        if m.is_match(model):
            return m
    return None


def _current(prices: Any) -> Any:
    """The price in force today: the last of dated conditional prices."""
    return prices[-1].prices if isinstance(prices, list) else prices


def _rate(value: Any) -> Decimal | None:
    """A flat rate, or a tiered price's base tier (our catalog prices the base tier only)."""
    if value is None:
        return None
    base = getattr(value, "base", value)
    return Decimal(str(base))


def _comparisons() -> list[tuple[str, str, Decimal, Decimal]]:
    catalog = PricingCatalog.load()
    rows = []
    for model, price in sorted(catalog.entries.items()):
        provider = PROVIDERS.get(price.provider or "openai")
        if provider is None:
            continue
        theirs = _their_model(provider, model)
        if theirs is None:
            continue
        for ours_field, their_field in FIELDS.items():
            ours = getattr(price, ours_field, None)
            if ours is None:
                continue
            their_rate = _rate(getattr(_current(theirs.prices), their_field, None))
            if their_rate is None or (ours == 0 and ours_field == "output_per_mtok"):
                continue  # not priced there; an embedding model's zero output is ours to state
            rows.append((model, ours_field, Decimal(str(ours)), their_rate))
        rows.extend(_variant_rows(model, price, theirs))
    return rows


def _long_rows(model: str, where: str, ours: Any, their_prices: Any) -> list[tuple[str, str, Decimal, Decimal]]:
    """Our long-context prices against the database's first tier (start and price) of each field."""
    rows = []
    if ours.long_context is None:
        return rows
    for ours_field, their_field in FIELDS.items():
        mine = getattr(ours.long_context, ours_field, None)
        tiered = getattr(their_prices, their_field, None)
        if mine is None or not getattr(tiered, "tiers", None):
            continue
        their_rate = Decimal(str(tiered.tiers[0].price))
        rows.append((model, f"{where}long_context.{ours_field}", Decimal(str(mine)), their_rate))
        rows.append((model, f"{where}long_context.above_input_tokens", Decimal(ours.long_context_above),
                     Decimal(tiered.tiers[0].start)))
    return rows


def _variant_rows(model: str, price: Any, theirs: Any) -> list[tuple[str, str, Decimal, Decimal]]:
    """Long-context and service-tier prices, where the catalog has them, against the database's."""
    rows = _long_rows(model, "", price, _current(theirs.prices))
    variants = {**{v.when.get("service_tier"): v.prices for v in theirs.price_variants or ()},
                "batch": next((v.prices for v in theirs.price_variants or () if v.when.get("processing") == "batch"),
                              None)}
    for tier, ours in (price.service_tiers or {}).items():
        their_prices = variants.get(tier)
        assert their_prices is not None, f"{model}: tier {tier!r} is not in genai-prices"
        for ours_field, their_field in FIELDS.items():
            mine = getattr(ours, ours_field, None)
            rate = _rate(getattr(their_prices, their_field, None))
            if mine is not None and rate is not None:
                rows.append((model, f"service_tiers.{tier}.{ours_field}", Decimal(str(mine)), rate))
        rows.extend(_long_rows(model, f"service_tiers.{tier}.", ours, their_prices))
    return rows


def test_most_of_the_catalog_is_known_to_the_database() -> None:
    """The comparison must cover the catalog, or a mapping bug would make every other test vacuous."""
    models = {row[0] for row in _comparisons()}
    assert len(models) >= 80, sorted(models)


@pytest.mark.parametrize(("model", "field", "ours", "theirs"), _comparisons(), ids=lambda v: str(v))
def test_each_rate_matches_the_database_or_says_why_not(model: str, field: str, ours: Decimal,
                                                        theirs: Decimal) -> None:
    if (model, field) not in DIFFERENCES:
        assert ours == theirs, f"{model} {field}: catalog {ours}, genai-prices {theirs}"
    else:
        assert ours != theirs, f"{model} {field} now agrees with genai-prices: drop its DIFFERENCES entry"
