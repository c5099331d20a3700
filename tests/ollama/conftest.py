"""Fixtures of the Ollama tests: the simulator, the instrumentor on the shared in-memory pipelines, clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from otel_ai.runtime import state as _state
from otel_ai.testing.ollama_simulator import OllamaSimulator
from tests.conftest import Telemetry

ollama = pytest.importorskip("ollama")  # the examples extra installs it; CI always has it


@pytest.fixture(scope="module")
def ol_sim() -> Iterator[OllamaSimulator]:
    with OllamaSimulator() as sim:
        yield sim


@pytest.fixture
def ol(telemetry: Telemetry) -> Iterator[Telemetry]:
    from otel_ai.instrumentation.ollama import OllamaInstrumentor

    OllamaInstrumentor().instrument(**telemetry.providers)
    try:
        yield telemetry
    finally:
        OllamaInstrumentor().uninstrument()
        _state.reset()


def make_client(sim: OllamaSimulator, scenario: str = "ok", **headers: str) -> Any:
    sent = {"x-simulator-scenario": scenario, **{f"x-simulator-{k}": v for k, v in headers.items()}}
    return ollama.Client(host=sim.url, headers=sent)


def make_async_client(sim: OllamaSimulator, scenario: str = "ok", **headers: str) -> Any:
    sent = {"x-simulator-scenario": scenario, **{f"x-simulator-{k}": v for k, v in headers.items()}}
    return ollama.AsyncClient(host=sim.url, headers=sent)


@pytest.fixture
def client(ol_sim: OllamaSimulator, ol: Telemetry) -> Any:
    return make_client(ol_sim)


@pytest.fixture
def aclient(ol_sim: OllamaSimulator, ol: Telemetry) -> Any:
    return make_async_client(ol_sim)


def ollama_spans(telemetry: Telemetry) -> list[Any]:
    return [s for s in telemetry.genai_spans() if s.attributes["gen_ai.provider.name"] == "ollama"]


def one_span(telemetry: Telemetry) -> Any:
    spans = ollama_spans(telemetry)
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def count(telemetry: Telemetry, metric: str) -> int:
    return sum(point.count for _, point in telemetry.points(metric))
