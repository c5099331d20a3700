"""An Ollama API simulator: a real HTTP server, standard library only.

The example app and the test suite drive the real ``ollama`` client (``Client`` and ``AsyncClient``)
against it over real HTTP. Run it as a script::

    python -m otel_ai.testing.ollama_simulator --port 0
    listening on http://127.0.0.1:PORT

or use it in-process::

    with OllamaSimulator() as sim:
        client = ollama.Client(host=sim.url)            # or ollama.AsyncClient(host=sim.url)

Endpoints, with the real server's wire format:

* ``POST /api/chat``, ``POST /api/generate``: one JSON object, or with ``"stream": true`` (the
  server's default when ``stream`` is absent) newline-delimited JSON (``application/x-ndjson``,
  chunked), one object per piece of the reply; the last one has ``"done": true``, ``done_reason``,
  the token counts (``prompt_eval_count``, ``eval_count``) and the durations in nanoseconds
  (``total_duration``, ``load_duration``, ``prompt_eval_duration``, ``eval_duration``);
* ``POST /api/embed`` (``embeddings``, ``prompt_eval_count``, durations) and the older
  ``POST /api/embeddings`` (``embedding`` only);
* ``GET /api/tags``, ``GET /api/version``, ``GET /`` ("Ollama is running").

A model that is not in ``models`` (default ``MODELS``) is answered like a model that was never
pulled: 404 ``{"error": "model \\"x\\" not found, try pulling it first"}``. A chat with no
messages loads the model (``done_reason: "load"``, no counts), as the real server does.

Token counts are deterministic: input tokens are the whitespace-separated words of every message
content (chat), of ``system`` plus ``prompt`` (generate) or of every input (embed), at least 1;
output tokens are the words of the reply (for a tool call: the words of its JSON arguments).
``options.num_predict`` cuts the reply to that many words (``done_reason: "length"``). Durations
(``durations(prompt_tokens, output_tokens)``): load 2 ms (``cold``: 1.5 s), 1 ms per input token,
5 ms per output token, total = load + both + 1 ms.

Behaviour per request, by the ``x-simulator-scenario`` header (the client sends headers given to
``ollama.Client(headers=...)``): see ``SCENARIOS``. Errors have Ollama's body, ``{"error": "..."}``,
and status; a stream that fails after it started sends an ``{"error": ...}`` line with status 200.
``x-simulator-delay`` sets the seconds of ``slow`` (default 2) and ``slow_stream`` (default 0.1,
between lines); ``x-simulator-reply`` replaces the reply text.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
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
    "MODELS",
    "SCENARIOS",
    "THINKING",
    "TOOL_ARGUMENTS",
    "TOOL_NAME",
    "OllamaSimulator",
    "RecordedRequest",
    "count_words",
    "durations",
    "main",
]

DEFAULT_REPLY = "Hello from the Ollama simulator."
THINKING = "The user greets me, so I greet back."
TOOL_NAME = "get_weather"
TOOL_ARGUMENTS: dict[str, Any] = {"city": "Paris", "unit": "celsius"}
EMBEDDING_DIMENSIONS = 8
MODELS = ("llama3.2", "llama3.2:latest", "qwen3", "qwen3:8b", "gemma3", "all-minilm", "nomic-embed-text")

DELAY_HEADER = "x-simulator-delay"
REPLY_HEADER = "x-simulator-reply"

SCENARIOS: Mapping[str, str] = {
    "ok": "normal answer",
    "tool_call": f"chat: the assistant calls {TOOL_NAME} (done_reason stop, message.tool_calls)",
    "echo": "the reply is the last user message (chat) or the prompt (generate), any characters",
    "cold": "the model had to be loaded: load_duration 1.5 s",
    "slow": "waits x-simulator-delay seconds (default 2) before answering",
    "slow_stream": "waits x-simulator-delay seconds (default 0.1) between stream lines",
    "cut_stream": "streams two lines, then drops the connection in the middle of the third",
    "stream_error": "streams two lines, then an {\"error\": ...} line (status 200), as a model crash does",
    "bad_request": "400 {\"error\": ...}",
    "unauthorized": "401 {\"error\": \"unauthorized\"} (a proxy in front of Ollama, or ollama.com)",
    "server_error": "500 {\"error\": ...}",
    "echo_error": "400 whose error repeats the model, the Authorization header (and its token alone) and the last "
    "user message (a careless proxy)",
}

_SLOW_DEFAULT = 2.0
_SLOW_STREAM_DEFAULT = 0.1
_ERRORS: Mapping[str, tuple[int, str]] = {
    "bad_request": (400, "invalid options: num_ctx must be a positive integer"),
    "unauthorized": (401, "unauthorized"),
    "server_error": (500, "llama runner process has terminated: exit status 2"),
}


def durations(prompt_tokens: int, output_tokens: int, *, cold: bool = False) -> dict[str, int]:
    """The durations (nanoseconds) an answer reports for these counts."""
    load = 1_500_000_000 if cold else 2_000_000
    prompt_eval = prompt_tokens * 1_000_000
    evaluation = output_tokens * 5_000_000
    return {
        "total_duration": load + prompt_eval + evaluation + 1_000_000,
        "load_duration": load,
        "prompt_eval_duration": prompt_eval,
        "eval_duration": evaluation,
    }


def count_words(value: Any) -> int:
    """Words of a text, or of the texts in a list."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(count_words(item) for item in value)
    return 0


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _pieces(text: str) -> list[str]:
    """One word per piece, spaces kept so the pieces join back to the text."""
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
    return [v / norm for v in vector]


