"""The Agents SDK's own MCP tools: one tool span, not two (the conventions' rule for MCP instrumentations).

An agent given a real MCP server (`MCPServerStreamableHttp` against an `MCPServer` over real HTTP) calls its
tool: the SDK's function span is already our `execute_tool {tool}` unit, so the MCP client adds its
attributes to it (as the conventions ask: an MCP instrumentation SHOULD NOT add a second span for a tool
call another GenAI instrumentation traces) and the server's `tools/call {tool}` SERVER span is its child.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("agents")
pytest.importorskip("mcp")

from agents import Agent, Runner, set_trace_processors
from agents.mcp import MCPServerStreamableHttp
from agents.models.openai_responses import OpenAIResponsesModel
from agents.tracing import processors as sdk_processors
from mcp.server.mcpserver import MCPServer

from otel_ai.instrumentation.mcp import MCPInstrumentor
from otel_ai.instrumentation.openai_agents import OpenAIAgentsInstrumentor, processor
from tests.conftest import API_KEY
from tests.work.test_mcp import sdk_tracer, serve_http  # noqa: F401
from tests.work.units_support import use_global_providers


async def test_the_sdks_mcp_tool_is_one_tool_span(sim: Any, telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import openai

    use_global_providers(telemetry, monkeypatch)
    OpenAIAgentsInstrumentor().instrument()
    MCPInstrumentor().instrument()
    mcp_server = MCPServer("weather")

    @mcp_server.tool()
    def forecast(city: str) -> str:
        """The forecast."""
        return f"sunny in {city}"

    ours = processor()
    assert ours is not None
    set_trace_processors([ours])  # nothing for the SDK's own exporter to send
    try:
        plan = json.dumps([[{"name": "forecast", "arguments": {"city": "Paris"}}]])
        client = openai.AsyncOpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0,
                                    default_headers={"x-simulator-tool-plan": plan})
        with serve_http(mcp_server) as url:
            async with MCPServerStreamableHttp(params={"url": url}, name="weather") as server:
                agent = Agent(name="planner", mcp_servers=[server],
                              model=OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client))
                await Runner.run(agent, "weather in Paris?")
    finally:
        set_trace_processors([ours, sdk_processors.default_processor()])
        MCPInstrumentor().uninstrument()
        OpenAIAgentsInstrumentor().uninstrument()
    spans = telemetry.spans()
    [tool] = [s for s in spans if s.name == "execute_tool forecast"]
    assert not [s for s in spans if s.name == "tools/call forecast" and s.kind.name == "CLIENT"]
    [server_span] = [s for s in spans if s.name == "tools/call forecast" and s.kind.name == "SERVER"]
    assert server_span.parent.span_id == tool.context.span_id
    assert tool.attributes["mcp.method.name"] == "tools/call"
    assert tool.attributes["mcp.protocol.version"] == server_span.attributes["mcp.protocol.version"]
    assert tool.attributes["network.transport"] == server_span.attributes["network.transport"] == "tcp"
    assert tool.attributes["jsonrpc.request.id"] == server_span.attributes["jsonrpc.request.id"]
    assert tool.attributes["gen_ai.tool.type"] == "function"  # the SDK's span, kept as it is
