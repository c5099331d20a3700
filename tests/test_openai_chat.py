"""Chat completions through the real openai client, over real HTTP, into in-memory exporters."""

from __future__ import annotations

import openai
import pytest
from inline_snapshot import snapshot
from opentelemetry.trace import SpanKind, StatusCode

from otel_ai.pricing.catalog import PricingCatalog
from tests.conftest import API_KEY, exception_type_of, scenario
from tests.support.snapshots import span_snapshot

SECONDS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKENS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
MESSAGES = [{"role": "user", "content": "Say hello to the test suite please"}]


def expected_cost(model: str, input_tokens: int, output_tokens: int, cached: int = 0) -> float:
    price, _ = PricingCatalog.load().lookup(model)  # type: ignore[misc]
    cached_price = price.cached_input_per_mtok if price.cached_input_per_mtok is not None else price.input_per_mtok
    return (
        (input_tokens - cached) * price.input_per_mtok / 1e6
        + cached * cached_price / 1e6
        + output_tokens * price.output_per_mtok / 1e6
    )


def test_chat_span_has_semconv_name_kind_and_attributes(client, telemetry, sim):
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, top_p=0.9, max_tokens=50, seed=7,
        stop=["END"], frequency_penalty=0.1, presence_penalty=0.3,
    )

    usage = completion.usage
    # content is off by default: no gen_ai.input.* / gen_ai.output.messages; no gen_ai.system, no request.stream
    assert span_snapshot(telemetry.one_genai_span(), known={
        "server.port": sim.port,
        "gen_ai.response.id": completion.id,
        "gen_ai.response.model": completion.model,
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens,
        "openai.response.system_fingerprint": completion.system_fingerprint,
        "openai.response.service_tier": completion.service_tier,
        "otel_ai.cost.usd": pytest.approx(expected_cost("gpt-4o-mini", usage.prompt_tokens, usage.completion_tokens)),
        "otel_ai.cost.input_usd": pytest.approx(expected_cost("gpt-4o-mini", usage.prompt_tokens, 0)),
        "otel_ai.cost.output_usd": pytest.approx(expected_cost("gpt-4o-mini", 0, usage.completion_tokens)),
        "otel_ai.pricing.source": "catalog",
        "otel_ai.pricing.catalog_date": PricingCatalog.load().catalog_date,
    }) == snapshot({
        "name": "chat gpt-4o-mini",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.frequency_penalty": 0.1,
            "gen_ai.request.max_tokens": 50,
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.request.presence_penalty": 0.3,
            "gen_ai.request.seed": 7,
            "gen_ai.request.stop_sequences": ["END"],
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.response.id": "<gen_ai.response.id>",
            "gen_ai.response.model": "<gen_ai.response.model>",
            "gen_ai.usage.cache_read.input_tokens": 0,
            "gen_ai.usage.input_tokens": "<gen_ai.usage.input_tokens>",
            "gen_ai.usage.output_tokens": "<gen_ai.usage.output_tokens>",
            "gen_ai.usage.reasoning.output_tokens": 0,
            "openai.api.type": "chat_completions",
            "openai.response.service_tier": "<openai.response.service_tier>",
            "openai.response.system_fingerprint": "<openai.response.system_fingerprint>",
            "otel_ai.cost.input_usd": "<otel_ai.cost.input_usd>",
            "otel_ai.cost.output_usd": "<otel_ai.cost.output_usd>",
            "otel_ai.cost.usd": "<otel_ai.cost.usd>",
            "otel_ai.pricing.catalog_date": "<otel_ai.pricing.catalog_date>",
            "otel_ai.pricing.source": "<otel_ai.pricing.source>",
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })


