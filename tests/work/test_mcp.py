"""MCP tool calls as units: a real `mcp` client and `MCPServer` in one process (the in-memory transport).

The client's `execute_tool` unit, the SDK's own CLIENT and SERVER spans and the server's `execute_tool`
unit form one trace, the server side continuing the context the client put in `params._meta`; a model
call the tool makes (the real `openai` client against the simulator) rolls up into both units.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

mcp = pytest.importorskip("mcp")

from mcp import Client  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402

from otel_ai.instrumentation.mcp import MCPInstrumentor, instrument_server  # noqa: E402
from tests.conftest import API_KEY  # noqa: E402
from tests.work.units_support import use_global_providers  # noqa: E402


@pytest.fixture(autouse=True)
def sdk_tracer(telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's own tracer binds to the first global provider it sees: point it at this test's."""
    import mcp.shared._otel as sdk_otel

    monkeypatch.setattr(sdk_otel, "_tracer", telemetry.providers["tracer_provider"].get_tracer("mcp-python-sdk"))


@pytest.fixture
def instrumented(telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    use_global_providers(telemetry, monkeypatch)
    MCPInstrumentor().instrument()
    yield telemetry
    MCPInstrumentor().uninstrument()


def _server(sim: Any) -> MCPServer:
    import openai

    server = MCPServer("weather")

    @server.tool()
    async def forecast(city: str) -> str:
        """A forecast written by a model: its cost belongs to this tool."""
        async with openai.AsyncOpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0) as client:
            answer = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"forecast {city}"}]
            )
        return f"{city}: {answer.choices[0].message.content}"

    @server.tool()
    def broken(city: str) -> str:
        """Always raises."""
        raise RuntimeError(f"no station in {city}")

    return server


def _named(telemetry: Any, name: str) -> list[Any]:
    return [s for s in telemetry.spans() if s.name == name]


def _units(telemetry: Any, tool: str) -> tuple[Any, Any]:
    """The client's unit (no parent in the test) and the server's unit (under the SDK's SERVER span)."""
    units = _named(telemetry, f"execute_tool {tool}")
    assert len(units) == 2, [s.name for s in telemetry.spans()]
    [client_unit] = [u for u in units if u.parent is None]
    [server_unit] = [u for u in units if u.parent is not None]
    return client_unit, server_unit


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_one_trace_client_to_server(sim: Any, instrumented: Any, mode: str) -> None:
    """`legacy`: JSON-RPC over memory streams, the context crossing in `params._meta`; `auto`: direct dispatch."""
    async with Client(_server(sim), mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("forecast", {"city": "Paris"})
    assert not result.is_error
    client_unit, server_unit = _units(instrumented, "forecast")
    [sdk_server] = [s for s in _named(instrumented, "tools/call forecast") if s.kind.name == "SERVER"]
    [chat] = [s for s in instrumented.spans() if (s.attributes or {}).get("gen_ai.operation.name") == "chat"]
    trace_id = client_unit.context.trace_id
    assert {s.context.trace_id for s in (sdk_server, server_unit, chat)} == {trace_id}
    if mode == "legacy":
        # client unit → the SDK's CLIENT span → (params._meta) the SDK's SERVER span → server unit → model call
        [sdk_client] = _named(instrumented, "MCP send tools/call forecast")
        assert sdk_client.context.trace_id == trace_id
        assert sdk_client.parent.span_id == client_unit.context.span_id
        assert sdk_server.parent.span_id == sdk_client.context.span_id
    else:
        assert sdk_server.parent.span_id == client_unit.context.span_id
    assert server_unit.parent.span_id == sdk_server.context.span_id
    assert chat.parent.span_id == server_unit.context.span_id
    for unit in (client_unit, server_unit):
        assert unit.attributes["gen_ai.operation.name"] == "execute_tool"
        assert unit.attributes["gen_ai.tool.name"] == "forecast"
        assert unit.attributes["gen_ai.tool.type"] == "extension"
        assert unit.attributes["mcp.method.name"] == "tools/call"
        assert "gen_ai.tool.call.arguments" not in unit.attributes  # content off
        assert "error.type" not in unit.attributes
        assert unit.attributes["otel_ai.task.calls"] == 1  # the tool's model call, counted once in each
        assert unit.attributes["otel_ai.task.cost.usd"] > 0
    assert server_unit.attributes["jsonrpc.request.id"] == sdk_server.attributes["jsonrpc.request.id"]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_tool_error_is_recorded_and_returned(sim: Any, instrumented: Any, mode: str) -> None:
    async with Client(_server(sim), mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("broken", {"city": "Oslo"})
    assert result.is_error  # what the app sees is the SDK's answer, unchanged
    for unit in _units(instrumented, "broken"):
        assert unit.attributes["error.type"] == "tool_error"
        assert unit.status.status_code.name == "ERROR"


async def test_unknown_tool(sim: Any, instrumented: Any) -> None:
    async with Client(_server(sim)) as client:
        result = await client.call_tool("missing", {})
    assert result.is_error
    [client_unit] = [u for u in _named(instrumented, "execute_tool missing") if u.parent is None]
    assert client_unit.attributes["error.type"] == "tool_error"


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_call_that_raises_raises_the_same(sim: Any, instrumented: Any, mode: str) -> None:
    """A timeout reaches the app as the SDK raises it; the unit records its type."""
    import anyio
    from mcp.shared.exceptions import MCPError

    server = MCPServer("slow")

    @server.tool()
    async def wait() -> str:
        await anyio.sleep(5)
        return "late"

    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        with pytest.raises(MCPError) as raised:
            await client.call_tool("wait", {}, read_timeout_seconds=0.2)
    [client_unit] = [u for u in _named(instrumented, "execute_tool wait") if u.parent is None]
    assert client_unit.attributes["error.type"] == f"{type(raised.value).__module__}.{type(raised.value).__qualname__}"
    assert client_unit.status.status_code.name == "ERROR"


async def test_server_made_before_instrumenting(sim: Any, telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = _server(sim)
    use_global_providers(telemetry, monkeypatch)
    MCPInstrumentor().instrument()
    try:
        instrument_server(server)
        instrument_server(server)  # twice: one middleware
        async with Client(server) as client:
            await client.call_tool("forecast", {"city": "Paris"})
    finally:
        MCPInstrumentor().uninstrument()
    _units(telemetry, "forecast")


async def test_uninstrumented_adds_nothing(sim: Any, telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    use_global_providers(telemetry, monkeypatch)
    MCPInstrumentor().instrument()
    MCPInstrumentor().uninstrument()
    async with Client(_server(sim)) as client:
        await client.call_tool("forecast", {"city": "Paris"})
    assert not _named(telemetry, "execute_tool forecast")


class TestContent:
    @pytest.fixture
    def content_mode(self) -> str:
        return "span_only"

    async def test_arguments_and_result(self, sim: Any, instrumented: Any) -> None:
        async with Client(_server(sim)) as client:
            await client.call_tool("forecast", {"city": "Paris"})
        for unit in _units(instrumented, "forecast"):
            assert json.loads(unit.attributes["gen_ai.tool.call.arguments"]) == {"city": "Paris"}
            assert "Paris: " in unit.attributes["gen_ai.tool.call.result"]
