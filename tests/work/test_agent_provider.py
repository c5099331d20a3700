"""`gen_ai.provider.name` on `invoke_agent` spans (the conventions require it): given, or the first call's.

`otel_ai.agent(..., provider=...)` sets it when the span starts; otherwise the provider of the first GenAI
call made under the agent (the recorder publishes every finished call on `genai/hooks.py`) is set on the
span while it is still open. An agent that made no call and was given no provider has none.
"""

from __future__ import annotations

from typing import Any

import pytest

import otel_ai
from tests.work.units_support import by_name, use_global_providers

MESSAGES = [{"role": "user", "content": "Plan a short trip"}]


@pytest.fixture
def otel(telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    return use_global_providers(telemetry, monkeypatch)


def chat(client: Any) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def agent_metric(otel: Any) -> dict[str, Any]:
    """The labels of gen_ai.invoke_agent.duration: as util-genai's local agent writes them, no provider."""
    [(labels, _)] = otel.points("gen_ai.invoke_agent.duration")
    return labels


def test_the_first_call_under_the_agent_names_its_provider(client: Any, otel: Any) -> None:
    with otel_ai.workflow("trip"), otel_ai.agent("planner"), otel_ai.tool("lookup"):
        chat(client)
    agent = by_name(otel, "invoke_agent planner")
    assert agent.attributes["gen_ai.provider.name"] == "openai"
    assert "gen_ai.provider.name" not in agent_metric(otel)
    # Only the agent: the conventions ask no provider of workflow and tool spans.
    assert "gen_ai.provider.name" not in by_name(otel, "invoke_workflow trip").attributes
    assert "gen_ai.provider.name" not in by_name(otel, "execute_tool lookup").attributes


def test_a_given_provider_is_set_at_start_and_kept(client: Any, otel: Any) -> None:
    with otel_ai.agent("planner", provider="azure.ai.openai"):
        chat(client)  # an OpenAI call does not overwrite what the app said
    agent = by_name(otel, "invoke_agent planner")
    assert agent.attributes["gen_ai.provider.name"] == "azure.ai.openai"
    assert otel_ai.agent("a", provider="anthropic").start_attributes["gen_ai.provider.name"] == "anthropic"


def test_an_agent_without_a_call_has_no_provider(otel: Any) -> None:
    with otel_ai.agent("idle"):
        pass
    assert "gen_ai.provider.name" not in by_name(otel, "invoke_agent idle").attributes


def test_spend_recorded_by_hand_names_the_provider_only_when_told(otel: Any) -> None:
    with otel_ai.agent("manual") as unit:
        unit.set_cost(0.01)  # provider "unknown": not a provider to name
    assert "gen_ai.provider.name" not in by_name(otel, "invoke_agent manual").attributes
    with otel_ai.agent("local") as unit:
        unit.set_cost(0.0, provider="ollama")
        unit.set_cost(0.0, provider="cohere")  # the first one stays
    assert by_name(otel, "invoke_agent local").attributes["gen_ai.provider.name"] == "ollama"


def test_nested_agents_each_take_the_first_call_beneath(client: Any, otel: Any) -> None:
    with otel_ai.agent("outer", provider="anthropic"), otel_ai.agent("inner"):
        chat(client)
    assert by_name(otel, "invoke_agent outer").attributes["gen_ai.provider.name"] == "anthropic"
    assert by_name(otel, "invoke_agent inner").attributes["gen_ai.provider.name"] == "openai"


def test_a_stream_that_ends_after_its_agent_changes_nothing(client: Any, otel: Any) -> None:
    with otel_ai.agent("hasty"):
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    list(stream)  # the call ends here, after the agent's span ended: no attribute, no error
    assert "gen_ai.provider.name" not in by_name(otel, "invoke_agent hasty").attributes
