"""Fixtures of the Bedrock tests: the simulator, the instrumentor on the in-memory pipelines, clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from otel_ai.runtime import state as _state
from otel_ai.testing.bedrock_simulator import BedrockSimulator, scenario_headers
from tests.conftest import Telemetry

boto3 = pytest.importorskip("boto3")  # the test extra installs it; CI always has it

# Fake credentials, shaped as AWS's (an access key id, a 40-character secret, a session token).
ACCESS_KEY = "AKIAZ7QEXAMPLE4TESTS"
SECRET_KEY = "kT9vQ2mX7bN4wL8pR1sD6fH3jG5cA0eZ9yU2iO7t"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKENforTESTSonlyQ2r9XwT4bN8vL1pF6hJ3sD5gA0cE"
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-pro-v1:0"


@pytest.fixture(scope="module")
def bedrock_sim() -> Iterator[BedrockSimulator]:
    with BedrockSimulator() as sim:
        yield sim


@pytest.fixture
def br(telemetry: Telemetry) -> Iterator[Telemetry]:
    """The in-memory pipelines with the Bedrock instrumentor on."""
    from otel_ai.instrumentation.bedrock import BedrockInstrumentor

    BedrockInstrumentor().instrument(**telemetry.providers)
    try:
        yield telemetry
    finally:
        BedrockInstrumentor().uninstrument()
        _state.reset()


def make_client(sim: BedrockSimulator, **extra: Any) -> Any:
    return boto3.client(
        "bedrock-runtime", aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN, config=Config(retries={"max_attempts": 1}), **sim.client_options(), **extra,
    )


@pytest.fixture
def client(bedrock_sim: BedrockSimulator, br: Telemetry) -> Any:
    return make_client(bedrock_sim)


def scenario(client: Any, name: str, **extra: str) -> Any:
    """Ask the simulator for scenario `name` on every call of `client` (returns the undo)."""
    return scenario_headers(client, name, **extra)


def bedrock_span(telemetry: Telemetry) -> Any:
    spans = [s for s in telemetry.genai_spans() if s.attributes["gen_ai.provider.name"] == "aws.bedrock"]
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}
