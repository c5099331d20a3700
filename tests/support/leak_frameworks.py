"""Leak-suite places of the agent framework integrations (``PROVIDERS`` name ``frameworks``).

What their telemetry reads: a tool's arguments and its result, on the `execute_tool` units of the
OpenAI Agents SDK (a function tool the simulator's tool plan calls), of LangChain (a tool run through
`invoke`, sync and async) and of MCP (a tool called through a real client and server in one process,
both sides recorded: the conventions' `tools/call` CLIENT and SERVER spans); and the Agents SDK's group
id, which becomes the run's `gen_ai.conversation.id`. The Agents SDK's model calls go to an
OpenAI simulator of this module's own (``start``); the SDK's own export is off (no OPENAI_API_KEY here,
and the processors replaced by otel-ai's alone). ``leak`` is ``tests/support/leak_app.py``, passed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
from typing import Any

NAME = "frameworks"


def start(stack: contextlib.ExitStack) -> Any | None:
    if any(importlib.util.find_spec(name) is None for name in ("agents", "mcp", "langchain_core")):
        return None
    from otel_ai.testing.simulator import OpenAISimulator

    return stack.enter_context(OpenAISimulator())


def _agent_run(ctx: Any, tool_name: str, arguments: dict[str, Any], result: str, group_id: str | None = None) -> int:
    """One agent run: the model calls the tool with `arguments`, the tool answers `result`; 2 model calls."""
    import openai
    from agents import Agent, FunctionTool, Runner, set_trace_processors
    from agents.models.openai_responses import OpenAIResponsesModel

    from otel_ai.instrumentation.openai_agents import processor

    ours = processor()
    if ours is not None:
        set_trace_processors([ours])  # nothing for the SDK's own exporter to send

    async def invoke(context: Any, raw: str) -> str:
        return result

    tool = FunctionTool(
        name=tool_name, description="Looks a customer up.",
        params_json_schema={"type": "object", "properties": {}, "additionalProperties": True},
        on_invoke_tool=invoke, strict_json_schema=False,
    )
    plan = [[{"name": tool_name, "arguments": arguments}]]
    client = openai.AsyncOpenAI(
        base_url=ctx.app.providers[NAME].base_url, api_key=ctx.app.api_key, max_retries=0,
        default_headers={"x-simulator-tool-plan": json.dumps(plan)},
    )
    agent = Agent(name="support", tools=[tool], model=OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client))
    if group_id is None:
        Runner.run_sync(agent, "look the customer up")
    else:
        from agents import RunConfig

        Runner.run_sync(agent, "look the customer up", run_config=RunConfig(group_id=group_id))
    return 2


def _langchain_call(arguments: dict[str, Any], result: str) -> int:
    """One LangChain tool run, sync and async: its `execute_tool` unit reads the arguments and the result."""
    from langchain_core.tools import StructuredTool

    def lookup(**kwargs: Any) -> str:
        return result

    async def alookup(**kwargs: Any) -> str:
        return result

    schema = {"type": "object", "properties": {}, "additionalProperties": True}
    tool = StructuredTool.from_function(func=lookup, coroutine=alookup, name="lookup_customer",
                                        description="Looks a customer up.", args_schema=schema)
    tool.invoke(arguments)
    asyncio.run(tool.ainvoke(arguments))
    return 0


def _mcp_call(arguments: dict[str, Any], result: str) -> int:
    """One MCP tool call over JSON-RPC (memory streams): both sides' units read the arguments and the result."""
    from mcp import Client
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("crm")

    @server.tool()
    def lookup(note: str = "", card: int = 0) -> str:
        """Looks a customer up."""
        return result

    async def call() -> None:
        async with Client(server, mode="legacy") as client:
            await client.call_tool("lookup", arguments)

    asyncio.run(call())
    return 0


def places(leak: Any) -> tuple[Any, ...]:
    Place = leak.Place
    text = tuple((context, None) for context in leak.TEXT_CONTEXTS)
    structured = text + leak.STRUCTURED_EXTRAS

    def run_agents_arguments(ctx: Any) -> int:
        return _agent_run(ctx, leak.TOOL, ctx.arguments(), "done")

    def run_agents_result(ctx: Any) -> int:
        return _agent_run(ctx, leak.TOOL, {"id": 7}, ctx.blob())

    def run_mcp_arguments(ctx: Any) -> int:
        return _mcp_call(ctx.arguments(), "done")  # the e-mail key is not the tool's: read, then refused or ignored

    def run_mcp_result(ctx: Any) -> int:
        return _mcp_call({"note": "hi"}, ctx.blob())

    def run_langchain_arguments(ctx: Any) -> int:
        return _langchain_call(ctx.arguments(), "done")

    def run_langchain_result(ctx: Any) -> int:
        return _langchain_call({"note": "hi"}, ctx.blob())

    def run_agents_group_id(ctx: Any) -> int:
        calls = 0
        for kind in leak.KINDS:
            group = f"{ctx.canary} {ctx.value('group_id', kind.name).text}"
            calls += _agent_run(ctx, leak.TOOL, {"id": 7}, "done", group_id=group)
        return calls

    return (
        Place("langchain.tool_arguments", "LangChain: a tool's arguments (invoke, ainvoke)", structured,
              run_langchain_arguments, NAME, "gen_ai.tool.call.arguments"),
        Place("langchain.tool_result", "LangChain: a tool's result (invoke, ainvoke)", text, run_langchain_result,
              NAME, "gen_ai.tool.call.result"),
        Place("agents.group_id", "Agents SDK: the run's group id (the conversation id)", (("group_id", None),),
              run_agents_group_id, NAME, "gen_ai.conversation.id"),
        Place("agents.tool_arguments", "Agents SDK: a function tool's arguments", structured, run_agents_arguments,
              NAME, "gen_ai.tool.call.arguments"),
        Place("agents.tool_result", "Agents SDK: a function tool's result", text, run_agents_result,
              NAME, "gen_ai.tool.call.result"),
        Place("mcp.tool_arguments", "MCP: a tool's arguments (client and server)", structured,
              run_mcp_arguments, NAME, "gen_ai.tool.call.arguments"),
        Place("mcp.tool_result", "MCP: a tool's result (client and server)", text, run_mcp_result,
              NAME, "gen_ai.tool.call.result"),
    )
