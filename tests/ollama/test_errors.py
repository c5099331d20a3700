"""Ollama errors: `{"error": "..."}` with its status, raised as `ollama.ResponseError` and passed through
unchanged; `error.type` is its class, `otel_ai.error.category` what the status says. And the budget gate."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

import otel_ai.budgets as B
from otel_ai.errors import BudgetExceeded
from otel_ai.notify import notification as notify
from otel_ai.testing.ollama_simulator import OllamaSimulator
from tests.conftest import Telemetry
from tests.ollama.conftest import count, make_async_client, make_client, one_span

ollama = pytest.importorskip("ollama")

MESSAGES = [{"role": "user", "content": "Hello"}]


@pytest.mark.parametrize(("scenario", "status", "category"), [
    ("bad_request", 400, "bad_request"),
    ("unauthorized", 401, "auth"),
    ("server_error", 500, "server_error"),
])
def test_error_answers(ol: Telemetry, ol_sim: OllamaSimulator, scenario: str, status: int, category: str) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        make_client(ol_sim, scenario).chat(model="llama3.2", messages=MESSAGES)
    assert caught.value.status_code == status and ol_sim.requests[-1].status == status
    span = one_span(ol)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ollama._types.ResponseError"
    assert span.attributes["otel_ai.error.category"] == category
    [(attrs, _)] = ol.points("otel_ai.client.requests")
    assert attrs["otel_ai.outcome"] == "error" and attrs["otel_ai.error.category"] == category


def test_a_model_not_pulled_is_not_found(client: Any, ol: Telemetry) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client.generate(model="llama9", prompt="hi")
    assert caught.value.status_code == 404 and "not found, try pulling it first" in caught.value.error
    span = one_span(ol)
    assert span.attributes["otel_ai.error.category"] == "not_found"
    assert "otel_ai.cost.usd" not in span.attributes


async def test_async_errors(ol: Telemetry, ol_sim: OllamaSimulator) -> None:
    with pytest.raises(ollama.ResponseError):
        await make_async_client(ol_sim, "server_error").embed(model="all-minilm", input="x")
    assert one_span(ol).attributes["otel_ai.error.category"] == "server_error"


def test_no_server_is_a_connection_error(ol: Telemetry) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(ConnectionError):
        ollama.Client(host=f"127.0.0.1:{port}").chat(model="llama3.2", messages=MESSAGES)
    attrs = one_span(ol).attributes
    assert (attrs["error.type"], attrs["otel_ai.error.category"]) == ("ConnectionError", "connection")
    assert attrs["server.port"] == port
    assert count(ol, "gen_ai.client.operation.duration") == 1


def test_a_blocking_budget_stops_ollama_calls_before_they_are_sent(
    client: Any, ol: Telemetry, ol_sim: OllamaSimulator, sim: Any,
) -> None:
    """A local model costs nothing, but a budget over every call, spent elsewhere, blocks it too."""
    import openai

    notify.set_dispatcher(lambda notice: None)
    tracker = B.install(B.BudgetConfig((B.Budget("all", 1e-9, action="block"),)),
                        meter_provider=ol.providers["meter_provider"], tracer_provider=ol.providers["tracer_provider"])
    assert tracker is not None
    try:
        spender = openai.OpenAI(base_url=sim.base_url, api_key="sk-test-budget-0000000000", max_retries=0)
        spender.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        ol_sim.clear()
        with pytest.raises(BudgetExceeded):
            client.chat(model="llama3.2", messages=MESSAGES)
        with pytest.raises(BudgetExceeded):
            client.chat(model="llama3.2", messages=MESSAGES, stream=True)
        assert ol_sim.requests == []
        blocked = [s for s in ol.genai_spans() if s.attributes.get("otel_ai.error.category") == "budget"]
        assert len(blocked) == 2
    finally:
        notify.set_dispatcher(None)
        B.uninstall()
