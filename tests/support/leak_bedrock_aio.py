"""Async AWS Bedrock's places in the leak suite (see ``tests/support/leak_app.py``, "Adding a provider").

The real ``aiobotocore`` ``bedrock-runtime`` client (``async with session.create_client(...)``) against
its own Bedrock simulator: a prompt through the four operations (converse, converse_stream,
invoke_model with its awaited body, invoke_model_with_response_stream), an error body that repeats the
prompt and the Authorization header (logged), and the client's credentials: the access key id (in the
SigV4 Authorization header), the secret access key (never sent, only in the client's objects) and the
session token (``X-Amz-Security-Token``). Skipped where aiobotocore is not installed (it is optional).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

MODEL = "amazon.nova-pro-v1:0"
NEEDS = "bedrock_aio"
PROVIDER = "aws.bedrock"
_CREDENTIALS_PLACE = "bedrock.aio.client.credentials"
_leak: Any = None  # the leak app module, handed to `places`


def _planted_credentials() -> tuple[str, str, str]:
    place = next(p for p in _leak.PLACES if p.name == _CREDENTIALS_PLACE)
    planted = {p.context: p.value for p in _leak.planted_for(place)}
    return str(planted["access_key_id"]), str(planted["secret_access_key"]), str(planted["session_token"])


def _with_client(ctx: Any, use: Callable[[Any], Awaitable[int]], *, headers: dict[str, str] | None = None,
                 creds: tuple[str, str, str] | None = None) -> int:
    """Run `use(client)` on a fresh aiobotocore client in its own event loop; returns its count of calls."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    key, secret, token = creds or _planted_credentials()
    sim = ctx.app.providers[NEEDS]

    async def run() -> int:
        async with get_session().create_client(
            "bedrock-runtime", aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
            config=AioConfig(retries={"max_attempts": 1}), **sim.client_options(),
        ) as client:
            if headers:
                def add(request: Any, **_: Any) -> None:
                    for name, value in headers.items():
                        request.headers[name] = value

                client.meta.events.register("before-sign.bedrock-runtime", add)
            return await use(client)

    return asyncio.run(run())


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def _run_calls(ctx: Any) -> int:
    async def use(client: Any) -> int:
        await client.converse(modelId=MODEL, messages=[_user(ctx.blob())], system=[{"text": ctx.blob()}])
        stream = (await client.converse_stream(modelId=MODEL, messages=[_user(ctx.blob())]))["stream"]
        async for _ in stream:
            pass
        body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "system": ctx.blob(),
                           "messages": [{"role": "user", "content": ctx.blob()}]})
        answer = await client.invoke_model(modelId="anthropic.claude-sonnet-4-5-20250929-v1:0", body=body)
        await answer["body"].read()
        chunks = (await client.invoke_model_with_response_stream(
            modelId="meta.llama3-3-70b-instruct-v1:0", body=json.dumps({"prompt": ctx.blob()})))["body"]
        async for _ in chunks:
            pass
        return 4

    return _with_client(ctx, use)


async def _echo_error(ctx: Any, client: Any, text: str) -> int:
    from botocore.exceptions import ClientError

    try:
        await client.converse(modelId=MODEL, messages=[_user(text)])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ValidationException":
            raise
        logging.getLogger("app").exception("Bedrock (async) refused the call")
        return 1
    raise AssertionError(f"{ctx.place.name}: the echo_error scenario did not fail")


def _run_error(ctx: Any) -> int:
    return _with_client(ctx, lambda client: _echo_error(ctx, client, ctx.blob()),
                        headers={"x-simulator-scenario": "echo_error"})


def _run_credentials(ctx: Any) -> int:
    creds = (ctx.value("access_key_id", "opaque_credential").value,
             ctx.value("secret_access_key", "opaque_credential").value,
             ctx.value("session_token", "opaque_credential").value)

    async def ok(client: Any) -> int:
        await client.converse(modelId=MODEL, messages=[_user(f"{ctx.canary}: hi")])
        return 1

    calls = _with_client(ctx, ok, creds=creds)
    return calls + _with_client(ctx, lambda client: _echo_error(ctx, client, f"{ctx.canary}: again"),
                                headers={"x-simulator-scenario": "echo_error"}, creds=creds)


def places(leak: Any) -> tuple[Any, ...]:
    global _leak
    _leak = leak

    def blob(name: str, what: str, run: Any) -> Any:
        return leak._blob_place(name, what, run, needs=NEEDS, provider=PROVIDER)

    return (
        blob("bedrock.aio.calls", "async Bedrock: converse (+ system), converse_stream, invoke_model (awaited "
             "body), invoke stream", _run_calls),
        blob("bedrock.aio.error", "async Bedrock: a 400 that repeats the prompt and the Authorization header (logged)",
             _run_error),
        leak.Place(
            _CREDENTIALS_PLACE,
            "the async Bedrock client's AWS access key id, secret access key and session token",
            (("access_key_id", ("opaque_credential",)), ("secret_access_key", ("opaque_credential",)),
             ("session_token", ("opaque_credential",))),
            _run_credentials, needs=NEEDS, shows="gen_ai.input.messages", provider=PROVIDER,
        ),
    )


def start(stack: contextlib.ExitStack) -> Any | None:
    if importlib.util.find_spec("aiobotocore") is None:
        return None
    from otel_ai.testing.bedrock_simulator import BedrockSimulator

    return stack.enter_context(BedrockSimulator())
