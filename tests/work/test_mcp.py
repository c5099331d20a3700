"""MCP calls as the conventions' MCP spans: a real `mcp` client and `MCPServer` in one process (memory
streams, direct dispatch) and over real streamable HTTP (uvicorn on 127.0.0.1).

A tool call is one `tools/call {tool}` CLIENT span and one SERVER span under it (the context crossing in
`params._meta`), each also an `execute_tool` unit: a model call the tool makes (the real `openai` client
against the simulator) rolls up into both.
"""

from __future__ import annotations

import contextlib
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


def _pair(telemetry: Any, name: str) -> tuple[Any, Any]:
    """The conventions' CLIENT span (also the client's unit) and the SERVER span under it (the server's)."""
    spans = _named(telemetry, name)
    assert len(spans) == 2, [s.name for s in telemetry.spans()]
    [client_span] = [s for s in spans if s.kind.name == "CLIENT"]
    [server_span] = [s for s in spans if s.kind.name == "SERVER"]
    assert server_span.parent.span_id == client_span.context.span_id
    assert server_span.context.trace_id == client_span.context.trace_id
    return client_span, server_span


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_one_trace_client_to_server(sim: Any, instrumented: Any, mode: str) -> None:
    """`legacy`: JSON-RPC over memory streams, the context crossing in `params._meta`; `auto`: direct dispatch.

    One span per side, as the conventions draw it: `tools/call forecast` CLIENT → `tools/call forecast`
    SERVER → the tool's model call; each span is also an `execute_tool` unit that rolls the call up."""
    async with Client(_server(sim), mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("forecast", {"city": "Paris"})
    assert not result.is_error
    client_span, server_span = _pair(instrumented, "tools/call forecast")
    assert client_span.parent is None
    [chat] = [s for s in instrumented.spans() if (s.attributes or {}).get("gen_ai.operation.name") == "chat"]
    assert chat.parent.span_id == server_span.context.span_id
    names = [s.name for s in instrumented.spans()]
    assert not [n for n in names if n.startswith(("MCP send", "execute_tool"))], names  # no second span
    for span in (client_span, server_span):
        attributes = span.attributes
        assert attributes["gen_ai.operation.name"] == "execute_tool"
        assert attributes["gen_ai.tool.name"] == "forecast"
        assert attributes["gen_ai.tool.type"] == "extension"
        assert attributes["mcp.method.name"] == "tools/call"
        assert attributes["mcp.protocol.version"]
        assert "gen_ai.tool.call.arguments" not in attributes  # content off
        assert "error.type" not in attributes
        assert span.status.status_code.name == "UNSET"
        assert attributes["otel_ai.task.calls"] == 1  # the tool's model call, counted once in each
        assert attributes["otel_ai.task.cost.usd"] > 0
        assert "mcp.session.id" not in attributes  # memory streams and direct dispatch have no session
    assert client_span.attributes["mcp.protocol.version"] == server_span.attributes["mcp.protocol.version"]
    if mode == "legacy":  # the request id the SDK's dispatcher gave the request is on the client span
        assert client_span.attributes["jsonrpc.request.id"] == server_span.attributes["jsonrpc.request.id"]


async def test_tool_rolls_up_into_the_callers_units(sim: Any, instrumented: Any) -> None:
    import otel_ai

    with otel_ai.workflow("trip") as workflow:
        async with Client(_server(sim), mode="legacy") as client:
            await client.call_tool("forecast", {"city": "Paris"})
    assert workflow.totals.calls == 1 and workflow.totals.cost_usd > 0
    client_span, _ = _pair(instrumented, "tools/call forecast")
    [trip] = _named(instrumented, "invoke_workflow trip")
    assert client_span.parent.span_id == trip.context.span_id


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_tool_error_is_recorded_and_returned(sim: Any, instrumented: Any, mode: str) -> None:
    async with Client(_server(sim), mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("broken", {"city": "Oslo"})
    assert result.is_error  # what the app sees is the SDK's answer, unchanged
    for span in _pair(instrumented, "tools/call broken"):
        assert span.attributes["error.type"] == "tool_error"
        assert span.status.status_code.name == "ERROR"


async def test_unknown_tool(sim: Any, instrumented: Any) -> None:
    async with Client(_server(sim)) as client:
        result = await client.call_tool("missing", {})
    assert result.is_error
    [client_span] = [s for s in _named(instrumented, "tools/call missing") if s.kind.name == "CLIENT"]
    assert client_span.attributes["error.type"] == "tool_error"


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_call_that_raises_raises_the_same(sim: Any, instrumented: Any, mode: str) -> None:
    """A timeout reaches the app as the SDK raises it; the span carries the JSON-RPC code, as the conventions ask."""
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
    [client_span] = [s for s in _named(instrumented, "tools/call wait") if s.kind.name == "CLIENT"]
    assert client_span.attributes["error.type"] == str(raised.value.code)
    assert client_span.attributes["rpc.response.status_code"] == str(raised.value.code)
    assert client_span.status.status_code.name == "ERROR"


def _catalogue(sim: Any) -> MCPServer:
    server = _server(sim)

    @server.resource("notes://today")
    def today() -> str:
        """Today's notes."""
        return "bring an umbrella"

    @server.prompt()
    def greet(name: str) -> str:
        """A greeting."""
        return f"Say hello to {name}"

    return server


async def test_other_requests_get_the_conventions_spans(sim: Any, instrumented: Any) -> None:
    """`tools/list`, `resources/read` and `prompts/get {prompt}`: CLIENT → SERVER, no tool unit, no cost."""
    async with Client(_catalogue(sim), mode="legacy") as client:
        await client.list_tools()
        await client.read_resource("notes://today")
        await client.get_prompt("greet", {"name": "Ada"})
    listing, _ = _pair(instrumented, "tools/list")
    read, _ = _pair(instrumented, "resources/read")
    prompt, prompt_server = _pair(instrumented, "prompts/get greet")
    assert listing.attributes["mcp.method.name"] == "tools/list"
    assert read.attributes["mcp.method.name"] == "resources/read"
    assert read.attributes["mcp.resource.uri"] == "notes://today"
    assert prompt.attributes["gen_ai.prompt.name"] == prompt_server.attributes["gen_ai.prompt.name"] == "greet"
    for span in (listing, read, prompt):
        assert "gen_ai.operation.name" not in span.attributes  # only a tool call is execute_tool
        assert span.attributes["jsonrpc.request.id"]
        assert span.attributes["mcp.protocol.version"]
    # the requests we do not wrap keep the SDK's span, under the conventions' name
    assert [s for s in _named(instrumented, "initialize") if s.kind.name == "CLIENT"]
    assert not [s.name for s in instrumented.spans() if s.name.startswith("MCP send")]


@contextlib.contextmanager
def serve_http(server: MCPServer) -> Iterator[str]:
    """`server` over real streamable HTTP (uvicorn on 127.0.0.1, in a thread); yields its URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    web = uvicorn.Server(uvicorn.Config(server.streamable_http_app(), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not web.started and time.monotonic() < deadline:
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        web.should_exit = True
        thread.join(10)


async def test_a_request_that_fails_carries_the_json_rpc_code(sim: Any, instrumented: Any) -> None:
    from mcp.shared.exceptions import MCPError

    async with Client(_catalogue(sim), mode="legacy") as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource("notes://missing")
    [read] = [s for s in _named(instrumented, "resources/read") if s.kind.name == "CLIENT"]
    assert read.attributes["error.type"] == read.attributes["rpc.response.status_code"] == str(raised.value.code)
    assert read.status.status_code.name == "ERROR"
    assert not read.events  # a JSON-RPC error's message may carry the request: not recorded as an exception


async def test_streamable_http_session(sim: Any, instrumented: Any) -> None:
    """Over real HTTP: both spans carry the transport's session id, `network.transport` and the server."""
    with serve_http(_server(sim)) as url:
        async with Client(url, mode="legacy") as client:
            result = await client.call_tool("forecast", {"city": "Paris"})
        assert not result.is_error
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    client_span, server_span = _pair(instrumented, "tools/call forecast")
    session = client_span.attributes["mcp.session.id"]
    assert session and server_span.attributes["mcp.session.id"] == session
    for span in (client_span, server_span):
        assert span.attributes["network.transport"] == "tcp"
        assert span.attributes["network.protocol.name"] == "http"
    # across processes (here: threads behind HTTP) the tool's cost is the server's; the client's span
    # still ends with its roll-up (nothing of it ran in the client)
    assert server_span.attributes["otel_ai.task.calls"] == 1
    assert client_span.attributes["otel_ai.task.calls"] == 0
    assert client_span.attributes["server.address"] == "127.0.0.1"
    assert client_span.attributes["server.port"] == port


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
    _pair(telemetry, "tools/call forecast")


async def test_without_the_sdks_middleware(sim: Any, instrumented: Any) -> None:
    """A server whose SDK OpenTelemetry middleware was removed still gets its SERVER unit (from our middleware)."""
    server = _server(sim)
    low = server._lowlevel_server
    low.middleware[:] = [m for m in low.middleware if type(m).__name__ != "OpenTelemetryMiddleware"]
    async with Client(server, mode="legacy") as client:
        await client.call_tool("forecast", {"city": "Paris"})
    _, server_span = _pair(instrumented, "tools/call forecast")
    assert server_span.attributes["otel_ai.task.calls"] == 1
    assert server_span.attributes["jsonrpc.request.id"]


async def test_uninstrumented_adds_nothing(sim: Any, telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    use_global_providers(telemetry, monkeypatch)
    MCPInstrumentor().instrument()
    MCPInstrumentor().uninstrument()
    async with Client(_server(sim), mode="legacy") as client:
        await client.call_tool("forecast", {"city": "Paris"})
    names = [s.name for s in telemetry.spans()]
    assert "MCP send tools/call forecast" in names  # the SDK's own span, untouched
    assert not [s for s in telemetry.spans() if "otel_ai.task.calls" in (s.attributes or {})]


class TestContent:
    @pytest.fixture
    def content_mode(self) -> str:
        return "span_only"

    async def test_arguments_and_result(self, sim: Any, instrumented: Any) -> None:
        async with Client(_server(sim)) as client:
            await client.call_tool("forecast", {"city": "Paris"})
        for span in _pair(instrumented, "tools/call forecast"):
            assert json.loads(span.attributes["gen_ai.tool.call.arguments"]) == {"city": "Paris"}
            assert "Paris: " in span.attributes["gen_ai.tool.call.result"]


STDIO_SERVER = """
from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    return text


server.run("stdio")
"""


async def test_stdio_client_is_a_pipe(tmp_path: Any, instrumented: Any) -> None:
    """A server in a subprocess over stdio: the client's span says `network.transport` `pipe`."""
    import sys

    from mcp import StdioServerParameters

    script = tmp_path / "server.py"
    script.write_text(STDIO_SERVER)
    params = StdioServerParameters(command=sys.executable, args=[str(script)])
    async with Client(params, mode="legacy") as client:
        result = await client.call_tool("echo", {"text": "hi"})
    assert not result.is_error
    [span] = _named(instrumented, "tools/call echo")  # the server's spans are in its own process
    assert span.kind.name == "CLIENT"
    assert span.attributes["network.transport"] == "pipe"
    assert span.attributes["jsonrpc.request.id"]
    assert "mcp.session.id" not in span.attributes
