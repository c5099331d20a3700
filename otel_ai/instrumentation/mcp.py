"""MCP calls as the conventions' MCP spans, with tool calls as units of work on both sides.

The GenAI conventions' MCP page (`semantic-conventions-genai`, docs/gen-ai/mcp.md) asks for one CLIENT
span per request on the caller and one SERVER span per request on the receiver, both named
`{mcp.method.name} {target}` (`tools/call get_weather`), the server's a child of the client's through
the W3C context in `params._meta`, and says an MCP instrumentation SHOULD NOT add a second span where a
tool span exists. `mcp` 2.x traces itself (`MCP send {method} {target}` CLIENT spans, conventional SERVER
spans); we make that one span per side and add what makes a tool call count in otel-ai:

- client: `ClientSession.call_tool` runs inside a `tools/call {tool}` CLIENT span that is also an
  `execute_tool` unit (roll-up, budgets); the SDK's own request span is folded into it (its
  `jsonrpc.request.id` and error code land on ours, the context it injects into `_meta` is ours).
  `list_tools`, `read_resource`, `get_prompt` get plain CLIENT spans the same way; any other request
  keeps the SDK's span, renamed to the conventions' name.
- server: the SDK's SERVER span for `tools/call` is opened as an `execute_tool` unit, so the model calls
  a tool makes roll up into it; our middleware adds `mcp.session.id`, `network.transport` and, with
  content capture on, arguments and result.
- every span: `mcp.method.name`, `mcp.protocol.version`, `mcp.session.id` and `network.transport`
  where the transport knows them (streamable HTTP: `tcp` and the server's address; a stdio client:
  `pipe`), `error.type` as the conventions say (`tool_error` for a result marked `isError`, the JSON-RPC
  code for an error answer, the exception's type otherwise). The call itself is never changed.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator, Collection, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Final
from urllib.parse import urlsplit

import wrapt
from opentelemetry import trace
from opentelemetry.context import Context, attach, detach
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.propagate import extract
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from otel_ai.genai import semconv as sc
from otel_ai.genai.classify import error_type
from otel_ai.guard import report
from otel_ai.privacy.cut import truncate
from otel_ai.runtime import state
from otel_ai.work.context import current
from otel_ai.work.handle import Unit
from otel_ai.work.telemetry import telemetry
from otel_ai.work.units import UnitOfWork

__all__ = ["MCPInstrumentor", "instrument_server"]

_INSTRUMENTS: Final = ("mcp >= 2.0, < 3",)
MCP_METHOD: Final = "mcp.method.name"
MCP_PROTOCOL_VERSION: Final = "mcp.protocol.version"
MCP_SESSION_ID: Final = "mcp.session.id"
MCP_RESOURCE_URI: Final = "mcp.resource.uri"
JSONRPC_REQUEST_ID: Final = "jsonrpc.request.id"
RPC_STATUS_CODE: Final = "rpc.response.status_code"
PROMPT_NAME: Final = "gen_ai.prompt.name"
NETWORK_TRANSPORT: Final = "network.transport"
NETWORK_PROTOCOL: Final = "network.protocol.name"
TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
TOOL_ERROR: Final = "tool_error"
TOOL_TYPE: Final = "extension"  # the conventions' value for a tool run outside the agent
TOOLS_CALL: Final = "tools/call"
_SDK_PREFIX: Final = "MCP send "
_MARK: Final = "_otel_ai_mcp"
# What `wrap_function_wrapper` leaves (wrapt 2's FunctionWrapper is not a `wrapt.ObjectProxy`).
_PROXY: Final[type] = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)


class _State:
    enabled = False
    generation = 0
    middleware: Any = None


_STATE: Final = _State()
# Transport facts by `id()` of a client's write stream (the streams take no attributes nor weak refs):
# its streamable HTTP transport (session id, URL), or "pipe" for stdio. Removed when the transport closes.
_TRANSPORTS: Final[dict[int, Any]] = {}


class _Pending:
    """Our CLIENT span for one request, waiting for the SDK to open its own (which it becomes)."""

    __slots__ = ("method", "span", "used")

    def __init__(self, span: Span, method: str) -> None:
        self.span, self.method, self.used = span, method, False


_PENDING: ContextVar[_Pending | None] = ContextVar("otel_ai_mcp_pending", default=None)


class _ToolCall(UnitOfWork):
    """An `execute_tool` unit that is also the conventions' `tools/call {tool}` CLIENT or SERVER span."""

    def __init__(self, tool: Any, attributes: dict[str, AttributeValue], kind: SpanKind) -> None:
        attributes[MCP_METHOD] = TOOLS_CALL
        super().__init__("tool", str(tool) if tool is not None else None, tool_type=TOOL_TYPE, attributes=attributes)
        self.span_kind = kind
        self.span_name = f"{TOOLS_CALL} {tool}" if tool is not None else TOOLS_CALL


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


