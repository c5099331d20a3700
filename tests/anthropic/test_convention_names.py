"""GenAI names under OTEL_AI_SEMCONV, OTEL_SEMCONV_STABILITY_OPT_IN and OTEL_AI_SEMCONV_PROPOSALS (docs/conventions.md).

Real anthropic client, real HTTP, the Anthropic simulator's `cached` answer: 2,048 tokens read from the cache
and 1,536 written to it. The written ones are `gen_ai.usage.cache_write.input_tokens` today, the name the
SDK's own span uses too; `gen_ai.usage.cache_creation.input_tokens` before the rename.
"""

from __future__ import annotations

from typing import Any

import pytest

from otel_ai.conventions import Conventions, Names, parse_conventions
from otel_ai.genai import names as genai_names
from otel_ai.runtime import state as _state
from otel_ai.runtime.settings import Settings
from tests.anthropic.conftest import KEY, MESSAGES, MODEL, anthropic, one, opts, sdk_spans
from tests.conftest import Telemetry

WRITE = "gen_ai.usage.cache_write.input_tokens"
CREATION = "gen_ai.usage.cache_creation.input_tokens"
PROPOSED = {
    "gen_ai.client.inference.usage.input_tokens", "gen_ai.client.inference.usage.output_tokens",
    "gen_ai.client.inference.usage.cache_read.input_tokens", "gen_ai.client.inference.usage.cache_write.input_tokens",
    "gen_ai.client.inference.usage.reasoning.output_tokens", "gen_ai.client.inference.usage.operation.input_tokens",
    "gen_ai.client.inference.usage.operation.output_tokens", "gen_ai.client.inference.duration",
}


