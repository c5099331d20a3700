"""Google Gemini's places in the leak suite (see ``tests/support/leak_app.py``, "Adding a provider").

The real ``google-genai`` client against the Gemini simulator: prompts, system instructions, tool
calls, tool results and definitions, the model's output (whole and streamed, sync and async, and a
chat session), an error body that repeats the prompt and the key (and a logged exception), model
names, custom request headers, and the client's own ``AIza...`` key (sent as ``x-goog-api-key``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
from typing import Any

MODEL = "gemini-2.5-flash"
TOOL = "lookup_customer"
NEEDS = "gemini"
PROVIDER = "gcp.gemini"
_leak: Any = None


def _config(scenario: str = "ok", headers: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {**extra, "http_options": {"headers": {"x-simulator-scenario": scenario, **(headers or {})}}}


def _client(ctx: Any, api_key: str | None = None) -> Any:
    from google import genai

    sim = ctx.app.providers[NEEDS]
    return genai.Client(api_key=api_key or _key(ctx), http_options=sim.http_options())


def _key(ctx: Any) -> str:
    place = next(p for p in _leak.PLACES if p.name == "gemini.client.api_key")
    return str(next(p.value for p in _leak.planted_for(place) if p.context == "api_key"))


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def _generate(ctx: Any, contents: Any, **config: Any) -> int:
    client = _client(ctx)  # kept: a google-genai Client closes its connections when collected
    client.models.generate_content(model=config.pop("model", MODEL), contents=contents, config=_config(**config))
    return 1


def _tool_contents(args: Any, result: Any) -> list[dict[str, Any]]:
    return [_user("look the customer up"),
            {"role": "model", "parts": [{"function_call": {"name": TOOL, "args": args}}]},
            {"role": "user", "parts": [{"function_response": {"name": TOOL, "response": result}}]}]


def _expect_error(ctx: Any, call: Any, *, log: bool = False) -> int:
    from google.genai import errors

    try:
        call()
    except errors.ClientError as exc:
        if exc.code != 400:
            raise
        if log:
            logging.getLogger("app").exception("the Gemini API refused the call")
        return 1
    raise AssertionError(f"{ctx.place.name}: the echo_error scenario did not fail")


def _run_user(ctx: Any) -> int:
    return _generate(ctx, [_user(ctx.blob())])


def _run_system(ctx: Any) -> int:
    return _generate(ctx, "hi", system_instruction=ctx.blob())


def _run_tool_call_request(ctx: Any) -> int:
    return _generate(ctx, _tool_contents(ctx.arguments(), {"ok": True}),
                     automatic_function_calling={"disable": True})


def _run_tool_result(ctx: Any) -> int:
    return _generate(ctx, _tool_contents({}, {"result": ctx.blob()}), automatic_function_calling={"disable": True})


def _run_tool_definitions(ctx: Any) -> int:
    decl = {"name": TOOL, "description": ctx.blob(), "parameters": {
        "type": "OBJECT", "properties": {ctx.value("dict_key", "email").value: {"type": "STRING"}}}}
    return _generate(ctx, "hi", tools=[{"function_declarations": [decl]}], automatic_function_calling={"disable": True})


def _run_output(ctx: Any) -> int:
    return _generate(ctx, [_user(ctx.blob())], scenario="echo")


def _run_stream_output(ctx: Any) -> int:
    client = _client(ctx)
    for _ in client.models.generate_content_stream(model=MODEL, contents=[_user(ctx.blob())],
                                                   config=_config("echo")):
        pass
    chat = client.chats.create(model=MODEL, config=_config("echo"))
    chat.send_message(ctx.blob())
    return 2


def _run_async_output(ctx: Any) -> int:
    async def call() -> None:
        client = _client(ctx)
        await client.aio.models.generate_content(model=MODEL, contents=[_user(ctx.blob())], config=_config("echo"))
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents=[_user(ctx.blob())],
                                                                 config=_config("echo"))
        async for _ in stream:
            pass

    asyncio.run(call())
    return 2


def _run_tool_call_output(ctx: Any) -> int:
    import json

    headers = {"x-simulator-tool-arguments": json.dumps(ctx.arguments())}
    _generate(ctx, "call the tool", scenario="tool_call", headers=headers, automatic_function_calling={"disable": True})
    client = _client(ctx)
    for _ in client.models.generate_content_stream(model=MODEL, contents="call the tool", config=_config(
            "tool_call", headers, automatic_function_calling={"disable": True})):
        pass
    return 2


def _run_error(ctx: Any) -> int:
    client = _client(ctx)
    return _expect_error(ctx, lambda: client.models.generate_content(
        model=MODEL, contents=[_user(ctx.blob())], config=_config("echo_error")), log=True)


def _run_model(ctx: Any) -> int:
    client = _client(ctx)
    kinds = _leak.KINDS
    for kind in kinds:
        client.models.generate_content(model=f"{MODEL}:{ctx.canary}:{ctx.value('model', kind.name).text}",
                                       contents="hi")
    return len(kinds)


def _run_request_headers(ctx: Any) -> int:
    headers = {
        "X-Canary": ctx.canary,
        "X-Customer-Email": ctx.value("customer_email_header", "email").value,
        "X-Internal-Token": ctx.value("internal_token_header", "opaque_credential").value,
        **{"X-Leak-" + kind.name.replace("_", "-"): ctx.value("header", kind.name).text for kind in _leak.KINDS},
    }
    return _generate(ctx, "hi", headers=headers)


def _run_client_api_key(ctx: Any) -> int:
    # Every call sends the key (x-goog-api-key, captured with the headers); the careless gateway
    # repeats it in its error body too.
    key = ctx.value("api_key", "google_api_key").value
    client = _client(ctx, key)
    client.models.generate_content(model=MODEL, contents=f"{ctx.canary}: hi")
    return 1 + _expect_error(ctx, lambda: client.models.generate_content(
        model=MODEL, contents=f"{ctx.canary}: hi again", config=_config("echo_error")))


def _run_vertex_token(ctx: Any) -> int:
    # A Vertex client sends a Google OAuth access token as its bearer; the careless gateway repeats it.
    from google import genai
    from google.oauth2.credentials import Credentials

    token = ctx.value("oauth_token", "google_oauth_token").value
    sim = ctx.app.providers[NEEDS]
    client = genai.Client(vertexai=True, project="leak-project", location="us-central1",
                          credentials=Credentials(token=token),
                          http_options={"base_url": sim.url + "/", "api_version": "v1"})
    client.models.generate_content(model=MODEL, contents=f"{ctx.canary}: hi")
    return 1 + _expect_error(ctx, lambda: client.models.generate_content(
        model=MODEL, contents=f"{ctx.canary}: hi again", config=_config("echo_error")), log=True)


def places(leak: Any) -> tuple[Any, ...]:
    global _leak
    _leak = leak

    def blob(name: str, what: str, run: Any, *, extras: bool = False) -> Any:
        return leak._blob_place(name, what, run, needs=NEEDS, extras=extras, provider=PROVIDER)

    return (
        blob("gemini.user", "Gemini generate_content: a user part", _run_user),
        blob("gemini.system", "Gemini: the system instruction", _run_system),
        blob("gemini.tool_call_request", "Gemini: a model functionCall's args sent back", _run_tool_call_request,
             extras=True),
        blob("gemini.tool_result", "Gemini: a functionResponse part", _run_tool_result),
        blob("gemini.tool_definitions", "Gemini: a function declaration's description and schema",
             _run_tool_definitions, extras=True),
        blob("gemini.output", "Gemini generate_content: the model's reply (echo)", _run_output),
        blob("gemini.stream.output", "Gemini generate_content_stream and a chat turn: the reply (echo)",
             _run_stream_output),
        blob("gemini.async.output", "Gemini aio generate_content and generate_content_stream (echo)",
             _run_async_output),
        blob("gemini.tool_call.output", "Gemini: the model's functionCall args (whole and streamed)",
             _run_tool_call_output, extras=True),
        blob("gemini.error", "Gemini: a 400 whose body repeats the prompt and the key (and a logged exception)",
             _run_error),
        leak.Place(
            "gemini.model", "Gemini model names (span names, metric attributes, warnings)",
            (("model", None),), _run_model, needs=NEEDS,
            shows="metric gen_ai.client.operation.duration attribute 'gen_ai.request.model'", provider=PROVIDER,
        ),
        leak.Place(
            "gemini.request_headers", "Gemini: custom request headers (http_options.headers; header capture on)",
            (("customer_email_header", ("email",)), ("internal_token_header", ("opaque_credential",)),
             ("header", None)),
            _run_request_headers, needs=NEEDS, shows="http.request.header.x", provider=PROVIDER,
        ),
        leak.Place(
            "gemini.client.api_key", "the Gemini client's own AIza... key: x-goog-api-key, error bodies",
            (("api_key", ("google_api_key",)),),
            _run_client_api_key, needs=NEEDS, shows="gen_ai.input.messages", provider=PROVIDER,
        ),
        leak.Place(
            "gemini.vertex.oauth_token", "a Vertex client's ya29. OAuth token: Authorization, error bodies, logs",
            (("oauth_token", ("google_oauth_token",)),),
            _run_vertex_token, needs=NEEDS, shows="gen_ai.input.messages", provider="gcp.vertex_ai",
        ),
    )


def start(stack: contextlib.ExitStack) -> Any | None:
    if importlib.util.find_spec("google.genai") is None:
        return None
    from otel_ai.testing.gemini_simulator import GeminiSimulator

    return stack.enter_context(GeminiSimulator())