def _rpc_error(exc: BaseException) -> tuple[str, str] | None:
    """(code, message) of a JSON-RPC error answer (`MCPError`); None for anything else."""
    mcp_exceptions = sys.modules.get("mcp.shared.exceptions")
    if mcp_exceptions is None or not isinstance(exc, mcp_exceptions.MCPError):
        return None
    return str(exc.code), str(exc.message)


def _fail(span: Span, exc: BaseException) -> bool:
    """The conventions' error on `span`; True when it was a JSON-RPC error (the exception is not recorded)."""
    try:
        rpc = _rpc_error(exc)
        if rpc is None:
            span.set_attribute(sc.ERROR_TYPE, error_type(exc))
            span.set_status(Status(StatusCode.ERROR, truncate(str(exc), 512)))
            span.record_exception(exc, escaped=True)
            return False
        span.set_attributes({sc.ERROR_TYPE: rpc[0], RPC_STATUS_CODE: rpc[0]})
        span.set_status(Status(StatusCode.ERROR, truncate(rpc[1], 512)))
    except Exception as inner:
        report("mcp.fail", inner)
    return True


def _exit(spec: UnitOfWork, unit: Unit, exc: BaseException | None, *, recorded: bool = False) -> None:
    """End the unit; a JSON-RPC error (or one the SDK already recorded) keeps the code as `error.type`."""
    if exc is None or isinstance(exc, GeneratorExit):
        spec.__exit__(None, None, None)
    elif recorded or _rpc_error(exc) is not None:
        if not recorded:
            _fail(unit.span, exc)
        spec.__exit__(None, None, None)
    else:
        spec.__exit__(type(exc), exc, exc.__traceback__)


# -- client -----------------------------------------------------------------------------------------


def _client_attributes(session: Any) -> dict[str, AttributeValue]:
    """Protocol version, session id, transport and server of a client session, where known."""
    attributes: dict[str, AttributeValue] = {}
    try:
        version = getattr(session, "protocol_version", None)
        if isinstance(version, str) and version:
            attributes[MCP_PROTOCOL_VERSION] = version
        stream = getattr(getattr(session, "_dispatcher", None), "_write_stream", None)
        transport = _TRANSPORTS.get(id(stream)) if stream is not None else None
        if transport == "pipe":
            attributes[NETWORK_TRANSPORT] = "pipe"
        elif transport is not None:
            attributes[NETWORK_TRANSPORT] = "tcp"
            attributes[NETWORK_PROTOCOL] = "http"
            session_id = getattr(transport, "session_id", None)
            if isinstance(session_id, str) and session_id:
                attributes[MCP_SESSION_ID] = session_id
            url = urlsplit(str(getattr(transport, "url", "")))
            if url.hostname:
                attributes[sc.SERVER_ADDRESS] = url.hostname
                attributes[sc.SERVER_PORT] = url.port or (443 if url.scheme == "https" else 80)
    except Exception as exc:
        report("mcp.client_attributes", exc)
    return attributes


def _traced_tool(name: Any) -> Unit | None:
    """The tool unit another instrumentation already opened for this call (the Agents SDK's function span
    for one of its MCP tools): the current unit, a tool of the same name that is not ours."""
    unit = current()
    if (
        unit is None or unit.kind != "tool" or unit.ended or isinstance(unit.spec, _ToolCall)
        or unit.name != str(name) or unit.span is not trace.get_current_span()
    ):
        return None
    return unit


