"""Cohere errors pass through unchanged with `error.type` and `otel_ai.error.category`; budgets block first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

import otel_ai.budgets as B
from otel_ai.errors import BudgetExceeded
from otel_ai.notify import notification as notify
from tests.cohere.conftest import KEY, MESSAGES, cohere, cohere_span, scenario
from tests.conftest import exception_type_of

MODEL = "command-a-03-2025"

CASES = [
    ("auth_error", 401, "cohere.errors.unauthorized_error.UnauthorizedError", "auth"),
    ("invalid_token", 498, "cohere.errors.invalid_token_error.InvalidTokenError", "auth"),
    ("bad_request", 400, "cohere.errors.bad_request_error.BadRequestError", "bad_request"),
    ("not_found", 404, "cohere.errors.not_found_error.NotFoundError", "not_found"),
    ("unprocessable", 422, "cohere.errors.unprocessable_entity_error.UnprocessableEntityError", "bad_request"),
    ("rate_limit", 429, "cohere.errors.too_many_requests_error.TooManyRequestsError", "rate_limit"),
    ("server_error", 500, "cohere.errors.internal_server_error.InternalServerError", "server_error"),
    ("unavailable", 503, "cohere.errors.service_unavailable_error.ServiceUnavailableError", "server_error"),
]


def _check(telemetry: Any, exc: BaseException, status: int, error_type: str, category: str) -> None:
    assert getattr(exc, "status_code", None) == status
    span = cohere_span(telemetry)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span) == error_type
    assert span.attributes["otel_ai.error.category"] == category
    [(labels, point)] = telemetry.points("otel_ai.client.requests")
    assert (point.value, labels["otel_ai.outcome"], labels["otel_ai.error.category"]) == (1, "error", category)


@pytest.mark.parametrize(("name", "status", "error_type", "category"), CASES)
def test_chat_errors(client, co_tel, name, status, error_type, category):
    with pytest.raises(cohere.core.ApiError) as caught:
        client.chat(model=MODEL, messages=MESSAGES, request_options=scenario(name))
    assert f"{type(caught.value).__module__}.{type(caught.value).__qualname__}" == error_type
    _check(co_tel, caught.value, status, error_type, category)


@pytest.mark.parametrize(("name", "status", "error_type", "category"), CASES[:2] + CASES[5:6])
async def test_async_chat_errors(aclient, co_tel, name, status, error_type, category):
    with pytest.raises(cohere.core.ApiError) as caught:
        await aclient.chat(model=MODEL, messages=MESSAGES, request_options=scenario(name))
    _check(co_tel, caught.value, status, error_type, category)


@pytest.mark.parametrize(("name", "status", "error_type", "category"), CASES[4:6])
def test_stream_errors_before_the_first_event(client, co_tel, name, status, error_type, category):
    stream = client.chat_stream(model=MODEL, messages=MESSAGES, request_options=scenario(name))
    with pytest.raises(cohere.core.ApiError) as caught:
        next(stream)
    _check(co_tel, caught.value, status, error_type, category)


async def test_async_stream_error(aclient, co_tel):
    with pytest.raises(cohere.TooManyRequestsError) as caught:
        async for _ in aclient.chat_stream(model=MODEL, messages=MESSAGES, request_options=scenario("rate_limit")):
            pass
    _check(co_tel, caught.value, 429, CASES[5][2], "rate_limit")


async def test_embed_error(aclient, co_tel):
    with pytest.raises(cohere.InternalServerError) as caught:
        await aclient.embed(model="embed-v4.0", texts=["x"], input_type="search_query",
                            request_options=scenario("server_error"))
    _check(co_tel, caught.value, 500, CASES[6][2], "server_error")


def test_rerank_error(client, co_tel):
    with pytest.raises(cohere.BadRequestError) as caught:
        client.rerank(model="rerank-v3.5", query="q", documents=["d"], request_options=scenario("bad_request"))
    _check(co_tel, caught.value, 400, CASES[2][2], "bad_request")


def test_the_error_is_the_one_the_client_raised(client, co_tel):
    """Same class, same body: nothing wrapped or rewritten."""
    with pytest.raises(cohere.TooManyRequestsError) as caught:
        client.chat(model=MODEL, messages=MESSAGES, request_options=scenario("rate_limit"))
    assert caught.value.body["message"].startswith("You are using a Trial key")
    assert caught.value.status_code == 429


def test_retries_are_one_call(cohere_sim, co_tel, monkeypatch):
    """The client retries a 429 itself: one GenAI span for the call, one HTTP span per attempt."""
    monkeypatch.setattr("cohere.core.http_client.INITIAL_RETRY_DELAY_SECONDS", 0.001)
    client = cohere.ClientV2(api_key=KEY, max_retries=2, **cohere_sim.client_options())
    cohere_sim.clear()
    with pytest.raises(cohere.TooManyRequestsError):
        client.chat(model=MODEL, messages=MESSAGES, request_options=scenario("rate_limit"))
    assert len(cohere_sim.requests) == 3
    span = cohere_span(co_tel)
    children = [s for s in co_tel.http_spans() if s.parent is not None and s.parent.span_id == span.context.span_id]
    assert len(children) == 3


def test_a_timeout_is_a_timeout(client, co_tel):
    with pytest.raises(Exception) as caught:
        client.chat(model=MODEL, messages=MESSAGES,
                    request_options={**scenario("slow", delay="2"), "timeout_in_seconds": 0.2})
    assert "Timeout" in type(caught.value).__name__
    assert cohere_span(co_tel).attributes["otel_ai.error.category"] == "timeout"


@pytest.fixture
def notices() -> Iterator[list[notify.Notification]]:
    seen: list[notify.Notification] = []
    notify.set_dispatcher(seen.append)
    yield seen
    notify.set_dispatcher(None)
    B.uninstall()


async def test_a_blocking_budget_stops_calls_before_they_are_sent(client, aclient, co_tel, cohere_sim, notices):
    tracker = B.install(
        B.BudgetConfig((B.Budget("tiny", 1e-9, scope={"provider": "cohere"}, action="block"),)),
        meter_provider=co_tel.providers["meter_provider"], tracer_provider=co_tel.providers["tracer_provider"],
    )
    assert tracker is not None
    cohere_sim.clear()
    client.chat(model=MODEL, messages=MESSAGES)  # under the limit: sent, and spends it
    with pytest.raises(BudgetExceeded):
        client.chat(model=MODEL, messages=MESSAGES)
    with pytest.raises(BudgetExceeded):
        next(client.chat_stream(model=MODEL, messages=MESSAGES))
    with pytest.raises(BudgetExceeded):
        await aclient.embed(model="embed-v4.0", texts=["x"], input_type="search_query")
    with pytest.raises(BudgetExceeded):
        client.rerank(model="rerank-v3.5", query="q", documents=["d"])
    assert len(cohere_sim.requests) == 1  # the provider saw nothing more
    blocked = [s for s in co_tel.genai_spans() if s.attributes.get("error.type") == "otel_ai.errors.BudgetExceeded"]
    assert len(blocked) == 4 and all(s.attributes["otel_ai.error.category"] == "budget" for s in blocked)
