"""Fixtures of the Mistral tests: the simulator, the instrumentor on the in-memory pipelines, clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from otel_ai.runtime import state as _state
from otel_ai.testing.mistral_simulator import MistralSimulator
from tests.conftest import Telemetry

mistralai = pytest.importorskip("mistralai.client")  # the test extra installs it; CI always has it

KEY = "Mz7kQ2r9XwT4bN8vL1pF6hJ3sD5gA0cE"  # Mistral keys: 32 letters and digits, no prefix


@pytest.fixture(scope="module")
def mistral_sim() -> Iterator[MistralSimulator]:
    with MistralSimulator() as sim:
        yield sim


@pytest.fixture
def mi(telemetry: Telemetry) -> Iterator[Telemetry]:
    """The in-memory pipelines with the Mistral instrumentor on."""
    from otel_ai.instrumentation.mistral import MistralInstrumentor

    MistralInstrumentor().instrument(**telemetry.providers)
    try:
        yield telemetry
    finally:
        MistralInstrumentor().uninstrument()
        _state.reset()


@pytest.fixture
def client(mistral_sim: MistralSimulator, mi: Telemetry) -> Any:
    return mistralai.Mistral(api_key=KEY, **mistral_sim.client_options())


def scenario(name: str, **extra: str) -> dict[str, str]:
    """`http_headers` of a call: the simulator's scenario and its knobs."""
    headers = {"x-simulator-scenario": name}
    headers.update({f"x-simulator-{k.replace('_', '-')}": v for k, v in extra.items()})
    return headers


def mistral_span(telemetry: Telemetry) -> Any:
    spans = [s for s in telemetry.genai_spans() if s.attributes["gen_ai.provider.name"] == "mistral_ai"]
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]