def _reinstrument(telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    """Set the variables, then build the recorder again: the names are settled when it is built."""
    from otel_ai.instrumentation.anthropic import AnthropicInstrumentor

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    AnthropicInstrumentor().uninstrument()
    _state.reset()
    AnthropicInstrumentor().instrument(**telemetry.providers)


def _cached_call(asim: Any, **client_options: Any) -> None:
    with anthropic.Anthropic(api_key=KEY, base_url=asim.base_url, max_retries=0, **client_options) as client:
        client.messages.create(model=MODEL, max_tokens=50, messages=MESSAGES, **opts("cached"))


@pytest.mark.parametrize(("value", "expected"), [
    ("current", {WRITE}), ("previous", {CREATION}), ("both", {WRITE, CREATION}),
])
def test_the_cache_write_attribute_follows_otel_ai_semconv(asim, anth, monkeypatch, value, expected):
    _reinstrument(anth, monkeypatch, OTEL_AI_SEMCONV=value)
    _cached_call(asim)
    attrs = dict(one(anth).attributes)
    assert {k for k in attrs if k in (WRITE, CREATION)} == expected
    assert {attrs[k] for k in expected} == {1536}
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 2048
    assert attrs["otel_ai.cost.usd"] > 0  # priced from the usage, whatever the attribute is called


def test_unset_it_is_the_current_name(asim, anth):
    _cached_call(asim)
    attrs = dict(one(anth).attributes)
    assert attrs[WRITE] == 1536 and CREATION not in attrs


@pytest.mark.parametrize(("semconv", "expected"), [
    (None, {WRITE}), ("previous", {CREATION}), ("both", {WRITE, CREATION}),
])
def test_gen_ai_latest_experimental_selects_current_and_otel_ai_semconv_wins(asim, anth, monkeypatch, semconv,
                                                                             expected):
    env = {"OTEL_SEMCONV_STABILITY_OPT_IN": "http, gen_ai_latest_experimental"}
    if semconv is not None:
        env["OTEL_AI_SEMCONV"] = semconv
    _reinstrument(anth, monkeypatch, **env)
    _cached_call(asim)
    assert {k for k in one(anth).attributes if k in (WRITE, CREATION)} == expected


def test_ours_and_the_sdks_own_span_name_the_cache_writes_alike(asim, anth):
    """The SDK's span (kept when asked for by name) writes `cache_write` too: the two agree under `current`."""
    _cached_call(asim, open_telemetry={"traces": True})
    [sdk] = sdk_spans(anth)
    ours = one(anth)
    assert ours.attributes[WRITE] == sdk.attributes[WRITE] == 1536
    assert CREATION not in ours.attributes and CREATION not in sdk.attributes


def test_no_proposal_metric_unless_asked_for(asim, anth):
    _cached_call(asim)
    assert anth.metric("gen_ai.client.token.usage") is not None
    assert [name for name in PROPOSED if anth.metric(name) is not None] == []


def _released_tokens(telemetry: Telemetry, token_type: str) -> int:
    """What the released `gen_ai.client.token.usage` histogram summed for the chat calls."""
    return sum(int(point.sum) for labels, point in telemetry.points("gen_ai.client.token.usage")
               if labels["gen_ai.token.type"] == token_type and labels["gen_ai.operation.name"] == "chat")


def test_the_proposals_metrics_are_recorded_when_asked_for(asim, anth, monkeypatch):
    _reinstrument(anth, monkeypatch, OTEL_AI_SEMCONV_PROPOSALS="all")
    _cached_call(asim)
    _cached_call(asim)
    with anthropic.Anthropic(api_key=KEY, base_url=asim.base_url, max_retries=0) as client:
        client.messages.count_tokens(model=MODEL, messages=MESSAGES)  # not inference: none of the proposals'
    counters = {name: [(labels, point.value) for labels, point in anth.points(name)]
                for name in sorted(PROPOSED) if ".usage." in name and ".operation." not in name}
    assert {name: [value for _, value in points] for name, points in counters.items()} == {
        "gen_ai.client.inference.usage.cache_read.input_tokens": [2 * 2048],
        "gen_ai.client.inference.usage.cache_write.input_tokens": [2 * 1536],
        "gen_ai.client.inference.usage.input_tokens": [_released_tokens(anth, "input")],
        "gen_ai.client.inference.usage.output_tokens": [_released_tokens(anth, "output")],
        "gen_ai.client.inference.usage.reasoning.output_tokens": [],  # Claude reports none: no point
    }
    [(labels, _)] = counters["gen_ai.client.inference.usage.input_tokens"]
    assert labels["gen_ai.operation.name"] == "chat" and labels["gen_ai.provider.name"] == "anthropic"
    assert "gen_ai.token.type" not in labels  # the proposal drops it: one instrument per direction
    assert anth.metric("gen_ai.client.inference.usage.input_tokens").data.is_monotonic
    for name, unit, total in (
        ("gen_ai.client.inference.usage.operation.input_tokens", "{token}", _released_tokens(anth, "input")),
        ("gen_ai.client.inference.usage.operation.output_tokens", "{token}", _released_tokens(anth, "output")),
        ("gen_ai.client.inference.duration", "s", None),
    ):
        assert anth.metric(name).unit == unit
        [(labels, point)] = anth.points(name)
        assert point.count == 2 and labels["gen_ai.operation.name"] == "chat", name
        if total is not None:
            assert point.sum == total, name
    [(_, duration)] = anth.points("gen_ai.client.inference.duration")
    [released] = [p for labels, p in anth.points("gen_ai.client.operation.duration")
                  if labels["gen_ai.operation.name"] == "chat"]
    assert duration.sum == pytest.approx(released.sum)  # the same calls, the same clock


def test_a_bad_proposal_entry_is_one_problem_line_and_the_others_apply():
    conventions, problems = parse_conventions({"OTEL_AI_SEMCONV_PROPOSALS": "Token_Metrics, cost"})
    assert conventions == Conventions(Names.CURRENT, frozenset({"token_metrics"}))
    assert problems == ["OTEL_AI_SEMCONV_PROPOSALS: 'cost' is not one of: token_metrics, inference_duration, all, "
                        "none (case-insensitive); the entry is skipped"]
    settings = Settings.from_env({"OTEL_AI_SEMCONV_PROPOSALS": "cost", "OTEL_AI_SEMCONV": "newest"})
    assert len(settings.problems) == 2 and settings.conventions == Conventions()
    assert parse_conventions({"OTEL_AI_SEMCONV_PROPOSALS": "none"})[0].proposals == frozenset()


def test_the_rows_are_chosen_once_per_recorder():
    rows = {names: genai_names.usage_rows(names) for names in Names}
    assert [a for _, a in rows[Names.CURRENT] if "cache" in a] == ["gen_ai.usage.cache_read.input_tokens", WRITE]
    assert [a for _, a in rows[Names.PREVIOUS] if "cache" in a] == ["gen_ai.usage.cache_read.input_tokens", CREATION]
    assert [a for _, a in rows[Names.BOTH] if "cache" in a] == ["gen_ai.usage.cache_read.input_tokens", WRITE,
                                                                CREATION]
    assert len(rows[Names.BOTH]) == len(rows[Names.CURRENT]) + len(genai_names.RENAMED_ATTRIBUTES)


def test_a_failed_inference_call_has_its_proposed_duration_with_the_error(asim, anth, monkeypatch):
    _reinstrument(anth, monkeypatch, OTEL_AI_SEMCONV_PROPOSALS="inference_duration")
    with anthropic.Anthropic(api_key=KEY, base_url=asim.base_url, max_retries=0) as client, \
            pytest.raises(anthropic.RateLimitError):
        client.messages.create(model=MODEL, max_tokens=50, messages=MESSAGES, **opts("rate_limit"))
    [(labels, point)] = anth.points("gen_ai.client.inference.duration")
    assert point.count == 1 and labels["error.type"] == "anthropic.RateLimitError"
    assert anth.metric("gen_ai.client.inference.usage.input_tokens") is None  # token_metrics was not asked for