def test_chat_cost_comes_from_the_catalog(client, telemetry):
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    attrs = dict(telemetry.one_genai_span().attributes)
    usage = completion.usage
    want = expected_cost("gpt-4o-mini", usage.prompt_tokens, usage.completion_tokens)
    assert attrs["otel_ai.cost.usd"] == pytest.approx(want)
    assert attrs["otel_ai.cost.input_usd"] + attrs["otel_ai.cost.output_usd"] == pytest.approx(want)
    assert attrs["otel_ai.pricing.source"] == "catalog"
    assert attrs["otel_ai.pricing.catalog_date"] == PricingCatalog.load().catalog_date
    [(labels, point)] = telemetry.points("otel_ai.client.cost")
    assert point.value == pytest.approx(want)
    assert labels == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
    }


def test_cached_and_reasoning_tokens_make_cost_cache_aware(client, telemetry):
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_headers=scenario("cached")
    )

    attrs = dict(telemetry.one_genai_span().attributes)
    cached = completion.usage.prompt_tokens_details.cached_tokens
    assert cached > 0
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == cached
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == completion.usage.completion_tokens_details.reasoning_tokens
    want = expected_cost("gpt-4o-mini", completion.usage.prompt_tokens, completion.usage.completion_tokens, cached)
    assert attrs["otel_ai.cost.usd"] == pytest.approx(want)
    assert want < expected_cost("gpt-4o-mini", completion.usage.prompt_tokens, completion.usage.completion_tokens)


def test_audio_tokens_are_recorded_and_priced_at_audio_rates(client, telemetry):
    # gpt-4o-audio-preview style usage: the details say how much of each side was audio.
    completion = client.chat.completions.create(
        model="gpt-realtime", messages=MESSAGES, extra_headers=scenario("audio_tokens")
    )

    attrs = dict(telemetry.one_genai_span().attributes)
    usage = completion.usage
    audio_in, audio_out = usage.prompt_tokens_details.audio_tokens, usage.completion_tokens_details.audio_tokens
    assert audio_in > 0 and audio_out > 0
    assert attrs["gen_ai.usage.audio.input_tokens"] == audio_in
    assert attrs["gen_ai.usage.audio.output_tokens"] == audio_out
    # gpt-realtime: text 4 / 16, audio 32 / 64 USD per 1M tokens (openai-realtime.json).
    want = ((usage.prompt_tokens - audio_in) * 4 + audio_in * 32
            + (usage.completion_tokens - audio_out) * 16 + audio_out * 64) / 1e6
    assert attrs["otel_ai.cost.usd"] == pytest.approx(want, rel=1e-12)


def test_text_calls_carry_no_audio_token_attributes(client, telemetry):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # the usage says audio_tokens: 0

    assert not {"gen_ai.usage.audio.input_tokens", "gen_ai.usage.audio.output_tokens"} & set(
        telemetry.one_genai_span().attributes)


def test_metrics_carry_semconv_attributes_and_bucket_advice(client, telemetry, sim):
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    [(labels, duration)] = telemetry.points("gen_ai.client.operation.duration")
    assert telemetry.metric("gen_ai.client.operation.duration").unit == "s"
    assert tuple(duration.explicit_bounds) == SECONDS
    assert duration.count == 1
    assert labels == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": completion.model,
        "server.address": "127.0.0.1",
        "server.port": sim.port,
        "openai.response.service_tier": completion.service_tier,  # OpenAI's conventions add it to this metric
    }
    tokens = {labels["gen_ai.token.type"]: point for labels, point in telemetry.points("gen_ai.client.token.usage")}
    assert telemetry.metric("gen_ai.client.token.usage").unit == "{token}"
    assert tuple(tokens["input"].explicit_bounds) == TOKENS
    assert tokens["input"].sum == completion.usage.prompt_tokens
    assert tokens["output"].sum == completion.usage.completion_tokens
    [(labels, requests)] = telemetry.points("otel_ai.client.requests")
    assert requests.value == 1
    assert labels["otel_ai.outcome"] == "ok"
    assert "otel_ai.error.category" not in labels


def test_http_request_is_a_child_of_the_chat_span(client, telemetry):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    chat = telemetry.one_genai_span()
    [http] = telemetry.http_spans()
    assert http.kind is SpanKind.CLIENT
    assert http.parent is not None and http.parent.span_id == chat.context.span_id
    assert http.context.trace_id == chat.context.trace_id