async def _enrich(unit: Unit, attributes: dict[str, AttributeValue], wrapped: Any, args: Any, kwargs: Any) -> Any:
    """The call under a tool span that exists already: the MCP attributes go on it, no second span."""
    try:
        attributes[MCP_METHOD] = TOOLS_CALL
        unit.set_attributes(attributes)
        pending = _PENDING.set(_Pending(unit.span, TOOLS_CALL))
    except Exception as exc:
        report("mcp.enrich", exc)
        return await wrapped(*args, **kwargs)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        if _rpc_error(exc) is not None:
            _fail(unit.span, exc)  # the code; the exception itself is the other instrumentation's to record
        raise
    finally:
        _reset(pending)
    if _is_error(result):
        unit.set_attribute(sc.ERROR_TYPE, TOOL_ERROR)
        unit.span.set_status(Status(StatusCode.ERROR))
    return result


async def _call_tool(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if not _STATE.enabled:
        return await wrapped(*args, **kwargs)
    try:
        name = args[0] if args else kwargs.get("name")
        arguments = args[1] if len(args) > 1 else kwargs.get("arguments")
        traced = _traced_tool(name)
        if traced is None:
            spec = _ToolCall(name, _client_attributes(instance), SpanKind.CLIENT)
            unit = spec.__enter__()
            pending = _PENDING.set(_Pending(unit.span, TOOLS_CALL))
    except Exception as exc:
        report("mcp.call_tool", exc)
        return await wrapped(*args, **kwargs)
    if traced is not None:
        return await _enrich(traced, _client_attributes(instance), wrapped, args, kwargs)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        _reset(pending)
        _exit(spec, unit, exc)
        raise
    _reset(pending)
    _finish(unit, arguments, result)
    _exit(spec, unit, None)
    return result


def _reset(token: Any) -> None:
    try:
        _PENDING.reset(token)
    except Exception as exc:
        report("mcp.reset", exc)


def _request(method: str, target: str | None) -> Any:
    """A wrapper giving `ClientSession.{method}` the conventions' CLIENT span (not a unit: no tool runs)."""

    async def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not _STATE.enabled:
            return await wrapped(*args, **kwargs)
        try:
            attributes = _client_attributes(instance)
            attributes[MCP_METHOD] = method
            name = method
            value = args[0] if args else kwargs.get("name" if target == PROMPT_NAME else "uri")
            if target == PROMPT_NAME and value is not None:
                attributes[PROMPT_NAME] = str(value)
                name = f"{method} {value}"
            elif target == MCP_RESOURCE_URI and value is not None:
                attributes[MCP_RESOURCE_URI] = str(value)  # never in the name: high cardinality
            tracer, _ = telemetry()
            span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            token = attach(trace.set_span_in_context(span))
            pending = _PENDING.set(_Pending(span, method))
        except Exception as exc:
            report("mcp.request", exc)
            return await wrapped(*args, **kwargs)
        try:
            return await wrapped(*args, **kwargs)
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit):
                _fail(span, exc)
            raise
        finally:
            _reset(pending)
            with contextlib.suppress(Exception):
                detach(token)
            span.end()

    return wrapper


@contextlib.contextmanager
def _reused(span: Span) -> Iterator[Span]:
    yield span


