"""Fixtures for the Anthropic tests: the simulator, the instrumentor on the shared in-memory pipelines, clients.

The SDK's own spans go to the global tracer provider: the fixture points it at the test's provider, so a
test sees every span the SDK would export (scope `com.anthropic.sdk.python`) next to ours.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace

from otel_ai.runtime import state as _state
from otel_ai.testing.anthropic_simulator import AnthropicSimulator
from tests.conftest import Telemetry

anthropic = pytest.importorskip("anthropic")

KEY = "sk-ant-api03-" + "Zq7" * 31 + "AA"  # the shape of a real key: 95 characters after the prefix
MODEL = "claude-sonnet-4-6"
MESSAGES = [{"role": "user", "content": "Say hello to the test suite please"}]
SDK_SCOPE = "com.anthropic.sdk.python"


def opts(scenario: str = "ok", **extra: str) -> dict[str, Any]:
    """`extra_headers` choosing the simulator's behaviour for one request."""
    headers = {"x-simulator-scenario": scenario}
    headers.update({f"x-simulator-{k.replace('_', '-')}": v for k, v in extra.items()})
    return {"extra_headers": headers}


@pytest.fixture(scope="session")
def asim() -> Iterator[AnthropicSimulator]:
    with AnthropicSimulator() as sim:
        yield sim


@pytest.fixture
def anth(telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    from otel_ai.instrumentation.anthropic import AnthropicInstrumentor

    for var in ("ANTHROPIC_OPEN_TELEMETRY", "ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE"):
        monkeypatch.delenv(var, raising=False)
    # The SDK's spans go to the global provider: make it the test's, so they are counted too.
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", telemetry.providers["tracer_provider"])
    AnthropicInstrumentor().instrument(**telemetry.providers)
    try:
        yield telemetry
    finally:
        AnthropicInstrumentor().uninstrument()
        _state.reset()


@pytest.fixture
def client(asim: AnthropicSimulator, anth: Telemetry) -> Iterator[Any]:
    with anthropic.Anthropic(api_key=KEY, base_url=asim.base_url, max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient(asim: AnthropicSimulator, anth: Telemetry) -> Any:
    async with anthropic.AsyncAnthropic(api_key=KEY, base_url=asim.base_url, max_retries=0) as c:
        yield c


def ours(telemetry: Telemetry) -> list[Any]:
    return [s for s in telemetry.spans() if s.instrumentation_scope.name == "otel_ai"
            and (s.attributes or {}).get("gen_ai.operation.name")]


def one(telemetry: Telemetry) -> Any:
    spans = ours(telemetry)
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def sdk_spans(telemetry: Telemetry) -> list[Any]:
    return [s for s in telemetry.spans() if s.instrumentation_scope.name.startswith(SDK_SCOPE)]