def test_retries_show_as_separate_http_children(sim, telemetry):
    with openai.OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=2) as retrying:
        retrying.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES,
            extra_headers=scenario("rate_limit_once", key="retry-children"),
        )

    chat = telemetry.one_genai_span()
    https = telemetry.http_spans()
    assert len(https) == 2
    assert all(h.parent.span_id == chat.context.span_id for h in https)
    statuses = sorted(
        h.attributes.get("http.response.status_code", h.attributes.get("http.status_code")) for h in https
    )
    assert statuses == [200, 429]
    assert chat.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize(
    ("name", "exc_type", "category"),
    [
        ("server_error", openai.InternalServerError, "server_error"),
        ("rate_limit", openai.RateLimitError, "rate_limit"),
        ("quota", openai.RateLimitError, "quota"),
        ("auth_error", openai.AuthenticationError, "auth"),
        ("bad_request", openai.BadRequestError, "bad_request"),
        ("content_filter", openai.BadRequestError, "content_filter"),
    ],
)
def test_http_errors_are_classified_and_pass_through_unchanged(client, telemetry, name, exc_type, category):
    with pytest.raises(exc_type) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=scenario(name))

    assert type(raised.value) is exc_type
    span = telemetry.one_genai_span()
    assert span.status.status_code is StatusCode.ERROR
    # Module-qualified like the SDK's exception.type and the official instrumentation: openai.RateLimitError
    assert span.attributes["error.type"] == f"openai.{exc_type.__name__}" == exception_type_of(span)
    assert span.attributes["otel_ai.error.category"] == category
    assert any(e.name == "exception" for e in span.events)
    [(labels, _)] = telemetry.points("otel_ai.client.requests")
    assert labels["otel_ai.outcome"] == "error"
    assert labels["otel_ai.error.category"] == category
    [(labels, _)] = telemetry.points("gen_ai.client.operation.duration")
    assert labels["error.type"] == f"openai.{exc_type.__name__}"
    assert telemetry.points("otel_ai.client.cost") == []


def test_timeout_is_classified(sim, telemetry):
    with (
        openai.OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0, timeout=0.2) as impatient,
        pytest.raises(openai.APITimeoutError),
    ):
        impatient.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers=scenario("slow", delay="1.5")
        )

    span = telemetry.one_genai_span()
    assert span.attributes["error.type"] == "openai.APITimeoutError" == exception_type_of(span)
    assert span.attributes["otel_ai.error.category"] == "timeout"


def test_malformed_json_error_passes_through(client, telemetry):
    with pytest.raises(Exception) as raised:  # whatever openai raises for an unparseable body
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=scenario("malformed"))

    span = telemetry.one_genai_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span)
    assert span.attributes["error.type"].endswith("." + type(raised.value).__qualname__)


def test_unknown_model_has_no_cost_and_warns_once(client, telemetry, capsys):
    from otel_ai import agent_warnings

    agent_warnings.reset()
    for _ in range(3):
        client.chat.completions.create(model="my-private-model", messages=MESSAGES)

    spans = telemetry.genai_spans()
    assert len(spans) == 3
    for span in spans:
        assert "otel_ai.cost.usd" not in span.attributes
        assert span.attributes["otel_ai.pricing.source"] == "unknown"
    warnings = [line for line in capsys.readouterr().err.splitlines() if "my-private-model" in line]
    assert len(warnings) == 1 and warnings[0].startswith("otel-ai: no price for model")


def test_user_pricing_file_overrides_the_catalog(sim, telemetry, tmp_path, monkeypatch):
    prices = tmp_path / "prices.json"
    prices.write_text('{"models": {"my-private-model": {"input_per_mtok": 1000000, "output_per_mtok": 2000000}}}')
    monkeypatch.setenv("OTEL_AI_PRICING_FILE", str(prices))
    telemetry.reinstrument()
    with openai.OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0) as c:
        completion = c.chat.completions.create(model="my-private-model", messages=MESSAGES)

    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.pricing.source"] == "override"
    assert attrs["otel_ai.cost.usd"] == pytest.approx(
        completion.usage.prompt_tokens * 1.0 + completion.usage.completion_tokens * 2.0
    )


