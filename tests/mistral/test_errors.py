"""Mistral errors pass through unchanged with `error.type` and `otel_ai.error.category`; budgets block first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

import otel_ai.budgets as B
from otel_ai.errors import BudgetExceeded
from otel_ai.notify import notification as notify
from tests.conftest import exception_type_of
from tests.mistral.conftest import mistral_span, mistralai, scenario

MESSAGES = [{"role": "user", "content": "Bonjour the simulator"}]
SDK_ERROR = "mistralai.client.errors.sdkerror.SDKError"
VALIDATION_ERROR = "mistralai.client.errors.httpvalidationerror.HTTPValidationError"

CASES = [
    ("auth_error", 401, SDK_ERROR, "auth"),
    ("unprocessable", 422, VALIDATION_ERROR, "bad_request"),
    ("rate_limit", 429, SDK_ERROR, "rate_limit"),
    ("capacity", 429, SDK_ERROR, "rate_limit"),
    ("invalid_model", 400, SDK_ERROR, "bad_request"),
    ("server_error", 500, SDK_ERROR, "server_error"),
]


def _check(mi: Any, exc: BaseException, status: int, error_type: str, category: str) -> None:
    assert getattr(exc, "status_code", None) == status
    span = mistral_span(mi)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span) == error_type
    assert span.attributes["otel_ai.error.category"] == category
    [(labels, point)] = mi.points("otel_ai.client.requests")
    assert (point.value, labels["otel_ai.outcome"], labels["otel_ai.error.category"]) == (1, "error", category)


@pytest.mark.parametrize(("name", "status", "error_type", "category"), CASES)
def test_complete_errors(client, mi, name, status, error_type, category):
    with pytest.raises(mistralai.errors.MistralError) as caught:
        client.chat.complete(model="mistral-small-latest", messages=MESSAGES, http_headers=scenario(name))
    assert f"{type(caught.value).__module__}.{type(caught.value).__qualname__}" == error_type
    _check(mi, caught.value, status, error_type, category)


@pytest.mark.parametrize(("name", "status", "error_type", "category"), CASES[:3])
async def test_complete_async_errors(client, mi, name, status, error_type, category):
    with pytest.raises(mistralai.errors.MistralError) as caught:
        await client.chat.complete_async(model="mistral-small-latest", messages=MESSAGES, http_headers=scenario(name))
    _check(mi, caught.value, status, error_type, category)


@pytest.mark.parametrize(("name", "status", "error_type", "category"), CASES[2:4])
def test_stream_errors_before_the_first_event(client, mi, name, status, error_type, category):
    with pytest.raises(mistralai.errors.MistralError) as caught:
        client.chat.stream(model="mistral-small-latest", messages=MESSAGES, http_headers=scenario(name))
    _check(mi, caught.value, status, error_type, category)


async def test_embeddings_error(client, mi):
    with pytest.raises(mistralai.errors.SDKError) as caught:
        await client.embeddings.create_async(model="mistral-embed", inputs="x", http_headers=scenario("server_error"))
    _check(mi, caught.value, 500, SDK_ERROR, "server_error")


def test_the_sdk_error_is_the_one_the_client_raised(client, mi):
    """Same class, same body, same response: nothing wrapped or rewritten."""
    with pytest.raises(mistralai.errors.SDKError) as caught:
        client.chat.complete(model="mistral-small-latest", messages=MESSAGES, http_headers=scenario("rate_limit"))
    assert '"Requests rate limit exceeded"' in caught.value.body
    assert caught.value.raw_response.status_code == 429
    assert str(caught.value).startswith("API error occurred: Status 429")


def test_a_timeout_is_a_timeout(client, mi):
    with pytest.raises(Exception) as caught:
        client.chat.complete(model="mistral-small-latest", messages=MESSAGES, timeout_ms=200,
                             http_headers=scenario("slow", delay="2"))
    assert "Timeout" in type(caught.value).__name__
    assert mistral_span(mi).attributes["otel_ai.error.category"] == "timeout"


@pytest.fixture
def notices() -> Iterator[list[notify.Notification]]:
    seen: list[notify.Notification] = []
    notify.set_dispatcher(seen.append)
    yield seen
    notify.set_dispatcher(None)
    B.uninstall()


async def test_a_blocking_budget_stops_calls_before_they_are_sent(client, mi, mistral_sim, notices):
    tracker = B.install(
        B.BudgetConfig((B.Budget("tiny", 1e-9, scope={"provider": "mistral_ai"}, action="block"),)),
        meter_provider=mi.providers["meter_provider"], tracer_provider=mi.providers["tracer_provider"],
    )
    assert tracker is not None
    mistral_sim.clear()
    client.chat.complete(model="mistral-small-latest", messages=MESSAGES)  # under the limit: sent, and spends it
    with pytest.raises(BudgetExceeded):
        client.chat.complete(model="mistral-small-latest", messages=MESSAGES)
    with pytest.raises(BudgetExceeded):
        client.chat.stream(model="mistral-small-latest", messages=MESSAGES)
    with pytest.raises(BudgetExceeded):
        await client.embeddings.create_async(model="mistral-embed", inputs="x")
    assert len(mistral_sim.requests) == 1  # the provider saw nothing more
    blocked = [s for s in mi.genai_spans() if s.attributes.get("error.type") == "otel_ai.errors.BudgetExceeded"]
    assert len(blocked) == 3 and all(s.attributes["otel_ai.error.category"] == "budget" for s in blocked)
