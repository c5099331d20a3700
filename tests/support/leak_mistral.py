"""Mistral AI's places in the leak suite (see ``tests/support/leak_app.py``, "Adding a provider").

The real ``mistralai`` client against the Mistral simulator: prompts, system instructions, tool
calls, tool results and definitions, the model's output (whole and streamed, sync and async), an
error body that repeats the prompt and the key (and a logged exception), model names, custom
request headers, and the clients' own keys: Mistral keys are 32 opaque letters and digits that no
pattern can recognise, so only their registration (``client.sdk_configuration.security.api_key``,
a callable key, ``MISTRAL_API_KEY``) keeps them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
from typing import Any

MODEL = "mistral-small-latest"
TOOL = "lookup_customer"
NEEDS = "mistral"
PROVIDER = "mistral_ai"
_leak: Any = None  # the leak app module, handed to `places`


def _scenario(name: str, **extra: str) -> dict[str, str]:
    return {"x-simulator-scenario": name, **extra}


class _Clients:
    """The place's clients: the app's plain-key client, one per event loop for async calls."""

    def __init__(self, ctx: Any) -> None:
        self.sim = ctx.app.providers[NEEDS]
        self.ctx = ctx

    def client(self, api_key: Any = None) -> Any:
        from mistralai.client import Mistral

        key = api_key if api_key is not None else _key(self.ctx)
        return Mistral(api_key=key, **self.sim.client_options())


def _key(ctx: Any) -> str:
    """The plain key of the app's Mistral clients (the client.api_key place's first value)."""
    place = next(p for p in _leak.PLACES if p.name == "mistral.client.api_key")
    return str(next(p.value for p in _leak.planted_for(place) if p.context == "api_key"))


def _chat(ctx: Any, messages: list[dict[str, Any]], **kwargs: Any) -> int:
    _Clients(ctx).client().chat.complete(model=kwargs.pop("model", MODEL), messages=messages, **kwargs)
    return 1


def _stream(ctx: Any, messages: list[dict[str, Any]], **kwargs: Any) -> int:
    with _Clients(ctx).client().chat.stream(model=MODEL, messages=messages, **kwargs) as stream:
        for _ in stream:
            pass
    return 1


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def _tool_messages(arguments: str, result: str) -> list[dict[str, Any]]:
    call = {"id": "call00001", "type": "function", "function": {"name": TOOL, "arguments": arguments}}
    return [_user("look the customer up"), {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call00001", "name": TOOL, "content": result}]


def _expect_error(ctx: Any, call: Any, *, log: bool = False) -> int:
    from mistralai.client import errors

    try:
        call()
    except errors.SDKError as exc:
        if exc.status_code != 400:
            raise
        if log:
            logging.getLogger("app").exception("the Mistral gateway refused the call")
        return 1
    raise AssertionError(f"{ctx.place.name}: the echo_error scenario did not fail")


# -- the places' calls -------------------------------------------------------------------------


def _run_user(ctx: Any) -> int:
    return _chat(ctx, [_user(ctx.blob())])


def _run_system(ctx: Any) -> int:
    return _chat(ctx, [{"role": "system", "content": ctx.blob()}, _user("hi")])


def _run_tool_call_request(ctx: Any) -> int:
    return _chat(ctx, _tool_messages(json.dumps(ctx.arguments()), "found"))


def _run_tool_result(ctx: Any) -> int:
    return _chat(ctx, _tool_messages("{}", ctx.blob()))


def _run_tool_definitions(ctx: Any) -> int:
    definition = {
        "name": TOOL,
        "description": ctx.blob(),
        "parameters": {"type": "object", "properties": {ctx.value("dict_key", "email").value: {"type": "string"}}},
    }
    return _chat(ctx, [_user("hi")], tools=[{"type": "function", "function": definition}])


def _run_output(ctx: Any) -> int:
    return _chat(ctx, [_user(ctx.blob())], http_headers=_scenario("echo"))


def _run_stream_output(ctx: Any) -> int:
    return _stream(ctx, [_user(ctx.blob())], http_headers=_scenario("echo"))


def _run_async_output(ctx: Any) -> int:
    async def call() -> None:
        client = _Clients(ctx).client()
        await client.chat.complete_async(model=MODEL, messages=[_user(ctx.blob())], http_headers=_scenario("echo"))
        stream = await client.chat.stream_async(model=MODEL, messages=[_user(ctx.blob())],
                                                http_headers=_scenario("echo"))
        async for _ in stream:
            pass

    asyncio.run(call())
    return 2


def _run_tool_call_output(ctx: Any) -> int:
    headers = _scenario("tool_call", **{"x-simulator-tool-arguments": json.dumps(ctx.arguments())})
    _chat(ctx, [_user("call the tool")], http_headers=headers)
    return 1 + _stream(ctx, [_user("call the tool")], http_headers=headers)


def _run_error(ctx: Any) -> int:
    client = _Clients(ctx).client()
    return _expect_error(ctx, lambda: client.chat.complete(
        model=MODEL, messages=[_user(ctx.blob())], http_headers=_scenario("echo_error")), log=True)


def _run_model(ctx: Any) -> int:
    client = _Clients(ctx).client()
    kinds = _leak.KINDS
    for kind in kinds:
        client.chat.complete(model=f"{MODEL}:{ctx.canary}:{ctx.value('model', kind.name).text}",
                             messages=[_user("hi")])
    return len(kinds)


def _run_request_headers(ctx: Any) -> int:
    headers = {
        "X-Canary": ctx.canary,
        "X-Customer-Email": ctx.value("customer_email_header", "email").value,
        "X-Internal-Token": ctx.value("internal_token_header", "opaque_credential").value,
        **{"X-Leak-" + kind.name.replace("_", "-"): ctx.value("header", kind.name).text for kind in _leak.KINDS},
    }
    return _chat(ctx, [_user("hi")], http_headers=headers)


def _run_client_api_key(ctx: Any) -> int:
    # Every call sends its key (Authorization, captured with the headers); here the careless
    # gateway repeats it in its error body too, for the plain key and for a callable one.
    plain = ctx.value("api_key", "opaque_credential").value
    rotating = ctx.value("callable_api_key", "opaque_credential").value
    calls = 0
    for client in (_Clients(ctx).client(plain), _Clients(ctx).client(lambda: rotating)):
        client.chat.complete(model=MODEL, messages=[_user(f"{ctx.canary}: hi")])
        calls += 1 + _expect_error(ctx, lambda c=client: c.chat.complete(
            model=MODEL, messages=[_user(f"{ctx.canary}: hi again")], http_headers=_scenario("echo_error")))
    return calls


def places(leak: Any) -> tuple[Any, ...]:
    global _leak
    _leak = leak

    def blob(name: str, what: str, run: Any, *, extras: bool = False) -> Any:
        return leak._blob_place(name, what, run, needs=NEEDS, extras=extras, provider=PROVIDER)

    return (
        blob("mistral.chat.user", "Mistral chat.complete: a user message", _run_user),
        blob("mistral.chat.system", "Mistral chat.complete: the system message", _run_system),
        blob("mistral.chat.tool_call_request", "Mistral: an assistant tool call's arguments sent back",
             _run_tool_call_request, extras=True),
        blob("mistral.chat.tool_result", "Mistral: a tool message (tool call response)", _run_tool_result),
        blob("mistral.chat.tool_definitions", "Mistral: a tool definition's description and schema",
             _run_tool_definitions, extras=True),
        blob("mistral.chat.output", "Mistral chat.complete: the model's reply (echo)", _run_output),
        blob("mistral.chat.stream.output", "Mistral chat.stream: the streamed reply (echo)", _run_stream_output),
        blob("mistral.chat.async.output", "Mistral complete_async and stream_async: the reply (echo)",
             _run_async_output),
        blob("mistral.chat.tool_call.output", "Mistral: the model's tool call arguments (whole and streamed)",
             _run_tool_call_output, extras=True),
        blob("mistral.chat.error", "Mistral: a 400 whose body repeats the prompt and the key (and a logged exception)",
             _run_error),
        leak.Place(
            "mistral.model", "Mistral model names (span names, metric attributes, warnings)",
            (("model", None),), _run_model, needs=NEEDS,
            shows="metric gen_ai.client.operation.duration attribute 'gen_ai.request.model'", provider=PROVIDER,
        ),
        leak.Place(
            "mistral.request_headers", "Mistral: custom request headers (http_headers; header capture on)",
            (("customer_email_header", ("email",)), ("internal_token_header", ("opaque_credential",)),
             ("header", None)),
            _run_request_headers, needs=NEEDS, shows="http.request.header.x", provider=PROVIDER,
        ),
        leak.Place(
            "mistral.client.api_key",
            "the Mistral clients' own keys (32 opaque characters; plain and callable): Authorization, error bodies",
            (("api_key", ("opaque_credential",)), ("callable_api_key", ("opaque_credential",))),
            _run_client_api_key, needs=NEEDS, shows="gen_ai.input.messages", provider=PROVIDER,
        ),
    )


def start(stack: contextlib.ExitStack) -> Any | None:
    if importlib.util.find_spec("mistralai") is None:
        return None
    from otel_ai.testing.mistral_simulator import MistralSimulator

    return stack.enter_context(MistralSimulator())
