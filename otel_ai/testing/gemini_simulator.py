"""A Google Gemini API (Gemini Developer API) simulator: a real HTTP server, standard library only.

The test suite drives the real ``google-genai`` 3.x client against it over real HTTP::

    with GeminiSimulator() as sim:
        client = genai.Client(api_key="AIza...", http_options=sim.http_options())

Endpoints (``{version}`` is ``v1`` or ``v1beta``): ``POST /{version}/models/{model}:generateContent``,
``:streamGenerateContent?alt=sse`` (server-sent events, ``data: {chunk}`` frames with
``usageMetadata`` on every chunk, the running totals, as the service sends them),
``:batchEmbedContents``, ``:countTokens``, ``GET /health``. Requests need ``x-goog-api-key``;
without one the answer is the real 403 PERMISSION_DENIED body.

Token counts are deterministic: prompt tokens are the words of every text part of ``contents``
(and ``systemInstruction``), at least 1; candidate tokens are the words of the reply. Error bodies
are Google's ``{"error": {"code", "message", "status", "details"}}``.

Scenarios (header ``x-simulator-scenario``): see ``SCENARIOS``. ``x-simulator-delay`` sets the
seconds of ``slow`` (default 2) and ``slow_stream`` (default 0.05, between frames);
``x-simulator-reply`` replaces the reply text.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from otel_ai._net import parse_float
from otel_ai.testing.base import Aborted as _Aborted
from otel_ai.testing.base import ScenarioService, SimulatorHandler, read_incoming, serve_until_stopped

__all__ = ["DEFAULT_REPLY", "EMBEDDING_DIMENSIONS", "SCENARIOS", "THOUGHTS", "TOOL_NAME", "GeminiSimulator", "main"]

DEFAULT_REPLY = "Hello from the Gemini simulator."
TOOL_NAME = "get_weather"
TOOL_ARGS = {"location": "Paris", "unit": "celsius"}
THOUGHTS = 7  # thoughtsTokenCount of the ``thinking`` scenario
THOUGHT_TEXT = "The user greets me; I greet back."
EMBEDDING_DIMENSIONS = 3072  # gemini-embedding-001's
DELAY_HEADER = "x-simulator-delay"
REPLY_HEADER = "x-simulator-reply"
TOOL_ARGUMENTS_HEADER = "x-simulator-tool-arguments"

SCENARIOS: Mapping[str, str] = {
    "ok": "normal answer",
    "echo": "normal answer whose text is the last user text",
    "tool_call": f"the model calls {TOOL_NAME} (a functionCall part)",
    "cached": "usageMetadata.cachedContentTokenCount = promptTokenCount // 2",
    "thinking": f"a thought part first; thoughtsTokenCount = {THOUGHTS}",
    "max_tokens": "finishReason MAX_TOKENS",
    "safety": "finishReason SAFETY, no content",
    "slow": "waits x-simulator-delay seconds (default 2) before answering",
    "slow_stream": "waits x-simulator-delay seconds (default 0.05) between stream frames",
    "cut_stream": "sends two frames (a JSON answer: half of it), then drops the connection",
    "rate_limit": "429 RESOURCE_EXHAUSTED",
    "auth_error": "403 PERMISSION_DENIED (API key not valid)",
    "unauthenticated": "401 UNAUTHENTICATED",
    "bad_request": "400 INVALID_ARGUMENT",
    "not_found": "404 NOT_FOUND (no such model)",
    "server_error": "500 INTERNAL",
    "unavailable": "503 UNAVAILABLE (the model is overloaded)",
    "echo_error": "400 whose message repeats the API key and the last user text (a careless gateway)",
}

_ERRORS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    "auth_error": (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
    "unauthenticated": (401, "UNAUTHENTICATED", "Request is missing required authentication credential."),
    "bad_request": (400, "INVALID_ARGUMENT", "Invalid value at 'generation_config.temperature'."),
    "not_found": (404, "NOT_FOUND", "models/no-such-model is not found for API version v1."),
    "server_error": (500, "INTERNAL", "An internal error has occurred."),
    "unavailable": (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
}
_ERRORS["auth_error"] = (403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
_PATH = re.compile(r"^/(v1|v1beta|v1alpha)/models/(.+):(generateContent|streamGenerateContent|"
                   r"batchEmbedContents|embedContent|countTokens)$")
# Vertex AI: a project's publisher model, or express mode (an API key, no project); embeddings are `predict`.
_VERTEX_PATH = re.compile(r"^/(v1|v1beta1)/(?:projects/[^/]+/locations/[^/]+/)?publishers/google/models/(.+):"
                          r"(generateContent|streamGenerateContent|batchEmbedContents|embedContent|countTokens|"
                          r"predict)$")


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": code, "details": []}}


def _texts(contents: Any) -> list[str]:
    out: list[str] = []
    items = contents if isinstance(contents, list) else [contents]
    for item in items:
        if isinstance(item, dict):
            for part in item.get("parts") or ():
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    out.append(part["text"])
    return out


def _vector(size: int) -> list[float]:
    """A deterministic embedding of `size` values (the Developer API's and Vertex's answers alike)."""
    return [round(0.001 * (i % 7), 3) for i in range(size)]


def _words(texts: list[str]) -> int:
    return sum(len(t.split()) for t in texts)


class _Failure(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class _Handler(SimulatorHandler):
    server_version = "gemini-simulator/1.0"
    json_type = "application/json; charset=UTF-8"


class Recorded:
    """One request as the simulator saw it."""

    def __init__(self, method: str, path: str, query: str, headers: dict[str, str], body: Any, scenario: str) -> None:
        self.method, self.path, self.query, self.headers = method, path, query, headers
        self.json, self.scenario = body, scenario
        self.status: int | None = None

    @property
    def api_key(self) -> str | None:
        """The API key, or Vertex's OAuth bearer token."""
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return self.headers.get("x-goog-api-key") or (token.strip() if scheme.lower() == "bearer" else None) or None


