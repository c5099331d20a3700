"""Gemini errors pass through unchanged with `error.type` and `otel_ai.error.category`; budgets block first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

import otel_ai.budgets as B
from otel_ai.errors import BudgetExceeded
from otel_ai.notify import notification as notify
from tests.conftest import exception_type_of
from tests.gemini.conftest import gemini_span, genai, scenario

CLIENT_ERROR, SERVER_ERROR = "google.genai.errors.ClientError", "google.genai.errors.ServerError"
CASES = [
    ("rate_limit", 429, "RESOURCE_EXHAUSTED", CLIENT_ERROR, "rate_limit"),
    ("auth_error", 403, "PERMISSION_DENIED", CLIENT_ERROR, "auth"),
    ("unauthenticated", 401, "UNAUTHENTICATED", CLIENT_ERROR, "auth"),
    ("bad_request", 400, "INVALID_ARGUMENT", CLIENT_ERROR, "bad_request"),
    ("not_found", 404, "NOT_FOUND", CLIENT_ERROR, "not_found"),
    ("server_error", 500, "INTERNAL", SERVER_ERROR, "server_error"),
    ("unavailable", 503, "UNAVAILABLE", SERVER_ERROR, "server_error"),
]


def _check(gm: Any, exc: Any, code: int, status: str, error_type: str, category: str) -> None:
    assert (exc.code, exc.status) == (code, status)  # the client's own error, unchanged
    assert f"{type(exc).__module__}.{type(exc).__qualname__}" == error_type
    span = gemini_span(gm)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == exception_type_of(span) == error_type
    assert span.attributes["otel_ai.error.category"] == category
    [(labels, point)] = gm.points("otel_ai.client.requests")
    assert (point.value, labels["otel_ai.outcome"], labels["otel_ai.error.category"]) == (1, "error", category)


@pytest.mark.parametrize(("name", "code", "status", "error_type", "category"), CASES)
def test_generate_content_errors(client, gm, name, code, status, error_type, category):
    with pytest.raises(genai.errors.APIError) as caught:
        client.models.generate_content(model="gemini-2.5-flash", contents="hi", config=scenario(name))
    _check(gm, caught.value, code, status, error_type, category)


@pytest.mark.parametrize(("name", "code", "status", "error_type", "category"), CASES[:2] + CASES[5:6])
async def test_async_errors(client, gm, name, code, status, error_type, category):
    with pytest.raises(genai.errors.APIError) as caught:
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi", config=scenario(name))
    _check(gm, caught.value, code, status, error_type, category)


@pytest.mark.parametrize(("name", "code", "status", "error_type", "category"), CASES[:1])
def test_stream_error_before_the_first_chunk(client, gm, name, code, status, error_type, category):
    stream = client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi", config=scenario(name))
    with pytest.raises(genai.errors.APIError) as caught:
        next(stream)
    _check(gm, caught.value, code, status, error_type, category)


async def test_async_stream_error(client, gm):
    with pytest.raises(genai.errors.APIError) as caught:
        stream = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi",
                                                                 config=scenario("rate_limit"))
        async for _ in stream:
            pass
    _check(gm, caught.value, 429, "RESOURCE_EXHAUSTED", CLIENT_ERROR, "rate_limit")


def test_the_error_body_is_the_one_the_service_sent(client, gm):
    with pytest.raises(genai.errors.ClientError) as caught:
        client.models.generate_content(model="gemini-2.5-flash", contents="hi", config=scenario("rate_limit"))
    assert caught.value.details["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert caught.value.message == "Resource has been exhausted (e.g. check quota)."


@pytest.fixture
def notices() -> Iterator[list[notify.Notification]]:
    seen: list[notify.Notification] = []
    notify.set_dispatcher(seen.append)
    yield seen
    notify.set_dispatcher(None)
    B.uninstall()


async def test_a_blocking_budget_stops_calls_before_they_are_sent(client, gm, gemini_sim, notices):
    tracker = B.install(
        B.BudgetConfig((B.Budget("tiny", 1e-9, scope={"provider": "gcp.gemini"}, action="block"),)),
        meter_provider=gm.providers["meter_provider"], tracer_provider=gm.providers["tracer_provider"],
    )
    assert tracker is not None
    gemini_sim.clear()
    client.models.generate_content(model="gemini-2.5-flash", contents="hi")  # under the limit: sent, spends it
    with pytest.raises(BudgetExceeded):
        client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    with pytest.raises(BudgetExceeded):
        next(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    with pytest.raises(BudgetExceeded):
        await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
    with pytest.raises(BudgetExceeded):
        client.chats.create(model="gemini-2.5-flash").send_message("hi")
    assert len(gemini_sim.requests) == 1  # the provider saw nothing more
