"""`moderations.create`: flagged or not, and for what; no cost (the endpoint is free)."""

from __future__ import annotations

import pytest

from tests.conftest import scenario


def test_flagged_categories(client, telemetry):
    result = client.moderations.create(model="omni-moderation-latest", input=["I will kill the process", "fine"])

    span = telemetry.one_genai_span()
    attrs = dict(span.attributes)
    assert span.name == "moderations omni-moderation-latest"
    assert attrs["gen_ai.operation.name"] == "moderations"
    assert attrs["gen_ai.response.id"] == result.id
    assert attrs["gen_ai.response.model"] == result.model
    assert attrs["otel_ai.moderation.flagged"] is True
    assert attrs["otel_ai.moderation.categories"] == ("violence",)
    assert "otel_ai.cost.usd" not in attrs and "otel_ai.pricing.source" not in attrs


def test_not_flagged_and_default_model(client, telemetry):
    client.moderations.create(input="a friendly sentence")
    span = telemetry.one_genai_span()
    assert span.name == "moderations"
    assert span.attributes["otel_ai.moderation.flagged"] is False
    assert "otel_ai.moderation.categories" not in span.attributes


def test_auth_error_passes_through(client, telemetry):
    import openai

    with pytest.raises(openai.AuthenticationError):
        client.moderations.create(input="x", extra_headers=scenario("auth_error"))
    assert telemetry.one_genai_span().attributes["otel_ai.error.category"] == "auth"


async def test_async_moderation(aclient, telemetry):
    await aclient.moderations.create(input=[{"type": "text", "text": "I hate this"}])
    assert telemetry.one_genai_span().attributes["otel_ai.moderation.categories"] == ("hate",)
