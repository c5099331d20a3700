"""Fixtures of the Gemini tests: the simulator, the instrumentor on the in-memory pipelines, clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from otel_ai.runtime import state as _state
from otel_ai.testing.gemini_simulator import GeminiSimulator
from tests.conftest import Telemetry

genai = pytest.importorskip("google.genai")  # the test extra installs it; CI always has it

KEY = "AIzaSyD4kQ2r9XwT4bN8vL1pF6hJ3sD5gA0cE7x"  # the shape of a Google API key: AIza + 35


@pytest.fixture(scope="module")
def gemini_sim() -> Iterator[GeminiSimulator]:
    with GeminiSimulator() as sim:
        yield sim


@pytest.fixture
def gm(telemetry: Telemetry) -> Iterator[Telemetry]:
    """The in-memory pipelines with the Gemini instrumentor on."""
    from otel_ai.instrumentation.gemini import GeminiInstrumentor

    GeminiInstrumentor().instrument(**telemetry.providers)
    try:
        yield telemetry
    finally:
        GeminiInstrumentor().uninstrument()
        _state.reset()


@pytest.fixture
def client(gemini_sim: GeminiSimulator, gm: Telemetry) -> Any:
    return genai.Client(api_key=KEY, http_options=gemini_sim.http_options())


def scenario(name: str, **config: Any) -> dict[str, Any]:
    """A request `config` that picks the simulator's scenario (by a per-request header)."""
    return {**config, "http_options": {"headers": {"x-simulator-scenario": name}}}


def gemini_span(telemetry: Telemetry) -> Any:
    spans = [s for s in telemetry.genai_spans() if s.attributes["gen_ai.provider.name"] == "gcp.gemini"]
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def count_points(telemetry: Telemetry, metric: str) -> int:
    return sum(point.count for _, point in telemetry.points(metric))
