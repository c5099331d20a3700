"""An AWS Bedrock Runtime simulator: a real HTTP server, standard library only.

The test suite drives the real ``boto3`` ``bedrock-runtime`` client against it over real HTTP
(``endpoint_url=sim.url``, any credentials: the SigV4 signature is required but not checked). Run it
as a script::

    python -m otel_ai.testing.bedrock_simulator --port 0
    listening on http://127.0.0.1:PORT

Endpoints (``{model}`` URL-encoded, as botocore sends it): ``POST /model/{model}/converse``,
``/converse-stream``, ``/invoke``, ``/invoke-with-response-stream``. Streams speak the AWS event-stream
binary framing (``application/vnd.amazon.eventstream``: prelude with its CRC32, string headers
``:event-type`` / ``:message-type`` / ``:content-type``, JSON payload, message CRC32), so botocore's own
parser decodes them; ``converse-stream`` sends ``messageStart``, ``contentBlockStart`` (tool use),
``contentBlockDelta``s, ``contentBlockStop``, ``messageStop`` and ``metadata`` (usage);
``invoke-with-response-stream`` sends ``chunk`` events whose base64 ``bytes`` are the model family's own
chunks, the last one with ``amazon-bedrock-invocationMetrics``. A mid-stream failure is an
``exception`` message (``:exception-type``), as the service sends it.

``invoke`` answers each family's body (from the model id: ``anthropic.``, ``meta.``, ``mistral.``,
``amazon.`` Nova, ``cohere.``), with the ``X-Amzn-Bedrock-Input-Token-Count`` / ``-Output-Token-Count``
headers. Token counts are deterministic: input tokens are the words of every text in the request body
(at least 1), output tokens the words of the reply (for a tool call: of its JSON input).

Errors are the real shape: the status, ``x-amzn-ErrorType: <Code>:http://internal.amazon.com/...``
and a ``{"message": ...}`` body, which botocore raises as ``ClientError`` with ``Error.Code``.

Behaviour is chosen per request with the ``x-simulator-scenario`` header (see ``SCENARIOS``;
``scenario_headers`` registers a botocore ``before-sign`` handler on a client that adds it). Other
headers: ``x-simulator-delay`` (``slow``: default 2 s; ``slow_stream``: 0.05 s between events) and
``x-simulator-reply`` (the reply text).
"""

from __future__ import annotations

import base64
import json
import secrets
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast
from urllib.parse import unquote

from otel_ai._net import LoopbackHandler, parse_float
from otel_ai.testing.base import SCENARIO_HEADER, ScenarioService, serve_until_stopped
from otel_ai.testing.base import Aborted as _Aborted
from otel_ai.testing.simulator import RecordedRequest

__all__ = ["DEFAULT_REPLY", "SCENARIOS", "SCENARIO_HEADER", "TOOL_INPUT", "TOOL_NAME", "BedrockSimulator",
           "encode_event", "main", "scenario_headers"]

DEFAULT_REPLY = "Hello from the Bedrock simulator."
TOOL_NAME = "get_weather"
TOOL_INPUT = {"location": "Paris", "unit": "celsius"}
DELAY_HEADER = "x-simulator-delay"
REPLY_HEADER = "x-simulator-reply"

# scenario → (status, AWS error code, message) for the failing ones.
_ERRORS: Mapping[str, tuple[int, str, str]] = {
    "throttling": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "access_denied": (403, "AccessDeniedException",
                      "You don't have access to the model with the specified model ID."),
    "unrecognized_client": (403, "UnrecognizedClientException",
                            "The security token included in the request is invalid."),
    "validation": (400, "ValidationException", "The provided model identifier is invalid."),
    "not_found": (404, "ResourceNotFoundException", "Model not found."),
    "model_timeout": (408, "ModelTimeoutException", "Model has timed out in processing the request."),
    "service_unavailable": (503, "ServiceUnavailableException", "Service unavailable."),
    "internal_error": (500, "InternalServerException", "Internal server error (simulated)."),
}
SCENARIOS: Mapping[str, str] = {
    "ok": "normal answer",
    "tool_call": f"the model calls {TOOL_NAME} (stopReason tool_use)",
    "cached": "usage with cacheReadInputTokens = input // 2 (converse)",
    "max_tokens": "stopReason max_tokens",
    "slow": "waits x-simulator-delay seconds (default 2) before answering",
    "slow_stream": "waits x-simulator-delay seconds (default 0.05) between stream events",
    "cut_stream": "sends two events (a JSON answer: half of it), then drops the connection",
    "stream_error": "a stream whose third event is a modelStreamErrorException exception message",
    "echo_error": "400 ValidationException whose message repeats the Authorization header and the body",
    **{name: f"{status} {code}" for name, (status, code, _) in _ERRORS.items()},
}
_SLOW_DEFAULT = 2.0
_SLOW_STREAM_DEFAULT = 0.05
_REGIONS = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")


