"""The OpenAI-compatible simulator for tests (implementation: ``otel_ai/testing/simulator.py``).

``FakeOpenAI`` is ``otel_ai.testing.simulator.OpenAISimulator``: a real HTTP server on 127.0.0.1.
Pick a behaviour per request with ``extra_headers=scenario_headers("rate_limit_once", key=...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import openai

from otel_ai.testing.simulator import (
    DEFAULT_REPLY,
    DELAY_HEADER,
    KEY_HEADER,
    REPLY_HEADER,
    SCENARIO_HEADER,
    SCENARIOS,
    TOOL_ARGUMENTS,
    TOOL_NAME,
    OpenAISimulator,
    RecordedRequest,
    count_words,
)

FakeOpenAI = OpenAISimulator

__all__ = [
    "DEFAULT_REPLY",
    "SCENARIOS",
    "TEST_API_KEY",
    "TOOL_ARGUMENTS",
    "TOOL_NAME",
    "FakeOpenAI",
    "OpenAISimulator",
    "RecordedRequest",
    "count_words",
    "make_async_client",
    "make_client",
    "scenario_headers",
]

TEST_API_KEY = "sk-test-simulator-key"


def scenario_headers(
    scenario: str,
    *,
    key: str | None = None,
    delay: float | None = None,
    reply: str | None = None,
) -> dict[str, str]:
    """Headers selecting a simulator scenario, for ``extra_headers=`` / ``default_headers=``."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    headers = {SCENARIO_HEADER: scenario}
    if key is not None:
        headers[KEY_HEADER] = key
    if delay is not None:
        headers[DELAY_HEADER] = repr(float(delay))
    if reply is not None:
        headers[REPLY_HEADER] = reply
    return headers


def make_client(
    sim: OpenAISimulator, *, api_key: str = TEST_API_KEY, max_retries: int = 0, **kwargs: Any
) -> openai.OpenAI:
    """A real ``openai.OpenAI`` pointed at ``sim`` (no retries unless asked: errors come back fast)."""
    import openai

    return openai.OpenAI(base_url=sim.base_url, api_key=api_key, max_retries=max_retries, **kwargs)


def make_async_client(
    sim: OpenAISimulator, *, api_key: str = TEST_API_KEY, max_retries: int = 0, **kwargs: Any
) -> openai.AsyncOpenAI:
    """A real ``openai.AsyncOpenAI`` pointed at ``sim``."""
    import openai

    return openai.AsyncOpenAI(base_url=sim.base_url, api_key=api_key, max_retries=max_retries, **kwargs)
