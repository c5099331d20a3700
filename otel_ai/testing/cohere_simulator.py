"""A Cohere API (v2) simulator: a real HTTP server, standard library only.

The test suite drives the real ``cohere`` 7.x client (``ClientV2``, ``AsyncClientV2``) against it
over real HTTP. Run it as a script::

    python -m otel_ai.testing.cohere_simulator --port 0
    listening on http://127.0.0.1:PORT

or use it in-process::

    with CohereSimulator() as sim:
        client = cohere.ClientV2(api_key="...", base_url=sim.base_url)   # or **sim.client_options()

Endpoints: ``POST /v2/chat`` (``"stream": true`` answers server-sent events, each an ``event:``
line naming its type and a ``data:`` line with the JSON event: ``message-start``, then
``content-start`` / ``content-delta`` ... / ``content-end`` (or ``tool-plan-delta``,
``tool-call-start`` / ``tool-call-delta`` / ``tool-call-end``), then ``message-end`` carrying the
finish reason and the usage), ``POST /v2/embed``, ``POST /v2/rerank``, ``GET /health``. Requests
need ``Authorization: Bearer <key>``; without one the answer is the real 401.

Usage is reported as the service does, twice: ``billed_units`` (what the call is billed on) and
``tokens`` (what the model read and wrote, Cohere's own prompt template included). Billed input
tokens are the whitespace-separated words of every message's text (embed: of every text), at least
1; ``tokens.input_tokens`` adds ``TEMPLATE_TOKENS``. Output tokens are the words of the reply (for
a tool call: of its JSON arguments). A rerank is one search unit per 100 documents (at least 1).
Ids are UUIDs, tool-call ids ``<name>_<12 letters and digits>``, as the real service sends them.

Behaviour is chosen per request with the ``x-simulator-scenario`` header (the client sends extra
headers with ``request_options={"additional_headers": {...}}``); see ``SCENARIOS``. Other request
headers: ``x-simulator-delay`` (seconds for ``slow``, default 2, and between events of
``slow_stream``, default 0.05), ``x-simulator-reply`` (replaces the reply text) and
``x-simulator-tool-arguments`` (the JSON arguments of the ``tool_call`` scenario's call).

Error bodies are the service's ``{"id": <uuid>, "message": ...}``; the client raises its typed error
for the status (``BadRequestError`` 400, ``UnauthorizedError`` 401, ``NotFoundError`` 404,
``UnprocessableEntityError`` 422, ``TooManyRequestsError`` 429, ``InvalidTokenError`` 498,
``InternalServerError`` 500, ``ServiceUnavailableError`` 503).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import string
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from otel_ai._net import parse_float
from otel_ai.testing.base import SCENARIO_HEADER, ScenarioService, SimulatorHandler, read_incoming, serve_until_stopped
from otel_ai.testing.base import Aborted as _Aborted
from otel_ai.testing.simulator import RecordedRequest, count_words, last_user_text

__all__ = [
    "DEFAULT_REPLY",
    "EMBEDDING_DIMENSIONS",
    "SCENARIOS",
    "SCENARIO_HEADER",
    "TEMPLATE_TOKENS",
    "THINKING",
    "TOOL_ARGUMENTS",
    "TOOL_NAME",
    "TOOL_PLAN",
    "CohereSimulator",
    "main",
]

DEFAULT_REPLY = "Hello from the Cohere simulator."
TOOL_NAME = "get_weather"
TOOL_ARGUMENTS = json.dumps({"location": "Toronto", "unit": "celsius"})
TOOL_PLAN = "I will look up the weather in Toronto."
THINKING = "The user greets me; I greet back."
EMBEDDING_DIMENSIONS = 1536  # embed-v4.0's default
TEMPLATE_TOKENS = 66  # what `usage.tokens.input_tokens` adds to the billed input: Cohere's prompt template

DELAY_HEADER = "x-simulator-delay"
REPLY_HEADER = "x-simulator-reply"
TOOL_ARGUMENTS_HEADER = "x-simulator-tool-arguments"

SCENARIOS: Mapping[str, str] = {
    "ok": "normal answer",
    "tool_call": f"the assistant plans, then calls {TOOL_NAME} (finish_reason TOOL_CALL)",
    "thinking": "the reply is a thinking item, then the text (as reasoning models answer)",
    "echo": "normal answer whose text is the last user message (rerank: the query)",
    "stream_error": "a stream whose message-end says finish_reason ERROR with an error message",
    "slow": "waits x-simulator-delay seconds (default 2) before answering",
    "slow_stream": "waits x-simulator-delay seconds (default 0.05) between stream events",
    "cut_stream": "sends three events (a JSON answer: half of it), then drops the connection",
    "auth_error": "401 invalid api token",
    "invalid_token": "498 invalid token (a revoked key)",
    "bad_request": "400 invalid request",
    "not_found": "404 model not found",
    "unprocessable": "422 unprocessable entity",
    "rate_limit": "429 trial key rate limit",
    "server_error": "500 internal server error",
    "unavailable": "503 service unavailable",
    "echo_error": "400 whose message repeats the model, the API key, the Authorization header and the last "
    "user message (a careless gateway)",
}

_SLOW_DEFAULT_DELAY = 2.0
_SLOW_STREAM_DEFAULT_DELAY = 0.05


def _error(message: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "message": message}


def _errors(scenario: str, model: str) -> tuple[int, dict[str, Any]] | None:
    """(status, body) of a failing scenario, fresh ids each time."""
    table = {
        "auth_error": (401, "invalid api token"),
        "invalid_token": (498, "invalid api token"),
        "bad_request": (400, "invalid request: message must be at least 1 token long or tool results must be "
                             "specified."),
        "not_found": (404, f"model '{model}' not found, make sure the correct model ID was used and that you have "
                           "access to the model."),
        "unprocessable": (422, "No valid tool call or response generated"),
        "rate_limit": (429, "You are using a Trial key, which is limited to 20 API calls / minute. You can continue "
                            "to use the Trial key for free or upgrade to a Production key with higher rate limits."),
        "server_error": (500, "internal server error, this has been reported to our developers. id "
                              f"{uuid.uuid4().hex}"),
        "unavailable": (503, "service unavailable"),
    }
    found = table.get(scenario)
    return (found[0], _error(found[1])) if found is not None else None


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


def _event(payload: dict[str, Any]) -> bytes:
    return (f"event: {payload['type']}\ndata: ".encode() + json.dumps(payload, separators=(",", ":")).encode()
            + b"\n\n")


def _tool_call_id(name: str) -> str:
    return f"{name}_" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))


def _usage(billed_in: int, billed_out: int) -> dict[str, Any]:
    return {"billed_units": {"input_tokens": billed_in, "output_tokens": billed_out},
            "tokens": {"input_tokens": billed_in + TEMPLATE_TOKENS, "output_tokens": billed_out}}


class _ClientError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


@dataclass
class _Exchange:
    record: RecordedRequest
    body: dict[str, Any]
    scenario: str
    delay: float
    reply: str
    tool_arguments: str = TOOL_ARGUMENTS

    @property
    def model(self) -> str:
        return str(self.body["model"])

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True


class _Handler(SimulatorHandler):
    server_version = "cohere-simulator/1.0"


class CohereSimulator(ScenarioService[RecordedRequest]):
    """Cohere v2 HTTP API on 127.0.0.1 (port 0 picks a free port)."""

    handler = _Handler
    thread_name = "cohere-simulator"
    scenarios = SCENARIOS

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``: the client's ``base_url`` (its paths start with ``v2/``)."""
        return self.url

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``cohere.ClientV2(...)`` that point it here."""
        return {"base_url": self.base_url}

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
            handler.send_json(err.status, err.body, self._headers())
            return
        if isinstance(answer, Iterator):
            self._send_stream(handler, exchange, answer)
        else:
            self._send_document(handler, exchange, answer)

    def _answer(
        self, method: str, path: str, record: RecordedRequest, headers: Mapping[str, str]
    ) -> tuple[dict[str, Any] | Iterator[bytes], _Exchange]:
        if record.api_key is None:
            raise _ClientError(401, _error("no api key supplied"))
        if record.scenario not in SCENARIOS:
            raise _ClientError(400, _error(
                f"Unknown simulator scenario {record.scenario!r}; known: {', '.join(SCENARIOS)}"))
        routes = {"/v2/chat": self._chat, "/v2/embed": self._embed, "/v2/rerank": self._rerank}
        route = routes.get(path.rstrip("/")) if method == "POST" else None
        if route is None:
            raise _ClientError(404, _error(f"{method} {path} not found"))
        body = record.json
        if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
            raise _ClientError(400, _error("invalid request: model must be specified"))
        failure = _errors(record.scenario, body["model"])
        if failure is not None:
            raise _ClientError(*failure)
        if record.scenario == "echo_error":
            raise _ClientError(400, _error(
                f"model {body['model']} cannot be used with api key {record.api_key} "
                f"(Authorization: {headers.get('authorization', '')}). Your last message was: "
                f"{last_user_text(body) or body.get('query', '')}"))
        reply = headers.get(REPLY_HEADER) or DEFAULT_REPLY
        if record.scenario == "echo":
            reply = last_user_text(body) or reply
        default_delay = _SLOW_STREAM_DEFAULT_DELAY if record.scenario == "slow_stream" else _SLOW_DEFAULT_DELAY
        exchange = _Exchange(record, body, record.scenario, parse_float(headers.get(DELAY_HEADER), default_delay),
                             reply, headers.get(TOOL_ARGUMENTS_HEADER) or TOOL_ARGUMENTS)
        if exchange.scenario == "slow" or (exchange.scenario == "slow_stream" and not exchange.stream):
            self._sleep(exchange.delay)
        return route(exchange), exchange

    @staticmethod
    def _headers() -> dict[str, str]:
        return {"x-api-warning": "", "num_chars": "0", "x-debug-trace-id": uuid.uuid4().hex,
                "x-endpoint-monthly-call-limit": "1000", "x-trial-endpoint-call-limit": "20",
                "x-trial-endpoint-call-remaining": "19"}

    def _send_document(self, handler: _Handler, exchange: _Exchange, payload: dict[str, Any]) -> None:
        if exchange.scenario == "cut_stream":
            body = json.dumps(payload).encode()
            handler.send_head(200, "application/json", {**self._headers(), "Content-Length": str(len(body))})
            handler.wfile.write(body[: len(body) // 2])
            handler.abort()
            return
        exchange.record.status = 200
        handler.send_json(200, payload, self._headers())

    def _send_stream(self, handler: _Handler, exchange: _Exchange, frames: Iterator[bytes]) -> None:
        exchange.record.status = 200
        handler.send_head(200, "text/event-stream",
                          {**self._headers(), "Cache-Control": "no-cache", "Transfer-Encoding": "chunked"})
        for index, frame in enumerate(frames):
            if exchange.scenario == "cut_stream" and index == 3:
                handler.wfile.write(b"%X\r\n%s" % (len(frame), frame[: len(frame) // 2]))
                handler.abort()
                return
            if exchange.scenario == "slow_stream" and index > 0:
                self._sleep(exchange.delay)
            if self._stopping.is_set():
                raise _Aborted
            handler.write_chunk(frame)
        handler.end_chunks()

    # -- chat --------------------------------------------------------------

    def _chat(self, ex: _Exchange) -> dict[str, Any] | Iterator[bytes]:
        messages = ex.body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _ClientError(400, _error("invalid request: messages must not be empty"))
        prompt = max(1, sum(count_words(m.get("content")) for m in messages if isinstance(m, dict)))
        tool = ex.scenario == "tool_call"
        pieces = _split_words(ex.reply)
        limit = ex.body.get("max_tokens")
        finish = "TOOL_CALL" if tool else "ERROR" if ex.scenario == "stream_error" else "COMPLETE"
        if not tool and isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit < len(pieces):
            pieces, finish = pieces[:limit], "MAX_TOKENS"
        output = max(1, len(ex.tool_arguments.split())) + len(TOOL_PLAN.split()) if tool else len(pieces)
        if ex.scenario == "thinking":
            output += len(THINKING.split())
        usage = _usage(prompt, output)
        call = {"id": _tool_call_id(TOOL_NAME), "type": "function",
                "function": {"name": TOOL_NAME, "arguments": ex.tool_arguments}}
        response_id = str(uuid.uuid4())
        if ex.stream:
            return self._chat_stream(ex, response_id, pieces, finish, usage, call)
        message: dict[str, Any] = {"role": "assistant"}
        if tool:
            message["tool_plan"] = TOOL_PLAN
            message["tool_calls"] = [call]
        else:
            content: list[dict[str, Any]] = []
            if ex.scenario == "thinking":
                content.append({"type": "thinking", "thinking": THINKING})
            content.append({"type": "text", "text": "".join(pieces)})
            message["content"] = content
        return {"id": response_id, "message": message, "finish_reason": finish, "usage": usage}

    def _chat_stream(
        self, ex: _Exchange, response_id: str, pieces: list[str], finish: str, usage: dict[str, Any],
        call: dict[str, Any],
    ) -> Iterator[bytes]:
        yield _event({"id": response_id, "type": "message-start", "delta": {"message": {
            "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}})
        if ex.scenario == "tool_call":
            for piece in _split_words(TOOL_PLAN):
                yield _event({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": piece}}})
            start = {**call, "function": {"name": TOOL_NAME, "arguments": ""}}
            yield _event({"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": start}}})
            for piece in _split_words(ex.tool_arguments):
                yield _event({"type": "tool-call-delta", "index": 0,
                              "delta": {"message": {"tool_calls": {"function": {"arguments": piece}}}}})
            yield _event({"type": "tool-call-end", "index": 0})
        else:
            index = 0
            if ex.scenario == "thinking":
                yield _event({"type": "content-start", "index": 0,
                              "delta": {"message": {"content": {"type": "thinking", "thinking": ""}}}})
                for piece in _split_words(THINKING):
                    yield _event({"type": "content-delta", "index": 0,
                                  "delta": {"message": {"content": {"thinking": piece}}}})
                yield _event({"type": "content-end", "index": 0})
                index = 1
            yield _event({"type": "content-start", "index": index,
                          "delta": {"message": {"content": {"type": "text", "text": ""}}}})
            for piece in pieces:
                yield _event({"type": "content-delta", "index": index,
                              "delta": {"message": {"content": {"text": piece}}}})
            yield _event({"type": "content-end", "index": index})
        delta: dict[str, Any] = {"finish_reason": finish, "usage": usage}
        if ex.scenario == "stream_error":
            delta["error"] = "an internal error occurred while generating (simulated)"
        yield _event({"type": "message-end", "delta": delta})

    # -- embed and rerank --------------------------------------------------

    def _embed(self, ex: _Exchange) -> dict[str, Any]:
        texts = ex.body.get("texts")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise _ClientError(400, _error("invalid request: texts must be a non-empty list of strings"))
        dimension = ex.body.get("output_dimension")
        size = dimension if isinstance(dimension, int) and not isinstance(dimension, bool) and dimension > 0 \
            else EMBEDDING_DIMENSIONS
        kinds = ex.body.get("embedding_types") or ["float"]
        embeddings: dict[str, Any] = {}
        for kind in kinds:
            vectors = [_embedding(text, size) for text in texts]
            if kind == "float":
                embeddings["float"] = vectors
            elif kind in ("int8", "uint8"):
                offset = 0 if kind == "int8" else 128
                embeddings[kind] = [[max(-128, min(127, round(v * 127))) + offset for v in vec] for vec in vectors]
        tokens = max(1, sum(len(t.split()) for t in texts))
        return {
            "id": str(uuid.uuid4()), "embeddings": embeddings, "texts": texts, "response_type": "embeddings_by_type",
            "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens},
                     "tokens": {"input_tokens": tokens}},
        }

    def _rerank(self, ex: _Exchange) -> dict[str, Any]:
        documents = ex.body.get("documents")
        query = ex.body.get("query")
        if not isinstance(documents, list) or not documents or not isinstance(query, str):
            raise _ClientError(400, _error("invalid request: query and documents must be specified"))
        words = set(query.lower().split())
        scores = []
        for index, document in enumerate(documents):
            text = document if isinstance(document, str) else json.dumps(document)
            overlap = len(words & set(text.lower().split()))
            scores.append((round(min(0.999, 0.01 + 0.2 * overlap), 6), index))
        scores.sort(key=lambda pair: (-pair[0], pair[1]))
        top_n = ex.body.get("top_n")
        if isinstance(top_n, int) and not isinstance(top_n, bool) and top_n > 0:
            scores = scores[:top_n]
        return {
            "id": str(uuid.uuid4()),
            "results": [{"index": index, "relevance_score": score} for score, index in scores],
            "meta": {"api_version": {"version": "2"},
                     "billed_units": {"search_units": max(1, math.ceil(len(documents) / 100))}},
        }


def main(argv: list[str] | None = None) -> int:
    return serve_until_stopped(
        lambda host, port, scenario: CohereSimulator(host, port, default_scenario=scenario),
        "Cohere API (v2) simulator (offline, deterministic).", SCENARIOS, argv,
    )


if __name__ == "__main__":
    sys.exit(main())
