"""An OpenAI-compatible API simulator: a real HTTP server, standard library only.

It lets the example app run offline and gives the test suite a server to talk to with
the real ``openai`` client. Run it as a script::

    python -m otel_ai.testing.simulator --port 0
    listening on http://127.0.0.1:PORT/v1

or use it in-process::

    with OpenAISimulator() as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test")

Endpoints (all under ``/v1``): ``POST chat/completions``, ``POST responses``,
``POST embeddings``, ``POST completions`` (legacy), ``GET models``; plus ``GET /health``.
Audio, images and moderations: ``POST audio/speech`` (audio bytes, chunked; ``stream_format=sse``:
``speech.audio.delta`` / ``speech.audio.done`` events with usage), ``POST audio/transcriptions`` and
``POST audio/translations`` (multipart upload; ``json``, ``verbose_json`` with ``duration``, ``text``,
``srt``, ``vtt``; usage by duration for ``whisper-1``, by tokens for the ``gpt-4o*-transcribe``
models, which also stream ``transcript.text.delta`` / ``.done``), ``POST images/generations`` (URLs or
base64 for ``dall-e-*``, base64 and token usage for ``gpt-image-*``, which also stream partial
images) and ``POST moderations``. Speech lasts 0.06 s per character of ``input``; a transcript is the
reply text (``x-simulator-reply``) of an upload whose duration is read from it (WAV, MP3 frames,
otherwise 16-bit 16 kHz PCM).

Behaviour is chosen per request with the ``x-simulator-scenario`` header (default: the
simulator's ``default_scenario``, normally ``ok``); see ``SCENARIOS``. Other request headers:

* ``x-simulator-delay``: seconds (float) for ``slow`` (default 2) and ``slow_stream``
  (default 0.1, between chunks);
* ``x-simulator-key``: the key ``rate_limit_once`` remembers (default: one key per scenario);
* ``x-simulator-reply``: replaces the default reply text;
* ``x-simulator-tool-arguments``: the JSON arguments of the ``tool_call`` scenario's call
  (default ``TOOL_ARGUMENTS``);
* ``x-simulator-tool-plan``: an agent's script, a JSON list of turns, each a list of calls
  ``{"name": ..., "arguments": {...}}``: a request whose input already holds N function calls answers
  with the turn that starts after N calls (several calls: parallel tool calls), and with the reply
  text once the plan is done (Responses, and Chat Completions without streaming; see ``plan_turn``);
* ``x-simulator-cost``: the cost in USD (a decimal) the gateway scenarios report (``openrouter``: ``usage.cost``;
  ``openrouter_byok``: the upstream provider's cost, OpenRouter's fee being 5% of it; ``litellm``: the
  ``x-litellm-response-cost`` header, sent as given); default: ``GATEWAY_PRICES`` times the tokens;
* ``x-simulator-response-headers``: a JSON object of extra headers for the answer (a gateway
  that echoes request data in its response headers), as is or base64-encoded (so that the request
  does not carry the values in clear).

Token counts are deterministic: input tokens are the whitespace-separated words of all
message contents (chat: every message's text content; Responses: ``instructions`` plus the
text of every input item; embeddings: words of each string input, or the length of each
token array), at least 1; output tokens are the words of the reply (for a tool call: the
words of its JSON arguments) summed over all choices.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import secrets
import string
import struct
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from otel_ai._net import LoopbackHandler, parse_float
from otel_ai.testing.base import SCENARIO_HEADER, ScenarioService, serve_until_stopped
from otel_ai.testing.base import Aborted as _Aborted
from otel_ai.testing.elevenlabs_simulator import (
    SECONDS_PER_CHARACTER,
    UploadedFile,
    _parse_multipart,
    audio_duration,
    render_speech,
    speech_seconds,
)

__all__ = [
    "COST_HEADER",
    "DEFAULT_REPLY",
    "GATEWAY_PRICES",
    "LITELLM_COST_HEADER",
    "RESPONSE_HEADERS_HEADER",
    "SCENARIOS",
    "TOOL_ARGUMENTS",
    "TOOL_ARGUMENTS_HEADER",
    "TOOL_NAME",
    "TOOL_PLAN_HEADER",
    "OpenAISimulator",
    "RecordedRequest",
    "count_words",
    "last_user_text",
    "main",
    "plan_turn",
    "speech_audio",
    "speech_audio_seconds",
]

DEFAULT_REPLY = "Hello from the simulator."
TOOL_NAME = "get_weather"
TOOL_ARGUMENTS = json.dumps({"location": "Paris", "unit": "celsius"})
SYSTEM_FINGERPRINT = "fp_sim0a1b2c3d"
EMBEDDING_DIMENSIONS = 8

DELAY_HEADER = "x-simulator-delay"
KEY_HEADER = "x-simulator-key"
REPLY_HEADER = "x-simulator-reply"
TOOL_ARGUMENTS_HEADER = "x-simulator-tool-arguments"
TOOL_PLAN_HEADER = "x-simulator-tool-plan"
RESPONSE_HEADERS_HEADER = "x-simulator-response-headers"
COST_HEADER = "x-simulator-cost"
LITELLM_COST_HEADER = "x-litellm-response-cost"
GATEWAY_PRICES = (2.0, 8.0)
"""USD per 1M input and output tokens the gateway scenarios report when ``x-simulator-cost`` is absent."""
_OPENROUTER = ("openrouter", "openrouter_byok")

SCENARIOS: Mapping[str, str] = {
    "ok": "normal answer",
    "tool_call": f"the assistant calls {TOOL_NAME} (finish_reason tool_calls)",
    "cached": "cached_tokens = input_tokens // 2, reasoning_tokens = 3",
    "audio_tokens": "chat usage reports half the prompt and half the completion tokens as audio_tokens",
    "rate_limit_once": "429 for the first request per x-simulator-key (or per scenario), then ok",
    "rate_limit": "always 429 rate_limit_exceeded",
    "server_error": "500 server_error",
    "auth_error": "401 invalid_api_key",
    "bad_request": "400 invalid_request_error",
    "content_filter": "400 with code content_filter",
    "quota": "429 with code insufficient_quota",
    "slow": "waits x-simulator-delay seconds (default 2) before answering",
    "cut_stream": "sends two chunks, then drops the connection mid-chunk",
    "malformed": "200 application/json that is not JSON; streams: a data line with invalid JSON",
    "slow_stream": "waits x-simulator-delay seconds (default 0.1) between stream chunks",
    "echo": "normal answer whose text is the last user message (any characters, newlines included)",
    "openrouter": "like OpenRouter: usage.cost (USD) with is_byok false and cost_details, in the body and in a "
    "stream's last chunk (usage always included); Chat Completions and Responses",
    "openrouter_byok": "like OpenRouter with the user's own provider key: usage.cost is the 5% fee, "
    "cost_details.upstream_inference_cost the provider's cost, is_byok true",
    "litellm": "like a LiteLLM proxy: the x-litellm-response-cost header on a whole (not streamed) answer",
    "echo_error": "400 whose message repeats the model, the API key, the Authorization header and the last "
    "user message (a careless gateway)",
}

_SLOW_DEFAULT_DELAY = 2.0
_SLOW_STREAM_DEFAULT_DELAY = 0.1
_MALFORMED_JSON = b'{"id": "chatcmpl-malformed", "object": "chat.completion", "choices": [{"index": 0,'

_ErrorSpec = tuple[int, dict[str, Any]]

_ERRORS: dict[str, _ErrorSpec] = {
    "rate_limit": (
        429,
        {
            "message": "Rate limit reached for requests (simulated). Please try again in 10ms.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        },
    ),
    "server_error": (
        500,
        {
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error",
            "param": None,
            "code": None,
        },
    ),
    "auth_error": (
        401,
        {
            "message": "Incorrect API key provided (simulated). "
            "You can find your API key at https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        },
    ),
    "bad_request": (
        400,
        {
            "message": "Invalid value for 'messages' (simulated bad request).",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "invalid_value",
        },
    ),
    "content_filter": (
        400,
        {
            "message": "The response was filtered due to the prompt triggering the content management "
            "policy (simulated).",
            "type": "invalid_request_error",
            "param": "prompt",
            "code": "content_filter",
        },
    ),
    "quota": (
        429,
        {
            "message": "You exceeded your current quota, please check your plan and billing details (simulated).",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        },
    ),
}
_ERRORS["rate_limit_once"] = _ERRORS["rate_limit"]

_MODELS = (
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1-mini",
    "o4-mini",
    "text-embedding-3-small",
    "gpt-3.5-turbo-instruct",
)


class _ClientError(Exception):
    """An OpenAI-shaped error answer (status + error object)."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error


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
    received_at: float = field(default_factory=time.time)
    status: int | None = None
    """Status code of the answer, set once it is sent (None while in flight or for dropped bodies)."""

    @property
    def api_key(self) -> str | None:
        auth = self.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    @property
    def stream(self) -> bool:
        return isinstance(self.json, dict) and self.json.get("stream") is True


