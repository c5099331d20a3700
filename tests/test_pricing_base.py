"""What the pricing base gives every provider: cache writes at their own rates, one catalog file per
provider, a known zero for local models, and Bedrock's regional model ids."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_ai.errors import ConfigError
from otel_ai.genai.model import GenAIRequest, GenAIResponse, Usage
from otel_ai.genai.recorder import GenAIRecorder
from otel_ai.pricing import catalog as catalog_module
from otel_ai.pricing import cost as cost_module
from otel_ai.pricing.catalog import ModelPrice, PricingCatalog

CLAUDE = ModelPrice(
    model="claude-x", provider="anthropic", input_per_mtok=3.0, cached_input_per_mtok=0.3, output_per_mtok=15.0,
    per_kchar=None, checked=None, source=None, cache_write_per_mtok=3.75, cache_write_1h_per_mtok=6.0,
)


# -- cache writes -----------------------------------------------------------------------------------


def test_cache_reads_and_both_kinds_of_writes_are_each_priced_at_their_own_rate() -> None:
    # input 10,000 = 1,000 uncached + 6,000 read + 2,000 written for 5 minutes + 1,000 for an hour
    cost = cost_module.tokens(CLAUDE, "catalog:x", 10_000, 500, 6_000, 3_000, 1_000)
    assert cost is not None
    expected_input = (1_000 * 3.0 + 6_000 * 0.3 + 2_000 * 3.75 + 1_000 * 6.0) / 1e6
    assert cost.input_usd == pytest.approx(expected_input, abs=1e-15)
    assert cost.input_usd == pytest.approx(0.0183, abs=1e-15)  # 0.003 + 0.0018 + 0.0075 + 0.006
    assert cost.output_usd == pytest.approx(500 * 15.0 / 1e6, abs=1e-15)
    assert cost.total_usd == pytest.approx(0.0183 + 0.0075, abs=1e-15)


def test_missing_write_prices_fall_back_to_input_then_to_the_five_minute_write() -> None:
    plain = ModelPrice("m", None, 2.0, 1.0, 4.0, None, None, None)
    cost = cost_module.tokens(plain, "s", 1_000_000, 0, 0, 500_000, 0)
    assert cost is not None and cost.input_usd == pytest.approx(2.0)  # writes at the input price
    five_only = ModelPrice("m", None, 2.0, 1.0, 4.0, None, None, None, cache_write_per_mtok=2.5)
    cost = cost_module.tokens(five_only, "s", 1_000_000, 0, 0, 1_000_000, 1_000_000)
    assert cost is not None and cost.input_usd == pytest.approx(2.5)  # 1-hour writes at the 5-minute price


def test_bad_cache_counts_never_make_a_negative_or_inflated_cost() -> None:
    # More reads + writes than input: the writes are clamped to what is left after the reads.
    cost = cost_module.tokens(CLAUDE, "s", 1_000, 0, 800, 900, 5_000)
    assert cost is not None
    assert cost.input_usd == pytest.approx((800 * 0.3 + 200 * 6.0) / 1e6, abs=1e-15)
    cost = cost_module.tokens(CLAUDE, "s", 1_000, 0, -5, -7, -9)
    assert cost is not None and cost.input_usd == pytest.approx(1_000 * 3.0 / 1e6, abs=1e-15)


# -- the catalog: one file per provider, local providers, regional ids -------------------------------


def _data(tmp_path: Path, files: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for name, document in files.items():
        (folder / name).write_text(json.dumps(document), encoding="utf-8")
    monkeypatch.setattr(catalog_module, "resources", SimpleNamespace(files=lambda _package: tmp_path))


def test_each_provider_file_is_loaded_with_its_own_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _data(tmp_path, {
        "pricing.json": {"catalog_date": "2026-01-01", "models": {"a": {"input_per_mtok": 1, "output_per_mtok": 2}}},
        "zeta.json": {"catalog_date": "2026-03-01", "models": {"z": {"input_per_mtok": 3, "output_per_mtok": 4}},
                      "local_providers": ["ollama"]},
    }, monkeypatch)
    catalog = PricingCatalog.load()
    assert catalog.lookup("a") is not None and catalog.lookup("a")[1] == "catalog:2026-01-01"  # type: ignore[index]
    assert catalog.lookup("z") is not None and catalog.lookup("z")[1] == "catalog:2026-03-01"  # type: ignore[index]
    assert catalog.catalog_date == "2026-03-01"
    assert catalog.local_providers == frozenset({"ollama"})


def test_a_model_priced_in_two_files_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _data(tmp_path, {
        "pricing.json": {"catalog_date": "2026-01-01", "models": {"a": {"input_per_mtok": 1}}},
        "other.json": {"catalog_date": "2026-01-01", "models": {"a": {"input_per_mtok": 2}}},
    }, monkeypatch)
    with pytest.raises(ConfigError, match=r"other\.json: model 'a' is already priced in pricing\.json"):
        PricingCatalog.load()


def test_local_providers_must_be_a_list_of_names(tmp_path: Path) -> None:
    path = tmp_path / "user.json"
    path.write_text(json.dumps({"models": {}, "local_providers": "ollama"}), encoding="utf-8")
    with pytest.raises(ConfigError, match="'local_providers' must be a list of provider names"):
        PricingCatalog.load(path)
    path.write_text(json.dumps({"models": {}, "local_providers": ["vllm"]}), encoding="utf-8")
    assert "vllm" in PricingCatalog.load(path).local_providers


def test_the_shipped_catalog_marks_ollama_local_and_every_file_is_valid() -> None:
    catalog = PricingCatalog.load()
    assert "ollama" in catalog.local_providers
    assert catalog.lookup("gpt-4o-mini") is not None


def test_bedrock_inference_profile_ids_resolve_without_their_geography() -> None:
    base = ModelPrice("anthropic.claude-x-v1:0", "anthropic", 3.0, None, 15.0, None, None, None)
    catalog = PricingCatalog("2026-01-01", {"anthropic.claude-x-v1:0": (base, "catalog:2026-01-01")})
    for model in ("us.anthropic.claude-x-v1:0", "eu.anthropic.claude-x-v1:0", "apac.anthropic.claude-x-v1:0",
                  "global.anthropic.claude-x-v1:0"):
        found = catalog.lookup(model)
        assert found is not None and found[0] is base, model
    assert catalog.lookup("us.unknown.model") is None
    assert catalog.lookup("us.gpt-4o") is None  # a dot that is not a geography followed by a vendor id


# -- the recorder -----------------------------------------------------------------------------------


def _record(catalog: PricingCatalog, request: GenAIRequest, response: GenAIResponse) -> dict[str, Any]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    recorder = GenAIRecorder(catalog, tracer_provider=provider, meter_provider=MeterProvider())
    inv = recorder.start(request)
    assert inv is not None
    recorder.end(inv, response)
    [span] = spans.get_finished_spans()
    return dict(span.attributes or {})


def test_a_local_provider_costs_a_known_zero_whatever_the_model_is_called() -> None:
    priced = ModelPrice("mistral", "mistral_ai", 2.0, None, 6.0, None, None, None)
    catalog = PricingCatalog("2026-01-01", {"mistral": (priced, "catalog:2026-01-01")},
                             local_providers=frozenset({"ollama"}))
    attributes = _record(catalog, GenAIRequest(operation="chat", provider="ollama", model="mistral"),
                         GenAIResponse(model="mistral", usage=Usage(input_tokens=100, output_tokens=50)))
    assert attributes["otel_ai.pricing.source"] == "local"
    assert attributes["otel_ai.cost.usd"] == 0.0
    # The same name from the hosted provider is priced from the catalog.
    attributes = _record(catalog, GenAIRequest(operation="chat", provider="mistral_ai", model="mistral"),
                         GenAIResponse(model="mistral", usage=Usage(input_tokens=1_000_000, output_tokens=0)))
    assert attributes["otel_ai.cost.usd"] == pytest.approx(2.0)


def test_the_recorder_prices_cache_writes_from_usage() -> None:
    catalog = PricingCatalog("2026-01-01", {"claude-x": (CLAUDE, "catalog:2026-01-01")})
    usage = Usage(input_tokens=10_000, output_tokens=500, cache_read_input_tokens=6_000,
                  cache_creation_input_tokens=3_000, cache_creation_1h_input_tokens=1_000)
    attributes = _record(catalog, GenAIRequest(operation="chat", provider="anthropic", model="claude-x"),
                         GenAIResponse(model="claude-x", usage=usage))
    assert attributes["otel_ai.cost.input_usd"] == pytest.approx(0.0183, abs=1e-15)
    assert attributes["gen_ai.usage.cache_write.input_tokens"] == 3_000
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 6_000


# -- search units (rerank) ----------------------------------------------------------------------------

RERANK = ModelPrice("rerank-x", "cohere", None, None, None, None, None, None, per_ksearch=2.0)


def test_search_units_are_priced_per_thousand_as_input() -> None:
    cost = cost_module.searches(RERANK, "catalog:x", 3)
    assert cost is not None
    assert (cost.total_usd, cost.input_usd, cost.output_usd) == (pytest.approx(0.006, abs=1e-15), cost.total_usd, 0.0)
    assert cost_module.searches(RERANK, "s", -4) == cost_module.Cost(0.0, 0.0, 0.0, "s")
    assert cost_module.searches(ModelPrice("m", None, 1.0, None, 1.0, None, None, None), "s", 3) is None


def test_a_per_search_price_wins_over_tokens_and_a_token_price_ignores_search_units() -> None:
    token_priced = ModelPrice("command-x", "cohere", 2.5, None, 10.0, None, None, None)
    catalog = PricingCatalog("2026-01-01", {"rerank-x": (RERANK, "catalog:2026-01-01"),
                                            "command-x": (token_priced, "catalog:2026-01-01")})
    cost = catalog.cost("rerank-x", input_tokens=5_000, search_units=2)
    assert cost is not None and cost.total_usd == pytest.approx(0.004, abs=1e-15)
    cost = catalog.cost("command-x", input_tokens=1_000_000, search_units=2)
    assert cost is not None and cost.total_usd == pytest.approx(2.5)
    assert catalog.cost("rerank-x") is None  # nothing reported: nothing guessed


def test_the_recorder_records_and_prices_search_units() -> None:
    catalog = PricingCatalog("2026-01-01", {"rerank-x": (RERANK, "catalog:2026-01-01")})
    attributes = _record(catalog, GenAIRequest(operation="rerank", provider="cohere", model="rerank-x"),
                         GenAIResponse(usage=Usage(search_units=1)))
    assert attributes["otel_ai.usage.search_units"] == 1
    assert attributes["otel_ai.cost.usd"] == pytest.approx(0.002, abs=1e-15)
    assert attributes["otel_ai.cost.input_usd"] == attributes["otel_ai.cost.usd"]
    assert attributes["otel_ai.pricing.source"] == "catalog"
    assert attributes["otel_ai.pricing.catalog_date"] == "2026-01-01"
    assert "gen_ai.usage.input_tokens" not in attributes


def test_a_user_file_may_price_searches(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {"my-reranker": {"per_ksearch": 1.5}}}))
    assert PricingCatalog.load(path).entries["my-reranker"].per_ksearch == 1.5
    path.write_text(json.dumps({"models": {"my-reranker": {"per_ksearch": -1}}}))
    with pytest.raises(ConfigError, match="per_ksearch"):
        PricingCatalog.load(path)