def encode_event(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude (lengths, CRC32), string headers, payload, message CRC32."""
    encoded = b"".join(
        struct.pack("!B", len(name)) + name.encode() + struct.pack("!BH", 7, len(value.encode())) + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    message = prelude + encoded + payload
    return message + struct.pack("!I", zlib.crc32(message))


def _event(kind: str, payload: Any) -> bytes:
    return encode_event({":event-type": kind, ":content-type": "application/json", ":message-type": "event"},
                        json.dumps(payload).encode())


def _exception(code: str, message: str) -> bytes:
    return encode_event({":exception-type": code, ":content-type": "application/json",
                         ":message-type": "exception"}, json.dumps({"message": message}).encode())


def scenario_headers(client: Any, name: str, **extra: str) -> Callable[[], None]:
    """Make every call of `client` ask for scenario `name` (and `extra` knobs); returns the undo."""
    headers = {SCENARIO_HEADER: name, **{f"x-simulator-{k.replace('_', '-')}": v for k, v in extra.items()}}

    def add(request: Any, **_: Any) -> None:
        for key, value in headers.items():
            request.headers[key] = value

    client.meta.events.register("before-sign.bedrock-runtime", add)
    return lambda: client.meta.events.unregister("before-sign.bedrock-runtime", add)


def _words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(v) for v in value)
    if isinstance(value, dict):
        return sum(_words(v) for k, v in value.items()
                   if k in ("text", "content", "prompt", "message", "inputText", "messages", "system", "preamble"))
    return 0


def _family(model: str) -> str:
    for prefix in _REGIONS:
        if model.startswith(prefix):
            model = model[len(prefix):]
            break
    return model.partition(".")[0]


class _Failure(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _Handler(LoopbackHandler):
    server_version = "bedrock-simulator/1.0"
    dropped = (_Aborted, OSError)

    def do_POST(self) -> None:
        cast("BedrockSimulator", self.server.owner)._handle(self)

    def do_GET(self) -> None:
        cast("BedrockSimulator", self.server.owner)._handle(self)

    def send(self, status: int, content_type: str, headers: Mapping[str, str], body: bytes | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body is not None:
            self.wfile.write(body)
            self.wfile.flush()


class BedrockSimulator(ScenarioService[RecordedRequest]):
    """AWS Bedrock Runtime on 127.0.0.1 (port 0 picks a free port)."""

    handler = _Handler
    thread_name = "bedrock-simulator"
    scenarios = SCENARIOS

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``boto3.client("bedrock-runtime", ...)`` (besides credentials)."""
        return {"endpoint_url": self.url, "region_name": "us-east-1"}

    def _handle(self, handler: _Handler) -> None:
        path, _, query = handler.path.partition("?")
        raw = handler.read_body()
        headers = {k.lower(): v for k, v in handler.headers.items()}
        scenario = headers.get(SCENARIO_HEADER, self.default_scenario).strip()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        record = RecordedRequest(handler.command, path, query, headers, raw, parsed, scenario)
        if path == "/health":
            handler.send(200, "application/json", {}, b'{"status": "ok"}')
            return
        with self._lock:
            self.requests.append(record)
        rid = str(uuid.uuid4())
        try:
            self._answer(handler, record, headers, rid)
        except _Failure as fail:
            record.status = fail.status
            handler.send(fail.status, "application/json", {
                "x-amzn-RequestId": rid,
                "x-amzn-ErrorType": f"{fail.code}:http://internal.amazon.com/coral/com.amazon.bedrock/",
            }, json.dumps({"message": fail.message}).encode())

    def _answer(self, handler: _Handler, record: RecordedRequest, headers: Mapping[str, str], rid: str) -> None:
        if not headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 Credential="):
            raise _Failure(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        if record.scenario not in SCENARIOS:
            raise _Failure(400, "ValidationException", f"Unknown simulator scenario {record.scenario!r}")
        parts = record.path.split("/")
        if handler.command != "POST" or len(parts) != 4 or parts[1] != "model":
            raise _Failure(404, "UnknownOperationException", "Unknown operation")
        model, action = unquote(parts[2]), parts[3]
        if action not in ("converse", "converse-stream", "invoke", "invoke-with-response-stream"):
            raise _Failure(404, "UnknownOperationException", "Unknown operation")
        if record.scenario in _ERRORS:
            raise _Failure(*_ERRORS[record.scenario])
        body = record.json if isinstance(record.json, dict) else {}
        if record.scenario == "echo_error":
            sent = record.body.decode(errors="replace")
            raise _Failure(400, "ValidationException", f"Malformed input request for {model} "
                           f"(Authorization: {headers.get('authorization', '')}): {sent}")
        stream = action.endswith("stream")
        delay = parse_float(headers.get(DELAY_HEADER), _SLOW_STREAM_DEFAULT if record.scenario == "slow_stream"
                            else _SLOW_DEFAULT)
        if record.scenario == "slow" or (record.scenario == "slow_stream" and not stream):
            self._sleep(delay)
        reply = headers.get(REPLY_HEADER) or DEFAULT_REPLY
        tool = record.scenario == "tool_call"
        output_tokens = len(json.dumps(TOOL_INPUT).split()) if tool else len(reply.split())
        input_tokens = max(1, _words(body))
        reason = "tool_use" if tool else "max_tokens" if record.scenario == "max_tokens" else "end_turn"
        base = {"x-amzn-RequestId": rid}
        if action == "converse":
            self._document(handler, record, base, self._converse(reply, tool, reason, input_tokens, output_tokens,
                                                                 record.scenario == "cached"))
        elif action == "invoke":
            doc = self._invoke(_family(model), model, reply, reason, input_tokens, output_tokens)
            self._document(handler, record, {**base, "X-Amzn-Bedrock-Input-Token-Count": str(input_tokens),
                                             "X-Amzn-Bedrock-Output-Token-Count": str(output_tokens)}, doc)
        else:
            events = (self._converse_events(reply, tool, reason, input_tokens, output_tokens)
                      if action == "converse-stream"
                      else self._invoke_events(_family(model), model, reply, reason, input_tokens, output_tokens))
            self._stream(handler, record, base, events, delay)

    def _document(self, handler: _Handler, record: RecordedRequest, headers: dict[str, str], doc: Any) -> None:
        data = json.dumps(doc).encode()
        if record.scenario == "cut_stream":
            handler.send(200, "application/json", {**headers, "Content-Length": str(len(data))})
            handler.wfile.write(data[: len(data) // 2])
            handler.abort()
            return
        record.status = 200
        handler.send(200, "application/json", headers, data)

    def _stream(self, handler: _Handler, record: RecordedRequest, headers: dict[str, str],
                events: Iterator[bytes], delay: float) -> None:
        record.status = 200
        handler.send(200, "application/vnd.amazon.eventstream", {**headers, "Transfer-Encoding": "chunked"})
        for index, event in enumerate(events):
            if record.scenario == "cut_stream" and index == 2:
                handler.wfile.write(b"%X\r\n%s" % (len(event), event[: len(event) // 2]))
                handler.abort()
                return
            if record.scenario == "stream_error" and index == 2:
                handler.write_chunk(_exception("modelStreamErrorException", "The model stream failed (simulated)."))
                handler.end_chunks()
                return
            if record.scenario == "slow_stream" and index > 0:
                self._sleep(delay)
            if self._stopping.is_set():
                raise _Aborted
            handler.write_chunk(event)
        handler.end_chunks()

    # -- converse ----------------------------------------------------------

    @staticmethod
    def _converse(reply: str, tool: bool, reason: str, inputs: int, outputs: int, cached: bool) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"toolUse": {"toolUseId": "tooluse_" + secrets.token_hex(8),
                                                      "name": TOOL_NAME, "input": TOOL_INPUT}}] if tool \
            else [{"text": reply}]
        usage: dict[str, int] = {"inputTokens": inputs, "outputTokens": outputs, "totalTokens": inputs + outputs}
        if cached:
            usage["cacheReadInputTokens"] = inputs // 2
            usage["cacheWriteInputTokens"] = 0
            usage["totalTokens"] += inputs // 2
        return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": reason,
                "usage": usage, "metrics": {"latencyMs": 42}}

    @staticmethod
    def _converse_events(reply: str, tool: bool, reason: str, inputs: int, outputs: int) -> Iterator[bytes]:
        yield _event("messageStart", {"role": "assistant"})
        if tool:
            yield _event("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {
                "toolUseId": "tooluse_" + secrets.token_hex(8), "name": TOOL_NAME}}})
            text = json.dumps(TOOL_INPUT)
            for piece in (text[: len(text) // 2], text[len(text) // 2:]):
                yield _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}})
        else:
            words = reply.split(" ")
            for i, word in enumerate(words):
                yield _event("contentBlockDelta", {"contentBlockIndex": 0,
                                                   "delta": {"text": word if i == 0 else " " + word}})
        yield _event("contentBlockStop", {"contentBlockIndex": 0})
        yield _event("messageStop", {"stopReason": reason})
        yield _event("metadata", {"usage": {"inputTokens": inputs, "outputTokens": outputs,
                                            "totalTokens": inputs + outputs}, "metrics": {"latencyMs": 42}})

    # -- invoke_model --------------------------------------------------------

    @staticmethod
    def _invoke(family: str, model: str, reply: str, reason: str, inputs: int, outputs: int) -> dict[str, Any]:
        if family == "anthropic":
            return {"id": "msg_bdrk_" + secrets.token_hex(12), "type": "message", "role": "assistant",
                    "model": model.split(".", 1)[-1].split("-v")[0], "content": [{"type": "text", "text": reply}],
                    "stop_reason": reason, "stop_sequence": None,
                    "usage": {"input_tokens": inputs, "output_tokens": outputs}}
        if family == "meta":
            return {"generation": reply, "prompt_token_count": inputs, "generation_token_count": outputs,
                    "stop_reason": "length" if reason == "max_tokens" else "stop"}
        if family == "mistral":
            return {"outputs": [{"text": reply, "stop_reason": "length" if reason == "max_tokens" else "stop"}]}
        if family == "cohere":
            return {"response_id": str(uuid.uuid4()), "text": reply, "generation_id": str(uuid.uuid4()),
                    "finish_reason": "MAX_TOKENS" if reason == "max_tokens" else "COMPLETE"}
        return {"output": {"message": {"role": "assistant", "content": [{"text": reply}]}}, "stopReason": reason,
                "usage": {"inputTokens": inputs, "outputTokens": outputs, "totalTokens": inputs + outputs}}

    @staticmethod
    def _invoke_events(family: str, model: str, reply: str, reason: str, inputs: int, outputs: int) -> Iterator[bytes]:
        metrics = {"inputTokenCount": inputs, "outputTokenCount": outputs, "invocationLatency": 42,
                   "firstByteLatency": 10}
        words = [w if i == 0 else " " + w for i, w in enumerate(reply.split(" "))]
        chunks: list[dict[str, Any]]
        if family == "anthropic":
            chunks = [{"type": "message_start", "message": {"id": "msg_bdrk_" + secrets.token_hex(12),
                                                             "type": "message", "role": "assistant", "content": [],
                                                             "usage": {"input_tokens": inputs, "output_tokens": 1}}},
                      {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}]
            chunks += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}}
                       for w in words]
            chunks += [{"type": "content_block_stop", "index": 0},
                       {"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": None},
                        "usage": {"output_tokens": outputs}},
                       {"type": "message_stop"}]
        elif family == "meta":
            chunks = [{"generation": w, "prompt_token_count": None, "generation_token_count": i + 1,
                       "stop_reason": None} for i, w in enumerate(words)]
            chunks.append({"generation": "", "generation_token_count": outputs, "stop_reason": "stop"})
        elif family == "mistral":
            chunks = [{"outputs": [{"text": w, "stop_reason": None}]} for w in words]
            chunks.append({"outputs": [{"text": "", "stop_reason": "stop"}]})
        elif family == "cohere":
            chunks = [{"is_finished": False, "event_type": "text-generation", "text": w} for w in words]
            chunks.append({"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE"})
        else:
            chunks = [{"messageStart": {"role": "assistant"}}]
            chunks += [{"contentBlockDelta": {"delta": {"text": w}, "contentBlockIndex": 0}} for w in words]
            chunks += [{"contentBlockStop": {"contentBlockIndex": 0}}, {"messageStop": {"stopReason": reason}}]
        chunks[-1]["amazon-bedrock-invocationMetrics"] = metrics
        for chunk in chunks:
            yield _event("chunk", {"bytes": base64.b64encode(json.dumps(chunk).encode()).decode()})


def main(argv: list[str] | None = None) -> int:
    return serve_until_stopped(lambda host, port, scenario: BedrockSimulator(host, port, default_scenario=scenario),
                               "AWS Bedrock Runtime simulator", SCENARIOS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
