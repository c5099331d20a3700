"""messages.create / parse / count_tokens (and the beta forms): the real anthropic client over real HTTP.

Cost is checked to the digit: Anthropic's `usage.input_tokens` leaves out cache reads and writes, the
conventions' `gen_ai.usage.input_tokens` includes them, and each part has its own list price.
"""

from __future__ import annotations

import json

import pytest
from inline_snapshot import snapshot
from opentelemetry.trace import StatusCode

from otel_ai.errors import BudgetExceeded
from otel_ai.genai import hooks
from otel_ai.pricing.catalog import PricingCatalog
from tests.anthropic.conftest import MESSAGES, MODEL, anthropic, one, opts, sdk_spans
from tests.conftest import exception_type_of
from tests.support.snapshots import span_snapshot

# One call with all four kinds of input: 1,000 uncached, 20,000 read from the cache, 7,000 written to it
# (3,000 kept 5 minutes, 4,000 kept an hour), and 500 output tokens.
USAGE = {
    "input_tokens": 1000,
    "cache_read_input_tokens": 20000,
    "cache_creation_input_tokens": 7000,
    "cache_creation": {"ephemeral_5m_input_tokens": 3000, "ephemeral_1h_input_tokens": 4000},
    "output_tokens": 500,
}
# Claude Sonnet 4.6 list prices per million tokens: input $3, cache hit $0.30, 5-minute write $3.75,
# 1-hour write $6, output $15.
#   1,000 x 3 + 20,000 x 0.30 + 3,000 x 3.75 + 4,000 x 6 = 3,000 + 6,000 + 11,250 + 24,000 = 44,250 → $0.04425
#   500 x 15 = 7,500 → $0.0075;  total $0.05175
INPUT_USD, OUTPUT_USD, TOTAL_USD = 0.04425, 0.0075, 0.05175
ALL_INPUT = 28000


def _assert_cost_to_the_digit(attrs: dict, telemetry) -> None:
    assert attrs["gen_ai.usage.input_tokens"] == ALL_INPUT
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 20000
    assert attrs["gen_ai.usage.cache_write.input_tokens"] == 7000
    assert attrs["anthropic.usage.cache_creation.ephemeral_1h_input_tokens"] == 4000
    assert attrs["gen_ai.usage.output_tokens"] == 500
    assert attrs["otel_ai.cost.input_usd"] == pytest.approx(INPUT_USD, abs=1e-12)
    assert attrs["otel_ai.cost.output_usd"] == pytest.approx(OUTPUT_USD, abs=1e-12)
    assert attrs["otel_ai.cost.usd"] == pytest.approx(TOTAL_USD, abs=1e-12)
    [(_, cost)] = telemetry.points("otel_ai.client.cost")
    assert cost.value == pytest.approx(TOTAL_USD, abs=1e-12)
    tokens = {labels["gen_ai.token.type"]: point.sum for labels, point in telemetry.points("gen_ai.client.token.usage")}
    assert tokens == {"input": ALL_INPUT, "output": 500}


