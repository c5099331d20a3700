"""`action: block` end to end: real clients against the local simulators, budgets installed as the SDK
set-up installs them. Once the period's spend reaches the limit the next call raises `BudgetExceeded`
and the simulator receives no request at all, for OpenAI and ElevenLabs alike; an alert budget only
notifies.
"""

from __future__ import annotations

from typing import Any

import pytest

import otel_ai.budgets as B
from otel_ai.errors import BudgetExceeded
from otel_ai.genai import hooks as calls
from otel_ai.notify import notification as notify
from tests.conftest import Telemetry

MESSAGES = [{"role": "user", "content": "Say hello to the budget."}]
EL_KEY = "sk_" + "0123456789abcdef" * 3
TEXT = "Hello from the budget test."


def install(telemetry: Telemetry, *declared: B.Budget) -> B.BudgetTracker:
    tracker = B.install(B.BudgetConfig(declared), meter_provider=telemetry.providers["meter_provider"],
                        tracer_provider=telemetry.providers["tracer_provider"])
    assert tracker is not None
    return tracker


def test_openai_calls_are_blocked_before_sending_once_the_budget_is_spent(
    client: Any, sim: Any, telemetry: Telemetry, notices: list[notify.Notification],
) -> None:
    tracker = install(telemetry, B.Budget("tiny", 1e-9, scope={"provider": "openai", "model": "gpt-4o-mini"},
                                          warn_at=(0.5,), action="block"))
    sim.clear()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # under the limit: sent, and spends it
    assert len(sim.requests_for("/chat/completions")) == 1
    assert [(n.name, n.severity) for n in notices] == [("tiny", "warning"), ("tiny", "critical")]
    with pytest.raises(BudgetExceeded) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.budget == "tiny" and caught.value.spent_usd == pytest.approx(tracker.statuses()[0].spent_usd)
    with pytest.raises(BudgetExceeded):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert len(sim.requests_for("/chat/completions")) == 1  # the provider saw nothing more
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # another model: outside the scope
    assert len(sim.requests_for("/chat/completions")) == 2
    blocked = [s for s in telemetry.genai_spans() if s.attributes.get("error.type") == "otel_ai.errors.BudgetExceeded"]
    assert len(blocked) == 2 and all(s.attributes.get("otel_ai.error.category") == "budget" for s in blocked)
    assert len(notices) == 2  # nothing more: each threshold once per period


async def test_async_openai_calls_are_blocked_too(
    aclient: Any, sim: Any, telemetry: Telemetry, notices: list[notify.Notification],
) -> None:
    install(telemetry, B.Budget("tiny", 1e-9, action="block"))
    sim.clear()
    await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    with pytest.raises(BudgetExceeded):
        await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(sim.requests_for("/chat/completions")) == 1


def test_an_alert_budget_notifies_and_never_blocks(
    client: Any, sim: Any, telemetry: Telemetry, notices: list[notify.Notification],
) -> None:
    install(telemetry, B.Budget("soft", 1e-9))
    assert calls.SEAM.gates == ()
    sim.clear()
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(sim.requests_for("/chat/completions")) == 3
    assert [(n.threshold, n.severity) for n in notices] == [(0.5, "info"), (0.8, "warning"), (1.0, "critical")]


def test_elevenlabs_speech_is_blocked_before_sending_once_the_budget_is_spent(
    telemetry: Telemetry, notices: list[notify.Notification],
) -> None:
    elevenlabs = pytest.importorskip("elevenlabs")
    from otel_ai.instrumentation.elevenlabs import ElevenLabsInstrumentor
    from otel_ai.testing.elevenlabs_simulator import ElevenLabsSimulator

    ElevenLabsInstrumentor().instrument(**telemetry.providers)
    try:
        with ElevenLabsSimulator() as sim:
            install(telemetry, B.Budget("voice", 1e-9, scope={"provider": "elevenlabs"}, action="block"))
            client = elevenlabs.ElevenLabs(api_key=EL_KEY, **sim.client_options())
            assert b"".join(client.text_to_speech.convert("voice-abc", text=TEXT))
            assert len(sim.requests) == 1
            with pytest.raises(BudgetExceeded) as caught:
                b"".join(client.text_to_speech.convert("voice-abc", text=TEXT))
            assert caught.value.budget == "voice"
            assert len(sim.requests) == 1  # the blocked call never reached the server
    finally:
        ElevenLabsInstrumentor().uninstrument()
    assert [n.severity for n in notices] == ["info", "warning", "critical"]  # warn_at defaults to [0.5, 0.8]
