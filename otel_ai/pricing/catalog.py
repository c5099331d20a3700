"""Pricing catalog and cost arithmetic for GenAI calls.

Cost is computed locally from a dated catalog shipped in ``otel_ai/pricing/data/pricing.json`` so that spans
and metrics carry a USD figure without asking the provider. Users correct or extend prices with
their own JSON file (``OTEL_AI_PRICING_FILE``) of the same shape; any model touched by that file is
labelled ``override`` instead of ``catalog:<date>`` so dashboards can tell the two apart.

Catalog entry fields (all optional in a user file, so partial overrides work):

- ``provider``: provider name as in ``gen_ai.provider.name`` (``openai``, ``deepseek``, ``elevenlabs``).
- ``input_per_mtok``, ``cached_input_per_mtok``, ``output_per_mtok``: USD per 1M tokens. Input counts
  include cached tokens (OpenAI convention); the cached price falls back to the input price. Embedding
  models carry ``output_per_mtok: 0`` because they produce no output tokens.
- ``per_kchar``: USD per 1,000 characters of text sent to speech synthesis.
- ``per_hour``: USD per hour of audio, for speech-to-text models billed by duration (and speech models
  whose only list price is per minute of audio produced).
- ``per_ksearch``: USD per 1,000 searches (search units), for rerank models billed per search.
- ``per_image``: USD per image generated, by ``"<quality> <size>"`` (``"standard 1024x1024"``,
  ``"hd 1792x1024"``), for image models billed per image; a user file replaces the whole table.
- ``checked``: ISO date (YYYY-MM-DD) the price was last checked; ``source``: URL of the pricing page.
- ``note``: free text for humans; not used in arithmetic.

Everything is validated at load time (start-up) and reported as one ``ConfigError`` naming the file,
the model and the problem, because a silently wrong price is worse than a refusal to start.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, Final

from otel_ai.errors import ConfigError
from otel_ai.pricing import cost as _cost
from otel_ai.pricing.cost import Cost

__all__ = ["Cost", "ModelPrice", "PricingCatalog"]


_PRICE_FIELDS: Final = (
    "input_per_mtok", "cached_input_per_mtok", "cache_write_per_mtok", "cache_write_1h_per_mtok",
    "output_per_mtok", "per_kchar", "per_hour", "per_ksearch", "audio_input_per_mtok", "audio_output_per_mtok",
)
_TEXT_FIELDS: Final = ("provider", "checked", "source", "note")
_TABLE_FIELDS: Final = ("per_image",)  # {"<quality> <size>": USD}
# Price variants: {"above_input_tokens": N, <prices>} and {"<tier>": {<prices>, "long_context": {...}}}
_VARIANT_FIELDS: Final = ("long_context", "service_tiers")
_ALLOWED_FIELDS: Final = frozenset(_PRICE_FIELDS + _TEXT_FIELDS + _TABLE_FIELDS + _VARIANT_FIELDS)
_LONG_CONTEXT_THRESHOLD: Final = "above_input_tokens"
_ALLOWED_TOP_LEVEL: Final = frozenset(("catalog_date", "models", "local_providers"))
# Inference-profile ids on Bedrock carry a geography before the model id: "us.anthropic.claude-…".
_REGION_PREFIX: Final = re.compile(r"^(?:us|eu|apac|jp|au|ca|us-gov|global)\.(?=[a-z0-9-]+\.)")
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
# Dated snapshots: "gpt-4o-mini-2024-07-18" and "gpt-4-0613" resolve to their family's price.
_SNAPSHOT_SUFFIX: Final = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{4})$")
_OVERRIDE: Final = "override"
# Bounds the per-model-string cache; model names come from user code and could be unbounded.
_CACHE_LIMIT: Final = 4096


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Prices for one model in USD; ``None`` means the catalog does not price that dimension."""

    model: str
    provider: str | None
    input_per_mtok: float | None
    cached_input_per_mtok: float | None
    output_per_mtok: float | None
    per_kchar: float | None
    checked: str | None
    source: str | None
    per_hour: float | None = None
    cache_write_per_mtok: float | None = None  # cache writes (Anthropic's 5-minute write); falls back to input
    cache_write_1h_per_mtok: float | None = None  # 1-hour cache writes; falls back to the 5-minute write price
    audio_input_per_mtok: float | None = None  # uncached audio input tokens (Realtime); else the input price
    audio_output_per_mtok: float | None = None  # audio output tokens (Realtime); else the output price
    per_image: Mapping[str, float] | None = None  # USD per image by "<quality> <size>"
    per_ksearch: float | None = None  # USD per 1,000 searches (search units: rerank)
    # A request whose input (cache included) is over `long_context_above` tokens is billed wholly at
    # `long_context`'s prices (Anthropic's and Gemini's 200K tiers).
    long_context_above: int | None = None
    long_context: ModelPrice | None = None
    # Prices by the service tier the provider reports (OpenAI "flex"/"priority", Anthropic "batch").
    service_tiers: Mapping[str, ModelPrice] | None = None

    def variant(self, service_tier: str | None, input_tokens: int | None) -> ModelPrice:
        """The prices that apply to one call: its service tier's, then its long-context tier's."""
        price = self
        if service_tier and self.service_tiers:
            price = self.service_tiers.get(service_tier.strip().lower(), self)
        above = price.long_context_above
        if price.long_context is not None and above is not None and (input_tokens or 0) > above:
            return price.long_context
        return price