def _dispatcher_span(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The SDK's request span: ours when we opened one for this request, else renamed to the conventions'."""
    try:
        attributes = kwargs.get("attributes") or {}
        pending = _PENDING.get()
        if (
            _STATE.enabled and pending is not None and not pending.used and kwargs.get("kind") == SpanKind.CLIENT
            and attributes.get(MCP_METHOD) == pending.method
        ):
            pending.used = True
            pending.span.set_attributes(attributes)
            return _reused(pending.span)
        name = args[0] if args else kwargs.get("name")
        if _STATE.enabled and isinstance(name, str) and name.startswith(_SDK_PREFIX):
            name = name[len(_SDK_PREFIX):]
            if args:
                args = (name, *args[1:])
            else:
                kwargs = {**kwargs, "name": name}
    except Exception as exc:
        report("mcp.dispatcher_span", exc)
    return wrapped(*args, **kwargs)


async def _post_writer(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Remember which streamable HTTP transport serves a write stream (for the session id and server)."""
    key = id(args[3] if len(args) > 3 else kwargs.get("write_stream"))
    _TRANSPORTS[key] = instance
    try:
        return await wrapped(*args, **kwargs)
    finally:
        _TRANSPORTS.pop(key, None)


def _stdio_client(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _stdio(wrapped(*args, **kwargs))


@contextlib.asynccontextmanager
async def _stdio(inner: Any) -> AsyncIterator[Any]:
    """The SDK's stdio transport (a context manager), its write stream marked `pipe`; nothing else changed."""
    async with inner as streams:
        key = id(streams[1]) if isinstance(streams, tuple) and len(streams) > 1 else None
        if key is not None:
            _TRANSPORTS[key] = "pipe"
        try:
            yield streams
        finally:
            if key is not None:
                _TRANSPORTS.pop(key, None)


# -- server -----------------------------------------------------------------------------------------


def _server_span(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The SDK's SERVER span for `tools/call`, opened as our unit (one span: the conventions' and the tool's)."""
    try:
        attributes = kwargs.get("attributes") or {}
        if _STATE.enabled and kwargs.get("kind") == SpanKind.SERVER and attributes.get(MCP_METHOD) == TOOLS_CALL:
            return _server_unit(attributes, kwargs.get("context"))
    except Exception as exc:
        report("mcp.server_span", exc)
    return wrapped(*args, **kwargs)


@contextlib.contextmanager
def _server_unit(attributes: Mapping[str, Any], parent: Context | None) -> Iterator[Span]:
    clean = {k: v for k, v in attributes.items() if v is not None}
    spec = _ToolCall(clean.get(sc.TOOL_NAME), clean, SpanKind.SERVER)
    token = _parented(parent)
    try:
        unit = spec.__enter__()
        try:
            yield unit.span
        except BaseException as exc:
            # The SDK's middleware has put its error on the span (without the exception for a JSON-RPC
            # error, whose message may carry the client's input); ours is the exception's full type.
            if _rpc_error(exc) is None and type(exc).__name__ != "ValidationError":
                unit.set_attribute(sc.ERROR_TYPE, error_type(exc))
            _exit(spec, unit, exc, recorded=True)
            raise
        _exit(spec, unit, None)
    finally:
        if token is not None:
            with contextlib.suppress(Exception):
                detach(token)  # type: ignore[arg-type]


def _parented(parent: Context | None) -> object:
    """Make the client's span (from `_meta`) the parent, keeping the rest of the current context (where
    an in-process client's unit may ride along, so the roll-up still reaches it)."""
    if parent is None:
        return None
    return attach(trace.set_span_in_context(trace.get_current_span(parent)))


def _server_attributes(ctx: Any) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {}
    connection = getattr(getattr(ctx, "session", None), "_connection", None)
    session_id = getattr(connection, "session_id", None)
    if isinstance(session_id, str) and session_id:
        attributes[MCP_SESSION_ID] = session_id
    if getattr(ctx, "request", None) is not None:  # an HTTP request: streamable HTTP or SSE
        attributes[NETWORK_TRANSPORT] = "tcp"
        attributes[NETWORK_PROTOCOL] = "http"
    return attributes


def _is_server_unit(unit: Unit | None) -> bool:
    """Whether `unit` is the SERVER unit the SDK's span opened for this request (and not, say, an
    in-process client's unit, which rides along in the context)."""
    return (
        unit is not None and not unit.ended and getattr(unit.spec, "span_kind", None) == SpanKind.SERVER
        and unit.span is trace.get_current_span()
    )


def _own_server_unit(ctx: Any, params: Mapping[str, Any]) -> _ToolCall:
    """A unit for a `tools/call` that no SDK span wraps (its OpenTelemetry middleware was removed)."""
    attributes: dict[str, AttributeValue] = {sc.OPERATION: sc.OP_EXECUTE_TOOL}
    if ctx.request_id is not None:
        attributes[JSONRPC_REQUEST_ID] = str(ctx.request_id)
    if ctx.protocol_version:
        attributes[MCP_PROTOCOL_VERSION] = str(ctx.protocol_version)
    return _ToolCall(params.get("name"), attributes, SpanKind.SERVER)


def _middleware() -> Any:
    """Our `ServerMiddleware` (built on first use, so that importing this module never imports `mcp`)."""
    if _STATE.middleware is None:
        from mcp.server.context import ServerMiddleware

        class ToolUnitMiddleware(ServerMiddleware[Any]):
            """Session and transport on the request's SERVER span; a `tools/call`'s content on its unit."""

            async def __call__(self, ctx: Any, call_next: Any) -> Any:
                if not _STATE.enabled:
                    return await call_next(ctx)
                spec: _ToolCall | None = None
                unit: Unit | None = None
                token = None
                try:
                    extra = _server_attributes(ctx)
                    params = ctx.params or {}
                    arguments = params.get("arguments")
                    if ctx.method == TOOLS_CALL:
                        unit = current()
                        # ours from the SDK's SERVER span; not an in-process client's, which rides along
                        if not _is_server_unit(unit):
                            meta = ctx.meta if isinstance(ctx.meta, Mapping) else None
                            if meta and "traceparent" in meta:
                                token = _parented(extract(meta))
                            spec = _own_server_unit(ctx, params)
                            unit = spec.__enter__()
                    span = unit.span if unit is not None else trace.get_current_span()
                    if extra and span.is_recording():
                        span.set_attributes(extra)
                except Exception as exc:
                    report("mcp.server_request", exc)
                    return await call_next(ctx)
                try:
                    result = await call_next(ctx)
                except BaseException as exc:
                    if spec is not None and unit is not None:
                        _exit(spec, unit, exc)
                    raise
                finally:
                    if token is not None:
                        with contextlib.suppress(Exception):
                            detach(token)  # type: ignore[arg-type]
                if unit is not None:
                    _finish(unit, arguments, result)
                    if spec is not None:
                        _exit(spec, unit, None)
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


# What we wrap, by module: (owner attribute or "" for the module itself, name, wrapper).
_TARGETS: Final[dict[str, tuple[tuple[str, str, Any], ...]]] = {
    "mcp.client.session": (
        ("ClientSession", "call_tool", _call_tool),
        ("ClientSession", "list_tools", _request("tools/list", None)),
        ("ClientSession", "read_resource", _request("resources/read", MCP_RESOURCE_URI)),
        ("ClientSession", "get_prompt", _request("prompts/get", PROMPT_NAME)),
    ),
    "mcp.shared.jsonrpc_dispatcher": (("", "otel_span", _dispatcher_span),),
    "mcp.server._otel": (("", "otel_span", _server_span),),
    "mcp.server.lowlevel.server": (("Server", "__init__", _server_init),),
    "mcp.client.streamable_http": (("StreamableHTTPTransport", "post_writer", _post_writer),),
    # `stdio_client` is imported by name: wrapped where it is defined and where `mcp.Client` reads it
    "mcp.client.stdio": (("", "stdio_client", _stdio_client),),
    "mcp.client.client": (("", "stdio_client", _stdio_client),),
}


class MCPInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Wraps the client session's requests, the SDK's span helpers and transports, and every lowlevel
    `Server` created after (our middleware).

    Each part waits for the app's own import of its module (`mcp` takes more than half a second to
    import, which an app that never uses it should not pay)."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _INSTRUMENTS

    def _instrument(self, **kwargs: Any) -> None:
        _STATE.generation += 1
        generation = _STATE.generation
        _STATE.enabled = True

        def hook(targets: tuple[tuple[str, str, Any], ...]) -> Any:
            def apply(module: Any) -> None:
                if _STATE.generation == generation:
                    for owner, method, wrapper in targets:
                        _wrap(getattr(module, owner) if owner else module, method, wrapper)

            return apply

        for module, targets in _TARGETS.items():
            try:
                wrapt.register_post_import_hook(hook(targets), module)
            except Exception as exc:
                report("mcp.instrument", exc)

    def _uninstrument(self, **kwargs: Any) -> None:
        _STATE.generation += 1
        _STATE.enabled = False
        for module, targets in _TARGETS.items():
            loaded = sys.modules.get(module)
            if loaded is None:
                continue
            for owner, method, _ in targets:
                try:
                    unwrap(getattr(loaded, owner) if owner else loaded, method)
                except Exception as exc:
                    report("mcp.uninstrument", exc)


def _wrap(owner: Any, method: str, wrapper: Any) -> None:
    try:
        if not isinstance(vars(owner).get(method), _PROXY):
            wrapt.wrap_function_wrapper(owner, method, wrapper)
    except Exception as exc:
        report("mcp.wrap", exc)
