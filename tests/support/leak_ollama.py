"""The Ollama places of the leak suite (see tests/support/leak_app.py, "Adding a provider").

What Ollama's telemetry reads: chat messages (user, system, tool calls sent back, tool answers, tool
definitions), the model's answers (echo, whole and streamed, sync and async), generate's prompt and
system, error bodies that repeat the request (a careless proxy: the model, the Authorization header and
the last message, also logged), model names (span names, metric attributes, 404 bodies that repeat
them), headers given to the client, and the Authorization a proxy in front of Ollama wants (a token no
pattern knows: only its registration can redact it).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import ExitStack
from typing import Any

NAME = "ollama"
MODEL = "llama3.2"


def start(stack: ExitStack) -> Any | None:
    try:
        import ollama  # noqa: F401
    except ImportError:
        return None
    from otel_ai.testing.ollama_simulator import OllamaSimulator

    return stack.enter_context(OllamaSimulator())


def places(leak: Any) -> tuple[Any, ...]:
    Place, Ctx, KINDS = leak.Place, leak.Ctx, leak.KINDS

    def client(ctx: Ctx, scenario: str = "ok", **headers: str) -> Any:
        import ollama

        return ollama.Client(host=ctx.app.providers[NAME].url, headers={"x-simulator-scenario": scenario, **headers})

    def user(text: str) -> dict[str, Any]:
        return {"role": "user", "content": text}

    def chat(ctx: Ctx, messages: list[dict[str, Any]], scenario: str = "ok", **kwargs: Any) -> int:
        client(ctx, scenario).chat(model=MODEL, messages=messages, **kwargs)
        return 1

    def expect_error(ctx: Ctx, call: Any, *, log: bool = False) -> int:
        import ollama

        try:
            call()
        except ollama.ResponseError as exc:
            if exc.status_code != 400:
                raise
            if log:
                logging.getLogger("app").exception("the Ollama proxy refused the call")
            return 1
        raise AssertionError(f"{ctx.place.name}: the echo_error scenario did not fail")

    def run_user(ctx: Ctx) -> int:
        return chat(ctx, [user(ctx.blob())])

    def run_system(ctx: Ctx) -> int:
        return chat(ctx, [{"role": "system", "content": ctx.blob()}, user("hi")])

    def run_tool_call_request(ctx: Ctx) -> int:
        call = {"function": {"name": leak.TOOL, "arguments": ctx.arguments()}}
        return chat(ctx, [user("look them up"), {"role": "assistant", "content": "", "tool_calls": [call]},
                          {"role": "tool", "content": "done", "tool_name": leak.TOOL}])

    def run_tool_result(ctx: Ctx) -> int:
        return chat(ctx, [user("look it up"), {"role": "tool", "content": ctx.blob(), "tool_name": leak.TOOL}])

    def run_tool_definitions(ctx: Ctx) -> int:
        tool = {"type": "function", "function": {
            "name": leak.TOOL,
            "description": ctx.blob(),
            "parameters": {
                "type": "object",
                "properties": {ctx.value("dict_key", "email").value: {"type": "string"}},
                "examples": [{"card": int(ctx.value("int", "card_number").value)}],
            },
        }}
        return chat(ctx, [user("hi")], tools=[tool])

    def run_output(ctx: Ctx) -> int:
        return chat(ctx, [user(ctx.blob())], "echo")

    def run_stream_output(ctx: Ctx) -> int:
        for _ in client(ctx, "echo").chat(model=MODEL, messages=[user(ctx.blob())], stream=True):
            pass
        return 1

    def run_async_output(ctx: Ctx) -> int:
        import ollama

        async def call() -> None:
            aclient = ollama.AsyncClient(host=ctx.app.providers[NAME].url, headers={"x-simulator-scenario": "echo"})
            await aclient.chat(model=MODEL, messages=[user(ctx.blob())])
            async for _ in await aclient.generate(model=MODEL, prompt=ctx.blob(), stream=True):
                pass

        asyncio.run(call())
        return 2

    def run_generate_input(ctx: Ctx) -> int:
        client(ctx, "echo").generate(model=MODEL, prompt=ctx.blob())
        for _ in client(ctx, "echo").generate(model=MODEL, prompt=ctx.blob(), stream=True):
            pass
        return 2

    def run_generate_system(ctx: Ctx) -> int:
        client(ctx).generate(model=MODEL, prompt="hi", system=ctx.blob())
        return 1

    def run_error(ctx: Ctx) -> int:
        return expect_error(ctx, lambda: chat(ctx, [user(ctx.blob())], "echo_error"), log=True)

    def run_stream_error(ctx: Ctx) -> int:
        def call() -> None:
            for _ in client(ctx, "echo_error").generate(model=MODEL, prompt=ctx.blob(), stream=True):
                pass

        return expect_error(ctx, call)

    def run_model_name(ctx: Ctx) -> int:
        import ollama

        for kind in KINDS:  # not pulled: the 404 body repeats the name
            model = f"llama3.2:{ctx.canary}:{ctx.value('model', kind.name).text}"
            try:
                client(ctx).chat(model=model, messages=[user("hi")])
            except ollama.ResponseError as exc:
                assert exc.status_code == 404, exc
        return len(KINDS)

    def run_request_headers(ctx: Ctx) -> int:
        headers = {
            "X-Canary": ctx.canary,
            "X-Customer-Email": ctx.value("customer_email_header", "email").value,
            "X-Internal-Token": ctx.value("internal_token_header", "opaque_credential").value,
            **{leak._header_name(kind): ctx.value("header", kind.name).text for kind in KINDS},
        }
        client(ctx, **headers).chat(model=MODEL, messages=[user("hi")])
        return 1

    def run_authorization(ctx: Ctx) -> int:
        token = ctx.value("authorization", "client_api_key").value
        proxied = client(ctx, Authorization=f"Bearer {token}")
        proxied.chat(model=MODEL, messages=[user(f"{ctx.canary}: hi")])
        careless = client(ctx, "echo_error", Authorization=f"Bearer {token}")
        return 1 + expect_error(ctx, lambda: careless.chat(model=MODEL, messages=[user(f"{ctx.canary}: again")]))

    def blob(name: str, what: str, run: Any, *, extras: bool = False) -> Any:
        return leak._blob_place(name, what, run, needs=NAME, extras=extras, provider=NAME)

    return (
        blob("ollama.chat.user", "Ollama chat: a user message", run_user),
        blob("ollama.chat.system", "Ollama chat: the system message", run_system),
        blob("ollama.chat.tool_call_request", "Ollama chat: an assistant tool call's arguments sent back",
             run_tool_call_request, extras=True),
        blob("ollama.chat.tool_result", "Ollama chat: a tool message", run_tool_result),
        blob("ollama.chat.tool_definitions", "Ollama chat: a tool's description and schema", run_tool_definitions,
             extras=True),
        blob("ollama.chat.output", "Ollama chat: the model's answer (echo)", run_output),
        blob("ollama.chat.stream.output", "Ollama chat stream: the model's answer (echo)", run_stream_output),
        blob("ollama.async.output", "Ollama async chat and generate stream: the answers (echo)", run_async_output),
        blob("ollama.generate.input", "Ollama generate (whole and streamed): the prompt", run_generate_input),
        blob("ollama.generate.system", "Ollama generate: the system prompt", run_generate_system),
        blob("ollama.chat.error", "Ollama: a 400 whose error repeats the message (and a logged exception)",
             run_error),
        blob("ollama.generate.stream.error", "Ollama generate stream: a 400 whose error repeats the prompt",
             run_stream_error),
        Place(
            "ollama.model_name", "Ollama model names (span names, metric attributes, 404 bodies)",
            (("model", None),), run_model_name, needs=NAME,
            shows="metric gen_ai.client.operation.duration attribute 'gen_ai.request.model'", provider=NAME,
        ),
        Place(
            "ollama.request_headers", "Ollama: headers given to the client (header capture on)",
            (
                ("customer_email_header", leak._kinds("email")),
                ("internal_token_header", leak._kinds("opaque_credential")),
                ("header", None),
            ),
            run_request_headers, needs=NAME, shows="http.request.header.x", provider=NAME,
        ),
        Place(
            "ollama.authorization", "a proxy's Authorization token (no known prefix): request header, error body",
            (("authorization", leak._kinds("client_api_key")),),
            run_authorization, needs=NAME, shows="gen_ai.input.messages", provider=NAME,
        ),
    )
