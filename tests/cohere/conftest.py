"""Fixtures of the Cohere tests: the simulator, the instrumentor on the in-memory pipelines, clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from otel_ai.runtime import state as _state
from otel_ai.testing.cohere_simulator import CohereSimulator
from tests.conftest import Telemetry

cohere = pytest.importorskip("cohere")  # the test extra installs it; CI always has it

KEY = "Qz7kQ2r9XwT4bN8vL1pF6hJ3sD5gA0cEm2Yt8Ku4"  # Cohere keys: 40 letters and digits, no prefix
MESSAGES = [{"role": "user", "content": "Hello the simulator"}]  # 3 billed input tokens


@pytest.fixture(scope="module")
def cohere_sim() -> Iterator[CohereSimulator]:
    with CohereSimulator() as sim:
        yield sim


@pytest.fixture
def co_tel(telemetry: Telemetry) -> Iterator[Telemetry]:
    """The in-memory pipelines with the Cohere instrumentor on."""
    from otel_ai.instrumentation.cohere import CohereInstrumentor

    CohereInstrumentor().instrument(**telemetry.providers)
    try:
        yield telemetry
    finally:
        CohereInstrumentor().uninstrument()
        _state.reset()


@pytest.fixture
def client(cohere_sim: CohereSimulator, co_tel: Telemetry) -> Any:
    # No retries: an error scenario answers once (the client retries 429 and 5xx twice by default).
    return cohere.ClientV2(api_key=KEY, max_retries=0, **cohere_sim.client_options())


@pytest.fixture
def aclient(cohere_sim: CohereSimulator, co_tel: Telemetry) -> Any:
    return cohere.AsyncClientV2(api_key=KEY, max_retries=0, **cohere_sim.client_options())


def scenario(name: str, **extra: str) -> dict[str, Any]:
    """`request_options` of a call: the simulator's scenario and its knobs as extra headers."""
    headers = {"x-simulator-scenario": name}
    headers.update({f"x-simulator-{k.replace('_', '-')}": v for k, v in extra.items()})
    return {"additional_headers": headers}


def cohere_span(telemetry: Telemetry) -> Any:
    spans = [s for s in telemetry.genai_spans() if s.attributes["gen_ai.provider.name"] == "cohere"]
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]
