"""`opentelemetry-instrument` loads the Agents SDK and MCP integrations by their entry points.

A real app in a subprocess: an Agents SDK agent whose function tool calls an MCP server's tool (JSON-RPC
over memory streams), the model the simulator; its spans reach a real OTLP receiver as one trace:
workflow → agent → function tool → MCP CLIENT span → MCP SERVER span (both `tools/call forecast`, both
units), and the model calls under the agent.
`OPENAI_API_KEY` is unset, so the SDK's own exporter sends nothing anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("agents")
pytest.importorskip("mcp")

from tests.support.otlp_receiver import OTLPReceiver, attrs_to_dict

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

APP = '''
import asyncio, json, os
import openai
from agents import Agent, Runner, function_tool
from agents.models.openai_responses import OpenAIResponsesModel
from mcp import Client
from mcp.server.mcpserver import MCPServer

server = MCPServer("weather")

@server.tool()
def forecast(city: str) -> str:
    """The forecast."""
    return f"sunny in {city}"

@function_tool
async def get_weather(city: str) -> str:
    """Asks the MCP server."""
    async with Client(server, mode="legacy") as client:
        result = await client.call_tool("forecast", {"city": city})
    return result.content[0].text

plan = [[{"name": "get_weather", "arguments": {"city": "Paris"}}]]
client = openai.AsyncOpenAI(base_url=os.environ["SIM_URL"], api_key="sk-test", max_retries=0,
                            default_headers={"x-simulator-tool-plan": json.dumps(plan)})
model = OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client)
agent = Agent(name="planner", tools=[get_weather], model=model)
print("final:", Runner.run_sync(agent, "weather in Paris?").final_output, flush=True)
'''


def test_both_integrations_load_and_make_one_trace(tmp_path: Path, sim: Any) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    with OTLPReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
        env.update({
            "OTEL_SERVICE_NAME": "agents-app", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "50", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
            "SIM_URL": sim.base_url,
        })
        result = subprocess.run(
            [str(BIN / "opentelemetry-instrument"), sys.executable, str(app)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0 and "final: Hello from the simulator." in result.stdout, result.stderr[-4000:]
        assert receiver.wait_for(lambda: any(s.name.startswith("invoke_workflow") for s in receiver.spans()), 10)
        spans = receiver.spans()
    by_id = {s.span_id: s for s in spans}
    workflow = next(s for s in spans if s.name == "invoke_workflow Agent workflow")
    chats = [s for s in spans if s.name.startswith("chat ")]
    mcp_units = [s for s in spans if s.name == "tools/call forecast"]
    assert len(chats) == 2 and len(mcp_units) == 2, [s.name for s in spans]
    for span in (*chats, *mcp_units):
        assert span.trace_id == workflow.trace_id
        chain = []
        node = span
        while node.parent_span_id in by_id:
            node = by_id[node.parent_span_id]
            chain.append(node.name)
        assert "invoke_agent planner" in chain and chain[-1] == workflow.name, chain
    [client_unit] = [u for u in mcp_units if u.kind == 3]  # SPAN_KIND_CLIENT
    [server_unit] = [u for u in mcp_units if u.kind == 2]  # SPAN_KIND_SERVER
    assert server_unit.parent_span_id == client_unit.span_id
    assert by_id[client_unit.parent_span_id].name == "execute_tool get_weather"
    for unit in (client_unit, server_unit):
        attributes = attrs_to_dict(unit.attributes)
        assert attributes["mcp.method.name"] == "tools/call"
        assert attributes["gen_ai.operation.name"] == "execute_tool"
    workflow_attributes = attrs_to_dict(workflow.attributes)
    assert workflow_attributes["otel_ai.task.calls"] == 2


LAZY = '''
import sys
from otel_ai.instrumentation.mcp import MCPInstrumentor
from otel_ai.instrumentation.openai_agents import OpenAIAgentsInstrumentor, processor
OpenAIAgentsInstrumentor().instrument()
MCPInstrumentor().instrument()
print("before:", sorted(m for m in ("agents", "mcp") if m in sys.modules), processor() is None)
import agents, mcp.client.session
print("after:", processor() is not None, type(vars(mcp.client.session.ClientSession)["call_tool"]).__name__)
'''


def test_instrumenting_imports_neither_library_until_the_app_does() -> None:
    """`agents` and `mcp` cost seconds to import: an app that never uses them must not pay it."""
    result = subprocess.run([sys.executable, "-c", LAZY], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "before: [] True" in result.stdout and "after: True FunctionWrapper" in result.stdout, result.stdout
