"""AWS Bedrock's places in the leak suite (see ``tests/support/leak_app.py``, "Adding a provider").

The real ``boto3`` ``bedrock-runtime`` client against the Bedrock simulator: prompts, system
instructions, tool calls, tool results and definitions, the model's output (converse, converse_stream,
invoke_model, invoke_model_with_response_stream), an error body that repeats the prompt and the
Authorization header (and a logged exception), model ids, and the client's
credentials: the access key id (sent in the SigV4 Authorization header), the secret access key (never
sent, but in the client's own objects) and the session token (sent as ``X-Amz-Security-Token``). Only
their registration as secrets keeps them out. No request-headers place: botocore sends through urllib3,
which the leak app does not instrument, so no HTTP span would carry them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
from typing import Any

MODEL = "amazon.nova-pro-v1:0"
TOOL = "lookup_customer"
NEEDS = "bedrock"
PROVIDER = "aws.bedrock"
_leak: Any = None  # the leak app module, handed to `places`


def _credentials(ctx: Any) -> tuple[str, str, str]:
    place = next(p for p in _leak.PLACES if p.name == "bedrock.client.credentials")
    planted = {p.context: p.value for p in _leak.planted_for(place)}
    return str(planted["access_key_id"]), str(planted["secret_access_key"]), str(planted["session_token"])


def _client(ctx: Any, headers: dict[str, str] | None = None, creds: tuple[str, str, str] | None = None) -> Any:
    import boto3
    from botocore.config import Config

    key, secret, token = creds or _credentials(ctx)
    sim = ctx.app.providers[NEEDS]
    client = boto3.client("bedrock-runtime", aws_access_key_id=key, aws_secret_access_key=secret,
                          aws_session_token=token, config=Config(retries={"max_attempts": 1}),
                          **sim.client_options())
    if headers:
        def add(request: Any, **_: Any) -> None:
            for name, value in headers.items():
                request.headers[name] = value

        client.meta.events.register("before-sign.bedrock-runtime", add)
    return client


def _scenario(name: str) -> dict[str, str]:
    return {"x-simulator-scenario": name}


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def _converse(ctx: Any, messages: list[dict[str, Any]], headers: dict[str, str] | None = None, **kwargs: Any) -> int:
    _client(ctx, headers).converse(modelId=kwargs.pop("modelId", MODEL), messages=messages, **kwargs)
    return 1


def _tool_messages(arguments: Any, result: str) -> list[dict[str, Any]]:
    return [_user("look the customer up"),
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": TOOL,
                                                           "input": arguments}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": result}]}}]}]


def _expect_error(ctx: Any, call: Any, *, log: bool = False) -> int:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ValidationException":
            raise
        if log:
            logging.getLogger("app").exception("Bedrock refused the call")
        return 1
    raise AssertionError(f"{ctx.place.name}: the echo_error scenario did not fail")


def _run_user(ctx: Any) -> int:
    return _converse(ctx, [_user(ctx.blob())])


def _run_system(ctx: Any) -> int:
    return _converse(ctx, [_user("hi")], system=[{"text": ctx.blob()}])


def _run_tool_call_request(ctx: Any) -> int:
    return _converse(ctx, _tool_messages(ctx.arguments(), "found"))


def _run_tool_result(ctx: Any) -> int:
    return _converse(ctx, _tool_messages({}, ctx.blob()))


def _run_tool_definitions(ctx: Any) -> int:
    spec = {"name": TOOL, "description": ctx.blob(), "inputSchema": {"json": {
        "type": "object", "properties": {ctx.value("dict_key", "email").value: {"type": "string"}}}}}
    return _converse(ctx, [_user("hi")], toolConfig={"tools": [{"toolSpec": spec}]})


def _run_invoke(ctx: Any) -> int:
    client = _client(ctx)
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "system": ctx.blob(),
                       "messages": [{"role": "user", "content": ctx.blob()}]})
    client.invoke_model(modelId="anthropic.claude-sonnet-4-5-20250929-v1:0", body=body)["body"].read()
    stream = client.invoke_model_with_response_stream(modelId="meta.llama3-3-70b-instruct-v1:0",
                                                      body=json.dumps({"prompt": ctx.blob()}))
    for _ in stream["body"]:
        pass
    return 2


def _run_stream(ctx: Any) -> int:
    response = _client(ctx).converse_stream(modelId=MODEL, messages=[_user(ctx.blob())])
    for _ in response["stream"]:
        pass
    return 1


def _run_error(ctx: Any) -> int:
    client = _client(ctx, _scenario("echo_error"))
    return _expect_error(ctx, lambda: client.converse(modelId=MODEL, messages=[_user(ctx.blob())]), log=True)


def _run_model(ctx: Any) -> int:
    client = _client(ctx)
    for kind in _leak.KINDS:
        client.converse(modelId=f"{MODEL}:{ctx.canary}:{ctx.value('model', kind.name).text}",
                        messages=[_user("hi")])
    return len(_leak.KINDS)


def _run_credentials(ctx: Any) -> int:
    creds = (ctx.value("access_key_id", "opaque_credential").value,
             ctx.value("secret_access_key", "opaque_credential").value,
             ctx.value("session_token", "opaque_credential").value)
    client = _client(ctx, creds=creds)
    client.converse(modelId=MODEL, messages=[_user(f"{ctx.canary}: hi")])
    erring = _client(ctx, _scenario("echo_error"), creds=creds)
    return 1 + _expect_error(ctx, lambda: erring.converse(modelId=MODEL, messages=[_user(f"{ctx.canary}: again")]),
                             log=True)


def places(leak: Any) -> tuple[Any, ...]:
    global _leak
    _leak = leak

    def blob(name: str, what: str, run: Any, *, extras: bool = False) -> Any:
        return leak._blob_place(name, what, run, needs=NEEDS, extras=extras, provider=PROVIDER)

    return (
        blob("bedrock.converse.user", "Bedrock converse: a user message", _run_user),
        blob("bedrock.converse.system", "Bedrock converse: the system blocks", _run_system),
        blob("bedrock.converse.tool_call_request", "Bedrock: an assistant toolUse input sent back",
             _run_tool_call_request, extras=True),
        blob("bedrock.converse.tool_result", "Bedrock: a toolResult block", _run_tool_result),
        blob("bedrock.converse.tool_definitions", "Bedrock: a toolSpec's description and schema",
             _run_tool_definitions, extras=True),
        blob("bedrock.converse.stream", "Bedrock converse_stream: the prompt", _run_stream),
        blob("bedrock.invoke", "Bedrock invoke_model (Anthropic body) and invoke stream (Meta body)", _run_invoke),
        blob("bedrock.error", "Bedrock: a 400 that repeats the prompt and the Authorization header (logged)",
             _run_error),
        leak.Place(
            "bedrock.model", "Bedrock model ids (span names, metric attributes)",
            (("model", None),), _run_model, needs=NEEDS,
            shows="metric gen_ai.client.operation.duration attribute 'gen_ai.request.model'", provider=PROVIDER,
        ),
        leak.Place(
            "bedrock.client.credentials",
            "the Bedrock client's AWS access key id, secret access key and session token: SigV4 headers, error bodies",
            (("access_key_id", ("opaque_credential",)), ("secret_access_key", ("opaque_credential",)),
             ("session_token", ("opaque_credential",))),
            _run_credentials, needs=NEEDS, shows="gen_ai.input.messages", provider=PROVIDER,
        ),
    )


def start(stack: contextlib.ExitStack) -> Any | None:
    if importlib.util.find_spec("boto3") is None:
        return None
    from otel_ai.testing.bedrock_simulator import BedrockSimulator

    return stack.enter_context(BedrockSimulator())