async def test_async_chat_is_recorded_like_sync(aclient, telemetry, sim):
    completion = await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    span = telemetry.one_genai_span()
    usage = completion.usage
    assert span_snapshot(span, known={
        "server.port": sim.port,
        "gen_ai.response.id": completion.id,
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens,
        "otel_ai.cost.usd": pytest.approx(expected_cost("gpt-4o-mini", usage.prompt_tokens, usage.completion_tokens)),
        "otel_ai.cost.input_usd": pytest.approx(expected_cost("gpt-4o-mini", usage.prompt_tokens, 0)),
        "otel_ai.cost.output_usd": pytest.approx(expected_cost("gpt-4o-mini", 0, usage.completion_tokens)),
        "otel_ai.pricing.source": "catalog",
        "otel_ai.pricing.catalog_date": PricingCatalog.load().catalog_date,
    }) == snapshot({
        "name": "chat gpt-4o-mini",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.response.id": "<gen_ai.response.id>",
            "gen_ai.response.model": "gpt-4o-mini",
            "gen_ai.usage.cache_read.input_tokens": 0,
            "gen_ai.usage.input_tokens": "<gen_ai.usage.input_tokens>",
            "gen_ai.usage.output_tokens": "<gen_ai.usage.output_tokens>",
            "gen_ai.usage.reasoning.output_tokens": 0,
            "openai.api.type": "chat_completions",
            "openai.response.service_tier": "default",
            "openai.response.system_fingerprint": "fp_sim0a1b2c3d",
            "otel_ai.cost.input_usd": "<otel_ai.cost.input_usd>",
            "otel_ai.cost.output_usd": "<otel_ai.cost.output_usd>",
            "otel_ai.cost.usd": "<otel_ai.cost.usd>",
            "otel_ai.pricing.catalog_date": "<otel_ai.pricing.catalog_date>",
            "otel_ai.pricing.source": "<otel_ai.pricing.source>",
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })
    [http] = telemetry.http_spans()
    assert http.parent.span_id == span.context.span_id


def test_return_value_is_the_clients_own_object(client, telemetry):
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert type(completion) is openai.types.chat.ChatCompletion
    assert completion.choices[0].message.content


def test_with_raw_response_still_returns_the_raw_response(client, telemetry):
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)

    completion = raw.parse()
    assert raw.http_response.status_code == 200
    assert isinstance(completion, openai.types.chat.ChatCompletion)
    assert telemetry.one_genai_span().attributes["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens


def test_recorder_failure_never_reaches_the_app(client, telemetry, monkeypatch):
    from otel_ai.genai.recorder import GenAIRecorder

    def broken(*args, **kwargs):
        raise RuntimeError("telemetry bug")

    monkeypatch.setattr(GenAIRecorder, "_finish", broken)
    monkeypatch.setattr(GenAIRecorder, "_cost_of", broken)
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content
    # the span still ends, so no span leaks
    assert len(telemetry.genai_spans()) == 1


def test_uninstrument_removes_the_wrappers(sim, telemetry):
    from otel_ai.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().uninstrument()
    with openai.OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0) as c:
        c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert telemetry.genai_spans() == []


def test_gc_freeze_setting_freezes_once_after_the_first_call(client, telemetry, monkeypatch):
    import gc

    monkeypatch.setenv("OTEL_AI_GC_FREEZE", "true")
    telemetry.reinstrument()
    try:
        gc.unfreeze()
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # the start-up heap moved to the permanent generation
        gc.unfreeze()
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert gc.get_freeze_count() == 0  # once only
    finally:
        gc.unfreeze()


def test_gc_is_left_alone_by_default(client, telemetry):
    import gc

    gc.unfreeze()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert gc.get_freeze_count() == 0
