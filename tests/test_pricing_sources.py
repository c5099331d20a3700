"""Where a call's price comes from (`otel_ai.pricing.source`): a cost the provider reports beats the catalog.

The real openai client, over real HTTP, against the simulator's gateway scenarios: `openrouter` (the
body's `usage.cost`, also in a stream's last chunk), `openrouter_byok` (the fee plus the upstream
provider's cost) and `litellm` (the `x-litellm-response-cost` header). Costs are compared to the digit.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from otel_ai import agent_warnings
from otel_ai.pricing.catalog import PricingCatalog
from otel_ai.testing.simulator import GATEWAY_PRICES, LITELLM_COST_HEADER
from tests.conftest import Telemetry, scenario

MESSAGES = [{"role": "user", "content": "Say hello to the test suite please"}]
UNKNOWN_MODEL = "acme/house-model-7"  # no catalog knows it
COST = "0.000123456"  # what the gateway reports, as a decimal


def catalog_label() -> str:
    return "catalog"  # the date goes apart, in otel_ai.pricing.catalog_date


def cost_points(telemetry: Telemetry) -> list[float]:
    return [point.value for _, point in telemetry.points("otel_ai.client.cost")]


def assert_provider_cost(telemetry: Telemetry, usd: float) -> None:
    attrs = dict(telemetry.one_genai_span().attributes or {})
    assert attrs["otel_ai.cost.usd"] == usd
    assert attrs["otel_ai.pricing.source"] == "provider"
    # a total only: the provider did not say how it splits, so no parts are made up
    assert "otel_ai.cost.input_usd" not in attrs and "otel_ai.cost.output_usd" not in attrs
    assert cost_points(telemetry) == [usd]


# -- OpenRouter: usage.cost in the body ------------------------------------------------------------


def test_openrouter_cost_prices_a_model_no_catalog_knows(client, telemetry):
    warned = agent_warnings.counts().get("pricing.unknown_model", 0)
    completion = client.chat.completions.create(
        model=UNKNOWN_MODEL, messages=MESSAGES, extra_headers=scenario("openrouter", cost=COST),
    )
    assert completion.usage.cost == 0.000123456  # what the caller gets is the provider's body, untouched
    assert_provider_cost(telemetry, 0.000123456)
    assert agent_warnings.counts().get("pricing.unknown_model", 0) == warned  # priced: nothing to warn about


def test_openrouter_cost_wins_over_the_catalog_price(client, telemetry):
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_headers=scenario("openrouter", cost=COST),
    )
    price, _ = PricingCatalog.load().lookup("gpt-4o-mini")  # type: ignore[misc]
    usage = completion.usage
    listed = (usage.prompt_tokens * price.input_per_mtok + usage.completion_tokens * price.output_per_mtok) / 1e6
    assert listed != 0.000123456
    assert_provider_cost(telemetry, 0.000123456)


def test_openrouter_default_cost_is_the_gateway_price(client, telemetry):
    completion = client.chat.completions.create(model=UNKNOWN_MODEL, messages=MESSAGES,
                                                extra_headers=scenario("openrouter"))
    usage = completion.usage
    expected = (usage.prompt_tokens * GATEWAY_PRICES[0] + usage.completion_tokens * GATEWAY_PRICES[1]) / 1e6
    assert usage.cost == expected
    assert_provider_cost(telemetry, expected)


def test_openrouter_stream_takes_the_cost_from_the_last_chunk(client, telemetry):
    # OpenRouter sends the usage chunk whether or not stream_options asks for it
    stream = client.chat.completions.create(
        model=UNKNOWN_MODEL, messages=MESSAGES, stream=True, extra_headers=scenario("openrouter", cost=COST),
    )
    chunks = list(stream)
    assert chunks[-1].usage.cost == 0.000123456
    assert_provider_cost(telemetry, 0.000123456)


async def test_openrouter_async_call_and_stream(aclient, telemetry):
    await aclient.chat.completions.create(model=UNKNOWN_MODEL, messages=MESSAGES,
                                          extra_headers=scenario("openrouter", cost="0.25"))
    stream = await aclient.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True},
        extra_headers=scenario("openrouter", cost="0.0000031"),
    )
    async for _ in stream:
        pass
    costs = sorted(s.attributes["otel_ai.cost.usd"] for s in telemetry.genai_spans())  # type: ignore[index]
    assert costs == [0.0000031, 0.25]
    assert {s.attributes["otel_ai.pricing.source"] for s in telemetry.genai_spans()} == {"provider"}  # type: ignore[index]
    assert sorted(cost_points(telemetry)) == [0.0000031, 0.25]  # one series per model


def test_openrouter_byok_cost_is_the_fee_plus_the_upstream_cost(client, telemetry):
    completion = client.chat.completions.create(
        model=UNKNOWN_MODEL, messages=MESSAGES, extra_headers=scenario("openrouter_byok", cost="0.002"),
    )
    usage = completion.usage
    assert usage.is_byok is True and usage.cost == 0.002 * 0.05  # OpenRouter's fee only
    assert_provider_cost(telemetry, 0.002 * 0.05 + 0.002)


def test_openrouter_responses_api(client, telemetry):
    client.responses.create(model=UNKNOWN_MODEL, input="Say hello", extra_headers=scenario("openrouter", cost=COST))
    assert_provider_cost(telemetry, 0.000123456)


def test_openrouter_responses_stream(client, telemetry):
    stream = client.responses.create(model=UNKNOWN_MODEL, input="Say hello", stream=True,
                                     extra_headers=scenario("openrouter", cost=COST))
    events = list(stream)
    assert events[-1].response.usage.cost == 0.000123456
    assert_provider_cost(telemetry, 0.000123456)


# -- LiteLLM proxy: the x-litellm-response-cost header -----------------------------------------------


def test_litellm_header_prices_a_model_no_catalog_knows(client, telemetry, sim):
    completion = client.chat.completions.create(
        model=UNKNOWN_MODEL, messages=MESSAGES, extra_headers=scenario("litellm", cost=COST),
    )
    assert completion.choices[0].message.content  # the caller's completion as usual
    assert_provider_cost(telemetry, 0.000123456)


def test_litellm_header_wins_over_the_catalog_price(client, telemetry):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                   extra_headers=scenario("litellm", cost="0.5"))
    assert_provider_cost(telemetry, 0.5)


def test_litellm_header_on_embeddings_and_responses(client, telemetry):
    client.embeddings.create(model="text-embedding-3-small", input="hello",
                             extra_headers=scenario("litellm", cost="0.0000002"))
    client.responses.create(model=UNKNOWN_MODEL, input="Say hello", extra_headers=scenario("litellm", cost=COST))
    spans = telemetry.genai_spans()
    assert [(s.attributes["otel_ai.cost.usd"], s.attributes["otel_ai.pricing.source"])  # type: ignore[index]
            for s in spans] == [(0.0000002, "provider"), (0.000123456, "provider")]


def test_litellm_header_with_raw_and_streaming_response(client, telemetry):
    raw = client.chat.completions.with_raw_response.create(
        model=UNKNOWN_MODEL, messages=MESSAGES, extra_headers=scenario("litellm", cost="0.01"),
    )
    assert raw.headers[LITELLM_COST_HEADER] == "0.01"
    raw.parse()
    with client.chat.completions.with_streaming_response.create(
        model=UNKNOWN_MODEL, messages=MESSAGES, extra_headers=scenario("litellm", cost="0.02"),
    ) as response:
        response.parse()
    spans = telemetry.genai_spans()
    assert [s.attributes["otel_ai.cost.usd"] for s in spans] == [0.01, 0.02]  # type: ignore[index]
    assert {s.attributes["otel_ai.pricing.source"] for s in spans} == {"provider"}  # type: ignore[index]


async def test_litellm_header_async_raw_and_streaming_response(aclient, telemetry):
    raw = await aclient.chat.completions.with_raw_response.create(
        model=UNKNOWN_MODEL, messages=MESSAGES, extra_headers=scenario("litellm", cost="0.03"),
    )
    raw.parse()
    async with aclient.chat.completions.with_streaming_response.create(
        model=UNKNOWN_MODEL, messages=MESSAGES, extra_headers=scenario("litellm", cost="0.04"),
    ) as response:
        await response.parse()
    spans = telemetry.genai_spans()
    assert [s.attributes["otel_ai.cost.usd"] for s in spans] == [0.03, 0.04]  # type: ignore[index]
    assert {s.attributes["otel_ai.pricing.source"] for s in spans} == {"provider"}  # type: ignore[index]


async def test_litellm_header_async_concurrent_calls_keep_their_own_cost(aclient, telemetry):
    async def call(model: str, headers: dict[str, str]) -> Any:
        return await aclient.chat.completions.create(model=model, messages=MESSAGES, extra_headers=headers)

    await asyncio.gather(
        call("model-a", scenario("litellm", cost="0.1")),
        call("gpt-4o-mini", scenario("slow", delay="0.1")),
        call("model-c", scenario("litellm", cost="0.3")),
    )
    by_model = {s.attributes["gen_ai.request.model"]: dict(s.attributes or {}) for s in telemetry.genai_spans()}
    assert by_model["model-a"]["otel_ai.cost.usd"] == 0.1
    assert by_model["model-c"]["otel_ai.cost.usd"] == 0.3
    assert by_model["gpt-4o-mini"]["otel_ai.pricing.source"] == catalog_label()  # no header: the catalog's price


def test_litellm_header_on_a_stream_is_not_read(client, telemetry):
    # A stream's headers leave before anything is generated: whatever one says is not the call's cost.
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True},
        extra_headers={**scenario("ok"), "x-simulator-response-headers": f'{{"{LITELLM_COST_HEADER}": "0.9"}}'},
    )
    list(stream)
    attrs = dict(telemetry.one_genai_span().attributes or {})
    assert attrs["otel_ai.pricing.source"] == catalog_label()
    assert attrs["otel_ai.cost.usd"] != 0.9 and "otel_ai.cost.input_usd" in attrs


@pytest.mark.parametrize("value", ["-0.5", "nan", "inf", "twelve cents", ""])
def test_an_unusable_header_is_ignored(client, telemetry, value):
    client.chat.completions.create(model=UNKNOWN_MODEL, messages=MESSAGES,
                                   extra_headers=scenario("litellm", cost=value))
    attrs = dict(telemetry.one_genai_span().attributes or {})
    if value == "":  # no x-simulator-cost: the proxy's own figure
        assert attrs["otel_ai.pricing.source"] == "provider"
        return
    assert attrs["otel_ai.pricing.source"] == "unknown"  # not priced: no cost at all, never a made-up 0
    assert not [k for k in attrs if k.startswith("otel_ai.cost.")]
    assert cost_points(telemetry) == []


def test_a_header_does_not_follow_into_the_next_call(client, telemetry):
    # The legacy completions API is not recorded: its cost header must not price the next call.
    client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi", extra_headers=scenario("litellm", cost="7"))
    client.chat.completions.create(model=UNKNOWN_MODEL, messages=MESSAGES)
    attrs = dict(telemetry.one_genai_span().attributes or {})
    assert attrs["otel_ai.pricing.source"] == "unknown" and "otel_ai.cost.usd" not in attrs


def test_uninstrument_stops_reading_the_header(telemetry):
    import openai

    from otel_ai.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().uninstrument()
    assert not hasattr(openai._base_client.SyncAPIClient._process_response, "__wrapped__")
    assert not hasattr(openai._base_client.AsyncAPIClient._process_response, "__wrapped__")
    OpenAIInstrumentor().instrument(**telemetry.providers)
    assert hasattr(openai._base_client.SyncAPIClient._process_response, "__wrapped__")


def test_a_noted_header_belongs_to_the_span_current_when_it_arrived():
    from types import SimpleNamespace

    from opentelemetry.sdk.trace import TracerProvider

    from otel_ai.instrumentation.openai import reported

    tracer = TracerProvider().get_tracer("test")
    response = SimpleNamespace(headers={LITELLM_COST_HEADER: "0.4"})
    with tracer.start_as_current_span("a") as a:
        assert reported._sync(lambda **kwargs: "parsed", None, (), {"response": response}) == "parsed"
    with tracer.start_as_current_span("b") as b:
        pass
    assert reported.take(b) is None  # another call's header
    assert reported.take(a) == 0.4
    assert reported.take(a) is None  # taken once


# -- otel-ai check: every price's date and source page ------------------------------------------------


def test_check_shows_each_catalog_date_and_every_source_page(monkeypatch, tmp_path):
    import io
    import json

    from otel_ai.cli.check import run_check
    from otel_ai.runtime import state

    user = tmp_path / "prices.json"
    user.write_text(json.dumps({"models": {
        "gpt-4o-mini": {"input_per_mtok": 0.12},
        "my-fine-tune": {"provider": "openai", "input_per_mtok": 0.3, "output_per_mtok": 1.2,
                         "source": "https://example.com/contract"},
    }}))
    monkeypatch.setenv("OTEL_AI_PRICING_FILE", str(user))
    state.reset()
    out = io.StringIO()
    try:
        assert run_check(out, probe_endpoints=False) == 0
    finally:
        state.reset()
    text = out.getvalue()
    lines = text.splitlines()
    builtin = PricingCatalog.load()
    for model, price in builtin.entries.items():
        if model in ("gpt-4o-mini", "my-fine-tune"):
            continue
        label = builtin.lookup(model)[1]  # type: ignore[index]
        assert label.startswith("catalog:20")  # the date of the file that prices it
        assert any(f"{label} {price.provider} (" in line and str(price.source) in line for line in lines), model
    assert "override gpt-4o-mini: no source page given" in text  # the user's price, not the catalog's page
    assert "override my-fine-tune: https://example.com/contract" in text
    assert "provider: a cost stated in the response" in text


# -- unknown: no cost value anywhere, and counted as unpriced -------------------------------------------


def test_an_unpriced_call_has_no_cost_anywhere_and_its_unit_counts_it(client, telemetry, monkeypatch):
    import otel_ai
    from otel_ai.runtime.console import format_call
    from tests.work.units_support import by_name, use_global_providers

    use_global_providers(telemetry, monkeypatch)
    with otel_ai.task("route", name="routed"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        client.chat.completions.create(model=UNKNOWN_MODEL, messages=MESSAGES)
        client.chat.completions.create(model="acme/other-1", messages=MESSAGES,
                                       extra_headers=scenario("openrouter", cost="0.5"))
    spans = {s.attributes["gen_ai.request.model"]: dict(s.attributes or {}) for s in telemetry.genai_spans()}
    unknown = spans[UNKNOWN_MODEL]
    assert unknown["otel_ai.pricing.source"] == "unknown"
    assert not [k for k in unknown if k.startswith("otel_ai.cost.")]  # no value at all, not a 0
    assert {labels["gen_ai.request.model"] for labels, _ in telemetry.points("otel_ai.client.cost")} == {
        "gpt-4o-mini", "acme/other-1"}  # the cost counter never hears of the unpriced call
    # ... the unpriced counter does, and only of it (OtelAIUnpricedCalls alerts on it).
    assert [(labels["gen_ai.request.model"], point.value)
            for labels, point in telemetry.points("otel_ai.client.unpriced")] == [(UNKNOWN_MODEL, 1)]
    assert telemetry.metric("otel_ai.client.unpriced").unit == "{request}"
    unit = dict(by_name(telemetry, "task routed").attributes or {})
    assert unit["otel_ai.task.calls"] == 3
    assert unit["otel_ai.task.calls.unpriced"] == 1  # the provider-priced call is priced
    assert unit["otel_ai.task.cost.usd"] == pytest.approx(spans["gpt-4o-mini"]["otel_ai.cost.usd"] + 0.5)
    line = format_call(by_name(telemetry, "task routed"))
    assert line is not None and " (+1 unpriced)" in line
    [unpriced] = [s for s in telemetry.genai_spans() if s.attributes["gen_ai.request.model"] == UNKNOWN_MODEL]
    call_line = format_call(unpriced)
    assert call_line is not None and "cost=unknown" in call_line


def test_a_unit_without_unpriced_calls_does_not_say_so(client, telemetry, monkeypatch):
    import otel_ai
    from tests.work.units_support import by_name, use_global_providers

    use_global_providers(telemetry, monkeypatch)
    with otel_ai.task("route", name="routed"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert "otel_ai.task.calls.unpriced" not in dict(by_name(telemetry, "task routed").attributes or {})


def test_body_cost_rules():
    from otel_ai.instrumentation.openai.reported import body_cost

    assert body_cost(0.001, False, {"upstream_inference_cost": 0.001}) == 0.001  # not BYOK: never counted twice
    assert body_cost(0.001, True, {"upstream_inference_cost": 0.02}) == 0.001 + 0.02
    assert body_cost(0.001, True, None) is None  # the fee alone is not what the call cost
    assert body_cost(0.001, True, {"upstream_inference_cost": None}) is None
    assert body_cost(0, False, None) == 0.0  # a free model: a known zero, stated by the provider
    assert [body_cost(v, False, None) for v in (True, -1, float("nan"), "x", None)] == [None] * 5
