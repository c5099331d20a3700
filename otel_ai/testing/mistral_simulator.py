"""A Mistral AI API simulator: a real HTTP server, standard library only.

The test suite drives the real ``mistralai`` 3.x client against it over real HTTP. Run it as a
script::

    python -m otel_ai.testing.mistral_simulator --port 0
    listening on http://127.0.0.1:PORT

or use it in-process::

    with MistralSimulator() as sim:
        client = Mistral(api_key="0123...", server_url=sim.base_url)   # or **sim.client_options()

Endpoints: ``POST /v1/chat/completions`` (``"stream": true`` answers server-sent events:
``data: {chunk}`` frames, the last chunk carrying ``finish_reason`` and ``usage``, then
``data: [DONE]``), ``POST /v1/embeddings`` (``inputs``: a string or a list of strings), ``GET
/v1/models``, ``GET /health``. Requests need ``Authorization: Bearer <key>``; without one the
answer is the real 401.

Token counts are deterministic: input tokens are the whitespace-separated words of every message's
text (embeddings: of every input), at least 1; output tokens are the words of the reply (for a tool
call: of its JSON arguments). Ids are 32 hex digits, tool-call ids 9 letters and digits, as the real
service sends them; the response ``model`` is the model asked for.

Behaviour is chosen per request with the ``x-simulator-scenario`` header (the client sends extra
headers with ``http_headers={...}`` on each call); see ``SCENARIOS``. Other request headers:

* ``x-simulator-delay``: seconds for ``slow`` (default 2) and ``slow_stream`` (default 0.05,
  between frames);
* ``x-simulator-reply``: replaces the default reply text;
* ``x-simulator-tool-arguments``: the JSON arguments of the ``tool_call`` scenario's call
  (default ``TOOL_ARGUMENTS``).

Error bodies are the service's two shapes: its gateway's ``{"message": ..., "request_id": ...}``
(401, 429 rate limit) and the API's ``{"object": "error", "message": ..., "type": ..., "param":
..., "code": ...}`` (400, 429 capacity, 500); a 422 is FastAPI's ``{"detail": [{"type", "loc",
"msg", "input"}]}``, which the client raises as ``HTTPValidationError`` (everything else is
``SDKError``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import string
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from otel_ai._net import parse_float
from otel_ai.testing.base import SCENARIO_HEADER, ScenarioService, SimulatorHandler, read_incoming, serve_until_stopped
from otel_ai.testing.base import Aborted as _Aborted
from otel_ai.testing.simulator import RecordedRequest, count_words, last_user_text

__all__ = [
    "DEFAULT_REPLY",
    "EMBEDDING_DIMENSIONS",
    "SCENARIOS",
    "SCENARIO_HEADER",
    "TOOL_ARGUMENTS",
    "TOOL_ARGUMENTS_HEADER",
    "TOOL_NAME",
    "MistralSimulator",
    "main",
]

DEFAULT_REPLY = "Bonjour from the Mistral simulator."
TOOL_NAME = "get_weather"
TOOL_ARGUMENTS = json.dumps({"location": "Paris", "unit": "celsius"})
EMBEDDING_DIMENSIONS = 1024  # mistral-embed's
THINKING = "The user greets me; I greet back."
_THINK_CHUNK = {"type": "thinking", "thinking": [{"type": "text", "text": THINKING}]}

DELAY_HEADER = "x-simulator-delay"
REPLY_HEADER = "x-simulator-reply"
TOOL_ARGUMENTS_HEADER = "x-simulator-tool-arguments"

SCENARIOS: Mapping[str, str] = {
    "ok": "normal answer",
    "tool_call": f"the assistant calls {TOOL_NAME} (finish_reason tool_calls)",
    "cached": "usage.prompt_tokens_details.cached_tokens = prompt_tokens // 2",
    "thinking": "the reply is content chunks: a thinking chunk, then the text (as reasoning models answer)",
    "model_length": "finish_reason model_length (the context window is full)",
    "echo": "normal answer whose text is the last user message",
    "slow": "waits x-simulator-delay seconds (default 2) before answering",
    "slow_stream": "waits x-simulator-delay seconds (default 0.05) between stream frames",
    "cut_stream": "sends two frames (a JSON answer: half of it), then drops the connection",
    "auth_error": "401 Unauthorized (the gateway's body)",
    "unprocessable": "422 validation error (FastAPI's detail list)",
    "rate_limit": "429 Requests rate limit exceeded (the gateway's body)",
    "capacity": "429 service_tier_capacity_exceeded (the API's error object)",
    "invalid_model": "400 invalid_model",
    "server_error": "500 internal_server_error",
    "echo_error": "400 whose message repeats the model, the API key, the Authorization header and the last "
    "user message (a careless gateway)",
}

_SLOW_DEFAULT_DELAY = 2.0
_SLOW_STREAM_DEFAULT_DELAY = 0.05
_GATEWAY_JSON = "application/json; charset=utf-8"
_MODELS = ("mistral-large-latest", "mistral-medium-latest", "mistral-small-latest", "codestral-latest",
           "mistral-embed")


def _hex_id() -> str:
    return secrets.token_hex(16)


def _gateway_error(message: str) -> dict[str, Any]:
    return {"message": message, "request_id": _hex_id()}


def _api_error(message: Any, kind: str, code: str | None) -> dict[str, Any]:
    return {"object": "error", "message": message, "type": kind, "param": None, "code": code}


def _errors(scenario: str) -> tuple[int, dict[str, Any], str] | None:
    """(status, body, content type) of a failing scenario, fresh ids each time."""
    if scenario == "auth_error":
        return 401, _gateway_error("Unauthorized"), _GATEWAY_JSON
    if scenario == "rate_limit":
        return 429, _gateway_error("Requests rate limit exceeded"), _GATEWAY_JSON
    if scenario == "capacity":
        return 429, _api_error(
            "Service tier capacity exceeded for this model.", "service_tier_capacity_exceeded", "3505"
        ), "application/json"
    if scenario == "invalid_model":
        return 400, _api_error("Invalid model: no-such-model", "invalid_model", "1500"), "application/json"
    if scenario == "server_error":
        return 500, _api_error("Internal server error (simulated)", "internal_server_error", "1000"), "application/json"
    if scenario == "unprocessable":
        detail = [{"type": "extra_forbidden", "loc": ["body", "max_completion_tokens"],
                   "msg": "Extra inputs are not permitted", "input": 8192}]
        return 422, {"detail": detail}, "application/json"
    return None


def _split_words(text: str) -> list[str]:
    """Stream pieces, one word each, spaces kept so that they join back to the text."""
    return re.findall(r"\s*\S+", text) or [text]


def _embedding(text: str, dimensions: int) -> list[float]:
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((b / 127.5) - 1.0 for b in digest)
        counter += 1
    vector = values[:dimensions]
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [round(v / norm, 6) for v in vector]


def _sse(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _tool_call_id() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(9))


class _ClientError(Exception):
    def __init__(self, status: int, body: dict[str, Any], content_type: str = "application/json") -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body
        self.content_type = content_type


@dataclass
class _Exchange:
    record: RecordedRequest
    body: dict[str, Any]
    scenario: str
    delay: float
    reply: str
    tool_arguments: str = TOOL_ARGUMENTS
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def model(self) -> str:
        return str(self.body["model"])

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True


class _Handler(SimulatorHandler):
    server_version = "mistral-simulator/1.0"


class MistralSimulator(ScenarioService[RecordedRequest]):
    """Mistral AI HTTP API on 127.0.0.1 (port 0 picks a free port)."""

    handler = _Handler
    thread_name = "mistral-simulator"
    scenarios = SCENARIOS

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``: the client's ``server_url`` (its paths start with ``/v1``)."""
        return self.url

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Mistral(...)`` that point it here."""
        return {"server_url": self.base_url}

    # -- request handling --------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        incoming = read_incoming(handler, self.default_scenario)
        path, headers = incoming.path, incoming.headers
        record = RecordedRequest(incoming.method, path, incoming.query, headers, incoming.raw, incoming.json,
                                 incoming.scenario)
        if path == "/health":
            handler.send_json(200, {"status": "ok"}, self._headers())
            return
        with self._lock:
            self.requests.append(record)
        try:
            answer, exchange = self._answer(handler.command, path, record, headers)
        except _ClientError as err:
            record.status = err.status
            handler.send_json(err.status, err.body, self._headers(), err.content_type)
            return
        if exchange is None or not isinstance(answer, Iterator):
            self._send_document(handler, exchange, cast("dict[str, Any]", answer))
        else:
            self._send_stream(handler, exchange, answer)

    def _answer(
        self, method: str, path: str, record: RecordedRequest, headers: Mapping[str, str]
    ) -> tuple[dict[str, Any] | Iterator[bytes], _Exchange | None]:
        if record.api_key is None:
            raise _ClientError(401, _gateway_error("Unauthorized"), _GATEWAY_JSON)
        if record.scenario not in SCENARIOS:
            raise _ClientError(400, _api_error(
                f"Unknown simulator scenario {record.scenario!r}; known: {', '.join(SCENARIOS)}",
                "invalid_request_error", None,
            ))
        path = path.rstrip("/")
        if method == "GET" and path == "/v1/models":
            models = [{"id": m, "object": "model", "owned_by": "mistralai"} for m in _MODELS]
            return {"object": "list", "data": models}, None
        routes = {"/v1/chat/completions": self._chat, "/v1/embeddings": self._embeddings}
        route = routes.get(path) if method == "POST" else None
        if route is None:
            raise _ClientError(404, {"detail": "Not Found"})
        failure = _errors(record.scenario)
        if failure is not None:
            raise _ClientError(*failure)
        body = record.json
        if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
            detail = [{"type": "missing", "loc": ["body", "model"], "msg": "Field required", "input": body}]
            raise _ClientError(422, {"detail": detail})
        if record.scenario == "echo_error":
            raise _ClientError(400, _api_error(
                f"Model {body['model']} cannot be used with API key {record.api_key} "
                f"(Authorization: {headers.get('authorization', '')}). Your last message was: {last_user_text(body)}",
                "invalid_request_error", None,
            ))
        reply = headers.get(REPLY_HEADER) or DEFAULT_REPLY
        if record.scenario == "echo":
            reply = last_user_text(body) or reply
        default_delay = _SLOW_STREAM_DEFAULT_DELAY if record.scenario == "slow_stream" else _SLOW_DEFAULT_DELAY
        exchange = _Exchange(record, body, record.scenario, parse_float(headers.get(DELAY_HEADER), default_delay),
                             reply, headers.get(TOOL_ARGUMENTS_HEADER) or TOOL_ARGUMENTS)
        if exchange.scenario == "slow" or (exchange.scenario == "slow_stream" and not exchange.stream):
            self._sleep(exchange.delay)
        return route(exchange), exchange

    def _headers(self) -> dict[str, str]:
        return {
            "mistral-correlation-id": _hex_id(),
            "x-kong-request-id": _hex_id(),
            "x-ratelimit-limit-tokens-minute": "2000000",
            "x-ratelimit-remaining-tokens-minute": "1999000",
        }

    def _send_document(self, handler: _Handler, exchange: _Exchange | None, payload: dict[str, Any]) -> None:
        if exchange is not None and exchange.scenario == "cut_stream":
            body = json.dumps(payload).encode()
            handler.send_head(200, "application/json", {**self._headers(), "Content-Length": str(len(body))})
            handler.wfile.write(body[: len(body) // 2])
            handler.abort()
            return
        if exchange is not None:
            exchange.record.status = 200
        handler.send_json(200, payload, self._headers())

    def _send_stream(self, handler: _Handler, exchange: _Exchange, frames: Iterator[bytes]) -> None:
        exchange.record.status = 200
        handler.send_head(200, "text/event-stream; charset=utf-8",
                          {**self._headers(), "Cache-Control": "no-cache", "Transfer-Encoding": "chunked"})
        for index, frame in enumerate(frames):
            if exchange.scenario == "cut_stream" and index == 2:
                handler.wfile.write(b"%X\r\n%s" % (len(frame), frame[: len(frame) // 2]))
                handler.abort()
                return
            if exchange.scenario == "slow_stream" and index > 0:
                self._sleep(exchange.delay)
            if self._stopping.is_set():
                raise _Aborted
            handler.write_chunk(frame)
        handler.end_chunks()

    # -- chat completions --------------------------------------------------

    def _chat(self, ex: _Exchange) -> dict[str, Any] | Iterator[bytes]:
        messages = ex.body.get("messages")
        if not isinstance(messages, list) or not messages:
            detail = [{"type": "missing", "loc": ["body", "messages"], "msg": "Field required", "input": ex.body}]
            raise _ClientError(422, {"detail": detail})
        prompt_tokens = max(1, sum(count_words(m.get("content")) for m in messages if isinstance(m, dict)))
        tool = ex.scenario == "tool_call"
        pieces = _split_words(ex.reply)
        limit = ex.body.get("max_tokens")
        finish = "tool_calls" if tool else "model_length" if ex.scenario == "model_length" else "stop"
        if not tool and isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit < len(pieces):
            pieces, finish = pieces[:limit], "length"
        n = ex.body.get("n")
        count = n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1
        completion = max(1, len(ex.tool_arguments.split())) if tool else len(pieces)
        if ex.scenario == "thinking":
            completion += len(THINKING.split())
        usage: dict[str, Any] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion * count,
            "total_tokens": prompt_tokens + completion * count,
        }
        if ex.scenario == "cached":
            usage["prompt_tokens_details"] = {"cached_tokens": prompt_tokens // 2}
        call = {"id": _tool_call_id(), "type": "function", "index": 0,
                "function": {"name": TOOL_NAME, "arguments": ex.tool_arguments}}
        completion_id = _hex_id()
        if ex.stream:
            return self._chat_stream(ex, completion_id, count, pieces, finish, usage, call)
        choices = []
        for index in range(count):
            message: dict[str, Any] = {"role": "assistant", "tool_calls": None, "prefix": False}
            if tool:
                message["content"] = ""
                message["tool_calls"] = [call]
            elif ex.scenario == "thinking":
                message["content"] = [_THINK_CHUNK, {"type": "text", "text": "".join(pieces)}]
            else:
                message["content"] = "".join(pieces)
            choices.append({"index": index, "message": message, "finish_reason": finish})
        return {"id": completion_id, "object": "chat.completion", "model": ex.model, "usage": usage,
                "created": ex.created, "choices": choices}

    def _chat_stream(
        self, ex: _Exchange, completion_id: str, count: int, pieces: list[str], finish: str,
        usage: dict[str, Any], call: dict[str, Any],
    ) -> Iterator[bytes]:
        def chunk(index: int, delta: dict[str, Any], reason: str | None = None, last: bool = False) -> bytes:
            payload: dict[str, Any] = {
                "id": completion_id, "object": "chat.completion.chunk", "created": ex.created, "model": ex.model,
                "choices": [{"index": index, "delta": delta, "finish_reason": reason}],
            }
            if last:
                payload["usage"] = usage
            return _sse(payload)

        for i in range(count):
            yield chunk(i, {"role": "assistant", "content": ""})
        if ex.scenario == "tool_call":
            for i in range(count):  # the service sends a whole tool call in one delta
                yield chunk(i, {"content": "", "tool_calls": [call]})
        else:
            if ex.scenario == "thinking":
                for i in range(count):
                    yield chunk(i, {"content": [_THINK_CHUNK]})
            for piece in pieces:
                for i in range(count):
                    yield chunk(i, {"content": piece})
        for i in range(count):
            yield chunk(i, {"content": ""}, finish, last=i == count - 1)
        yield b"data: [DONE]\n\n"

    # -- embeddings --------------------------------------------------------

    def _embeddings(self, ex: _Exchange) -> dict[str, Any]:
        inputs = ex.body.get("inputs", ex.body.get("input"))
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            detail = [{"type": "missing", "loc": ["body", "inputs"], "msg": "Field required", "input": ex.body}]
            raise _ClientError(422, {"detail": detail})
        dimension = ex.body.get("output_dimension")
        size = dimension if isinstance(dimension, int) and not isinstance(dimension, bool) and dimension > 0 \
            else EMBEDDING_DIMENSIONS
        tokens = max(1, sum(len(t.split()) for t in texts))
        return {
            "id": _hex_id(),
            "object": "list",
            "data": [
                {"object": "embedding", "embedding": _embedding(text, size), "index": i} for i, text in enumerate(texts)
            ],
            "model": ex.model,
            "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
        }


def main(argv: list[str] | None = None) -> int:
    return serve_until_stopped(
        lambda host, port, scenario: MistralSimulator(host, port, default_scenario=scenario),
        "Mistral AI API simulator (offline, deterministic).", SCENARIOS, argv,
    )


if __name__ == "__main__":
    sys.exit(main())