class _DuplicateKeyError(Exception):
    """Raised from the JSON object hook; JSON silently keeps the last duplicate otherwise."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, refusing duplicate keys so a user never overrides a price by accident."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _read_document(path: str, text: str) -> dict[str, Any]:
    """Parse the JSON text and check the top-level shape, naming the file in every error."""
    try:
        document = json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"pricing file {path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except _DuplicateKeyError as exc:
        raise ConfigError(
            f"pricing file {path}: duplicate key {exc.key!r}; each key may appear once"
        ) from None
    except RecursionError:
        raise ConfigError(f"pricing file {path}: JSON nested too deeply to be a pricing file") from None
    if not isinstance(document, dict):
        raise ConfigError(
            f"pricing file {path}: top level must be a JSON object with a 'models' object, "
            f"got {type(document).__name__}"
        )
    unknown = sorted(set(document) - _ALLOWED_TOP_LEVEL)
    if unknown:
        raise ConfigError(
            f"pricing file {path}: unknown top-level field(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(_ALLOWED_TOP_LEVEL))}"
        )
    if "models" not in document:
        raise ConfigError(f"pricing file {path}: missing 'models' object at the top level")
    if not isinstance(document["models"], dict):
        raise ConfigError(f"pricing file {path}: 'models' must be a JSON object mapping model name to prices")
    return document


def _valid_date(value: str) -> bool:
    """True for a real calendar date written YYYY-MM-DD."""
    if not _ISO_DATE.fullmatch(value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _validate_entry(path: str, model: str, entry: object) -> dict[str, Any]:
    """Check one model entry and return its fields with prices as floats."""
    where = f"pricing file {path}: model {model!r}"
    if not model:
        raise ConfigError(f"pricing file {path}: model name must be a non-empty string")
    if model != model.lower():
        raise ConfigError(f"{where}: model name must be lower-case (requested names are lower-cased)")
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: entry must be a JSON object, got {type(entry).__name__}")
    unknown = sorted(set(entry) - _ALLOWED_FIELDS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; "
            f"allowed fields: {', '.join(sorted(_ALLOWED_FIELDS))}"
        )
    fields: dict[str, Any] = {}
    for name, value in entry.items():
        if name in _PRICE_FIELDS:
            # bool is an int subclass; "true" as a price is a mistake, not 1 USD.
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{where}: field {name!r} must be a number (USD), got {json.dumps(value)}")
            if not math.isfinite(value) or value < 0:
                raise ConfigError(
                    f"{where}: field {name!r} must be a finite non-negative number, got {value}"
                )
            fields[name] = float(value)
        elif name in _TABLE_FIELDS:
            fields[name] = _price_table(where, name, value)
        elif name == "long_context":
            fields[name] = _long_context(where, value)
        elif name == "service_tiers":
            fields[name] = _service_tiers(where, value)
        else:
            if not isinstance(value, str):
                raise ConfigError(f"{where}: field {name!r} must be a string, got {json.dumps(value)}")
            if name == "checked" and not _valid_date(value):
                raise ConfigError(
                    f"{where}: field 'checked' must be a date in YYYY-MM-DD format, got {value!r}"
                )
            if name != "note":
                fields[name] = value
    return fields


def _prices(where: str, value: object, extra: tuple[str, ...]) -> dict[str, Any]:
    """A nested object of price fields (and the `extra` keys, checked by the caller)."""
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where}: must be a non-empty object of prices, got {json.dumps(value)}")
    allowed = _PRICE_FIELDS + extra
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; allowed fields: {', '.join(sorted(allowed))}"
        )
    fields: dict[str, Any] = {}
    for name, price in value.items():
        if name in extra:
            fields[name] = price
            continue
        if isinstance(price, bool) or not isinstance(price, (int, float)) or not math.isfinite(price) or price < 0:
            raise ConfigError(f"{where}: field {name!r} must be a finite non-negative number (USD), "
                              f"got {json.dumps(price)}")
        fields[name] = float(price)
    return fields


def _long_context(where: str, value: object) -> dict[str, Any]:
    """`long_context`: {"above_input_tokens": 200000, "input_per_mtok": 6, ...}."""
    fields = _prices(f"{where}: field 'long_context'", value, (_LONG_CONTEXT_THRESHOLD,))
    above = fields.get(_LONG_CONTEXT_THRESHOLD)
    if isinstance(above, bool) or not isinstance(above, int) or above <= 0:
        raise ConfigError(f"{where}: field 'long_context' needs {_LONG_CONTEXT_THRESHOLD!r}, a positive whole "
                          f"number of input tokens, got {json.dumps(above)}")
    return fields


def _service_tiers(where: str, value: object) -> dict[str, dict[str, Any]]:
    """`service_tiers`: {"flex": {"input_per_mtok": 0.625, ...}, "priority": {...}} by the tier's reported name."""
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where}: field 'service_tiers' must be a non-empty object of prices by tier name, "
                          f"got {json.dumps(value)}")
    tiers: dict[str, dict[str, Any]] = {}
    for tier, prices in value.items():
        here = f"{where}: service tier {tier!r}"
        fields = _prices(here, prices, ("long_context",))
        if "long_context" in fields:
            fields["long_context"] = _long_context(here, fields["long_context"])
        tiers[tier.strip().lower()] = fields
    return tiers


