"""MCP tool calls as units of work, on both sides: the client's `call_tool` and the server's handler.

`mcp` 2.x traces itself: its client sends each request under a CLIENT span (`tools/call {tool}`) and
puts the trace context in the request's `params._meta` (traceparent/tracestate, as the conventions
ask); its server continues that context in a SERVER span. We add what makes a tool call count in
otel-ai: on the client, `ClientSession.call_tool` runs inside an `execute_tool {tool}` unit (the SDK's
CLIENT span, and so the server's spans, nest under it: one trace); on the server, a middleware runs
each `tools/call` inside an `execute_tool {tool}` unit, so the model calls a tool makes roll up into it
and budgets see them. Both carry the conventions' MCP attributes (`mcp.method.name`,
`gen_ai.tool.name`, `jsonrpc.request.id` where known), arguments and result only with content capture
on, and `error.type` (`tool_error` for a result marked `isError`, the exception's type otherwise);
the call itself is never changed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Mapping
from typing import Any, Final

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from otel_ai.genai import semconv as sc
from otel_ai.guard import report
from otel_ai.runtime import state
from otel_ai.work.handle import Unit
from otel_ai.work.units import UnitOfWork

__all__ = ["MCPInstrumentor", "instrument_server"]

_INSTRUMENTS: Final = ("mcp >= 2.0, < 3",)
MCP_METHOD: Final = "mcp.method.name"
MCP_PROTOCOL_VERSION: Final = "mcp.protocol.version"
JSONRPC_REQUEST_ID: Final = "jsonrpc.request.id"
TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
TOOL_ERROR: Final = "tool_error"
TOOL_TYPE: Final = "extension"  # the conventions' value for a tool run outside the agent
_MARK: Final = "_otel_ai_mcp"


class _State:
    enabled = False
    generation = 0
    middleware: Any = None


_STATE: Final = _State()


def _capture() -> tuple[bool, int]:
    try:
        settings = state.settings()
        return settings.content.name != "NO_CONTENT", int(settings.content_max_length)
    except Exception as exc:
        report("mcp.settings", exc)
        return False, 0


def _json(value: Any, limit: int) -> str:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json", by_alias=True, exclude_none=True)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:limit] if limit > 0 else text


def _is_error(result: Any) -> bool:
    if isinstance(result, Mapping):
        return result.get("isError") is True
    return getattr(result, "is_error", False) is True


def _finish(unit: Unit, arguments: Any, result: Any) -> None:
    """Content (when on) and a result marked `isError` on the unit; never raises."""
    try:
        capture, limit = _capture()
        if capture:
            if arguments is not None:
                unit.set_attribute(TOOL_CALL_ARGUMENTS, _json(arguments, limit))
            unit.set_attribute(TOOL_CALL_RESULT, _json(result, limit))
        if _is_error(result):
            unit.set_attribute(sc.ERROR_TYPE, TOOL_ERROR)
            unit.span.set_status(Status(StatusCode.ERROR))
    except Exception as exc:
        report("mcp.finish", exc)


def _spec(name: Any, attributes: dict[str, AttributeValue]) -> UnitOfWork:
    attributes[MCP_METHOD] = "tools/call"
    return UnitOfWork("tool", str(name), tool_type=TOOL_TYPE, attributes=attributes)


# -- client -----------------------------------------------------------------------------------------


async def _call_tool(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if not _STATE.enabled:
        return await wrapped(*args, **kwargs)
    try:
        name = args[0] if args else kwargs.get("name")
        arguments = args[1] if len(args) > 1 else kwargs.get("arguments")
        spec = _spec(name, {})
    except Exception as exc:
        report("mcp.call_tool", exc)
        return await wrapped(*args, **kwargs)
    async with spec as unit:  # the unit records an exception and lets it through unchanged
        result = await wrapped(*args, **kwargs)
        _finish(unit, arguments, result)
        return result


# -- server -----------------------------------------------------------------------------------------


def _middleware() -> Any:
    """Our `ServerMiddleware` (built on first use, so that importing this module never imports `mcp`)."""
    if _STATE.middleware is None:
        from mcp.server.context import ServerMiddleware

        class ToolUnitMiddleware(ServerMiddleware[Any]):
            """Runs each `tools/call` inside an `execute_tool {tool}` unit."""

            async def __call__(self, ctx: Any, call_next: Any) -> Any:
                if not _STATE.enabled or ctx.method != "tools/call":
                    return await call_next(ctx)
                try:
                    params = ctx.params or {}
                    attributes: dict[str, AttributeValue] = {}
                    if ctx.request_id is not None:
                        attributes[JSONRPC_REQUEST_ID] = str(ctx.request_id)
                    if ctx.protocol_version:
                        attributes[MCP_PROTOCOL_VERSION] = str(ctx.protocol_version)
                    spec = _spec(params.get("name"), attributes)
                    arguments = params.get("arguments")
                except Exception as exc:
                    report("mcp.server_tool", exc)
                    return await call_next(ctx)
                async with spec as unit:
                    result = await call_next(ctx)
                    _finish(unit, arguments, result)
                    return result

        _STATE.middleware = ToolUnitMiddleware()
    return _STATE.middleware


def instrument_server(server: Any) -> Any:
    """Add our middleware to a server created before `instrument()` (an `MCPServer` or a lowlevel `Server`)."""
    try:
        low = getattr(server, "_lowlevel_server", server)
        chain = getattr(low, "middleware", None)
        if isinstance(chain, list) and not any(getattr(m, _MARK, False) for m in chain):
            middleware = _middleware()
            setattr(middleware, _MARK, True)
            chain.append(middleware)
    except Exception as exc:
        report("mcp.instrument_server", exc)
    return server


def _server_init(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    wrapped(*args, **kwargs)
    instrument_server(instance)


class MCPInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Wraps `ClientSession.call_tool` and adds our middleware to every lowlevel `Server` created after.

    Each part waits for the app's own import of its module (`mcp` takes more than half a second to
    import, which an app that never uses it should not pay)."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _INSTRUMENTS

    def _instrument(self, **kwargs: Any) -> None:
        _STATE.generation += 1
        generation = _STATE.generation
        _STATE.enabled = True

        def client(module: Any) -> None:
            if _STATE.generation == generation:
                _wrap(module.ClientSession, "call_tool", _call_tool)

        def server(module: Any) -> None:
            if _STATE.generation == generation:
                _wrap(module.Server, "__init__", _server_init)

        try:
            wrapt.register_post_import_hook(client, "mcp.client.session")
            wrapt.register_post_import_hook(server, "mcp.server.lowlevel.server")
        except Exception as exc:
            report("mcp.instrument", exc)

    def _uninstrument(self, **kwargs: Any) -> None:
        _STATE.generation += 1
        _STATE.enabled = False
        for module, owner, method in (("mcp.client.session", "ClientSession", "call_tool"),
                                      ("mcp.server.lowlevel.server", "Server", "__init__")):
            loaded = sys.modules.get(module)
            if loaded is not None:
                try:
                    unwrap(getattr(loaded, owner), method)
                except Exception as exc:
                    report("mcp.uninstrument", exc)


def _wrap(owner: Any, method: str, wrapper: Any) -> None:
    try:
        if not isinstance(vars(owner).get(method), wrapt.ObjectProxy):
            wrapt.wrap_function_wrapper(owner, method, wrapper)
    except Exception as exc:
        report("mcp.wrap", exc)
