"""The Anthropic places of the leak suite (see ``leak_app``'s docstring): what the anthropic client's
telemetry reads, each planted with every kind, the client's own ``sk-ant-`` key among them.

Places: a user message, the system prompt, a tool result and a tool call sent back, the model's output
(plain and streamed, through ``messages.stream``), tool definitions, ``count_tokens``, an error body that
repeats the key, the system prompt and the message (and a logged exception), and the client's key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

MODEL = "claude-sonnet-4-6"
NAME = "anthropic"


def start(stack: contextlib.ExitStack) -> Any | None:
    """The Anthropic simulator (None when the anthropic client is not installed)."""
    import importlib.util

    if importlib.util.find_spec("anthropic") is None:
        return None
    from otel_ai.testing.anthropic_simulator import AnthropicSimulator

    return stack.enter_context(AnthropicSimulator())


def _client(ctx: Any, async_: bool = False) -> Any:
    """A client with the planted ``sk-ant-`` key (every call sends it in ``x-api-key``)."""
    import anthropic

    cls = anthropic.AsyncAnthropic if async_ else anthropic.Anthropic
    return cls(api_key=_KEY[0], base_url=ctx.app.providers[NAME].base_url, max_retries=0)


_KEY = [""]  # the client's key: the value the "anthropic.client.api_key" place plants (set in places())


def _scenario(name: str, **extra: str) -> dict[str, Any]:
    headers = {"x-simulator-scenario": name}
    headers.update({f"x-simulator-{k}": v for k, v in extra.items()})
    return {"extra_headers": headers}


def places(leak: Any) -> tuple[Any, ...]:
    def run_user(ctx: Any) -> int:
        with _client(ctx) as client:
            client.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": ctx.blob()}])
        return 1

    def run_system(ctx: Any) -> int:
        with _client(ctx) as client:
            client.messages.create(model=MODEL, max_tokens=64, system=[{"type": "text", "text": ctx.blob()}],
                                   messages=[{"role": "user", "content": "hi"}])
        return 1

    def run_tool_result(ctx: Any) -> int:
        messages = [
            {"role": "user", "content": "look it up"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup_customer",
                                               "input": {"q": "x"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": ctx.blob()}]},
        ]
        with _client(ctx) as client:
            client.messages.create(model=MODEL, max_tokens=64, messages=messages)
        return 1

    def run_tool_call_request(ctx: Any) -> int:
        messages = [
            {"role": "user", "content": "look it up"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup_customer",
                                               "input": ctx.arguments()}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "done"}]},
        ]
        with _client(ctx) as client:
            client.messages.create(model=MODEL, max_tokens=64, messages=messages)
        return 1

    def run_output(ctx: Any) -> int:
        blob = ctx.blob()
        with _client(ctx) as client:
            client.messages.create(model=MODEL, max_tokens=8000, messages=[{"role": "user", "content": blob}],
                                   **_scenario("echo"))
        return 1

    def run_stream_output(ctx: Any) -> int:
        blob = ctx.blob()

        async def go() -> None:
            async with _client(ctx, async_=True) as client, client.messages.stream(
                model=MODEL, max_tokens=8000, messages=[{"role": "user", "content": blob}], **_scenario("echo"),
            ) as stream:
                await stream.until_done()

        asyncio.run(go())
        with _client(ctx) as client:
            list(client.messages.create(model=MODEL, max_tokens=8000, stream=True,
                                        messages=[{"role": "user", "content": blob}], **_scenario("echo")))
        return 2

    def run_tool_definitions(ctx: Any) -> int:
        tools = [{"name": "lookup_customer", "description": ctx.blob(), "input_schema": {"type": "object"}}]
        with _client(ctx) as client:
            client.messages.create(model=MODEL, max_tokens=64, tools=tools, messages=[{"role": "user", "content": "x"}])
        return 1

    def run_count_tokens(ctx: Any) -> int:
        with _client(ctx) as client:
            client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": ctx.blob()}])
        return 1

    def run_error(ctx: Any) -> int:
        import anthropic

        with _client(ctx) as client:
            try:
                client.messages.create(model=MODEL, max_tokens=64, system=ctx.blob(),
                                       messages=[{"role": "user", "content": ctx.blob()}], **_scenario("echo_error"))
            except anthropic.BadRequestError:
                logging.getLogger("app").exception("the Anthropic call failed")
        return 1

    def run_client_key(ctx: Any) -> int:
        with _client(ctx) as client:
            client.messages.create(model=MODEL, max_tokens=64,
                                   messages=[{"role": "user", "content": f"{ctx.canary}: hi"}])
            with contextlib.suppress(Exception):
                client.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": ctx.canary}],
                                       **_scenario("echo_error"))
        return 2

    def blob(name: str, what: str, run: Any, extras: bool = False) -> Any:
        return leak._blob_place(name, what, run, needs=NAME, provider=NAME, extras=extras)

    key_place = leak.Place(
        "anthropic.client.api_key",
        "the Anthropic client's own sk-ant- key: x-api-key, an error body that repeats it",
        (("api_key", ("anthropic_key",)),),
        run_client_key,
        needs=NAME,
        shows="gen_ai.input.messages",
        provider=NAME,
    )
    _KEY[0] = leak.planted_for(key_place)[0].value
    return (
        key_place,
        blob("anthropic.messages.user", "Anthropic messages.create: a user message", run_user),
        blob("anthropic.messages.system", "Anthropic messages.create: the system prompt", run_system),
        blob("anthropic.messages.tool_result", "Anthropic: a tool_result block", run_tool_result),
        blob("anthropic.messages.tool_call_request", "Anthropic: a tool_use block's input sent back",
             run_tool_call_request, extras=True),
        blob("anthropic.messages.output", "Anthropic: the model's reply (echo)", run_output),
        blob("anthropic.messages.stream.output", "Anthropic: a streamed reply (async stream helper, stream=True)",
             run_stream_output),
        blob("anthropic.messages.tool_definitions", "Anthropic: a tool's description", run_tool_definitions),
        blob("anthropic.count_tokens.input", "Anthropic messages.count_tokens: the message", run_count_tokens),
        blob("anthropic.messages.error", "Anthropic: a 400 whose body repeats the key, the system prompt and the "
             "message (and a logged exception)", run_error),
    )