def _price_table(where: str, name: str, value: object) -> Mapping[str, float]:
    """A table of prices by variant (`per_image`: {"standard 1024x1024": 0.04}), read-only once loaded."""
    if not isinstance(value, dict) or not value:
        raise ConfigError(
            f"{where}: field {name!r} must be a non-empty object of prices by variant, got {json.dumps(value)}"
        )
    table: dict[str, float] = {}
    for variant, price in value.items():
        if isinstance(price, bool) or not isinstance(price, (int, float)) or not math.isfinite(price) or price < 0:
            raise ConfigError(
                f"{where}: field {name!r}: price of {variant!r} must be a finite non-negative number (USD), "
                f"got {json.dumps(price)}"
            )
        table[variant.strip().lower()] = float(price)
    return MappingProxyType(table)


def _parse_models(path: str, document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Validate every entry under ``models``; the built-in catalog and user files share this code."""
    models: dict[str, Any] = document["models"]
    return {model: _validate_entry(path, model, entry) for model, entry in models.items()}


def _price_from_fields(model: str, fields: Mapping[str, Any]) -> ModelPrice:
    """Build a ModelPrice, leaving absent fields as None."""
    price = ModelPrice(
        model=model,
        provider=fields.get("provider"),
        input_per_mtok=fields.get("input_per_mtok"),
        cached_input_per_mtok=fields.get("cached_input_per_mtok"),
        output_per_mtok=fields.get("output_per_mtok"),
        per_kchar=fields.get("per_kchar"),
        checked=fields.get("checked"),
        source=fields.get("source"),
        per_hour=fields.get("per_hour"),
        cache_write_per_mtok=fields.get("cache_write_per_mtok"),
        cache_write_1h_per_mtok=fields.get("cache_write_1h_per_mtok"),
        audio_input_per_mtok=fields.get("audio_input_per_mtok"),
        audio_output_per_mtok=fields.get("audio_output_per_mtok"),
        per_image=fields.get("per_image"),
        per_ksearch=fields.get("per_ksearch"),
    )
    return _with_variants(price, fields)


def _with_variants(price: ModelPrice, fields: Mapping[str, Any]) -> ModelPrice:
    """Attach the long-context and service-tier prices of `fields`; each falls back to `price` per field."""
    long_context = fields.get("long_context")
    tiers = fields.get("service_tiers")
    if long_context is None and tiers is None:
        return price  # most models: no variant to build
    plain = dataclasses.replace(price, long_context_above=None, long_context=None, service_tiers=None)
    if long_context is not None:
        prices = {k: v for k, v in long_context.items() if k != _LONG_CONTEXT_THRESHOLD}
        price = dataclasses.replace(price, long_context_above=long_context[_LONG_CONTEXT_THRESHOLD],
                                    long_context=dataclasses.replace(plain, **prices))
    if tiers is not None:
        built = {name: _with_variants(dataclasses.replace(plain, **{k: v for k, v in tier.items()
                                                                     if k != "long_context"}), tier)
                 for name, tier in tiers.items()}
        price = dataclasses.replace(price, service_tiers=MappingProxyType(built))
    return price


def _local_providers(path: str, document: Mapping[str, Any]) -> frozenset[str]:
    """`local_providers`: providers whose models run on the user's own hardware (a known zero cost)."""
    value = document.get("local_providers", [])
    if not isinstance(value, list) or not all(isinstance(name, str) and name for name in value):
        raise ConfigError(f"pricing file {path}: 'local_providers' must be a list of provider names")
    return frozenset(value)


class _Builtin:
    """The catalog shipped in the package: `data/pricing.json` plus one file per provider (`data/*.json`)."""

    __slots__ = ("catalog_date", "local_providers", "models")

    def __init__(self) -> None:
        self.catalog_date = ""
        self.models: dict[str, tuple[dict[str, Any], str]] = {}  # model -> (fields, catalog date)
        self.local_providers: frozenset[str] = frozenset()


def _load_builtin() -> _Builtin:
    """Read and validate every file of the built-in catalog; a model priced in two files is an error."""
    folder = resources.files("otel_ai.pricing") / "data"
    found = _Builtin()
    owner: dict[str, str] = {}
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".json"))
    for name in ["pricing.json", *(n for n in names if n != "pricing.json")]:
        resource = folder / name
        path = str(resource)
        try:
            text = resource.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"pricing file {path}: cannot read built-in catalog: {exc}") from None
        document = _read_document(path, text)
        catalog_date = document.get("catalog_date")
        if not isinstance(catalog_date, str) or not _valid_date(catalog_date):
            raise ConfigError(f"pricing file {path}: 'catalog_date' must be a date in YYYY-MM-DD format")
        for model, fields in _parse_models(path, document).items():
            if model in owner:
                raise ConfigError(f"pricing file {path}: model {model!r} is already priced in {owner[model]}")
            owner[model] = name
            found.models[model] = (fields, catalog_date)
        found.local_providers |= _local_providers(path, document)
        found.catalog_date = max(found.catalog_date, catalog_date)
    return found