# --------------------------------------------------------------------------- helpers


def count_words(value: Any) -> int:
    """Words of the text inside a message content / input value (str, parts list, items list)."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(count_words(item) for item in value)
    if isinstance(value, dict):
        total = 0
        for key in ("text", "content", "output"):
            if key in value:
                total += count_words(value[key])
        return total
    return 0


def _content_text(content: Any) -> str:
    """The text of a message content: a string, or the text of its parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def last_user_text(body: Any) -> str:
    """Text of the last user message of a chat (``messages``), Responses (``input``) or legacy
    completions (``prompt``) request body; "" when there is none."""
    if not isinstance(body, dict):
        return ""
    items = body.get("messages")
    if not isinstance(items, list):
        items = body.get("input")
        if isinstance(items, str):
            return items
        if not isinstance(items, list):
            prompt = body.get("prompt")
            return prompt if isinstance(prompt, str) else ""
    for item in reversed(items):
        if isinstance(item, dict) and item.get("role") == "user":
            return _content_text(item.get("content"))
    return ""


def _response_headers(value: str | None) -> dict[str, str]:
    """``x-simulator-response-headers``: a JSON object of header names to values, as is or
    base64-encoded (else no headers)."""
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        try:
            parsed = json.loads(base64.b64decode(value, validate=True))
        except ValueError:
            return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(k): str(v) for k, v in parsed.items() if "\n" not in f"{k}{v}" and "\r" not in f"{k}{v}"}


