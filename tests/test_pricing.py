"""Pricing catalog: built-in data quality, model resolution, cost arithmetic, user overrides, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from otel_ai.errors import ConfigError
from otel_ai.pricing.catalog import Cost, ModelPrice, PricingCatalog

REQUIRED_TOKEN_MODELS = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "o1",
    "o3",
    "o3-mini",
    "o4-mini",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-embedding-ada-002",
    "deepseek-chat",
    "deepseek-reasoner",
]
REQUIRED_SPEECH_MODELS = ["eleven_multilingual_v2", "eleven_turbo_v2_5", "eleven_flash_v2_5", "eleven_v3"]


@pytest.fixture(scope="module")
def catalog() -> PricingCatalog:
    return PricingCatalog.load()


def write_user_file(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "my-prices.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# --- built-in catalog --------------------------------------------------------------------------


def test_builtin_catalog_loads_with_a_dated_label(catalog):
    assert catalog.catalog_date >= "2026-11-22"  # the newest date of the built-in files
    _, label = catalog.lookup("gpt-4o")
    assert label == "catalog:2026-11-22"  # each model carries the date of its own file


def test_every_builtin_entry_has_checked_date_https_source_and_a_price(catalog):
    assert catalog.entries
    for name, price in catalog.entries.items():
        assert price.model == name
        assert price.provider in {"openai", "deepseek", "elevenlabs", "anthropic", "mistral_ai", "aws.bedrock",
                                  "cohere", "gcp.gemini"}, name
        assert price.checked is not None and len(price.checked) == 10, name
        assert price.source is not None and price.source.startswith("https://"), name
        priced = (price.input_per_mtok, price.output_per_mtok, price.per_kchar, price.per_hour, price.per_image,
                  price.per_ksearch)
        assert any(value is not None for value in priced), name


@pytest.mark.parametrize("model", REQUIRED_TOKEN_MODELS)
def test_required_token_models_have_input_and_output_prices(catalog, model):
    price = catalog.entries[model]
    assert price.input_per_mtok is not None and price.input_per_mtok > 0
    assert price.output_per_mtok is not None


@pytest.mark.parametrize("model", REQUIRED_SPEECH_MODELS)
def test_required_speech_models_are_priced_per_character(catalog, model):
    price = catalog.entries[model]
    assert price.provider == "elevenlabs"
    assert price.per_kchar is not None and price.per_kchar > 0
    assert price.input_per_mtok is None


def test_speech_to_text_is_priced_per_hour_not_per_character(catalog):
    price = catalog.entries["scribe_v1"]
    assert price.per_hour is not None and price.per_hour > 0
    assert price.per_kchar is None
    assert catalog.character_cost("scribe_v1", 1000) is None
    cost = catalog.audio_duration_cost("scribe_v1", 1800)
    assert cost is not None
    assert cost.total_usd == pytest.approx(price.per_hour / 2)


def test_embeddings_have_zero_output_price_so_output_never_costs(catalog):
    for model in ("text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"):
        assert catalog.entries[model].output_per_mtok == 0


def test_deepseek_cache_hit_price_is_the_cached_input_price(catalog):
    for model in ("deepseek-chat", "deepseek-reasoner"):
        price = catalog.entries[model]
        assert price.cached_input_per_mtok is not None
        assert price.cached_input_per_mtok < price.input_per_mtok


def test_builtin_json_has_documented_shape_and_every_entry_loads():
    # pricing.json plus one file per provider (data/*.json): every model of every file is loaded.
    folder = Path(__file__).resolve().parents[1] / "otel_ai" / "pricing" / "data"
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]
    for document in documents:
        assert set(document) <= {"catalog_date", "models", "local_providers"} and "models" in document
    assert len(PricingCatalog.load().entries) == sum(len(document["models"]) for document in documents)


def test_builtin_catalog_goes_through_the_same_validation(tmp_path, monkeypatch):
    # A broken shipped catalog must fail loudly at start-up, like a broken user file.
    (tmp_path / "data").mkdir()
    builtin = tmp_path / "data" / "pricing.json"
    builtin.write_text(
        json.dumps({"catalog_date": "2026-11-22", "models": {"gpt-x": {"output_per_mtok": -2}}}),
        encoding="utf-8",
    )
    monkeypatch.setattr("otel_ai.pricing.catalog.resources.files", lambda package: tmp_path)
    with pytest.raises(ConfigError, match="non-negative") as excinfo:
        PricingCatalog.load()
    assert str(builtin) in str(excinfo.value) and "gpt-x" in str(excinfo.value)


# --- lookup ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "family"),
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("gpt-4-0613", "gpt-4"),
        ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
    ],
)
def test_dated_snapshots_resolve_to_their_family(catalog, requested, family):
    found = catalog.lookup(requested)
    assert found is not None
    assert found[0] is catalog.entries[family]


def test_exact_snapshot_entry_wins_over_family(catalog):
    price, _ = catalog.lookup("gpt-4o-2024-05-13")
    assert price.model == "gpt-4o-2024-05-13"
    assert price.input_per_mtok != catalog.entries["gpt-4o"].input_per_mtok


@pytest.mark.parametrize(
    ("requested", "model"),
    [
        ("openai/gpt-4o", "gpt-4o"),
        ("deepseek/deepseek-chat", "deepseek-chat"),
        ("openrouter/openai/gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ],
)
def test_provider_prefix_is_stripped(catalog, requested, model):
    found = catalog.lookup(requested)
    assert found is not None
    assert found[0].model == model


def test_requested_name_is_lower_cased(catalog):
    found = catalog.lookup("GPT-4o-Mini")
    assert found is not None
    assert found[0].model == "gpt-4o-mini"


@pytest.mark.parametrize("model", ["not-a-model", "gpt-4o-mini-turbo", "", "-2024-07-18"])
def test_unknown_model_is_none_everywhere(catalog, model):
    assert catalog.lookup(model) is None
    assert catalog.token_cost(model, 100, 100) is None
    assert catalog.character_cost(model, 100) is None


def test_cached_lookup_resolves_each_name_once(catalog, monkeypatch):
    first = catalog.lookup("gpt-4o-mini-2024-07-18")
    resolved = []
    monkeypatch.setattr(PricingCatalog, "_resolve", lambda self, model: resolved.append(model))
    assert catalog.lookup("gpt-4o-mini-2024-07-18") is first
    assert resolved == []


# --- token cost --------------------------------------------------------------------------------


def test_token_cost_without_cache(catalog):
    price = catalog.entries["gpt-4o"]
    cost = catalog.token_cost("gpt-4o", 1000, 500)
    assert cost == Cost(
        total_usd=pytest.approx(1000 * price.input_per_mtok / 1e6 + 500 * price.output_per_mtok / 1e6),
        input_usd=pytest.approx(1000 * price.input_per_mtok / 1e6),
        output_usd=pytest.approx(500 * price.output_per_mtok / 1e6),
        source=catalog.lookup("gpt-4o")[1],
    )


def test_cached_tokens_are_part_of_input_and_billed_at_cached_price(catalog):
    price = catalog.entries["gpt-4.1-mini"]
    assert price.cached_input_per_mtok < price.input_per_mtok
    cost = catalog.token_cost("gpt-4.1-mini", 10_000, 2_000, cached_input_tokens=4_000)
    expected_input = (6_000 * price.input_per_mtok + 4_000 * price.cached_input_per_mtok) / 1e6
    expected_output = 2_000 * price.output_per_mtok / 1e6
    assert cost.input_usd == pytest.approx(expected_input)
    assert cost.output_usd == pytest.approx(expected_output)
    assert cost.total_usd == pytest.approx(expected_input + expected_output)
    uncached = catalog.token_cost("gpt-4.1-mini", 10_000, 2_000)
    assert cost.total_usd < uncached.total_usd


def test_deepseek_cache_hits_use_cache_hit_price(catalog):
    price = catalog.entries["deepseek-chat"]
    cost = catalog.token_cost("deepseek-chat", 1_000_000, 0, cached_input_tokens=1_000_000)
    assert cost.input_usd == pytest.approx(price.cached_input_per_mtok)


def test_cached_price_falls_back_to_input_price(catalog):
    price = catalog.entries["gpt-4"]
    assert price.cached_input_per_mtok is None
    cost = catalog.token_cost("gpt-4", 1000, 0, cached_input_tokens=600)
    assert cost.input_usd == pytest.approx(1000 * price.input_per_mtok / 1e6)


def test_cached_count_above_input_count_is_clamped(catalog):
    price = catalog.entries["gpt-4o"]
    cost = catalog.token_cost("gpt-4o", 100, 0, cached_input_tokens=500)
    assert cost.input_usd == pytest.approx(100 * price.cached_input_per_mtok / 1e6)


def test_missing_counts_count_as_zero(catalog):
    price = catalog.entries["gpt-5"]
    only_output = catalog.token_cost("gpt-5", None, 300)
    assert only_output.input_usd == 0
    assert only_output.output_usd == pytest.approx(300 * price.output_per_mtok / 1e6)
    only_input = catalog.token_cost("gpt-5", 300, None)
    assert only_input.output_usd == 0
    assert only_input.input_usd == pytest.approx(300 * price.input_per_mtok / 1e6)


def test_no_counts_at_all_is_none(catalog):
    assert catalog.token_cost("gpt-5", None, None) is None
    assert catalog.token_cost("gpt-5", None, None, cached_input_tokens=10) is None


def test_reasoning_model_output_includes_reasoning_tokens(catalog):
    # output_tokens already includes reasoning tokens; nothing is added on top.
    price = catalog.entries["o3"]
    cost = catalog.token_cost("o3", 0, 5_000)
    assert cost.output_usd == pytest.approx(5_000 * price.output_per_mtok / 1e6)


def test_embedding_cost_is_input_only(catalog):
    price = catalog.entries["text-embedding-3-small"]
    cost = catalog.token_cost("text-embedding-3-small", 8_000, 0)
    assert cost.total_usd == pytest.approx(8_000 * price.input_per_mtok / 1e6)
    assert cost.output_usd == 0


def test_snapshot_costs_like_its_family(catalog):
    assert catalog.token_cost("gpt-4o-mini-2024-07-18", 1234, 567, 100) == catalog.token_cost(
        "gpt-4o-mini", 1234, 567, 100
    )


def test_speech_model_has_no_token_cost(catalog):
    assert catalog.token_cost("eleven_multilingual_v2", 100, 100) is None


# --- character cost ----------------------------------------------------------------------------


def test_character_cost(catalog):
    price = catalog.entries["eleven_multilingual_v2"]
    cost = catalog.character_cost("eleven_multilingual_v2", 2_500)
    assert cost.total_usd == pytest.approx(2_500 * price.per_kchar / 1000)
    assert cost.input_usd == cost.total_usd
    assert cost.output_usd == 0
    assert cost.source == catalog.lookup("eleven_multilingual_v2")[1]


def test_flash_is_cheaper_per_character_than_multilingual(catalog):
    flash = catalog.character_cost("eleven_flash_v2_5", 1000)
    multilingual = catalog.character_cost("eleven_multilingual_v2", 1000)
    assert flash.total_usd < multilingual.total_usd


def test_token_model_has_no_character_cost(catalog):
    assert catalog.character_cost("gpt-4o", 1000) is None


# --- user overrides ----------------------------------------------------------------------------


def test_user_file_partial_override_and_new_model(tmp_path, catalog):
    path = write_user_file(
        tmp_path,
        {
            "catalog_date": "1999-01-01",
            "models": {
                "gpt-4o": {"input_per_mtok": 1.0},
                "my-finetune": {"provider": "openai", "input_per_mtok": 3.0, "output_per_mtok": 12.0},
                "my-voice": {"per_kchar": 0.2},
            },
        },
    )
    merged = PricingCatalog.load(path)
    # catalog_date in the user file is ignored.
    assert merged.catalog_date == catalog.catalog_date

    builtin = catalog.entries["gpt-4o"]
    price, label = merged.lookup("gpt-4o")
    assert label == "override"
    assert price.input_per_mtok == 1.0
    # Fields the user did not give keep the catalog's values.
    assert price.output_per_mtok == builtin.output_per_mtok
    assert price.cached_input_per_mtok == builtin.cached_input_per_mtok
    assert price.source == builtin.source

    cost = merged.token_cost("gpt-4o-2024-08-06", 1_000_000, 0)
    assert cost.input_usd == pytest.approx(1.0)
    assert cost.source == "override"

    new_price, new_label = merged.lookup("openai/my-finetune")
    assert new_label == "override"
    assert new_price == ModelPrice(
        model="my-finetune",
        provider="openai",
        input_per_mtok=3.0,
        cached_input_per_mtok=None,
        output_per_mtok=12.0,
        per_kchar=None,
        checked=None,
        source=None,
    )
    assert merged.character_cost("my-voice", 1000) == Cost(0.2, 0.2, 0.0, "override")

    # Models the user did not touch keep the catalog label.
    assert merged.lookup("gpt-4o-mini")[1] == catalog.lookup("gpt-4o-mini")[1]


def test_user_file_accepts_path_string_and_empty_means_none(tmp_path, catalog):
    path = write_user_file(tmp_path, {"models": {}})
    assert len(PricingCatalog.load(str(path)).entries) == len(catalog.entries)
    assert len(PricingCatalog.load("").entries) == len(catalog.entries)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "problem_words"),
    [
        ({"input_per_mtok": "cheap"}, ["input_per_mtok", "must be a number"]),
        ({"input_per_mtok": True}, ["input_per_mtok", "must be a number"]),
        ({"output_per_mtok": -1}, ["output_per_mtok", "non-negative"]),
        ({"per_kchar": None}, ["per_kchar", "must be a number"]),
        ({"checked": 20261122}, ["checked", "must be a string"]),
        ({"source": ["https://example.com"]}, ["source", "must be a string"]),
        ({"checked": "22/11/2026"}, ["checked", "YYYY-MM-DD"]),
        ({"checked": "2026-13-45"}, ["checked", "YYYY-MM-DD"]),
        ({"input_price": 1.0}, ["unknown field", "input_price", "input_per_mtok", "per_kchar", "source"]),
        ("1.0", ["must be a JSON object"]),
    ],
)
def test_invalid_entry_names_file_model_and_problem(tmp_path, entry, problem_words):
    path = write_user_file(tmp_path, {"models": {"my-model": entry}})
    with pytest.raises(ConfigError) as excinfo:
        PricingCatalog.load(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert "my-model" in message
    for word in problem_words:
        assert word in message


def test_non_finite_price_is_rejected(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text('{"models": {"my-model": {"input_per_mtok": NaN}}}', encoding="utf-8")
    with pytest.raises(ConfigError, match="finite non-negative") as excinfo:
        PricingCatalog.load(path)
    assert str(path) in str(excinfo.value) and "my-model" in str(excinfo.value)


def test_upper_case_model_name_is_rejected(tmp_path):
    path = write_user_file(tmp_path, {"models": {"My-Model": {"input_per_mtok": 1.0}}})
    with pytest.raises(ConfigError, match="lower-case") as excinfo:
        PricingCatalog.load(path)
    assert str(path) in str(excinfo.value) and "My-Model" in str(excinfo.value)


def test_missing_file(tmp_path):
    path = tmp_path / "absent.json"
    with pytest.raises(ConfigError, match="file not found") as excinfo:
        PricingCatalog.load(path)
    assert str(path) in str(excinfo.value)


def test_unreadable_file(tmp_path):
    # A directory cannot be read as a file on every platform.
    with pytest.raises(ConfigError, match="cannot read") as excinfo:
        PricingCatalog.load(tmp_path)
    assert str(tmp_path) in str(excinfo.value)


def test_malformed_json_reports_line_and_column(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text('{\n  "models": {\n    "my-model": {"input_per_mtok": 1.0,}\n  }\n}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        PricingCatalog.load(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert "malformed JSON" in message
    assert "line 3" in message and "column" in message


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([{"models": {}}], "top level must be a JSON object"),
        ({"prices": {}}, "unknown top-level field"),
        ({}, "missing 'models'"),
        ({"models": []}, "'models' must be a JSON object"),
    ],
)
def test_bad_top_level_shape(tmp_path, document, problem):
    path = write_user_file(tmp_path, document)
    with pytest.raises(ConfigError) as excinfo:
        PricingCatalog.load(path)
    assert str(path) in str(excinfo.value)
    assert problem in str(excinfo.value)


def test_duplicate_model_entry_is_rejected(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(
        '{"models": {"my-model": {"input_per_mtok": 1.0}, "my-model": {"input_per_mtok": 2.0}}}',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="duplicate key") as excinfo:
        PricingCatalog.load(path)
    assert str(path) in str(excinfo.value) and "my-model" in str(excinfo.value)