@dataclass
class RecordedRequest:
    """One request as the simulator received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    scenario: str
    received_at: float = field(default_factory=time.time)
    status: int | None = None
    """Status code of the answer, set once it is sent."""

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class _Error(Exception):
    """An Ollama error answer: a status and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Handler(SimulatorHandler):
    server_version = "ollama-simulator/1.0"
    json_type = "application/json; charset=utf-8"


@dataclass
class _Exchange:
    record: RecordedRequest
    body: dict[str, Any]
    scenario: str
    delay: float
    reply: str

    @property
    def model(self) -> str:
        return str(self.body["model"])

    @property
    def stream(self) -> bool:
        return self.body.get("stream", True) is not False  # the server streams unless told not to

    @property
    def options(self) -> dict[str, Any]:
        options = self.body.get("options")
        return options if isinstance(options, dict) else {}

    def reply_pieces(self) -> tuple[list[str], str]:
        pieces = _pieces(self.reply)
        limit = self.options.get("num_predict")
        if isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit < len(pieces):
            return pieces[:limit], "length"
        return pieces, "stop"

    def done(self, prompt_tokens: int, output_tokens: int, reason: str) -> dict[str, Any]:
        return {
            "done_reason": reason,
            "done": True,
            **durations(prompt_tokens, output_tokens, cold=self.scenario == "cold"),
            "prompt_eval_count": prompt_tokens,
            "eval_count": output_tokens,
        }