def test_create_span_is_named_and_attributed_by_the_conventions(client, anth, asim):
    message = client.messages.create(
        model=MODEL, max_tokens=100, messages=MESSAGES,
        stop_sequences=["END"], service_tier="auto",
    )
    span = one(anth)
    assert span_snapshot(span, known={
        "server.port": asim.port,
        "gen_ai.response.id": message.id,
        "gen_ai.usage.input_tokens": message.usage.input_tokens,
        "gen_ai.usage.output_tokens": message.usage.output_tokens,
        "otel_ai.cost.usd": pytest.approx(message.usage.input_tokens * 3e-6 + message.usage.output_tokens * 15e-6),
        "otel_ai.pricing.catalog_date": PricingCatalog.load().lookup(MODEL)[1].removeprefix("catalog:"),
    }) == snapshot({
        "name": "chat claude-sonnet-4-6",
        "kind": "CLIENT",
        "status": "UNSET",
        "attributes": {
            "anthropic.request.service_tier": "auto",
            "anthropic.response.service_tier": "standard",
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.max_tokens": 100,
            "gen_ai.request.model": "claude-sonnet-4-6",
            "gen_ai.request.stop_sequences": ["END"],
            "gen_ai.response.finish_reasons": ["end_turn"],
            "gen_ai.response.id": "<gen_ai.response.id>",
            "gen_ai.response.model": "claude-sonnet-4-6",
            "gen_ai.usage.cache_write.input_tokens": 0,
            "gen_ai.usage.cache_read.input_tokens": 0,
            "gen_ai.usage.input_tokens": "<gen_ai.usage.input_tokens>",
            "gen_ai.usage.output_tokens": "<gen_ai.usage.output_tokens>",
            "otel_ai.cost.input_usd": 2.1e-05,
            "otel_ai.cost.output_usd": 7.5e-05,
            "otel_ai.cost.usd": "<otel_ai.cost.usd>",
            "otel_ai.pricing.catalog_date": "<otel_ai.pricing.catalog_date>",
            "otel_ai.pricing.source": "catalog",
            "server.address": "127.0.0.1",
            "server.port": "<server.port>",
        },
        "scope": "otel_ai",
    })
    assert sdk_spans(anth) == []


def test_cost_prices_uncached_read_and_both_writes_each_at_its_own_rate(client, anth):
    message = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES,
                                     **opts(usage=json.dumps(USAGE)))
    assert message.usage.input_tokens == 1000  # what Anthropic reports: the uncached part only
    _assert_cost_to_the_digit(dict(one(anth).attributes), anth)


async def test_async_create_costs_the_same_to_the_digit(aclient, anth):
    await aclient.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, **opts(usage=json.dumps(USAGE)))
    _assert_cost_to_the_digit(dict(one(anth).attributes), anth)
    assert sdk_spans(anth) == []


def test_a_stream_counts_its_usage_once_from_message_start_and_message_delta(client, anth):
    events = list(client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True,
                                         **opts(usage=json.dumps(USAGE))))
    assert events[0].type == "message_start"
    assert events[0].message.usage.input_tokens == 1000  # both events carry the input counts
    _assert_cost_to_the_digit(dict(one(anth).attributes), anth)


def test_the_stream_helper_costs_the_same_to_the_digit(client, anth):
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES,
                                **opts(usage=json.dumps(USAGE))) as stream:
        final = stream.get_final_message()
    assert final.usage.cache_read_input_tokens == 20000
    _assert_cost_to_the_digit(dict(one(anth).attributes), anth)


def test_without_cache_the_input_is_anthropics_count(client, anth):
    message = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    attrs = one(anth).attributes
    assert attrs["gen_ai.usage.input_tokens"] == message.usage.input_tokens
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 0
    assert "anthropic.usage.cache_creation.ephemeral_1h_input_tokens" not in attrs


def test_tool_use_stop_reason_is_the_finish_reason(client, anth):
    message = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, **opts("tool_use"))
    assert message.stop_reason == "tool_use"
    assert one(anth).attributes["gen_ai.response.finish_reasons"] == ("tool_use",)


def test_max_tokens_stop_reason(client, anth):
    client.messages.create(model=MODEL, max_tokens=2, messages=MESSAGES)
    assert one(anth).attributes["gen_ai.response.finish_reasons"] == ("max_tokens",)


def test_parse_is_a_chat_call_with_json_output(client, anth):
    from pydantic import BaseModel

    class Answer(BaseModel):
        text: str

    with pytest.raises(Exception):  # noqa: B017 - the simulator's text is not the JSON the model asked for
        client.messages.parse(model=MODEL, max_tokens=100, messages=MESSAGES, output_format=Answer)
    span = one(anth)
    assert span.name == f"chat {MODEL}"
    assert span.attributes["gen_ai.output.type"] == "json"


def test_count_tokens_is_its_own_operation_without_usage_or_cost(client, anth):
    counted = client.messages.count_tokens(model=MODEL, messages=MESSAGES)
    span = one(anth)
    assert span.name == f"count_tokens {MODEL}"
    assert span.attributes["anthropic.message.count_tokens.input_tokens"] == counted.input_tokens
    assert "gen_ai.usage.input_tokens" not in span.attributes
    assert "otel_ai.cost.usd" not in span.attributes
    assert anth.points("gen_ai.client.token.usage") == []


