"""An Anthropic Messages API simulator: a real HTTP server, standard library only.

The test suite, the leak suite and the benchmark drive the real ``anthropic`` 2.x client against it
over real HTTP. Run it as a script::

    python -m otel_ai.testing.anthropic_simulator --port 0
    listening on http://127.0.0.1:PORT

or use it in-process::

    with AnthropicSimulator() as sim:
        client = anthropic.Anthropic(api_key="sk-ant-test", base_url=sim.base_url)  # or AsyncAnthropic

Endpoints: ``POST /v1/messages`` (a whole ``message``, or server-sent events with ``stream: true``),
``POST /v1/messages/count_tokens`` (``{"input_tokens": N}``); the beta forms are the same paths with
``?beta=true``, as the client sends them; Vertex AI's forms of both (``AnthropicVertex``:
``/projects/P/locations/R/publishers/anthropic/models/MODEL:rawPredict`` or ``:streamRawPredict``,
``.../models/count-tokens:rawPredict``); ``GET /health``.

The wire format is the real one: JSON bodies, SSE with ``event:`` lines (``message_start`` with the
input usage, ``content_block_start`` / ``content_block_delta`` (``text_delta``, ``input_json_delta``)
/ ``content_block_stop``, a ``ping``, ``message_delta`` with ``stop_reason`` and the cumulative usage,
``message_stop``), answer headers ``request-id`` and ``anthropic-organization-id``, and error bodies
``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}`` with the real status
codes. Requests without ``x-api-key`` (or ``Authorization: Bearer``) get 401 ``authentication_error``.

Token counts are deterministic: input tokens are the whitespace-separated words of ``system`` and of
every message's text (at least 1), output tokens the words of the reply (a tool call: the words of its
JSON input). ``usage.input_tokens`` excludes cache reads and writes, as Anthropic's does.

Behaviour per request, with the ``x-simulator-scenario`` header (see ``SCENARIOS``); other headers:

* ``x-simulator-delay``: seconds for ``slow`` (default 2) and ``slow_stream`` (default 0.1 between events);
* ``x-simulator-reply``: replaces the reply text;
* ``x-simulator-usage``: a JSON object merged over the answer's ``usage`` (exact counts for cost tests;
  ``cache_creation`` as the API nests it).
"""

from __future__ import annotations

import json
import re
import secrets
import string
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from otel_ai._net import parse_float
from otel_ai.testing.base import (
    Aborted,
    ScenarioService,
    SimulatorHandler,
    read_incoming,
    serve_until_stopped,
)

__all__ = [
    "DEFAULT_REPLY",
    "SCENARIOS",
    "TOOL_INPUT",
    "TOOL_NAME",
    "AnthropicSimulator",
    "RecordedRequest",
    "main",
]

DEFAULT_REPLY = "Hello from the Anthropic simulator."
TOOL_NAME = "get_weather"
TOOL_INPUT = {"location": "Paris", "unit": "celsius"}
ORGANIZATION_ID = "0b5ad0f4-sim0-4c1e-9d2a-organization"

DELAY_HEADER = "x-simulator-delay"
REPLY_HEADER = "x-simulator-reply"
USAGE_HEADER = "x-simulator-usage"

SCENARIOS: Mapping[str, str] = {
    "ok": "normal answer (stop_reason end_turn; max_tokens cuts the reply: stop_reason max_tokens)",
    "tool_use": f"the assistant calls {TOOL_NAME} (a text block, then a tool_use block; stop_reason tool_use)",
    "cached": "usage with cache reads (2048) and writes (1536: 1024 for 5 minutes, 512 for an hour)",
    "rate_limit": "429 rate_limit_error",
    "overloaded": "529 overloaded_error",
    "server_error": "500 api_error",
    "auth_error": "401 authentication_error",
    "bad_request": "400 invalid_request_error",
    "not_found": "404 not_found_error (model)",
    "slow": "waits x-simulator-delay seconds (default 2) before answering",
    "slow_stream": "waits x-simulator-delay seconds (default 0.1) between stream events",
    "cut_stream": "a stream: message_start and one more event, then the connection drops mid-event",
    "stream_error": "a stream: message_start, some text, then an `error` event (overloaded_error)",
    "malformed": "200 application/json that is not JSON; streams: a data line with invalid JSON",
    "echo": "the reply is the last user message",
    "echo_error": "400 whose message repeats the model, the x-api-key, the system prompt and the last user message",
}