def _load_user(user_file: str | os.PathLike[str]) -> tuple[frozenset[str], dict[str, dict[str, Any]]]:
    """Read and validate a user pricing file; its ``catalog_date`` is ignored."""
    path = os.fspath(user_file)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(f"pricing file {path}: file not found (set by OTEL_AI_PRICING_FILE)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"pricing file {path}: cannot read file: {exc}") from None
    document = _read_document(path, text)
    return _local_providers(path, document), _parse_models(path, document)


class PricingCatalog:
    """Model prices merged from the built-in catalog and an optional user file, with cached lookups."""

    __slots__ = ("_cache", "_prices", "_user_pages", "catalog_date", "local_providers", "overrides")

    catalog_date: str  # the newest date of the built-in files
    overrides: int  # models priced (added or changed) by the user's file
    local_providers: frozenset[str]  # their unpriced models cost a known zero (`otel_ai.pricing.source=local`)

    def __init__(
        self,
        catalog_date: str,
        prices: Mapping[str, tuple[ModelPrice, str]],
        overrides: int = 0,
        local_providers: frozenset[str] = frozenset(),
        user_pages: Mapping[str, str | None] | None = None,
    ) -> None:
        self.catalog_date = catalog_date
        self._user_pages = dict(user_pages or {})  # the `source` each model of the user's file gave (or None)
        self.overrides = overrides
        self.local_providers = local_providers
        self._prices: dict[str, tuple[ModelPrice, str]] = dict(prices)
        self._cache: dict[str, tuple[ModelPrice, str] | None] = {}

    @classmethod
    def load(cls, user_file: str | os.PathLike[str] | None = None) -> PricingCatalog:
        """Load the built-in catalog and merge the user's file over it (empty path means none)."""
        builtin = _load_builtin()
        prices = {
            model: (_price_from_fields(model, fields), f"catalog:{date}")
            for model, (fields, date) in builtin.models.items()
        }
        local = builtin.local_providers
        user: dict[str, dict[str, Any]] = {}
        if user_file is not None and os.fspath(user_file) != "":
            user_local, user = _load_user(user_file)
            local |= user_local
            for model, fields in user.items():
                known = prices.get(model)
                if known is None:
                    price = _price_from_fields(model, fields)
                else:
                    # Partial override: only the fields the user gave replace catalog values.
                    plain = {k: v for k, v in fields.items() if k not in _VARIANT_FIELDS}
                    price = _with_variants(dataclasses.replace(known[0], **plain), fields)
                prices[model] = (price, _OVERRIDE)
        pages = {model: fields.get("source") for model, fields in user.items()}
        return cls(builtin.catalog_date, prices, len(user), local, pages)

    @property
    def entries(self) -> Mapping[str, ModelPrice]:
        """Read-only view of every priced model, for inspection and tests."""
        return MappingProxyType({model: price for model, (price, _) in self._prices.items()})

    def sources(self) -> list[tuple[str, str, int, tuple[str, ...]]]:
        """Where the prices come from, for `otel-ai check`: (label, provider, models, source pages) per
        catalog date and provider, then one row per model of the user's file (its page, if it gave one)."""
        groups: dict[tuple[str, str], tuple[int, set[str]]] = {}
        rows: list[tuple[str, str, int, tuple[str, ...]]] = []
        for model, (price, label) in sorted(self._prices.items()):
            if label == _OVERRIDE:
                page = self._user_pages.get(model)
                rows.append((label, model, 1, (page,) if page else ()))
                continue
            count, pages = groups.get((label, price.provider or ""), (0, set()))
            if price.source:
                pages.add(price.source)
            groups[(label, price.provider or "")] = (count + 1, pages)
        catalog = [(label, provider, count, tuple(sorted(pages)))
                   for (label, provider), (count, pages) in sorted(groups.items())]
        return catalog + rows

    def lookup(self, model: str) -> tuple[ModelPrice, str] | None:
        """Return (price, source label) for a model name, resolving snapshots and provider prefixes."""
        try:
            return self._cache[model]
        except KeyError:
            pass
        result = self._resolve(model)
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[model] = result
        return result

    def provider_of(self, model: str) -> str | None:
        """The provider a model's price belongs to, or None if unpriced or not stated."""
        found = self.lookup(model)
        return found[0].provider if found is not None else None

    def _resolve(self, model: str) -> tuple[ModelPrice, str] | None:
        """Uncached lookup: exact name, then without provider prefix, then the snapshot's family."""
        name = model.strip().lower()
        found = self._prices.get(name)
        if found is not None:
            return found
        if "/" in name:
            name = name.rsplit("/", 1)[1]
            found = self._prices.get(name)
            if found is not None:
                return found
        family = _SNAPSHOT_SUFFIX.sub("", name)
        if family != name and family:
            return self._prices.get(family)
        regional = _REGION_PREFIX.sub("", name)
        if regional != name:
            return self._resolve(regional)
        return None

    def cost(
        self,
        model: str,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_input_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        cache_write_1h_tokens: int | None = None,
        audio_input_tokens: int | None = None,
        audio_output_tokens: int | None = None,
        characters: int | None = None,
        audio_seconds: float | None = None,
        images: int | None = None,
        image_kind: str | None = None,
        search_units: int | None = None,
        source: str | None = None,
        service_tier: str | None = None,
    ) -> Cost | None:
        """The cost of one call from whatever it is billed on; None if unpriced or nothing was reported.

        Search units are priced first where the model has a per-search price (a rerank model is billed
        per search, whatever tokens it also reports); tokens are priced when reported; otherwise
        characters (speech synthesis) where the model has a per-character price, otherwise audio
        seconds (transcription; speech priced per minute), otherwise images by their "<quality> <size>".
        `source` replaces the catalog's label (e.g. ``header``). `service_tier` (as the provider reported
        it) and the input count pick the service-tier and long-context prices where the model has them.
        """
        found = self.lookup(model)
        if found is None:
            return None
        price, label = found
        price = price.variant(service_tier, input_tokens)
        label = source or label
        if search_units is not None and price.per_ksearch is not None:
            return _cost.searches(price, label, search_units)
        if input_tokens is not None or output_tokens is not None:
            return _cost.tokens(
                price, label, input_tokens, output_tokens, cached_input_tokens,
                cache_write_tokens, cache_write_1h_tokens, audio_input_tokens, audio_output_tokens,
            )
        if characters is not None and price.per_kchar is not None:
            return _cost.characters(price, label, characters)
        if audio_seconds is not None and price.per_hour is not None:
            return _cost.audio(price, label, audio_seconds)
        if images is not None:
            return _cost.images(price, label, images, image_kind)
        return None

    def token_cost(
        self,
        model: str,
        input_tokens: int | None,
        output_tokens: int | None,
        cached_input_tokens: int | None = None,
    ) -> Cost | None:
        """Cache-aware cost of a token-billed call; None if unpriced or no usage was reported."""
        if input_tokens is None and output_tokens is None:
            return None
        return self.cost(
            model, input_tokens=input_tokens, output_tokens=output_tokens, cached_input_tokens=cached_input_tokens
        )

    def character_cost(self, model: str, characters: int) -> Cost | None:
        """Cost of speech synthesis billed per character; None if the model has no per-character price."""
        return self.cost(model, characters=characters)

    def audio_duration_cost(self, model: str, seconds: float) -> Cost | None:
        """Cost of speech-to-text billed per hour of audio; None if the model has no per-hour price."""
        return self.cost(model, audio_seconds=seconds)
