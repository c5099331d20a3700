"""The workflow, agent and tool spans of an OpenAI Agents SDK run match what opentelemetry-util-genai emits.

A real `Runner` run (a function tool, then the answer) against the simulator; util-genai's
`TelemetryHandler` records the same work by hand with what the SDK's trace data carries (agent and
tool names; the SDK's function spans hold no call id or description). The spans other than the model
calls must agree on name, kind, status, nearest such ancestor and every attribute but `otel_ai.*`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

agents = pytest.importorskip("agents")

from agents import Agent, Runner, function_tool  # noqa: E402
from agents.models.openai_responses import OpenAIResponsesModel  # noqa: E402
from opentelemetry.util.genai.handler import TelemetryHandler  # noqa: E402

from otel_ai.instrumentation.openai_agents import OpenAIAgentsInstrumentor  # noqa: E402
from tests.conftest import API_KEY  # noqa: E402
from tests.langchain.test_util_genai_parity import _described  # noqa: E402
from tests.work.test_openai_agents import ingest  # noqa: E402,F401 (the SDK's export stays local)
from tests.work.test_util_genai_parity import util_run  # noqa: E402
from tests.work.units_support import use_global_providers  # noqa: E402


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _util_run(handler: TelemetryHandler) -> None:
    with (
        handler.workflow("Agent workflow"),
        handler.invoke_local_agent(agent_name="planner") as agent,
        handler.tool("get_weather", tool_type="function", agent_name="planner"),
    ):
        # The one difference: otel-ai names the agent's provider (required by the conventions on
        # invoke_agent) from its first model call; util-genai's local agent leaves it to its caller.
        agent.attributes["gen_ai.provider.name"] = "openai"


def test_agents_sdk_units_match_util_genai(sim: Any, telemetry: Any, monkeypatch: pytest.MonkeyPatch,
                                           ingest: Any) -> None:  # noqa: F811
    import openai

    use_global_providers(telemetry, monkeypatch)
    OpenAIAgentsInstrumentor().instrument()
    try:
        plan = json.dumps([[{"name": "get_weather", "arguments": {"city": "Paris"}}]])
        client = openai.AsyncOpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0,
                                    default_headers={"x-simulator-tool-plan": plan, "x-simulator-reply": "Sunny."})
        agent = Agent(name="planner", instructions="Plan.", tools=[get_weather],
                      model=OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client))
        assert Runner.run_sync(agent, "weather in Paris?").final_output == "Sunny."
    finally:
        OpenAIAgentsInstrumentor().uninstrument()
    their_spans, _ = util_run(_util_run)
    mine, expected = _described(telemetry.spans()), _described(their_spans)
    assert sorted(mine) == sorted(expected) == ["execute_tool get_weather", "invoke_agent planner",
                                                "invoke_workflow Agent workflow"]
    for name in expected:
        for key in ("kind", "status", "parent"):
            assert mine[name][key] == expected[name][key], (name, key)
        for key in sorted(set(mine[name]["attributes"]) | set(expected[name]["attributes"])):
            assert mine[name]["attributes"].get(key) == expected[name]["attributes"].get(key), (name, key)