_ERRORS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit "
                   "(simulated)."),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "server_error": (500, "api_error", "Internal server error"),
    "auth_error": (401, "authentication_error", "invalid x-api-key"),
    "bad_request": (400, "invalid_request_error", "messages: at least one message is required (simulated)"),
}
_SLOW_DEFAULT_DELAY = 2.0
_SLOW_STREAM_DEFAULT_DELAY = 0.1
_CACHED_USAGE: dict[str, Any] = {
    "cache_read_input_tokens": 2048,
    "cache_creation_input_tokens": 1536,
    "cache_creation": {"ephemeral_5m_input_tokens": 1024, "ephemeral_1h_input_tokens": 512},
}


class _ClientError(Exception):
    """An Anthropic-shaped error answer."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


@dataclass
class RecordedRequest:
    """One request as the simulator received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any
    scenario: str
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def api_key(self) -> str | None:
        key = self.headers.get("x-api-key")
        if key:
            return key
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None

    @property
    def stream(self) -> bool:
        return isinstance(self.json, dict) and self.json.get("stream") is True


def _words(value: Any) -> int:
    """Words of the text in a system prompt, a message content or a content block list."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(item) for item in value)
    if isinstance(value, dict):
        total = 0
        for key in ("text", "content"):
            if key in value:
                total += _words(value[key])
        if value.get("type") == "tool_use":
            total += _words(json.dumps(value.get("input")))
        return total
    return 0


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""


def _last_user_text(body: Mapping[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def _id(prefix: str, length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def _sse(event: str, payload: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def _pieces(text: str) -> list[str]:
    return re.findall(r"\s*\S+", text) or [text]


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _Handler(SimulatorHandler):
    server_version = "anthropic-simulator/1.0"

    def send_body(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_head(status, "application/json", {**headers, "Content-Length": str(len(body))})
        self.wfile.write(body)
        self.wfile.flush()


@dataclass
class _Exchange:
    record: RecordedRequest
    body: dict[str, Any]
    scenario: str
    delay: float
    reply: str
    usage: dict[str, Any]
    headers: dict[str, str]


class AnthropicSimulator(ScenarioService[RecordedRequest]):
    """The Anthropic Messages API on 127.0.0.1 (port 0 picks a free port)."""

    handler = _Handler
    thread_name = "anthropic-simulator"
    scenarios = SCENARIOS

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``: the ``base_url`` for ``anthropic.Anthropic`` (paths start with ``/v1``)."""
        return self.url

    # -- request handling --------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        incoming = read_incoming(handler, self.default_scenario)
        headers = incoming.headers
        answer_headers = {"request-id": _id("req_"), "anthropic-organization-id": ORGANIZATION_ID}
        if incoming.path == "/health":
            handler.send_body(200, b'{"status":"ok"}', answer_headers)
            return
        path, parsed = _vertex_route(incoming.path, ValueError if incoming.json_failed else incoming.json)
        record = RecordedRequest(incoming.method, path, incoming.query, headers, incoming.raw, parsed,
                                 incoming.scenario, response_headers=answer_headers)
        with self._lock:
            self.requests.append(record)
        try:
            answer = self._answer(record, headers, answer_headers)
        except _ClientError as err:
            record.status = err.status
            payload = {"type": "error", "error": {"type": err.kind, "message": err.message},
                       "request_id": answer_headers["request-id"]}
            extra = {"retry-after": "0"} if err.status == 429 else {}
            handler.send_body(err.status, json.dumps(payload).encode(), {**answer_headers, **extra})
            return
        if isinstance(answer, dict):
            self._send_document(handler, record, answer, answer_headers)
        else:
            self._send_stream(handler, record, answer, answer_headers, parse_float(
                headers.get(DELAY_HEADER), _SLOW_STREAM_DEFAULT_DELAY))

    def _answer(
        self, record: RecordedRequest, headers: dict[str, str], answer_headers: dict[str, str]
    ) -> dict[str, Any] | Iterator[bytes]:
        body = record.json
        if body is ValueError:
            raise _ClientError(400, "invalid_request_error", "There was an issue with your request body: not JSON")
        if record.api_key is None:
            raise _ClientError(401, "authentication_error", "x-api-key header is required")
        scenario = record.scenario
        if scenario not in SCENARIOS:
            raise _ClientError(400, "invalid_request_error", f"unknown simulator scenario {scenario!r}")
        if handler_route(record.method, record.path) is None:
            raise _ClientError(404, "not_found_error", f"Not Found: {record.method} {record.path}")
        if scenario in _ERRORS:
            status, kind, message = _ERRORS[scenario]
            raise _ClientError(status, kind, message)
        if not isinstance(body, dict):
            raise _ClientError(400, "invalid_request_error", "request body must be a JSON object")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _ClientError(400, "invalid_request_error", "model: Field required")
        if scenario == "not_found":
            raise _ClientError(404, "not_found_error", f"model: {model}")
        if scenario == "echo_error":
            raise _ClientError(400, "invalid_request_error", (
                f"model {model} is not available for x-api-key {record.api_key}; "
                f"system: {_text_of(body.get('system'))}; last message: {_last_user_text(body)}"
            ))
        input_tokens = max(1, _words(body.get("system")) + _words(body.get("messages")))
        if handler_route(record.method, record.path) == "count_tokens":
            return {"input_tokens": input_tokens}
        if not isinstance(body.get("max_tokens"), int):
            raise _ClientError(400, "invalid_request_error", "max_tokens: Field required")
        usage: dict[str, Any] = {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 0,
            "service_tier": "standard",
        }
        if scenario == "cached":
            usage = _merge(usage, _CACHED_USAGE)
        try:
            extra = json.loads(headers.get(USAGE_HEADER) or "{}")
        except ValueError:
            extra = {}
        reply = headers.get(REPLY_HEADER) or DEFAULT_REPLY
        if scenario == "echo":
            reply = _last_user_text(body) or reply
        exchange = _Exchange(
            record, body, scenario,
            parse_float(headers.get(DELAY_HEADER), _SLOW_DEFAULT_DELAY), reply,
            usage, answer_headers,
        )
        if scenario == "slow" or (scenario == "slow_stream" and body.get("stream") is not True):
            self._sleep(exchange.delay)
        answer = self._message(exchange, extra if isinstance(extra, dict) else {})
        if body.get("stream") is True:
            return self._events(exchange, answer)
        return answer

    def _message(self, ex: _Exchange, extra_usage: Mapping[str, Any]) -> dict[str, Any]:
        limit = ex.body["max_tokens"]
        pieces = _pieces(ex.reply)
        stop_reason = "end_turn"
        if len(pieces) > limit:
            pieces, stop_reason = pieces[:limit], "max_tokens"
        content: list[dict[str, Any]] = [{"type": "text", "text": "".join(pieces)}]
        output_tokens = len(pieces)
        if ex.scenario == "tool_use" and stop_reason == "end_turn":
            content.append({"type": "tool_use", "id": _id("toolu_"), "name": TOOL_NAME, "input": TOOL_INPUT})
            output_tokens += len(json.dumps(TOOL_INPUT).split())
            stop_reason = "tool_use"
        usage = _merge({**ex.usage, "output_tokens": output_tokens}, extra_usage)
        return {
            "id": _id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": ex.body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }

    def _events(self, ex: _Exchange, message: dict[str, Any]) -> Iterator[bytes]:
        usage = message["usage"]
        start_usage = {**usage, "output_tokens": 1}
        yield _sse("message_start", {"type": "message_start", "message": {
            **message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage,
        }})
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                yield _sse("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {"type": "text", "text": ""}})
                if index == 0:
                    yield _sse("ping", {"type": "ping"})
                for piece in _pieces(block["text"]) if block["text"] else []:
                    yield _sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "text_delta", "text": piece}})
                    if ex.scenario == "stream_error":
                        yield _sse("error", {"type": "error", "error": {"type": "overloaded_error",
                                                                        "message": "Overloaded"}})
                        return
            else:
                yield _sse("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {**block, "input": {}}})
                for piece in _pieces(json.dumps(block["input"])):
                    yield _sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "input_json_delta", "partial_json": piece}})
            yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
        # The final usage is cumulative: the input counts again, the output in full (not added to message_start's 1).
        delta_usage = {key: usage[key] for key in (
            "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens",
        ) if key in usage}
        yield _sse("message_delta", {"type": "message_delta", "delta": {
            "stop_reason": message["stop_reason"], "stop_sequence": None}, "usage": delta_usage})
        yield _sse("message_stop", {"type": "message_stop"})

    # -- writing -------------------------------------------------------------

    def _send_document(
        self, handler: _Handler, record: RecordedRequest, payload: dict[str, Any], headers: dict[str, str]
    ) -> None:
        body = json.dumps(payload).encode()
        record.status = 200
        if record.scenario == "malformed":
            handler.send_body(200, b'{"id": "msg_broken", "type": "message", "content": [', headers)
        elif record.scenario == "cut_stream":
            handler.send_head(200, "application/json", {**headers, "Content-Length": str(len(body))})
            handler.wfile.write(body[: len(body) // 2])
            handler.abort()
        else:
            handler.send_body(200, body, headers)

    def _send_stream(
        self, handler: _Handler, record: RecordedRequest, frames: Iterator[bytes], headers: dict[str, str],
        delay: float,
    ) -> None:
        record.status = 200
        handler.send_head(200, "text/event-stream; charset=utf-8", {
            **headers, "Cache-Control": "no-cache", "Transfer-Encoding": "chunked",
        })
        scenario = record.scenario
        for index, frame in enumerate(frames):
            if scenario == "cut_stream" and index == 2:
                handler.wfile.write(b"%X\r\n%s" % (len(frame), frame[: len(frame) // 2]))
                handler.abort()
                return
            if scenario == "malformed" and index == 1:
                handler.write_chunk(b'event: content_block_start\ndata: {"type": "content_block_start", "index"\n\n')
                handler.end_chunks()
                return
            if scenario == "slow_stream" and index > 0:
                self._sleep(delay)
            if self._stopping.is_set():
                raise Aborted
            handler.write_chunk(frame)
        handler.end_chunks()


_VERTEX = re.compile(
    r"/(?:v1/)?projects/[^/]+/locations/[^/]+/publishers/anthropic/models/([^/:%]+)(?::|%3A)(rawPredict|streamRawPredict)"
)


def _vertex_route(path: str, body: Any) -> tuple[str, Any]:
    """Vertex AI's paths (`AnthropicVertex`): the model is in the path, not the body; count-tokens has its own.

    Answered as the Messages API they stand for, so one simulator serves both clients.
    """
    match = _VERTEX.fullmatch(path)
    if match is None:
        return path, body
    model, _ = match.groups()
    if model == "count-tokens":
        return "/v1/messages/count_tokens", body
    if isinstance(body, dict) and "model" not in body:
        body = {**body, "model": model}
    return "/v1/messages", body


def handler_route(method: str, path: str) -> str | None:
    """Which API a request is for: ``messages``, ``count_tokens`` or None (404)."""
    if method != "POST":
        return None
    return {"/v1/messages": "messages", "/v1/messages/count_tokens": "count_tokens"}.get(path.rstrip("/"))


def main(argv: list[str] | None = None) -> int:
    return serve_until_stopped(
        lambda host, port, scenario: AnthropicSimulator(host, port, default_scenario=scenario),
        "Anthropic Messages API simulator (offline, deterministic).", SCENARIOS, argv,
    )


if __name__ == "__main__":
    sys.exit(main())
