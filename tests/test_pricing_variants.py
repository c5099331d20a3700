"""Service-tier and long-context prices: the catalog picks the prices that apply to one call.

The whole request is billed at the long-context rates once its input (cache included) is over the
threshold, as Anthropic and Gemini bill; a tier's prices replace the base ones field by field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from otel_ai.errors import ConfigError
from otel_ai.pricing.catalog import PricingCatalog
from tests.test_openai_chat import MESSAGES


@pytest.fixture(scope="module")
def catalog() -> PricingCatalog:
    return PricingCatalog.load()


def user_catalog(tmp_path: Path, models: dict[str, Any]) -> PricingCatalog:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": models}), encoding="utf-8")
    return PricingCatalog.load(path)


def usd(catalog: PricingCatalog, model: str, **usage: Any) -> float:
    cost = catalog.cost(model, **usage)
    assert cost is not None
    return cost.total_usd


# --- long context -------------------------------------------------------------------------------


def test_claude_sonnet_4_5_up_to_200k_input_tokens_is_billed_at_the_base_rates(catalog):
    # 200,000 input (150,000 uncached + 50,000 cache reads) and 1,000 output: 150k x 3 + 50k x 0.30 + 1k x 15
    assert usd(catalog, "claude-sonnet-4-5", input_tokens=200_000, cached_input_tokens=50_000,
               output_tokens=1_000) == pytest.approx(0.45 + 0.015 + 0.015)


def test_claude_sonnet_4_5_over_200k_is_billed_wholly_at_the_long_context_rates(catalog):
    # 200,001 input: 150,001 x 6 + 50,000 x 0.60, and 1,000 output x 22.50 (per MTok)
    assert usd(catalog, "claude-sonnet-4-5", input_tokens=200_001, cached_input_tokens=50_000,
               output_tokens=1_000) == pytest.approx(0.900006 + 0.03 + 0.0225)


def test_long_context_cache_writes_have_their_own_rates(catalog):
    # 300,000 input of which 100,000 written for 5 minutes (7.50) and 100,000 for an hour (12.00)
    cost = catalog.cost("claude-sonnet-4-5-20250929", input_tokens=300_000, cache_write_tokens=200_000,
                        cache_write_1h_tokens=100_000, output_tokens=0)
    assert cost is not None
    assert cost.input_usd == pytest.approx(0.6 + 0.75 + 1.2)


def test_gemini_2_5_pro_over_200k_prompt_tokens(catalog):
    assert usd(catalog, "gemini-2.5-pro", input_tokens=250_000, output_tokens=2_000) == pytest.approx(
        250_000 * 2.5 / 1e6 + 2_000 * 15 / 1e6)
    assert usd(catalog, "gemini-2.5-pro", input_tokens=150_000, output_tokens=2_000) == pytest.approx(
        150_000 * 1.25 / 1e6 + 2_000 * 10 / 1e6)


# --- service tiers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("tier", "rates"), [
    (None, (1.25, 0.125, 10)), ("default", (1.25, 0.125, 10)), ("auto", (1.25, 0.125, 10)),
    ("flex", (0.625, 0.0625, 5)), ("FLEX ", (0.625, 0.0625, 5)), ("priority", (2.5, 0.25, 20)),
])
def test_gpt_5_is_priced_by_the_tier_the_response_reports(catalog, tier, rates):
    uncached, cached, output = rates
    cost = usd(catalog, "gpt-5", input_tokens=10_000, cached_input_tokens=4_000, output_tokens=3_000,
               service_tier=tier)
    assert cost == pytest.approx((6_000 * uncached + 4_000 * cached + 3_000 * output) / 1e6)


def test_a_tier_without_a_price_keeps_the_base_field(catalog):
    # gpt-4o has a priority tier only: a flex answer (not offered) costs the standard price
    assert usd(catalog, "gpt-4o", input_tokens=1_000, output_tokens=1_000, service_tier="flex") == pytest.approx(
        (1_000 * 2.5 + 1_000 * 10) / 1e6)
    assert usd(catalog, "gpt-4o", input_tokens=1_000, output_tokens=1_000, service_tier="priority") == (
        pytest.approx((1_000 * 4.25 + 1_000 * 17) / 1e6))


def test_an_anthropic_batch_over_200k_uses_the_batch_tiers_own_long_context_rates(catalog):
    assert usd(catalog, "claude-sonnet-4-5", input_tokens=100_000, output_tokens=1_000,
               service_tier="batch") == pytest.approx((100_000 * 1.5 + 1_000 * 7.5) / 1e6)
    assert usd(catalog, "claude-sonnet-4-5", input_tokens=300_000, output_tokens=1_000,
               service_tier="batch") == pytest.approx((300_000 * 3 + 1_000 * 11.25) / 1e6)


def test_a_flex_call_through_the_openai_client_is_priced_at_flex_rates(client, telemetry, catalog):
    completion = client.chat.completions.create(model="gpt-5", messages=MESSAGES, service_tier="flex")
    assert completion.service_tier == "flex"
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["openai.response.service_tier"] == "flex"
    usage = completion.usage
    want = (usage.prompt_tokens * 0.625 + usage.completion_tokens * 5) / 1e6
    assert attrs["otel_ai.cost.usd"] == pytest.approx(want)
    [(_, point)] = telemetry.points("otel_ai.client.cost")
    assert point.value == pytest.approx(want)


def test_a_default_tier_call_through_the_openai_client_is_priced_at_standard_rates(client, telemetry):
    completion = client.chat.completions.create(model="gpt-5", messages=MESSAGES)
    assert completion.service_tier == "default"
    usage = completion.usage
    assert dict(telemetry.one_genai_span().attributes)["otel_ai.cost.usd"] == pytest.approx(
        (usage.prompt_tokens * 1.25 + usage.completion_tokens * 10) / 1e6)


# --- user files ---------------------------------------------------------------------------------


def test_a_user_file_can_give_tiers_and_long_context(tmp_path):
    catalog = user_catalog(tmp_path, {"my-model": {
        "input_per_mtok": 1, "output_per_mtok": 2,
        "long_context": {"above_input_tokens": 1000, "input_per_mtok": 10},
        "service_tiers": {"Flex": {"output_per_mtok": 1, "long_context": {"above_input_tokens": 1000,
                                                                           "output_per_mtok": 0.5}}},
    }})
    assert usd(catalog, "my-model", input_tokens=1000, output_tokens=1000) == pytest.approx(0.003)
    # over the threshold: input at 10, output keeps the base 2
    assert usd(catalog, "my-model", input_tokens=1001, output_tokens=1000) == pytest.approx(0.01001 + 0.002)
    assert usd(catalog, "my-model", input_tokens=1000, output_tokens=1000, service_tier="flex") == (
        pytest.approx(0.001 + 0.001))
    # the flex tier's own long context: base input (the tier gave none), output 0.5
    assert usd(catalog, "my-model", input_tokens=2000, output_tokens=1000, service_tier="flex") == (
        pytest.approx(0.002 + 0.0005))


def test_a_partial_override_keeps_the_catalogs_tiers(tmp_path):
    catalog = user_catalog(tmp_path, {"gpt-5": {"input_per_mtok": 1.0}})
    assert usd(catalog, "gpt-5", input_tokens=1_000_000, output_tokens=0) == pytest.approx(1.0)
    assert usd(catalog, "gpt-5", input_tokens=1_000_000, output_tokens=0, service_tier="flex") == (
        pytest.approx(0.625))


@pytest.mark.parametrize(("entry", "message"), [
    ({"long_context": {"input_per_mtok": 2}},
     "field 'long_context' needs 'above_input_tokens', a positive whole number of input tokens, got null"),
    ({"long_context": {"above_input_tokens": True, "input_per_mtok": 2}},
     "field 'long_context' needs 'above_input_tokens', a positive whole number of input tokens, got true"),
    ({"long_context": {"above_input_tokens": 0}},
     "field 'long_context' needs 'above_input_tokens', a positive whole number of input tokens, got 0"),
    ({"long_context": {"above_input_tokens": 10, "price": 2}},
     "field 'long_context': unknown field(s) 'price'"),
    ({"service_tiers": {"flex": {"input_per_mtok": -1}}},
     "service tier 'flex': field 'input_per_mtok' must be a finite non-negative number (USD), got -1"),
    ({"service_tiers": []}, "field 'service_tiers' must be a non-empty object of prices by tier name, got []"),
    ({"service_tiers": {"flex": {}}}, "service tier 'flex': must be a non-empty object of prices, got {}"),
])
def test_bad_variants_are_named_in_one_clear_error(tmp_path, entry, message):
    with pytest.raises(ConfigError) as caught:
        user_catalog(tmp_path, {"m": {"input_per_mtok": 1, **entry}})
    assert f"model 'm': {message}" in str(caught.value)