async def test_async_count_tokens(aclient, anth):
    counted = await aclient.messages.count_tokens(model=MODEL, messages=MESSAGES)
    assert one(anth).attributes["anthropic.message.count_tokens.input_tokens"] == counted.input_tokens


def test_beta_messages_create_and_count_tokens(client, anth):
    client.beta.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, **opts("cached"))
    client.beta.messages.count_tokens(model=MODEL, messages=MESSAGES)
    spans = sorted(s.name for s in anth.genai_spans())
    assert spans == [f"chat {MODEL}", f"count_tokens {MODEL}"]
    chat = next(s for s in anth.genai_spans() if s.name.startswith("chat"))
    assert chat.attributes["gen_ai.usage.cache_read.input_tokens"] == 2048
    assert sdk_spans(anth) == []


async def test_async_beta_messages_create(aclient, anth):
    message = await aclient.beta.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    assert one(anth).attributes["gen_ai.response.id"] == message.id


def test_with_raw_response_records_the_call_and_the_body_still_parses(client, anth):
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    span = one(anth)  # recorded at once: the body was read
    message = raw.parse()
    assert span.attributes["gen_ai.response.id"] == message.id
    assert raw.headers["request-id"].startswith("req_")


async def test_async_with_raw_response(aclient, anth):
    raw = await aclient.messages.with_raw_response.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    message = await raw.parse()
    assert one(anth).attributes["gen_ai.usage.output_tokens"] == message.usage.output_tokens


def test_with_streaming_response_ends_when_the_body_is_parsed(client, anth):
    with client.messages.with_streaming_response.create(model=MODEL, max_tokens=100, messages=MESSAGES) as raw:
        assert anth.genai_spans() == []  # the body is not read yet
        message = raw.parse()
    assert one(anth).attributes["gen_ai.response.id"] == message.id


def test_with_raw_response_of_a_stream_reads_usage_from_the_stream(client, anth):
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True,
                                                   **opts("cached"))
    events = list(raw.parse())
    assert events[-1].type == "message_stop"
    attrs = one(anth).attributes
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 2048


# -- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scenario", "error", "category"), [
    ("rate_limit", anthropic.RateLimitError, "rate_limit"),
    ("overloaded", anthropic.OverloadedError, "server_error"),
    ("server_error", anthropic.InternalServerError, "server_error"),
    ("auth_error", anthropic.AuthenticationError, "auth"),
    ("bad_request", anthropic.BadRequestError, "bad_request"),
    ("not_found", anthropic.NotFoundError, "not_found"),
])
def test_errors_pass_through_unchanged_with_error_type_and_category(client, anth, scenario, error, category):
    with pytest.raises(error) as caught:
        client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, **opts(scenario))
    assert type(caught.value) is error
    span = one(anth)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span) == f"{error.__module__}.{error.__qualname__}"
    assert span.attributes["otel_ai.error.category"] == category
    [(labels, point)] = [p for p in anth.points("otel_ai.client.requests")]
    assert (labels["otel_ai.outcome"], labels["otel_ai.error.category"], point.value) == ("error", category, 1)


async def test_async_error(aclient, anth):
    with pytest.raises(anthropic.RateLimitError):
        await aclient.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, **opts("rate_limit"))
    assert one(anth).attributes["otel_ai.error.category"] == "rate_limit"


def test_a_blocking_budget_stops_the_call_before_it_is_sent(client, anth, asim):
    def block(scope: hooks.CallScope) -> None:
        raise BudgetExceeded("daily", 1.5, 1.0, "day")

    before = len(asim.requests)
    hooks.add_gate(block)
    try:
        with pytest.raises(BudgetExceeded):
            client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
        with pytest.raises(BudgetExceeded), client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES):
            pass
    finally:
        hooks.remove_gate(block)
    assert len(asim.requests) == before
    assert [s.attributes["otel_ai.error.category"] for s in anth.genai_spans()] == ["budget", "budget"]