class GeminiSimulator(ScenarioService[Recorded]):
    """The Gemini Developer API on 127.0.0.1 (port 0 picks a free port)."""

    handler = _Handler
    thread_name = "gemini-simulator"
    scenarios = SCENARIOS

    def http_options(self, api_version: str = "v1") -> dict[str, Any]:
        """``http_options`` for ``genai.Client(...)`` that point it here."""
        return {"base_url": self.url + "/", "api_version": api_version}

    def _handle(self, handler: _Handler) -> None:
        incoming = read_incoming(handler, self.default_scenario)
        headers = incoming.headers
        if incoming.path == "/health":
            handler.send_json(200, {"status": "ok"})
            return
        record = Recorded(incoming.method, incoming.path, incoming.query, headers, incoming.json, incoming.scenario)
        with self._lock:
            self.requests.append(record)
        try:
            answer = self._answer(record)
        except _Failure as failure:
            record.status = failure.status
            handler.send_json(failure.status, failure.body)
            return
        if isinstance(answer, dict):
            if record.scenario == "cut_stream":
                data = json.dumps(answer).encode()
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json; charset=UTF-8")
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                handler.wfile.write(data[: len(data) // 2])
                handler.abort()
                return
            record.status = 200
            handler.send_json(200, answer)
            return
        self._stream(handler, record, answer, parse_float(headers.get(DELAY_HEADER), 0.05))

    def _stream(self, handler: _Handler, record: Recorded, frames: Iterator[dict[str, Any]], delay: float) -> None:
        record.status = 200
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for index, frame in enumerate(frames):
            data = b"data: " + json.dumps(frame, separators=(",", ":")).encode() + b"\r\n\r\n"
            if record.scenario == "cut_stream" and index == 2:
                handler.wfile.write(b"%X\r\n%s" % (len(data), data[: len(data) // 2]))
                handler.abort()
                return
            if record.scenario == "slow_stream" and index > 0:
                self._sleep(delay)
            if self._stopping.is_set():
                raise _Aborted
            handler.write_chunk(data)
        handler.end_chunks()

    def _answer(self, record: Recorded) -> dict[str, Any] | Iterator[dict[str, Any]]:
        key = record.api_key
        if key is None:
            raise _Failure(403, _error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."))
        if record.scenario not in SCENARIOS:
            raise _Failure(400, _error(400, "INVALID_ARGUMENT", f"Unknown simulator scenario {record.scenario!r}"))
        match = _PATH.match(record.path) or _VERTEX_PATH.match(record.path)
        if match is None or record.method != "POST":
            raise _Failure(404, _error(404, "NOT_FOUND", f"{record.path} not found"))
        _, model, verb = match.groups()
        model = unquote(model)
        if record.scenario in _ERRORS:
            raise _Failure(_ERRORS[record.scenario][0], _error(*_ERRORS[record.scenario]))
        body = record.json if isinstance(record.json, dict) else {}
        if record.scenario == "echo_error":
            said = " ".join(_texts(body.get("contents")))
            raise _Failure(400, _error(400, "INVALID_ARGUMENT", f"API key {key} cannot be used here. You said: {said}"))
        if record.scenario == "slow":
            self._sleep(parse_float(record.headers.get(DELAY_HEADER), 2.0))
        if verb == "predict":  # Vertex embeddings: per-instance token statistics, billable characters
            instances = [i for i in body.get("instances") or () if isinstance(i, dict)]
            predictions = [{"embeddings": {
                "values": _vector(EMBEDDING_DIMENSIONS),
                "statistics": {"token_count": float(max(1, len(str(i.get("content", "")).split()))),
                               "truncated": False}}} for i in instances]
            chars = sum(len(str(i.get("content", ""))) for i in instances)
            return {"predictions": predictions, "metadata": {"billableCharacterCount": chars}}
        if verb == "countTokens":
            return {"totalTokens": max(1, _words(_texts(body.get("contents"))))}
        if verb in ("batchEmbedContents", "embedContent"):
            requests = body.get("requests") if verb == "batchEmbedContents" else [body]
            out = []
            for req in requests or ():
                dims = req.get("outputDimensionality") if isinstance(req, dict) else None
                size = dims if isinstance(dims, int) and dims > 0 else EMBEDDING_DIMENSIONS
                out.append({"values": _vector(size)})
            return {"embeddings": out}
        reply = record.headers.get(REPLY_HEADER) or DEFAULT_REPLY
        if record.scenario == "echo":
            turns = [c for c in body.get("contents") or () if isinstance(c, dict) and c.get("role") != "model"]
            user_texts = _texts(turns)
            reply = user_texts[-1] if user_texts else reply
        prompt = max(1, _words(_texts(body.get("contents")) + _texts(body.get("systemInstruction"))))
        try:
            args = json.loads(record.headers.get(TOOL_ARGUMENTS_HEADER) or "null") or TOOL_ARGS
        except ValueError:
            args = TOOL_ARGS
        frames = self._generate(record.scenario, model, prompt, reply, args)
        return frames if verb == "streamGenerateContent" else frames_merged(list(frames))

    def _generate(self, scenario: str, model: str, prompt: int, reply: str,
                  args: Any) -> Iterator[dict[str, Any]]:
        response_id = secrets.token_urlsafe(12)
        pieces: list[dict[str, Any]] = []
        reason = "STOP"
        if scenario == "thinking":
            pieces.append({"text": THOUGHT_TEXT, "thought": True})
        if scenario == "tool_call":
            pieces.append({"functionCall": {"name": TOOL_NAME, "args": args}})
        elif scenario != "safety":
            pieces.extend({"text": w} for w in re.findall(r"\s*\S+", reply))
        if scenario == "max_tokens":
            reason = "MAX_TOKENS"
        elif scenario == "safety":
            reason = "SAFETY"
        out_tokens = 0
        total = len(pieces) or 1
        slots: list[dict[str, Any] | None] = list(pieces) or [None]
        for index, part in enumerate(slots):
            last = index == total - 1
            if part is not None and "text" in part and not part.get("thought"):
                out_tokens += len(part["text"].split())
            elif part is not None and "functionCall" in part:
                out_tokens += len(json.dumps(args).split())
            usage: dict[str, Any] = {"promptTokenCount": prompt, "candidatesTokenCount": out_tokens,
                                     "totalTokenCount": prompt + out_tokens,
                                     "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
            if scenario == "thinking":
                usage["thoughtsTokenCount"] = THOUGHTS
                usage["totalTokenCount"] += THOUGHTS
            if scenario == "cached":
                usage["cachedContentTokenCount"] = prompt // 2
            candidate: dict[str, Any] = {"index": 0}
            if part is not None:
                candidate["content"] = {"role": "model", "parts": [part]}
            if last:
                candidate["finishReason"] = reason
            yield {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model,
                   "responseId": response_id}


def frames_merged(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole response: the stream's parts in one candidate, the last frame's usage."""
    last = dict(frames[-1])
    parts: list[dict[str, Any]] = []
    for frame in frames:
        content = frame["candidates"][0].get("content")
        for part in (content or {}).get("parts", ()):
            if parts and "text" in part and "text" in parts[-1] and part.get("thought") == parts[-1].get("thought"):
                parts[-1] = {**parts[-1], "text": parts[-1]["text"] + part["text"]}
            else:
                parts.append(dict(part))
    candidate = dict(last["candidates"][0])
    if parts:
        candidate["content"] = {"role": "model", "parts": parts}
    last["candidates"] = [candidate]
    return last


def main(argv: list[str] | None = None) -> int:
    return serve_until_stopped(
        lambda host, port, scenario: GeminiSimulator(host, port, default_scenario=scenario),
        "Google Gemini API simulator (offline, deterministic).", SCENARIOS, argv,
    )


if __name__ == "__main__":
    sys.exit(main())
