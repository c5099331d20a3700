"""Cost arithmetic and catalog loading, exactly: the gaps mutation testing found (docs/mutation.md).

Prices here are chosen so that every expected figure is an exact binary float, so the tests compare
with `==` and a wrong divisor (1e6 vs 1000001) or a wrong starting value cannot hide in a tolerance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from otel_ai.errors import ConfigError
from otel_ai.pricing import catalog as catalog_module
from otel_ai.pricing import cost as cost_module
from otel_ai.pricing.catalog import Cost, ModelPrice, PricingCatalog

SOURCE = "catalog:2026-01-01"


def price(**fields: Any) -> ModelPrice:
    values: dict[str, Any] = {
        "model": "m", "provider": None, "input_per_mtok": None, "cached_input_per_mtok": None,
        "output_per_mtok": None, "per_kchar": None, "checked": None, "source": None, "per_hour": None,
    }
    values.update(fields)
    return ModelPrice(**values)


def write_user_file(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def catalog() -> PricingCatalog:
    return PricingCatalog.load()


# --- token arithmetic ----------------------------------------------------------------------------


def test_token_cost_is_exact_per_million_with_cached_input_at_its_own_price():
    p = price(input_per_mtok=2.5, cached_input_per_mtok=1.25, output_per_mtok=10.0)
    # 600k uncached at 2.5 + 400k cached at 1.25 = 1.5 + 0.5; 500k output at 10 = 5.
    assert cost_module.tokens(p, SOURCE, 1_000_000, 500_000, 400_000) == Cost(7.0, 2.0, 5.0, SOURCE)


def test_input_only_price_bills_input_and_no_output():
    p = price(input_per_mtok=1.0)
    assert cost_module.tokens(p, SOURCE, 2_000_000, 300, None) == Cost(2.0, 2.0, 0.0, SOURCE)


def test_output_only_price_bills_output_and_no_input():
    p = price(output_per_mtok=4.0)
    assert cost_module.tokens(p, SOURCE, 1000, 1_000_000, None) == Cost(4.0, 0.0, 4.0, SOURCE)


def test_no_token_price_at_all_is_no_cost():
    assert cost_module.tokens(price(per_kchar=0.1), SOURCE, 10, 10, None) is None


def test_negative_counts_never_make_a_negative_cost():
    p = price(input_per_mtok=1.0, output_per_mtok=1.0)
    assert cost_module.tokens(p, SOURCE, -5, -5, -5) == Cost(0.0, 0.0, 0.0, SOURCE)


# --- characters and audio ------------------------------------------------------------------------


def test_character_cost_is_exact_per_thousand():
    assert cost_module.characters(price(per_kchar=0.25), SOURCE, 2000) == Cost(0.5, 0.5, 0.0, SOURCE)


def test_zero_or_negative_characters_cost_nothing():
    p = price(per_kchar=0.25)
    assert cost_module.characters(p, SOURCE, 0) == Cost(0.0, 0.0, 0.0, SOURCE)
    assert cost_module.characters(p, SOURCE, -10) == Cost(0.0, 0.0, 0.0, SOURCE)


def test_audio_cost_is_exact_per_hour():
    assert cost_module.audio(price(per_hour=4.0), SOURCE, 900) == Cost(1.0, 1.0, 0.0, SOURCE)


def test_zero_or_negative_audio_costs_nothing():
    p = price(per_hour=4.0)
    assert cost_module.audio(p, SOURCE, 0.0) == Cost(0.0, 0.0, 0.0, SOURCE)
    assert cost_module.audio(p, SOURCE, -3.0) == Cost(0.0, 0.0, 0.0, SOURCE)


def test_catalog_audio_cost_carries_the_catalog_label(catalog):
    per_hour = catalog.entries["scribe_v1"].per_hour
    assert per_hour is not None
    expected = 1800 * per_hour / 3600
    assert catalog.audio_duration_cost("scribe_v1", 1800) == Cost(
        expected, expected, 0.0, catalog.lookup("scribe_v1")[1]
    )


def test_provider_reported_source_replaces_the_label_for_audio(catalog):
    cost = catalog.cost("scribe_v1", audio_seconds=3600, source="header")
    assert cost is not None and cost.source == "header"


# --- the loaded catalog --------------------------------------------------------------------------


def test_every_entry_knows_its_own_model_name():
    # Loaded here, not through the module-scoped fixture, so that this test exercises `load` itself.
    for name, entry in PricingCatalog.load().entries.items():
        assert entry.model == name


def test_bounded_lookup_cache_holds_exactly_its_limit_and_still_answers(catalog):
    fresh = PricingCatalog.load()
    limit = catalog_module._CACHE_LIMIT
    for i in range(limit + 10):
        assert fresh.lookup(f"unknown-model-{i}") is None
    assert len(fresh._cache) == limit
    # Beyond the limit lookups are resolved uncached, with the same answers.
    assert fresh.lookup("gpt-4o-mini-2024-07-18") == catalog.lookup("gpt-4o-mini")


# --- user files ----------------------------------------------------------------------------------


def test_new_model_keeps_every_text_field_and_its_hourly_price(tmp_path):
    path = write_user_file(
        tmp_path,
        {"models": {"my-stt": {
            "provider": "acme", "per_hour": 0.5, "checked": "2026-01-02", "source": "https://acme.example/prices",
        }}},
    )
    assert PricingCatalog.load(path).entries["my-stt"] == price(
        model="my-stt", provider="acme", per_hour=0.5, checked="2026-01-02", source="https://acme.example/prices",
    )


def test_note_is_accepted_on_an_override_and_never_stored(tmp_path, catalog):
    # A note on a partial override must not reach dataclasses.replace (ModelPrice has no `note`).
    path = write_user_file(
        tmp_path, {"models": {"gpt-4o": {"input_per_mtok": 1.0, "note": "negotiated rate"}}}
    )
    merged = PricingCatalog.load(path)
    assert merged.entries["gpt-4o"] == price(**{
        **{f: getattr(catalog.entries["gpt-4o"], f) for f in ModelPrice.__dataclass_fields__},
        "input_per_mtok": 1.0,
    })


# --- error messages name the problem exactly --------------------------------------------------------


def load_error(path: Path | None) -> str:
    with pytest.raises(ConfigError) as excinfo:
        PricingCatalog.load(path)
    return str(excinfo.value)


def test_top_level_of_the_wrong_type_names_the_type(tmp_path):
    path = write_user_file(tmp_path, ["models"])
    assert load_error(path) == (
        f"pricing file {path}: top level must be a JSON object with a 'models' object, got list"
    )


def test_unknown_top_level_fields_are_listed_with_the_allowed_ones(tmp_path):
    path = write_user_file(tmp_path, {"models": {}, "prices": {}, "extra": 1})
    assert load_error(path) == (
        f"pricing file {path}: unknown top-level field(s) 'extra', 'prices'; "
        "allowed: catalog_date, local_providers, models"
    )


def test_empty_model_name_is_rejected_with_its_own_message(tmp_path):
    path = write_user_file(tmp_path, {"models": {"": {"input_per_mtok": 1.0}}})
    assert load_error(path) == f"pricing file {path}: model name must be a non-empty string"


def test_entry_of_the_wrong_type_names_the_type(tmp_path):
    path = write_user_file(tmp_path, {"models": {"m": [1.0]}})
    assert load_error(path) == f"pricing file {path}: model 'm': entry must be a JSON object, got list"


def test_unknown_entry_fields_are_listed_with_the_allowed_ones(tmp_path):
    path = write_user_file(tmp_path, {"models": {"m": {"price": 1, "cost": 2}}})
    assert load_error(path) == (
        f"pricing file {path}: model 'm': unknown field(s) 'cost', 'price'; allowed fields: "
        "audio_input_per_mtok, audio_output_per_mtok, "
        "cache_write_1h_per_mtok, cache_write_per_mtok, cached_input_per_mtok, checked, input_per_mtok, "
        "long_context, note, output_per_mtok, per_hour, per_image, per_kchar, per_ksearch, provider, "
        "service_tiers, source"
    )


def test_non_numeric_price_is_quoted_as_json(tmp_path):
    path = write_user_file(tmp_path, {"models": {"m": {"input_per_mtok": "cheap"}}})
    assert load_error(path) == (
        f"pricing file {path}: model 'm': field 'input_per_mtok' must be a number (USD), got \"cheap\""
    )


def test_non_string_text_field_is_quoted_as_json(tmp_path):
    path = write_user_file(tmp_path, {"models": {"m": {"source": ["https://x"]}}})
    assert load_error(path) == (
        f"pricing file {path}: model 'm': field 'source' must be a string, got [\"https://x\"]"
    )


# --- the built-in catalog fails as loudly as a user file ------------------------------------------


@pytest.fixture
def builtin_dir(tmp_path, monkeypatch) -> Path:
    """Point the built-in catalog at tmp_path/data/pricing.json (written by the test)."""
    (tmp_path / "data").mkdir()
    monkeypatch.setattr("otel_ai.pricing.catalog.resources.files", lambda package: tmp_path)
    return tmp_path / "data" / "pricing.json"


def test_unreadable_builtin_catalog_names_the_file(builtin_dir):
    # The file is absent: reading it fails.
    message = load_error(None)
    assert message.startswith(f"pricing file {builtin_dir}: cannot read built-in catalog: ")


def test_malformed_builtin_catalog_names_the_file(builtin_dir):
    builtin_dir.write_text("{", encoding="utf-8")
    assert load_error(None).startswith(f"pricing file {builtin_dir}: malformed JSON")


@pytest.mark.parametrize("catalog_date", ["2026-13-01", "2026-1-1", 20260101, None])
def test_builtin_catalog_date_must_be_a_real_iso_date(builtin_dir, catalog_date):
    builtin_dir.write_text(json.dumps({"catalog_date": catalog_date, "models": {}}), encoding="utf-8")
    assert load_error(None) == (
        f"pricing file {builtin_dir}: 'catalog_date' must be a date in YYYY-MM-DD format"
    )


# --- files are read as UTF-8 whatever the locale ------------------------------------------------------


ROOT = Path(__file__).resolve().parents[1]
NOTE = "Preis f\u00fcr K\u00f6ln \u2013 gepr\u00fcft"  # not ASCII
# Runs under an ASCII locale; argv[1] is a user file, argv[2] a directory holding data/pricing.json.
ASCII_LOCALE_SCRIPT = """
import codecs
import locale
import sys
assert codecs.lookup(locale.getpreferredencoding(False)).name == "ascii", locale.getpreferredencoding(False)
from pathlib import Path
from otel_ai.pricing import catalog
assert catalog.PricingCatalog.load(sys.argv[1]).entries["m"].input_per_mtok == 1.0
catalog.resources.files = lambda package: Path(sys.argv[2])
assert catalog.PricingCatalog.load().entries["m"].input_per_mtok == 1.0
print("ok")
"""


def test_pricing_files_are_read_as_utf8_under_an_ascii_locale(tmp_path, builtin_dir):
    document = json.dumps({"catalog_date": "2026-01-01", "models": {"m": {"input_per_mtok": 1, "note": NOTE}}},
                          ensure_ascii=False)
    user_file = tmp_path / "user.json"
    for path in (user_file, builtin_dir):
        path.write_text(document, encoding="utf-8")
    # In this process (whatever its locale) both load ...
    assert PricingCatalog.load(user_file).entries["m"].input_per_mtok == 1.0
    # ... and in one whose locale encoding is ASCII, where a plain open() would fail on the note.
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", ASCII_LOCALE_SCRIPT, str(user_file), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr


# -- per image (image models billed per image by quality and size) ------------------------------------


def test_images_are_priced_per_image_of_their_kind_as_output():
    p = price(per_image={"standard 1024x1024": 0.04, "hd 1792x1024": 0.12})
    three = cost_module.images(p, SOURCE, 3, "HD 1792x1024")
    assert three == Cost(pytest.approx(0.36), 0.0, pytest.approx(0.36), SOURCE)
    assert cost_module.images(p, SOURCE, 1, "standard 512x512") is None  # a size the table does not list
    assert cost_module.images(p, SOURCE, 1, None) is None
    assert cost_module.images(price(), SOURCE, 1, "standard 1024x1024") is None


def test_catalog_prices_images_only_when_nothing_else_is_billed(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"models": {
        "img": {"per_image": {"standard 1024x1024": 0.5}, "input_per_mtok": 1.0, "output_per_mtok": 2.0},
    }}), encoding="utf-8")
    merged = PricingCatalog.load(path)
    assert merged.cost("img", images=2, image_kind="standard 1024x1024") == Cost(1.0, 0.0, 1.0, "override")
    tokens = merged.cost("img", input_tokens=1_000_000, images=2, image_kind="standard 1024x1024")
    assert tokens is not None and tokens.total_usd == pytest.approx(1.0)  # tokens reported: billed on tokens


def test_characters_fall_through_to_audio_seconds_without_a_per_character_price(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"models": {"tts": {"per_hour": 0.9}}}), encoding="utf-8")
    merged = PricingCatalog.load(path)
    assert merged.cost("tts", characters=100, audio_seconds=60.0) == Cost(
        pytest.approx(0.015), pytest.approx(0.015), 0.0, "override"
    )
    assert merged.cost("tts", characters=100) is None


@pytest.mark.parametrize(("table", "words"), [
    ([0.1], ["per_image", "non-empty object"]),
    ({}, ["per_image", "non-empty object"]),
    ({"standard 1024x1024": -1}, ["standard 1024x1024", "non-negative"]),
    ({"hd 1024x1024": "cheap"}, ["hd 1024x1024", '"cheap"']),
])
def test_a_bad_per_image_table_is_refused_naming_the_variant(tmp_path, table, words):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"models": {"img": {"per_image": table}}}), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        PricingCatalog.load(path)
    assert all(word in str(caught.value) for word in words), str(caught.value)


def test_builtin_image_prices_by_quality_and_size():
    catalog = PricingCatalog.load()
    assert catalog.cost("dall-e-3", images=1, image_kind="hd 1024x1792") == Cost(
        0.12, 0.0, 0.12, catalog.lookup("dall-e-3")[1]
    )
    assert catalog.cost("dall-e-2", images=4, image_kind="standard 256x256").total_usd == pytest.approx(0.064)


def test_audio_tokens_are_priced_at_their_own_rates():
    """Realtime models: uncached audio in and audio out at the audio rates, the rest at the text rates."""
    from otel_ai.pricing.catalog import PricingCatalog

    catalog = PricingCatalog.load()
    cost = catalog.cost("gpt-realtime", input_tokens=1000, output_tokens=500, cached_input_tokens=100,
                        audio_input_tokens=600, audio_output_tokens=400)
    assert cost is not None
    # text in 300 * 4.00 + cached 100 * 0.40 + audio in 600 * 32.00; text out 100 * 16.00 + audio out 400 * 64.00
    assert cost.input_usd == (300 * 4.0 + 600 * 32.0 + 100 * 0.4) / 1e6 == 0.02044
    assert cost.output_usd == (400 * 64.0 + 100 * 16.0) / 1e6 == 0.0272
    # a model without audio rates prices the audio tokens as text
    plain = catalog.cost("gpt-4o", input_tokens=1000, output_tokens=500, audio_input_tokens=600,
                         audio_output_tokens=400)
    same = catalog.cost("gpt-4o", input_tokens=1000, output_tokens=500)
    assert plain == same
    # more audio than input (bad usage data) never yields more than the input
    odd = catalog.cost("gpt-realtime", input_tokens=10, output_tokens=0, audio_input_tokens=50)
    assert odd is not None and odd.input_usd == 10 * 32.0 / 1e6


def test_cache_writes_are_billed_at_their_own_prices_five_minute_and_one_hour_apart():
    p = price(input_per_mtok=2.0, cached_input_per_mtok=0.5, output_per_mtok=8.0,
              cache_write_per_mtok=3.0, cache_write_1h_per_mtok=4.0)
    cost = cost_module.tokens(p, "s", 1_000_000, 0, 100_000, cache_write_tokens=200_000, cache_write_1h_tokens=50_000)
    assert cost is not None
    # 700k uncached at 2.0, 100k read at 0.5, 150k written for 5 minutes at 3.0, 50k for an hour at 4.0
    assert cost.input_usd == pytest.approx(1.4 + 0.05 + 0.45 + 0.2, rel=1e-12)


def test_without_cache_writes_the_write_prices_change_nothing():
    p = price(input_per_mtok=2.0, output_per_mtok=8.0, cache_write_per_mtok=3.0, cache_write_1h_per_mtok=4.0)
    cost = cost_module.tokens(p, "s", 1000, 10, None)
    assert cost is not None
    assert (cost.input_usd, cost.output_usd) == (pytest.approx(0.002, rel=1e-12), pytest.approx(0.00008, rel=1e-12))
