"""Cohere's places in the leak suite (see ``tests/support/leak_app.py``, "Adding a provider").

The real ``cohere`` client (``ClientV2``, ``AsyncClientV2``) against the Cohere simulator: prompts,
system instructions, tool calls, tool results and definitions, the model's output (whole and
streamed, sync and async), the rerank query, an error body that repeats the prompt and the key (and
a logged exception), model names, custom request headers, and the clients' own keys: Cohere keys
are 40 opaque letters and digits that no pattern can recognise, so only their registration
(``client_wrapper._token``, a callable key, ``CO_API_KEY``) keeps them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
from typing import Any

MODEL = "command-a-03-2025"
TOOL = "lookup_customer"
NEEDS = "cohere"
PROVIDER = "cohere"
_leak: Any = None  # the leak app module, handed to `places`


def _options(name: str | None = None, **extra: str) -> dict[str, Any]:
    headers = dict(extra)
    if name is not None:
        headers["x-simulator-scenario"] = name
    return {"additional_headers": headers}


def _client(ctx: Any, api_key: Any = None) -> Any:
    import cohere

    key = api_key if api_key is not None else _key(ctx)
    return cohere.ClientV2(api_key=key, max_retries=0, **ctx.app.providers[NEEDS].client_options())


def _key(ctx: Any) -> str:
    """The plain key of the app's Cohere clients (the client.api_key place's first value)."""
    place = next(p for p in _leak.PLACES if p.name == "cohere.client.api_key")
    return str(next(p.value for p in _leak.planted_for(place) if p.context == "api_key"))


def _chat(ctx: Any, messages: list[dict[str, Any]], **kwargs: Any) -> int:
    _client(ctx).chat(model=kwargs.pop("model", MODEL), messages=messages, **kwargs)
    return 1


def _stream(ctx: Any, messages: list[dict[str, Any]], **kwargs: Any) -> int:
    for _ in _client(ctx).chat_stream(model=MODEL, messages=messages, **kwargs):
        pass
    return 1


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def _tool_messages(arguments: str, result: str) -> list[dict[str, Any]]:
    call = {"id": "lookup_customer_0001", "type": "function", "function": {"name": TOOL, "arguments": arguments}}
    return [_user("look the customer up"), {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "lookup_customer_0001", "content": result}]


def _expect_error(ctx: Any, call: Any, *, log: bool = False) -> int:
    import cohere

    try:
        call()
    except cohere.BadRequestError:
        if log:
            logging.getLogger("app").exception("the Cohere gateway refused the call")
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
    return _chat(ctx, [_user(ctx.blob())], request_options=_options("echo"))


def _run_stream_output(ctx: Any) -> int:
    return _stream(ctx, [_user(ctx.blob())], request_options=_options("echo"))


def _run_async_output(ctx: Any) -> int:
    async def call() -> None:
        import cohere

        client = cohere.AsyncClientV2(api_key=_key(ctx), max_retries=0, **ctx.app.providers[NEEDS].client_options())
        await client.chat(model=MODEL, messages=[_user(ctx.blob())], request_options=_options("echo"))
        async for _ in client.chat_stream(model=MODEL, messages=[_user(ctx.blob())],
                                          request_options=_options("echo")):
            pass

    asyncio.run(call())
    return 2


def _run_tool_call_output(ctx: Any) -> int:
    options = _options("tool_call", **{"x-simulator-tool-arguments": json.dumps(ctx.arguments())})
    _chat(ctx, [_user("call the tool")], request_options=options)
    return 1 + _stream(ctx, [_user("call the tool")], request_options=options)


def _run_rerank(ctx: Any) -> int:
    _client(ctx).rerank(model="rerank-v3.5", query=ctx.blob(), documents=["a document", "another one"])
    return 1


def _run_error(ctx: Any) -> int:
    client = _client(ctx)
    return _expect_error(ctx, lambda: client.chat(
        model=MODEL, messages=[_user(ctx.blob())], request_options=_options("echo_error")), log=True)


def _run_model(ctx: Any) -> int:
    client = _client(ctx)
    kinds = _leak.KINDS
    for kind in kinds:
        client.chat(model=f"{MODEL}:{ctx.canary}:{ctx.value('model', kind.name).text}", messages=[_user("hi")])
    return len(kinds)


def _run_request_headers(ctx: Any) -> int:
    headers = {
        "X-Canary": ctx.canary,
        "X-Customer-Email": ctx.value("customer_email_header", "email").value,
        "X-Internal-Token": ctx.value("internal_token_header", "opaque_credential").value,
        **{"X-Leak-" + kind.name.replace("_", "-"): ctx.value("header", kind.name).text for kind in _leak.KINDS},
    }
    return _chat(ctx, [_user("hi")], request_options={"additional_headers": headers})


def _run_client_api_key(ctx: Any) -> int:
    # Every call sends its key (Authorization, captured with the headers); here the careless
    # gateway repeats it in its error body too, for the plain key and for a callable one.
    plain = ctx.value("api_key", "opaque_credential").value
    rotating = ctx.value("callable_api_key", "opaque_credential").value
    calls = 0
    for client in (_client(ctx, plain), _client(ctx, lambda: rotating)):
        client.chat(model=MODEL, messages=[_user(f"{ctx.canary}: hi")])
        calls += 1 + _expect_error(ctx, lambda c=client: c.chat(
            model=MODEL, messages=[_user(f"{ctx.canary}: hi again")], request_options=_options("echo_error")))
    return calls


def places(leak: Any) -> tuple[Any, ...]:
    global _leak
    _leak = leak

    def blob(name: str, what: str, run: Any, *, extras: bool = False) -> Any:
        return leak._blob_place(name, what, run, needs=NEEDS, extras=extras, provider=PROVIDER)

    return (
        blob("cohere.chat.user", "Cohere chat: a user message", _run_user),
        blob("cohere.chat.system", "Cohere chat: the system message", _run_system),
        blob("cohere.chat.tool_call_request", "Cohere: an assistant tool call's arguments sent back",
             _run_tool_call_request, extras=True),
        blob("cohere.chat.tool_result", "Cohere: a tool message (tool call response)", _run_tool_result),
        blob("cohere.chat.tool_definitions", "Cohere: a tool definition's description and schema",
             _run_tool_definitions, extras=True),
        blob("cohere.chat.output", "Cohere chat: the model's reply (echo)", _run_output),
        blob("cohere.chat.stream.output", "Cohere chat_stream: the streamed reply (echo)", _run_stream_output),
        blob("cohere.chat.async.output", "Cohere async chat and chat_stream: the reply (echo)", _run_async_output),
        blob("cohere.chat.tool_call.output", "Cohere: the model's tool call arguments (whole and streamed)",
             _run_tool_call_output, extras=True),
        blob("cohere.rerank.query", "Cohere rerank: the query", _run_rerank),
        blob("cohere.chat.error", "Cohere: a 400 whose body repeats the prompt and the key (and a logged exception)",
             _run_error),
        leak.Place(
            "cohere.model", "Cohere model names (span names, metric attributes, warnings)",
            (("model", None),), _run_model, needs=NEEDS,
            shows="metric gen_ai.client.operation.duration attribute 'gen_ai.request.model'", provider=PROVIDER,
        ),
        leak.Place(
            "cohere.request_headers", "Cohere: custom request headers (additional_headers; header capture on)",
            (("customer_email_header", ("email",)), ("internal_token_header", ("opaque_credential",)),
             ("header", None)),
            _run_request_headers, needs=NEEDS, shows="http.request.header.x", provider=PROVIDER,
        ),
        leak.Place(
            "cohere.client.api_key",
            "the Cohere clients' own keys (40 opaque characters; plain and callable): Authorization, error bodies",
            (("api_key", ("opaque_credential",)), ("callable_api_key", ("opaque_credential",))),
            _run_client_api_key, needs=NEEDS, shows="gen_ai.input.messages", provider=PROVIDER,
        ),
    )


def start(stack: contextlib.ExitStack) -> Any | None:
    if importlib.util.find_spec("cohere") is None:
        return None
    from otel_ai.testing.cohere_simulator import CohereSimulator

    return stack.enter_context(CohereSimulator())
