"""The recorder's side of the seam to units of work and budgets (otel_ai/genai/hooks.py).

These drive the real openai client against the simulator with hand-made gates, listeners and a
task-type source, so they test the wiring alone; budgets and units have their own tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from otel_ai.errors import BudgetExceeded
from otel_ai.genai import hooks as calls

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def seam() -> Iterator[list[calls.CallFacts]]:
    seen: list[calls.CallFacts] = []
    calls.subscribe(seen.append)
    yield seen
    calls.unsubscribe(seen.append)
    calls.SEAM.gates = ()
    calls.set_task_type_source(None)


def test_each_finished_call_is_published_with_what_its_span_says(client: Any, telemetry: Any, seam: list[Any]) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    span = telemetry.one_genai_span()
    attrs = span.attributes
    (facts,) = seam
    assert facts.scope == calls.CallScope("openai", "chat", "gpt-4o-mini", None)
    assert facts.cost_usd == pytest.approx(attrs["otel_ai.cost.usd"]) and facts.cost_usd > 0
    assert (facts.input_tokens, facts.output_tokens) == (
        attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"])
    assert facts.failed is False


def test_a_failed_call_is_published_as_failed(client: Any, seam: list[Any]) -> None:
    import openai

    from tests.support.fake_openai import scenario_headers

    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers=scenario_headers("server_error"))
    (facts,) = seam
    assert facts.failed is True and facts.cost_usd == 0.0


def test_a_gate_that_raises_budget_exceeded_stops_the_request_before_it_is_sent(
    client: Any, telemetry: Any, sim: Any, seam: list[Any]
) -> None:
    asked: list[calls.CallScope] = []

    def gate(scope: calls.CallScope) -> None:
        asked.append(scope)
        raise BudgetExceeded("daily", 2.0, 2.0, "day")

    calls.add_gate(gate)
    sim.clear()
    with pytest.raises(BudgetExceeded) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.budget == "daily"
    assert asked == [calls.CallScope("openai", "chat", "gpt-4o-mini", None)]
    assert sim.requests_for("/v1/chat/completions") == []
    span = telemetry.one_genai_span()
    assert span.status.is_ok is False
    assert span.attributes["error.type"] == "otel_ai.errors.BudgetExceeded"
    assert telemetry.http_spans() == []


def test_a_gate_that_fails_otherwise_never_reaches_the_app(client: Any, sim: Any) -> None:
    def broken(scope: calls.CallScope) -> None:
        raise RuntimeError("bug in a gate")

    calls.add_gate(broken)
    try:
        sim.clear()
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert len(sim.requests_for("/v1/chat/completions")) == 1
    finally:
        calls.remove_gate(broken)


def test_calls_in_a_task_carry_its_type_on_span_and_metrics(client: Any, telemetry: Any, seam: list[Any]) -> None:
    calls.set_task_type_source(lambda: "summarize")
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    calls.set_task_type_source(None)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    first, second = telemetry.genai_spans()
    assert first.attributes["otel_ai.task.type"] == "summarize"
    assert "otel_ai.task.type" not in second.attributes
    assert [f.scope.task_type for f in seam] == ["summarize", None]
    costs = {attrs.get("otel_ai.task.type"): p.value for attrs, p in telemetry.points("otel_ai.client.cost")}
    assert set(costs) == {"summarize", None}
    durations = [attrs.get("otel_ai.task.type") for attrs, _ in telemetry.points("gen_ai.client.operation.duration")]
    assert sorted(durations, key=str) == [None, "summarize"]


def test_a_broken_task_type_source_or_listener_never_reaches_the_app(client: Any, telemetry: Any) -> None:
    def bad_source() -> str | None:
        raise RuntimeError("bug")

    def bad_listener(facts: calls.CallFacts) -> None:
        raise RuntimeError("bug")

    calls.set_task_type_source(bad_source)
    calls.subscribe(bad_listener)
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        calls.unsubscribe(bad_listener)
        calls.set_task_type_source(None)
    assert "otel_ai.task.type" not in telemetry.one_genai_span().attributes


def test_published_facts_count_what_the_provider_did_not_report_as_zero(client: Any, seam: list[Any]) -> None:
    client.embeddings.create(model="text-embedding-3-small", input="vector search")
    (facts,) = seam
    assert facts.scope.operation == "embeddings"
    assert facts.input_tokens > 0 and facts.output_tokens == 0 and facts.characters == 0


def test_speech_calls_publish_their_characters(telemetry: Any, seam: list[Any]) -> None:
    import elevenlabs

    from otel_ai.instrumentation.elevenlabs import ElevenLabsInstrumentor
    from otel_ai.testing.elevenlabs_simulator import ElevenLabsSimulator

    ElevenLabsInstrumentor().instrument(**telemetry.providers)
    try:
        with ElevenLabsSimulator() as sim:
            client = elevenlabs.ElevenLabs(api_key="sk_" + "0123456789abcdef" * 3, **sim.client_options())
            b"".join(client.text_to_speech.convert("voice-1", text="Hello there."))
    finally:
        ElevenLabsInstrumentor().uninstrument()
    (facts,) = seam
    span = telemetry.one_genai_span()
    assert facts.scope.provider == "elevenlabs"
    assert facts.characters == span.attributes["otel_ai.usage.characters"] > 0
    assert facts.cost_usd == pytest.approx(span.attributes["otel_ai.cost.usd"])