def _random_id(prefix: str, length: int = 29, alphabet: str = string.ascii_letters + string.digits) -> str:
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def _hex_id(prefix: str, length: int = 48) -> str:
    return prefix + secrets.token_hex(length // 2)


def _split_words(text: str) -> list[str]:
    """Split into stream pieces, one word per piece, spaces kept so pieces join back to the text."""
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
    # Round through float32 so float and base64 answers carry the same numbers.
    return [struct.unpack("<f", struct.pack("<f", v / norm))[0] for v in vector]


def _sse(payload: Any, event: str | None = None) -> bytes:
    data = json.dumps(payload, separators=(",", ":"))
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {data}\n\n".encode()


def plan_turn(plan: str, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The calls (name, JSON arguments) a tool plan answers `body` with; [] once the plan is done.

    The turn is found by counting the function calls already in the request's input (Responses
    ``function_call`` items, Chat Completions assistant ``tool_calls``), so an agent loop that
    sends the whole history each turn walks the plan in order.
    """
    try:
        turns = json.loads(plan)
    except ValueError:
        raise _ClientError(400, _invalid_request("Invalid x-simulator-tool-plan: not JSON.")) from None
    if not isinstance(turns, list) or not all(isinstance(t, list) for t in turns):
        raise _ClientError(400, _invalid_request("Invalid x-simulator-tool-plan: a list of lists of calls."))
    done = 0
    items = body.get("input") if isinstance(body.get("input"), list) else body.get("messages")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            if item.get("type") == "function_call":
                done += 1
            calls = item.get("tool_calls")
            done += len(calls) if isinstance(calls, list) else 0
    seen = 0
    for turn in turns:
        if seen == done:
            return [
                (str(call.get("name", TOOL_NAME)), json.dumps(call.get("arguments", {})))
                for call in turn if isinstance(call, dict)
            ]
        seen += len(turn)
    return []


def _max_tokens(body: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


@dataclass
class _Exchange:
    """What one answer needs: the parsed request plus the per-request knobs."""

    record: RecordedRequest
    body: dict[str, Any]
    scenario: str
    delay: float
    reply: str
    tool_arguments: str = TOOL_ARGUMENTS
    response_headers: dict[str, str] = field(default_factory=dict)
    tool_plan: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def model(self) -> str:
        return str(self.body["model"])

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True

    @property
    def service_tier(self) -> str:
        """The tier the answer reports: "flex" or "priority" when asked for, like the API, else "default"."""
        asked = self.body.get("service_tier")
        return asked if asked in ("flex", "priority") else "default"

    @property
    def include_usage(self) -> bool:
        options = self.body.get("stream_options")
        return isinstance(options, dict) and options.get("include_usage") is True

    @property
    def tool_call(self) -> bool:
        return self.scenario == "tool_call"

    def cached_tokens(self, input_tokens: int) -> int:
        return input_tokens // 2 if self.scenario == "cached" else 0

    def audio_tokens(self, tokens: int) -> int:
        """The audio part of `tokens`, as an audio model (gpt-4o-audio-preview) reports it: half, when asked."""
        return tokens // 2 if self.scenario == "audio_tokens" else 0

    @property
    def reasoning_tokens(self) -> int:
        return 3 if self.scenario == "cached" else 0

    def reply_pieces(self, limit: int | None) -> tuple[list[str], bool]:
        """Stream pieces of the text reply, cut to ``limit`` words; and whether it was cut."""
        pieces = _split_words(self.reply)
        if limit is not None and len(pieces) > limit:
            return pieces[:limit], True
        return pieces, False


@dataclass(frozen=True)
class _Body:
    """An answer that is not JSON: audio (sent chunked, so streams can be slow or cut) or plain text."""

    content_type: str
    data: bytes
    chunked: bool = False


_Route = Callable[[_Exchange], "dict[str, Any] | Iterator[bytes] | _Body"]


# --------------------------------------------------------------------------- the handler (HTTP plumbing: otel_ai._net)


class _Handler(LoopbackHandler):
    server_version = "openai-simulator/1.0"
    dropped = (_Aborted, OSError)

    @property
    def simulator(self) -> OpenAISimulator:
        return cast("OpenAISimulator", self.server.owner)

    # -- verbs -------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self.simulator._handle(self)

    # -- writing -----------------------------------------------------------

    def send_head(self, status: int, content_type: str | None, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def send_bytes(self, status: int, body: bytes, content_type: str | None, headers: Mapping[str, str]) -> None:
        self.send_head(status, content_type, {**headers, "Content-Length": str(len(body))})
        self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status: int, payload: Any, headers: Mapping[str, str]) -> None:
        body = json.dumps(payload).encode()
        self.send_bytes(status, body, "application/json", headers)


# --------------------------------------------------------------------------- the simulator


class OpenAISimulator(ScenarioService[RecordedRequest]):
    """OpenAI-compatible HTTP API on 127.0.0.1 (port 0 picks a free port)."""

    handler = _Handler
    thread_name = "openai-simulator"

    scenarios = SCENARIOS

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, default_scenario: str = "ok") -> None:
        super().__init__(host, port, default_scenario=default_scenario)
        self._rate_limited_keys: set[str] = set()

    # -- lifecycle ---------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``: the ``base_url`` for ``openai.OpenAI``."""
        return f"{self.url}/v1"

    # -- inspection --------------------------------------------------------

    def clear(self) -> None:
        """Forget recorded requests and the ``rate_limit_once`` keys already seen."""
        super().clear()
        with self._lock:
            self._rate_limited_keys.clear()

    # -- request handling --------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        path, _, query = handler.path.partition("?")
        raw = handler.read_body()
        headers = {k.lower(): v for k, v in handler.headers.items()}
        scenario = headers.get(SCENARIO_HEADER, self.default_scenario).strip()
        parsed: Any = None
        parse_failed = False
        if raw and headers.get("content-type", "").startswith("multipart/"):
            parsed = _form_body(headers["content-type"], raw)
        elif raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parse_failed = True
        record = RecordedRequest(
            method=handler.command,
            path=path,
            query=query,
            headers=headers,
            body=raw,
            json=parsed,
            scenario=scenario,
        )
        if path == "/health":
            handler.send_json(200, {"status": "ok"}, self._headers())
            return
        with self._lock:
            self.requests.append(record)

        echoed_headers = _response_headers(headers.get(RESPONSE_HEADERS_HEADER))

        def send_error(status: int, error: dict[str, Any], extra: Mapping[str, str] | None = None) -> None:
            record.status = status
            handler.send_json(status, {"error": error}, {**self._headers(), **echoed_headers, **(extra or {})})

        try:
            if parse_failed:
                raise _ClientError(
                    400,
                    _invalid_request(
                        "We could not parse the JSON body of your request. (HINT: This likely means you "
                        "aren't using your HTTP library correctly.)"
                    ),
                )
            if record.api_key is None:
                raise _ClientError(
                    401,
                    {
                        "message": "You didn't provide an API key. You need to provide your API key in an "
                        "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    },
                )
            if scenario not in SCENARIOS:
                raise _ClientError(
                    400,
                    _invalid_request(
                        f"Unknown simulator scenario {scenario!r}; known: {', '.join(SCENARIOS)}",
                        param=SCENARIO_HEADER,
                    ),
                )
            route = self._route(handler.command, path)
            if route is None:
                raise _ClientError(404, _invalid_request(f"Invalid URL ({handler.command} {path})", code="unknown_url"))
            if scenario in _ERRORS and self._should_fail(scenario, headers):
                status, error = _ERRORS[scenario]
                extra = {"retry-after-ms": "10", "x-ratelimit-remaining-requests": "0"} if status == 429 else {}
                send_error(status, dict(error), extra)
                return
            if route == "models":
                record.status = 200
                handler.send_json(200, self._models(), self._headers())
                return
            if not isinstance(parsed, dict):
                raise _ClientError(400, _invalid_request("The request body must be a JSON object."))
            if path.rstrip("/") in _DEFAULT_MODELS and not parsed.get("model"):
                parsed["model"] = _DEFAULT_MODELS[path.rstrip("/")]  # the API's default when none is named
            if not isinstance(parsed.get("model"), str) or not parsed["model"]:
                raise _ClientError(400, _invalid_request("you must provide a model parameter", param="model"))
            if scenario == "echo_error":
                auth = headers.get("authorization", "")
                raise _ClientError(
                    400,
                    _invalid_request(
                        f"Model {parsed['model']} cannot be used with API key {record.api_key} "
                        f"(Authorization: {auth}). Your last message was: {last_user_text(parsed)}",
                        code="model_not_allowed",
                    ),
                )
            default_delay = _SLOW_STREAM_DEFAULT_DELAY if scenario == "slow_stream" else _SLOW_DEFAULT_DELAY
            reply = headers.get(REPLY_HEADER) or DEFAULT_REPLY
            if scenario == "echo":
                reply = last_user_text(parsed) or reply
            exchange = _Exchange(
                record=record,
                body=parsed,
                scenario=scenario,
                delay=parse_float(headers.get(DELAY_HEADER), default_delay),
                reply=reply,
                tool_arguments=headers.get(TOOL_ARGUMENTS_HEADER) or TOOL_ARGUMENTS,
                response_headers=echoed_headers,
                tool_plan=headers.get(TOOL_PLAN_HEADER),
            )
            if scenario == "slow" or (scenario == "slow_stream" and not exchange.stream):
                self._sleep(exchange.delay)
            answer = route(exchange)
            if scenario == "litellm" and isinstance(answer, dict) and isinstance(answer.get("usage"), dict):
                exchange.response_headers[LITELLM_COST_HEADER] = _gateway_cost(exchange, answer["usage"])
                exchange.response_headers["x-litellm-call-id"] = _random_id("", 32, string.hexdigits[:16])
        except _ClientError as err:
            send_error(err.status, err.error)
            return

        if isinstance(answer, dict):
            self._send_document(handler, exchange, answer)
        elif isinstance(answer, _Body):
            self._send_body(handler, exchange, answer)
        else:
            self._send_stream(handler, exchange, answer)

    def _should_fail(self, scenario: str, headers: Mapping[str, str]) -> bool:
        if scenario != "rate_limit_once":
            return True
        key = headers.get(KEY_HEADER, f"scenario:{scenario}")
        with self._lock:
            if key in self._rate_limited_keys:
                return False
            self._rate_limited_keys.add(key)
            return True

    def _route(self, method: str, path: str) -> _Route | Literal["models"] | None:
        path = path.rstrip("/")
        if method == "GET" and path == "/v1/models":
            return "models"
        routes: dict[str, _Route] = {
            "/v1/chat/completions": self._chat,
            "/v1/responses": self._responses,
            "/v1/embeddings": self._embeddings,
            "/v1/completions": self._completions,
            "/v1/audio/speech": self._speech,
            "/v1/audio/transcriptions": self._transcriptions,
            "/v1/audio/translations": self._translations,
            "/v1/images/generations": self._images,
            "/v1/moderations": self._moderations,
        }
        return routes.get(path) if method == "POST" else None

    def _headers(self) -> dict[str, str]:
        return {
            "x-request-id": _hex_id("req_", 32),
            "openai-version": "2020-10-01",
            "openai-organization": "org-simulator",
            "openai-processing-ms": "7",
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-remaining-requests": "9999",
            "x-ratelimit-limit-tokens": "10000000",
            "x-ratelimit-remaining-tokens": "9999990",
            "x-ratelimit-reset-requests": "6ms",
            "x-ratelimit-reset-tokens": "0s",
        }

    def _send_document(self, handler: _Handler, exchange: _Exchange, payload: dict[str, Any]) -> None:
        headers = {**self._headers(), **exchange.response_headers}
        body = json.dumps(payload).encode()
        if exchange.scenario == "malformed":
            exchange.record.status = 200
            handler.send_bytes(200, _MALFORMED_JSON, "application/json", headers)
        elif exchange.scenario == "cut_stream":
            # Announce the whole body, send half of it, drop the connection.
            handler.send_head(200, "application/json", {**headers, "Content-Length": str(len(body))})
            handler.wfile.write(body[: len(body) // 2])
            handler.abort()
        else:
            exchange.record.status = 200
            handler.send_bytes(200, body, "application/json", headers)

    def _send_body(self, handler: _Handler, exchange: _Exchange, body: _Body) -> None:
        if body.chunked:
            size = _AUDIO_CHUNK
            frames = (body.data[i : i + size] for i in range(0, len(body.data), size))
            self._send_stream(handler, exchange, frames, body.content_type)
            return
        if exchange.scenario in ("malformed", "cut_stream"):
            self._send_document(handler, exchange, {"text": body.data.decode()})
            return
        exchange.record.status = 200
        handler.send_bytes(200, body.data, body.content_type, {**self._headers(), **exchange.response_headers})

    def _send_stream(
        self, handler: _Handler, exchange: _Exchange, frames: Iterator[bytes],
        content_type: str = "text/event-stream; charset=utf-8",
    ) -> None:
        headers = {
            **self._headers(),
            **exchange.response_headers,
            "Cache-Control": "no-cache",
            "Transfer-Encoding": "chunked",
        }
        exchange.record.status = 200
        handler.send_head(200, content_type, headers)
        scenario = exchange.scenario
        for index, frame in enumerate(frames):
            if scenario == "cut_stream" and index == 2:
                # A chunk header announcing the whole frame, half of its bytes, then the socket goes.
                handler.wfile.write(b"%X\r\n%s" % (len(frame), frame[: len(frame) // 2]))
                handler.abort()
                return
            if scenario == "malformed" and index == 1:
                handler.write_chunk(b'data: {"id": "broken", "choices": [{"delta": {"content": "x"\n\n')
                handler.end_chunks()
                return
            if scenario == "slow_stream" and index > 0:
                self._sleep(exchange.delay)
            if self._stopping.is_set():
                raise _Aborted
            handler.write_chunk(frame)
        if scenario == "cut_stream":
            handler.wfile.write(b"40\r\ndata: {")
            handler.abort()
            return
        handler.end_chunks()

    # -- chat completions --------------------------------------------------

    def _chat(self, ex: _Exchange) -> dict[str, Any] | Iterator[bytes]:
        messages = ex.body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _ClientError(400, _invalid_request("Invalid 'messages': empty array or missing.", param="messages"))
        prompt_tokens = max(1, sum(count_words(m.get("content")) for m in messages if isinstance(m, dict)))
        n = ex.body.get("n")
        choices_count = n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1
        limit = _max_tokens(ex.body, "max_completion_tokens", "max_tokens")
        pieces, truncated = ex.reply_pieces(limit)
        call_id = _random_id("call_", 24)
        planned = plan_turn(ex.tool_plan, ex.body) if ex.tool_plan and not ex.stream else []
        if planned:
            return self._chat_planned(ex, prompt_tokens, planned)
        if ex.tool_call:
            per_choice = max(1, len(ex.tool_arguments.split()))
            finish = "tool_calls"
        else:
            per_choice = len(pieces)
            finish = "length" if truncated else "stop"
        usage = _chat_usage(prompt_tokens, per_choice * choices_count, ex)
        _openrouter_usage(ex, usage)
        completion_id = _random_id("chatcmpl-")
        if not ex.stream:
            choices = []
            for index in range(choices_count):
                message: dict[str, Any] = {"role": "assistant", "refusal": None, "annotations": []}
                if ex.tool_call:
                    message["content"] = None
                    message["tool_calls"] = [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": TOOL_NAME, "arguments": ex.tool_arguments},
                        }
                    ]
                else:
                    message["content"] = "".join(pieces)
                choices.append({"index": index, "message": message, "logprobs": None, "finish_reason": finish})
            return {
                "id": completion_id,
                "object": "chat.completion",
                "created": ex.created,
                "model": ex.model,
                "choices": choices,
                "usage": usage,
                "service_tier": ex.service_tier,
                "system_fingerprint": SYSTEM_FINGERPRINT,
            }
        return self._chat_stream(ex, completion_id, choices_count, pieces, finish, usage, call_id)

    def _chat_planned(self, ex: _Exchange, prompt_tokens: int, planned: list[tuple[str, str]]) -> dict[str, Any]:
        calls = [
            {"id": _random_id("call_", 24), "type": "function", "function": {"name": name, "arguments": arguments}}
            for name, arguments in planned
        ]
        message = {"role": "assistant", "refusal": None, "annotations": [], "content": None, "tool_calls": calls}
        output = sum(max(1, len(arguments.split())) for _, arguments in planned)
        return {
            "id": _random_id("chatcmpl-"), "object": "chat.completion", "created": ex.created, "model": ex.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls"}],
            "usage": _chat_usage(prompt_tokens, output, ex), "service_tier": ex.service_tier,
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }

    def _chat_stream(
        self,
        ex: _Exchange,
        completion_id: str,
        choices_count: int,
        pieces: list[str],
        finish: str,
        usage: dict[str, Any],
        call_id: str,
    ) -> Iterator[bytes]:
        def chunk(index: int, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            payload: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": ex.created,
                "model": ex.model,
                "service_tier": ex.service_tier,
                "system_fingerprint": SYSTEM_FINGERPRINT,
                "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if ex.include_usage:
                payload["usage"] = None
            return _sse(payload)

        choice_indexes = range(choices_count)
        if ex.tool_call:
            for i in choice_indexes:
                yield chunk(
                    i,
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": TOOL_NAME, "arguments": ""},
                            }
                        ],
                        "refusal": None,
                    },
                )
            for fragment in _split_words(ex.tool_arguments):
                for i in choice_indexes:
                    yield chunk(i, {"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
        else:
            for i in choice_indexes:
                yield chunk(i, {"role": "assistant", "content": "", "refusal": None})
            for piece in pieces:
                for i in choice_indexes:
                    yield chunk(i, {"content": piece})
        for i in choice_indexes:
            yield chunk(i, {}, finish)
        if ex.include_usage or ex.scenario in _OPENROUTER:  # OpenRouter always sends the usage chunk
            yield _sse(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": ex.created,
                    "model": ex.model,
                    "service_tier": ex.service_tier,
                    "system_fingerprint": SYSTEM_FINGERPRINT,
                    "choices": [],
                    "usage": usage,
                }
            )
        yield b"data: [DONE]\n\n"

    # -- legacy completions ------------------------------------------------

    def _completions(self, ex: _Exchange) -> dict[str, Any] | Iterator[bytes]:
        prompt = ex.body.get("prompt")
        if prompt is None:
            raise _ClientError(400, _invalid_request("you must provide a prompt parameter", param="prompt"))
        prompt_tokens = max(1, count_words(prompt))
        n = ex.body.get("n")
        choices_count = n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1
        pieces, truncated = ex.reply_pieces(_max_tokens(ex.body, "max_tokens"))
        finish = "length" if truncated else "stop"
        usage = _chat_usage(prompt_tokens, len(pieces) * choices_count, ex)
        completion_id = _random_id("cmpl-")
        base = {
            "id": completion_id,
            "object": "text_completion",
            "created": ex.created,
            "model": ex.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }
        if not ex.stream:
            choices = [
                {"text": "".join(pieces), "index": i, "logprobs": None, "finish_reason": finish}
                for i in range(choices_count)
            ]
            return {**base, "choices": choices, "usage": usage}

        def frames() -> Iterator[bytes]:
            for piece in pieces:
                for i in range(choices_count):
                    yield _sse(
                        {
                            **base,
                            "choices": [{"text": piece, "index": i, "logprobs": None, "finish_reason": None}],
                        }
                    )
            for i in range(choices_count):
                yield _sse({**base, "choices": [{"text": "", "index": i, "logprobs": None, "finish_reason": finish}]})
            if ex.include_usage:
                yield _sse({**base, "choices": [], "usage": usage})
            yield b"data: [DONE]\n\n"

        return frames()

    # -- responses ---------------------------------------------------------

    def _responses(self, ex: _Exchange) -> dict[str, Any] | Iterator[bytes]:
        if "input" not in ex.body and "prompt" not in ex.body:
            raise _ClientError(400, _invalid_request("Missing required parameter: 'input'.", param="input"))
        input_tokens = max(1, count_words(ex.body.get("instructions")) + count_words(ex.body.get("input")))
        pieces, truncated = ex.reply_pieces(_max_tokens(ex.body, "max_output_tokens"))
        planned = plan_turn(ex.tool_plan, ex.body) if ex.tool_plan else []
        items: list[dict[str, Any]] = [
            {"id": _hex_id("fc_"), "type": "function_call", "status": "completed", "arguments": arguments,
             "call_id": _random_id("call_", 24), "name": name}
            for name, arguments in planned
        ]
        if items:
            truncated = False
            output_tokens = sum(max(1, len(item["arguments"].split())) for item in items)
        elif ex.tool_call:
            truncated = False
            output_tokens = max(1, len(ex.tool_arguments.split()))
            items = [{
                "id": _hex_id("fc_"),
                "type": "function_call",
                "status": "completed",
                "arguments": ex.tool_arguments,
                "call_id": _random_id("call_", 24),
                "name": TOOL_NAME,
            }]
        else:
            output_tokens = len(pieces)
            items = [{
                "id": _hex_id("msg_"),
                "type": "message",
                "status": "incomplete" if truncated else "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "".join(pieces), "annotations": [], "logprobs": []}],
            }]
        cached = ex.cached_tokens(input_tokens)
        usage = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": ex.reasoning_tokens},
            "total_tokens": input_tokens + output_tokens,
        }
        _openrouter_usage(ex, usage)
        final = self._response_object(ex, _hex_id("resp_"), status="incomplete" if truncated else "completed")
        final["output"] = items
        final["usage"] = usage
        final["completed_at"] = None if truncated else ex.created
        if truncated:
            final["incomplete_details"] = {"reason": "max_output_tokens"}
        if not ex.stream:
            return final
        return self._responses_stream(ex, final, items, pieces)

    def _response_object(self, ex: _Exchange, response_id: str, *, status: str) -> dict[str, Any]:
        body = ex.body
        return {
            "id": response_id,
            "object": "response",
            "created_at": ex.created,
            "status": status,
            "background": False,
            "completed_at": None,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"),
            "model": ex.model,
            "output": [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "prompt_cache_key": body.get("prompt_cache_key"),
            "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
            "safety_identifier": body.get("safety_identifier"),
            "service_tier": ex.service_tier,
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_logprobs": body.get("top_logprobs", 0),
            "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation", "disabled"),
            "usage": None,
            "user": body.get("user"),
            "metadata": body.get("metadata") or {},
        }

    def _responses_stream(
        self, ex: _Exchange, final: dict[str, Any], items: list[dict[str, Any]], pieces: list[str]
    ) -> Iterator[bytes]:
        sequence = iter(range(1_000_000))

        def event(kind: str, **fields: Any) -> bytes:
            return _sse({"type": kind, "sequence_number": next(sequence), **fields}, event=kind)

        pending = self._response_object(ex, final["id"], status="in_progress")
        yield event("response.created", response=pending)
        yield event("response.in_progress", response=pending)
        for index, item in enumerate(items):
            at = {"item_id": item["id"], "output_index": index}
            if item["type"] == "function_call":
                yield event(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "arguments": ""},
                )
                for fragment in _split_words(item["arguments"]):
                    yield event("response.function_call_arguments.delta", **at, delta=fragment)
                yield event("response.function_call_arguments.done", **at, arguments=item["arguments"])
            else:
                text = item["content"][0]["text"]
                empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                yield event(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "content": []},
                )
                yield event("response.content_part.added", **at, content_index=0, part=empty_part)
                for piece in pieces:
                    yield event("response.output_text.delta", **at, content_index=0, delta=piece, logprobs=[])
                yield event("response.output_text.done", **at, content_index=0, text=text, logprobs=[])
                yield event("response.content_part.done", **at, content_index=0, part=item["content"][0])
            yield event("response.output_item.done", output_index=index, item=item)
        kind = "response.completed" if final["status"] == "completed" else "response.incomplete"
        yield event(kind, response=final)

    # -- embeddings --------------------------------------------------------

    def _embeddings(self, ex: _Exchange) -> dict[str, Any]:
        raw_input = ex.body.get("input")
        inputs: list[Any]
        token_array = isinstance(raw_input, list) and all(isinstance(t, int) for t in raw_input)
        if isinstance(raw_input, str) or (raw_input and token_array):
            inputs = [raw_input]
        elif isinstance(raw_input, list) and raw_input:
            inputs = raw_input
        else:
            raise _ClientError(400, _invalid_request("'input' : input must be a non-empty string or array"))
        dims = ex.body.get("dimensions")
        dimensions = dims if isinstance(dims, int) and not isinstance(dims, bool) and dims > 0 else EMBEDDING_DIMENSIONS
        as_base64 = ex.body.get("encoding_format") == "base64"
        data = []
        tokens = 0
        for index, item in enumerate(inputs):
            if isinstance(item, list):
                tokens += len(item)
                text = " ".join(str(t) for t in item)
            else:
                text = str(item)
                tokens += count_words(text)
            vector = _embedding(text, dimensions)
            embedding: Any = (
                base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode() if as_base64 else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = max(1, tokens)
        return {
            "object": "list",
            "data": data,
            "model": ex.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    # -- audio: speech, transcriptions, translations ------------------------

    def _speech(self, ex: _Exchange) -> _Body | Iterator[bytes]:
        text = ex.body.get("input")
        if not isinstance(text, str) or not text:
            raise _ClientError(400, _missing("input"))
        if len(text) > _SPEECH_MAX_CHARACTERS:
            raise _ClientError(400, _invalid_request(
                f"[{{'type': 'string_too_long', 'loc': ('body', 'input'), 'msg': 'String should have at most "
                f"{_SPEECH_MAX_CHARACTERS} characters'}}]", param="input",
            ))
        voice = ex.body.get("voice")
        if not isinstance(voice, (str, dict)) or not voice:
            raise _ClientError(400, _missing("voice"))
        kind = ex.body.get("response_format") or "mp3"
        if kind not in _SPEECH_FORMATS:
            raise _ClientError(400, _invalid_request(
                f"Invalid value: '{kind}'. Supported values are: 'mp3', 'opus', 'aac', 'flac', 'wav', and 'pcm'.",
                param="response_format", code="invalid_value",
            ))
        audio = speech_audio(len(text), kind)
        if ex.body.get("stream_format") != "sse":
            return _Body(_SPEECH_FORMATS[kind][0], audio, chunked=True)
        if ex.model in ("tts-1", "tts-1-hd"):
            raise _ClientError(400, _invalid_request(
                f"stream_format 'sse' is not supported for model '{ex.model}'.", param="stream_format",
                code="unsupported_value",
            ))
        instructions = ex.body.get("instructions")
        input_tokens = count_words(text) + (count_words(instructions) if isinstance(instructions, str) else 0)
        output_tokens = max(1, round(len(text) * _SPEECH_TOKENS_PER_CHARACTER))

        def frames() -> Iterator[bytes]:
            for i in range(0, len(audio), _AUDIO_CHUNK):
                chunk = base64.b64encode(audio[i : i + _AUDIO_CHUNK]).decode()
                yield _sse({"type": "speech.audio.delta", "audio": chunk})
            usage = {"input_tokens": input_tokens, "output_tokens": output_tokens,
                     "total_tokens": input_tokens + output_tokens}
            yield _sse({"type": "speech.audio.done", "usage": usage})

        return frames()

    def _transcriptions(self, ex: _Exchange) -> dict[str, Any] | Iterator[bytes] | _Body:
        return self._speech_to_text(ex, translate=False)

    def _translations(self, ex: _Exchange) -> dict[str, Any] | Iterator[bytes] | _Body:
        if ex.model != "whisper-1":
            raise _ClientError(400, _invalid_request(
                f"Model '{ex.model}' is not supported for translations; use whisper-1.", param="model",
                code="unsupported_model",
            ))
        return self._speech_to_text(ex, translate=True)

    def _speech_to_text(self, ex: _Exchange, *, translate: bool) -> dict[str, Any] | Iterator[bytes] | _Body:
        upload = ex.body.get("file")
        if not isinstance(upload, UploadedFile) or not upload.data:
            raise _ClientError(400, _missing("file"))
        seconds = audio_duration(upload.data)
        kind = ex.body.get("response_format") or "json"
        whisper = ex.model == "whisper-1"
        if kind not in ("json", "text", "srt", "vtt", "verbose_json"):
            raise _ClientError(400, _invalid_request(
                f"Invalid value: '{kind}'. Supported values are: 'json', 'text', 'srt', 'verbose_json', and 'vtt'.",
                param="response_format", code="invalid_value",
            ))
        if not whisper and kind not in ("json", "text"):
            raise _ClientError(400, _invalid_request(
                f"response_format '{kind}' is not compatible with model '{ex.model}'. Use 'json' or 'text'.",
                param="response_format", code="unsupported_value",
            ))
        text = ex.reply
        prompt = ex.body.get("prompt")
        prompt_tokens = count_words(prompt) if isinstance(prompt, str) else 0
        audio_tokens = max(1, round(seconds * _AUDIO_TOKENS_PER_SECOND))
        usage: dict[str, Any] = {"type": "duration", "seconds": math.ceil(seconds)}
        if not whisper:
            output_tokens = max(1, count_words(text))
            usage = {
                "type": "tokens", "input_tokens": audio_tokens + prompt_tokens,
                "input_token_details": {"text_tokens": prompt_tokens, "audio_tokens": audio_tokens},
                "output_tokens": output_tokens, "total_tokens": audio_tokens + prompt_tokens + output_tokens,
            }
        if ex.body.get("stream") is True and not whisper and not translate:
            return self._transcript_stream(text, usage)
        if kind == "text":
            return _Body("text/plain; charset=utf-8", f"{text}\n".encode())
        if kind in ("srt", "vtt"):
            return _Body("text/plain; charset=utf-8", _subtitles(text, seconds, kind).encode())
        if kind == "json":
            return {"text": text} if translate else {"text": text, "usage": usage}
        verbose: dict[str, Any] = {
            "task": "translate" if translate else "transcribe",
            "language": "english",
            "duration": round(seconds, 2),
            "text": text,
            "segments": [_segment(text, seconds)],
        }
        if not translate:
            verbose["usage"] = usage
        return verbose

    def _transcript_stream(self, text: str, usage: dict[str, Any]) -> Iterator[bytes]:
        for piece in _split_words(text):
            yield _sse({"type": "transcript.text.delta", "delta": piece, "logprobs": []})
        yield _sse({"type": "transcript.text.done", "text": text, "logprobs": [], "usage": usage})

    # -- images --------------------------------------------------------------

    def _images(self, ex: _Exchange) -> dict[str, Any] | Iterator[bytes]:
        prompt = ex.body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise _ClientError(400, _missing("prompt"))
        n = ex.body.get("n")
        count = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1
        model = ex.model
        created = ex.created
        if model.startswith("dall-e"):
            if model == "dall-e-3" and count != 1:
                raise _ClientError(400, _invalid_request("You must provide n=1 for this model.", param="n"))
            b64 = ex.body.get("response_format") == "b64_json"
            data = []
            for index in range(count):
                item: dict[str, Any] = (
                    {"b64_json": _TINY_PNG} if b64
                    else {"url": f"https://simulated-images.example/{_hex_id('img-', 24)}.png?sig={index}"}
                )
                if model == "dall-e-3":
                    item["revised_prompt"] = f"A detailed rendering of: {prompt}"
                data.append(item)
            return {"created": created, "data": data}
        size = ex.body.get("size") or "1024x1024"
        size = "1024x1024" if size == "auto" else str(size)
        quality = ex.body.get("quality") or "auto"
        quality = "medium" if quality == "auto" else str(quality)
        per_image = _IMAGE_TOKENS.get(quality, _IMAGE_TOKENS["medium"])
        if size != "1024x1024":
            per_image = per_image * 3 // 2
        text_tokens = max(1, count_words(prompt))
        usage = {
            "input_tokens": text_tokens,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": text_tokens},
            "output_tokens": per_image * count,
            "total_tokens": text_tokens + per_image * count,
            "output_tokens_details": {"image_tokens": per_image * count, "text_tokens": 0},
        }
        output_format = ex.body.get("output_format") or "png"
        common = {"background": "opaque", "output_format": output_format, "quality": quality, "size": size}
        if ex.body.get("stream") is True:
            partials = ex.body.get("partial_images")
            partial_count = partials if isinstance(partials, int) and not isinstance(partials, bool) else 0

            def frames() -> Iterator[bytes]:
                for index in range(partial_count):
                    event = {"type": "image_generation.partial_image", "b64_json": _TINY_PNG, "created_at": created,
                             "partial_image_index": index, **common}
                    yield _sse(event, "image_generation.partial_image")
                done = {"type": "image_generation.completed", "b64_json": _TINY_PNG, "created_at": created,
                        "usage": {k: v for k, v in usage.items() if k != "output_tokens_details"}, **common}
                yield _sse(done, "image_generation.completed")

            return frames()
        return {"created": created, "data": [{"b64_json": _TINY_PNG} for _ in range(count)], **common, "usage": usage}

    # -- moderations ---------------------------------------------------------

    def _moderations(self, ex: _Exchange) -> dict[str, Any]:
        raw_input = ex.body.get("input")
        items: list[Any] = raw_input if isinstance(raw_input, list) else [raw_input]
        if not items or not all(isinstance(item, (str, dict)) for item in items):
            raise _ClientError(400, _missing("input"))
        return {"id": _hex_id("modr-", 32), "model": _MODERATION_MODELS.get(ex.model, ex.model),
                "results": [_moderation(item) for item in items]}

    # -- models ------------------------------------------------------------

    def _models(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "system"} for m in _MODELS],
        }


def _invalid_request(message: str, *, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"message": message, "type": "invalid_request_error", "param": param, "code": code}


def _gateway_cost(ex: _Exchange, usage: Mapping[str, Any]) -> str:
    """The cost a gateway scenario reports: ``x-simulator-cost`` as given, else the tokens at ``GATEWAY_PRICES``."""
    given = ex.record.headers.get(COST_HEADER)
    if given:
        return given.strip()
    tokens_in = usage.get("prompt_tokens", usage.get("input_tokens")) or 0
    tokens_out = usage.get("completion_tokens", usage.get("output_tokens")) or 0
    return repr((tokens_in * GATEWAY_PRICES[0] + tokens_out * GATEWAY_PRICES[1]) / 1e6)


def _openrouter_usage(ex: _Exchange, usage: dict[str, Any]) -> None:
    """OpenRouter's usage accounting: ``cost`` what it charged; with the user's key, only its 5% fee."""
    if ex.scenario not in _OPENROUTER:
        return
    cost = float(_gateway_cost(ex, usage))
    if ex.scenario == "openrouter":
        usage.update(cost=cost, is_byok=False, cost_details={"upstream_inference_cost": cost})
    else:
        usage.update(cost=cost * 0.05, is_byok=True, cost_details={"upstream_inference_cost": cost})


def _chat_usage(prompt_tokens: int, completion_tokens: int, ex: _Exchange) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {
            "cached_tokens": ex.cached_tokens(prompt_tokens), "audio_tokens": ex.audio_tokens(prompt_tokens),
        },
        "completion_tokens_details": {
            "reasoning_tokens": ex.reasoning_tokens,
            "audio_tokens": ex.audio_tokens(completion_tokens),
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


# --------------------------------------------------------------------------- audio, images, moderations

_AUDIO_CHUNK = 1024
_DEFAULT_MODELS = {"/v1/moderations": "omni-moderation-latest", "/v1/images/generations": "gpt-image-1.5"}
_SPEECH_MAX_CHARACTERS = 4096
_SPEECH_TOKENS_PER_CHARACTER = 0.75  # audio tokens the speech SSE usage reports per character spoken
_AUDIO_TOKENS_PER_SECOND = 10  # audio input tokens the gpt-4o transcribe models report per second
# response_format -> (content type, ElevenLabs-simulator format rendered; None: bytes that decode as nothing)
_SPEECH_FORMATS: dict[str, tuple[str, str | None]] = {
    "mp3": ("audio/mpeg", "mp3_24000_160"),
    "wav": ("audio/wav", "wav_24000"),
    "pcm": ("audio/pcm", "pcm_24000"),
    "opus": ("audio/opus", None),
    "aac": ("audio/aac", None),
    "flac": ("audio/flac", None),
}
_OPAQUE_BYTES_PER_SECOND = 4000
# gpt-image output tokens per 1024x1024 image by quality (other sizes: 1.5x), as the image guide lists them.
_IMAGE_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
_MODERATION_MODELS = {"omni-moderation-latest": "omni-moderation-2024-09-26",
                      "text-moderation-latest": "text-moderation-007"}
_MODERATION_CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)
# A word in the input flags its category: deterministic moderation for tests.
_MODERATION_TRIGGERS = {"kill": "violence", "hate": "hate", "steal": "illicit"}
# The smallest valid PNG (1x1, transparent): what every simulated image is.
_TINY_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def speech_audio(characters: int, response_format: str = "mp3") -> bytes:
    """The audio `audio/speech` answers for ``characters`` characters (0.06 s each) in ``response_format``."""
    rendered = _SPEECH_FORMATS[response_format][1]
    if rendered is None:
        size = round(characters * SECONDS_PER_CHARACTER * _OPAQUE_BYTES_PER_SECOND)
        return (bytes(range(256)) * (size // 256 + 1))[:size]
    return render_speech(characters, rendered)


def speech_audio_seconds(characters: int, response_format: str = "mp3") -> float | None:
    """Exact seconds of `speech_audio` (None for the formats whose bytes decode as nothing)."""
    rendered = _SPEECH_FORMATS[response_format][1]
    return None if rendered is None else speech_seconds(characters, rendered)


def _form_body(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart request as a body: its text fields (``stream`` as a bool) and its files."""
    form, files = _parse_multipart(content_type, raw)
    body: dict[str, Any] = {key.removesuffix("[]"): value for key, value in form.items()}
    if "stream" in body:
        body["stream"] = body["stream"] == "true"
    body.update(files)
    return body


def _missing(name: str) -> dict[str, Any]:
    return _invalid_request(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")


def _segment(text: str, seconds: float) -> dict[str, Any]:
    return {"id": 0, "seek": 0, "start": 0.0, "end": round(seconds, 2), "text": text, "tokens": [],
            "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.0, "no_speech_prob": 0.01}


def _subtitles(text: str, seconds: float, kind: str) -> str:
    mark = "." if kind == "vtt" else ","
    end = time.strftime("%H:%M:%S", time.gmtime(seconds)) + f"{mark}{int(seconds % 1 * 1000):03d}"
    start = "00:00:00.000" if kind == "vtt" else "00:00:00,000"
    if kind == "vtt":
        return f"WEBVTT\n\n{start} --> {end}\n{text}\n\n"
    return f"1\n{start} --> {end}\n{text}\n\n"


def _moderation(item: Any) -> dict[str, Any]:
    text = item if isinstance(item, str) else str(item.get("text", "")) if isinstance(item, dict) else ""
    words = {w.strip(".,!?").lower() for w in text.split()}
    flagged = {category for word, category in _MODERATION_TRIGGERS.items() if word in words}
    return {
        "flagged": bool(flagged),
        "categories": {c: c in flagged for c in _MODERATION_CATEGORIES},
        "category_scores": {c: 0.91 if c in flagged else 0.0001 for c in _MODERATION_CATEGORIES},
        "category_applied_input_types": {c: ["text"] for c in _MODERATION_CATEGORIES},
    }


# --------------------------------------------------------------------------- script


def main(argv: list[str] | None = None) -> int:
    return serve_until_stopped(
        lambda host, port, scenario: OpenAISimulator(host, port, default_scenario=scenario),
        "OpenAI-compatible API simulator (offline, deterministic).", SCENARIOS, argv,
    )


if __name__ == "__main__":
    sys.exit(main())