class OllamaSimulator(ScenarioService[RecordedRequest]):
    """The Ollama HTTP API on 127.0.0.1 (port 0 picks a free port)."""

    handler = _Handler
    thread_name = "ollama-simulator"
    scenarios = SCENARIOS

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, default_scenario: str = "ok",
        models: tuple[str, ...] = MODELS,
    ) -> None:
        super().__init__(host, port, default_scenario=default_scenario)
        self.models = models

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``: the ``host`` for ``ollama.Client`` (and ``OLLAMA_HOST``)."""
        return self.url

    # -- request handling --------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        incoming = read_incoming(handler, self.default_scenario)
        path = incoming.path.rstrip("/") or "/"
        headers, parsed, scenario = incoming.headers, incoming.json, incoming.scenario
        parse_failed = incoming.json_failed
        record = RecordedRequest(incoming.method, path, headers, incoming.raw, parsed, scenario)
        with self._lock:
            self.requests.append(record)

        def answer(status: int, payload: Any) -> None:
            record.status = status
            handler.send_json(status, payload)

        if handler.command == "GET":
            if path == "/":
                record.status = 200
                body = b"Ollama is running"
                handler.send_response(200)
                handler.send_header("Content-Type", "text/plain; charset=utf-8")
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)
            elif path == "/api/version":
                answer(200, {"version": "0.12.6"})
            elif path == "/api/tags":
                answer(200, {"models": [{"name": m, "model": m, "size": 1, "digest": "0" * 64} for m in self.models]})
            else:
                answer(404, "404 page not found")
            return
        routes = {"/api/chat": self._chat, "/api/generate": self._generate, "/api/embed": self._embed,
                  "/api/embeddings": self._embeddings}
        route = routes.get(path)
        try:
            if route is None:
                raise _Error(404, "404 page not found")
            if parse_failed or not isinstance(parsed, dict):
                raise _Error(400, "invalid character 'x' looking for beginning of value")
            if scenario not in SCENARIOS:
                raise _Error(400, f"unknown simulator scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
            if scenario in _ERRORS:
                raise _Error(*_ERRORS[scenario])
            model = parsed.get("model")
            if not isinstance(model, str) or not model:
                raise _Error(400, "model is required")
            if scenario == "echo_error":
                auth = headers.get("authorization", "")
                raise _Error(400, f"model {model} refused for token {auth.partition(' ')[2]} (Authorization: {auth}); "
                             f"your last message was: {_last_user_text(parsed)}")
            if model not in self.models:
                raise _Error(404, f'model "{model}" not found, try pulling it first')
            reply = headers.get(REPLY_HEADER) or DEFAULT_REPLY
            if scenario == "echo":
                reply = _last_user_text(parsed) or reply
            default_delay = _SLOW_STREAM_DEFAULT if scenario == "slow_stream" else _SLOW_DEFAULT
            exchange = _Exchange(record, parsed, scenario, parse_float(headers.get(DELAY_HEADER), default_delay), reply)
            if scenario == "slow" or (scenario == "slow_stream" and not exchange.stream):
                self._sleep(exchange.delay)
            result = route(exchange)
        except _Error as err:
            answer(err.status, {"error": err.message})
            return
        if isinstance(result, dict):
            if scenario == "cut_stream":  # announce the whole body, send half, drop the connection
                body = json.dumps(result).encode()
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json; charset=utf-8")
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body[: len(body) // 2])
                handler.abort()
                return
            answer(200, result)
        else:
            self._send_lines(handler, exchange, result)

    def _send_lines(self, handler: _Handler, exchange: _Exchange, lines: Iterator[dict[str, Any]]) -> None:
        """Newline-delimited JSON, chunked, as the real server streams."""
        exchange.record.status = 200
        handler.send_response(200)
        handler.send_header("Content-Type", "application/x-ndjson")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        scenario = exchange.scenario
        for index, line in enumerate(lines):
            data = json.dumps(line, separators=(",", ":")).encode() + b"\n"
            if index == 2 and scenario == "cut_stream":
                handler.wfile.write(b"%X\r\n%s" % (len(data), data[: len(data) // 2]))
                handler.abort()
                return
            if index == 2 and scenario == "stream_error":
                handler.write_chunk(b'{"error":"an error was encountered while running the model: unexpected EOF"}\n')
                handler.end_chunks()
                return
            if scenario == "slow_stream" and index > 0:
                self._sleep(exchange.delay)
            if self._stopping.is_set():
                raise Aborted
            handler.write_chunk(data)
        handler.end_chunks()

    # -- the APIs ----------------------------------------------------------

    def _chat(self, ex: _Exchange) -> dict[str, Any] | Iterator[dict[str, Any]]:
        messages = ex.body.get("messages")
        if messages is None or messages == []:  # an empty chat loads the model
            loaded = {"model": ex.model, "created_at": _now(), "message": {"role": "assistant", "content": ""},
                      "done_reason": "load", "done": True}
            return loaded if not ex.stream else iter([loaded])
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise _Error(400, "json: cannot unmarshal string into Go struct field ChatRequest.messages")
        prompt_tokens = max(1, sum(count_words(m.get("content")) for m in messages))
        thinking = THINKING if ex.body.get("think") not in (None, False) else None
        head = {"model": ex.model}
        if ex.scenario == "tool_call":
            call = {"function": {"name": TOOL_NAME, "arguments": TOOL_ARGUMENTS}}
            output_tokens = max(1, len(json.dumps(TOOL_ARGUMENTS).split()))
            message: dict[str, Any] = {"role": "assistant", "content": "", "tool_calls": [call]}
            if not ex.stream:
                done = ex.done(prompt_tokens, output_tokens, "stop")
                return {**head, "created_at": _now(), "message": message, **done}
            return iter([
                {**head, "created_at": _now(), "message": message, "done": False},
                {**head, "created_at": _now(), "message": {"role": "assistant", "content": ""},
                 **ex.done(prompt_tokens, output_tokens, "stop")},
            ])
        pieces, reason = ex.reply_pieces()
        output_tokens = len(pieces) + (count_words(thinking) if thinking else 0)
        if not ex.stream:
            message = {"role": "assistant", "content": "".join(pieces)}
            if thinking:
                message["thinking"] = thinking
            return {**head, "created_at": _now(), "message": message, **ex.done(prompt_tokens, output_tokens, reason)}

        def lines() -> Iterator[dict[str, Any]]:
            if thinking:
                for piece in _pieces(thinking):
                    yield {**head, "created_at": _now(), "message": {"role": "assistant", "content": "",
                                                                     "thinking": piece}, "done": False}
            for piece in pieces:
                yield {**head, "created_at": _now(), "message": {"role": "assistant", "content": piece}, "done": False}
            yield {**head, "created_at": _now(), "message": {"role": "assistant", "content": ""},
                   **ex.done(prompt_tokens, output_tokens, reason)}

        return lines()

    def _generate(self, ex: _Exchange) -> dict[str, Any] | Iterator[dict[str, Any]]:
        prompt = ex.body.get("prompt")
        if prompt is None or prompt == "":  # no prompt loads the model
            loaded = {"model": ex.model, "created_at": _now(), "response": "", "done_reason": "load", "done": True}
            return loaded if not ex.stream else iter([loaded])
        prompt_tokens = max(1, count_words(prompt) + count_words(ex.body.get("system")))
        pieces, reason = ex.reply_pieces()
        context = list(range(1, prompt_tokens + len(pieces) + 1))
        head = {"model": ex.model}
        if not ex.stream:
            return {**head, "created_at": _now(), "response": "".join(pieces),
                    **ex.done(prompt_tokens, len(pieces), reason), "context": context}

        def lines() -> Iterator[dict[str, Any]]:
            for piece in pieces:
                yield {**head, "created_at": _now(), "response": piece, "done": False}
            yield {**head, "created_at": _now(), "response": "", **ex.done(prompt_tokens, len(pieces), reason),
                   "context": context}

        return lines()

    def _embed(self, ex: _Exchange) -> dict[str, Any]:
        raw = ex.body.get("input")
        inputs = [raw] if isinstance(raw, str) else raw
        if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
            raise _Error(400, "invalid input type")
        dims = ex.body.get("dimensions")
        dimensions = dims if isinstance(dims, int) and not isinstance(dims, bool) and dims > 0 else EMBEDDING_DIMENSIONS
        tokens = max(1, count_words(inputs))
        timing = durations(tokens, 0, cold=ex.scenario == "cold")
        return {
            "model": ex.model,
            "embeddings": [_embedding(text, dimensions) for text in inputs],
            "total_duration": timing["total_duration"],
            "load_duration": timing["load_duration"],
            "prompt_eval_count": tokens,
        }

    def _embeddings(self, ex: _Exchange) -> dict[str, Any]:
        prompt = ex.body.get("prompt")
        return {"embedding": _embedding(prompt, EMBEDDING_DIMENSIONS) if isinstance(prompt, str) and prompt else []}


def _last_user_text(body: Mapping[str, Any]) -> str:
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
                return str(message["content"])
        return ""
    for key in ("prompt", "input"):
        value = body.get(key)
        if isinstance(value, str):
            return value
    return ""


def main(argv: list[str] | None = None) -> int:
    return serve_until_stopped(
        lambda host, port, scenario: OllamaSimulator(host, port, default_scenario=scenario),
        "Ollama API simulator (offline, deterministic).", SCENARIOS, argv,
    )


if __name__ == "__main__":
    sys.exit(main())
