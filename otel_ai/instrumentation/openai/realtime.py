"""OpenAI Realtime API (voice sessions over a websocket): `client.realtime.connect()` and the beta
`client.beta.realtime.connect()`, sync and async.

One span for the session (operation `realtime_session`: it starts when the connection is made and ends
exactly once, at `close()`, the `with` exit, or the server's close) and one child span per model response
(`response.create` sent, or `response.created` for server-started turns, to `response.done`), carrying
the text and audio tokens of `response.done` usage, the audio delivered (bytes, seconds from the
session's output format), time to first audio and the end reason. The connection's own methods are
wrapped (`recv_bytes`, every receive goes through it; `send`; `close`): nothing sent or received is
changed, and an observer failure is reported, never raised.
"""

from __future__ import annotations

import json
import weakref
from typing import Any
from urllib.parse import parse_qs, urlsplit

import wrapt

from otel_ai.conventions import Names, parse_semconv
from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse, Message, Usage
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.guard import report

__all__ = ["SESSION_OPERATION", "TARGETS", "RealtimeSession", "install", "uninstall"]

# Not in the conventions yet: the names the open realtime proposal's review asks for
# (open-telemetry/semantic-conventions-genai#394); see docs/speech.md.
SESSION_OPERATION = "realtime_session"
RESPONSE_OPERATION = "realtime_inference"
# (module, class): the GA and beta connections, sync and async.
TARGETS: tuple[tuple[str, str], ...] = (
    ("openai.resources.realtime.realtime", "RealtimeConnection"),
    ("openai.resources.realtime.realtime", "AsyncRealtimeConnection"),
    ("openai.resources.beta.realtime.realtime", "RealtimeConnection"),
    ("openai.resources.beta.realtime.realtime", "AsyncRealtimeConnection"),
)
_STATE = "_otel_ai_realtime"
# The span names of a response's audio tokens in and out, by OTEL_AI_SEMCONV (read at `install`). The
# registry's names (`gen_ai.usage.audio.*`) always: the recorder writes them from the usage of every provider.
# `previous` and `both` add the names of the release before (docs/conventions.md).
_CURRENT_AUDIO: list[tuple[str, ...]] = [(sc.USAGE_AUDIO_INPUT_TOKENS,), (sc.USAGE_AUDIO_OUTPUT_TOKENS,)]
_AUDIO_NAMES: list[tuple[str, ...]] = list(_CURRENT_AUDIO)


def _audio_names(names: Names) -> list[tuple[str, ...]]:
    if not names.previous:
        return list(_CURRENT_AUDIO)
    return [(sc.USAGE_AUDIO_INPUT_TOKENS, sc.PREVIOUS_USAGE_INPUT_AUDIO_TOKENS),
            (sc.USAGE_AUDIO_OUTPUT_TOKENS, sc.PREVIOUS_USAGE_OUTPUT_AUDIO_TOKENS)]


_AUDIO_DELTAS = frozenset(("response.output_audio.delta", "response.audio.delta"))
_TEXT_DELTAS = frozenset((
    "response.output_text.delta", "response.text.delta",
    "response.output_audio_transcript.delta", "response.audio_transcript.delta",
))
# Bytes per second of output audio by format (GA `audio/pcm` at its rate; beta `pcm16`, G.711 at 8 kHz).
_G711 = 8000
_generation = [0]


def _b64_length(text: str) -> int:
    return len(text) * 3 // 4 - (2 if text.endswith("==") else 1 if text.endswith("=") else 0)


def _get(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Turn:
    """One model response in flight: its span and the audio and text it delivered."""

    __slots__ = ("audio_bytes", "audio_chunks", "inv", "text")

    def __init__(self, inv: Invocation) -> None:
        self.inv = inv
        self.audio_bytes = 0
        self.audio_chunks = 0
        self.text: list[str] = []


class RealtimeSession:
    """The observer of one connection: the session span and its responses' spans."""

    __slots__ = ("bytes_per_second", "errors", "host", "inv", "model", "pending", "port", "recorder",
                 "responses", "session_id", "totals")

    def __init__(self, recorder: GenAIRecorder, model: str | None, host: str | None, port: int | None) -> None:
        self.recorder = recorder
        self.model = model
        self.host = host
        self.port = port
        self.bytes_per_second = 48000  # pcm16 at 24 kHz: the API's default output
        self.pending: list[_Turn] = []  # started by a `response.create`, waiting for `response.created`
        self.responses: dict[str, _Turn] = {}
        self.errors = 0
        self.session_id: str | None = None
        self.totals = [0, 0, 0, 0]  # input, output, audio in, audio out tokens
        self.inv = recorder.start(self._request(SESSION_OPERATION))

    def _request(self, operation: str) -> GenAIRequest:
        return GenAIRequest(operation=operation, provider="openai", model=self.model, server_address=self.host,
                            server_port=self.port, stream=True)

    # -- client events ------------------------------------------------------------------------

    def sent(self, event: Any) -> None:
        if _get(event, "type") == "response.create":
            turn = self._start_turn()
            if turn is not None:
                self.pending.append(turn)

    def _start_turn(self) -> _Turn | None:
        if self.inv is None or self.inv.ended:
            return None
        token = self.recorder.activate(self.inv)
        try:
            inv = self.recorder.start(self._request(RESPONSE_OPERATION))
        finally:
            self.recorder.deactivate(token)
        return _Turn(inv) if inv is not None else None

    # -- server events ------------------------------------------------------------------------

    def received(self, message: bytes | str) -> None:
        if self.inv is None or self.inv.ended:
            return
        if type(message) is bytes and b"audio.delta" in message[:64]:
            fast = _audio_delta(message)  # the bulk of a voice session: not parsed twice
            if fast is not None:
                turn = self.responses.get(fast[0])
                if turn is not None:
                    turn.inv.chunk()
                    turn.audio_bytes += fast[1]
                    turn.audio_chunks += 1
                return
        event = json.loads(message)
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind in _AUDIO_DELTAS:
            turn = self._turn(event.get("response_id"))
            delta = event.get("delta")
            if turn is not None and isinstance(delta, str):
                turn.inv.chunk()
                turn.audio_bytes += _b64_length(delta)
                turn.audio_chunks += 1
        elif kind in _TEXT_DELTAS:
            turn = self._turn(event.get("response_id"))
            delta = event.get("delta")
            if turn is not None and isinstance(delta, str) and self.recorder.capture_content:
                turn.text.append(delta)
        elif kind == "response.created":
            self._created(event.get("response"))
        elif kind == "response.done":
            self._done(event.get("response"))
        elif kind in ("session.created", "session.updated"):
            self._session(event.get("session"))
        elif kind == "error":
            self._error(event.get("error"))

    def _turn(self, rid: Any) -> _Turn | None:
        return self.responses.get(rid) if isinstance(rid, str) else None

    def _session(self, session: Any) -> None:
        if not isinstance(session, dict):
            return
        if isinstance(session.get("id"), str):
            self.session_id = session["id"]
        if isinstance(session.get("model"), str) and self.model is None:
            self.model = session["model"]
        fmt = session.get("output_audio_format")  # beta: "pcm16", "g711_ulaw", "g711_alaw"
        audio = session.get("audio")
        if isinstance(audio, dict) and isinstance(audio.get("output"), dict):
            fmt = audio["output"].get("format", fmt)  # GA: {"type": "audio/pcm", "rate": 24000}
        if isinstance(fmt, dict):
            rate = _int(fmt.get("rate")) or 24000
            self.bytes_per_second = 2 * rate if fmt.get("type") == "audio/pcm" else _G711
        elif isinstance(fmt, str):
            self.bytes_per_second = 48000 if fmt == "pcm16" else _G711

    def _created(self, response: Any) -> None:
        rid = _get(response, "id")
        if not isinstance(rid, str):
            return
        turn = self.pending.pop(0) if self.pending else self._start_turn()
        if turn is not None:
            self.responses[rid] = turn

    def _done(self, response: Any) -> None:
        if not isinstance(response, dict):
            return
        rid = response.get("id")
        turn = self.responses.pop(rid, None) if isinstance(rid, str) else None
        if turn is None:
            return
        resp = GenAIResponse(response_id=response.get("id"), model=self.model)
        status = response.get("status")
        details = response.get("status_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        end = reason if isinstance(reason, str) else status if isinstance(status, str) else None
        if end is not None:
            resp.finish_reasons = [end]
        if isinstance(status, str):
            resp.attributes[sc.REALTIME_RESPONSE_STATUS] = status
        resp.usage, audio_in = _usage(response.get("usage"))
        # The usage's audio input leaves cached audio out (priced apart): the span gets every audio token in.
        audio_out = resp.usage.audio_output_tokens
        for names, value in ((_AUDIO_NAMES[0], audio_in), (_AUDIO_NAMES[1], audio_out)):
            if value is not None:
                for name in names:
                    resp.attributes[name] = value
        self._audio(turn, resp)
        if turn.text:
            message: Message = {"role": "assistant", "parts": [{"type": "text", "content": "".join(turn.text)}]}
            if end is not None:
                message["finish_reason"] = end
            resp.output_messages = [message]
        u = resp.usage
        for i, value in enumerate((u.input_tokens, u.output_tokens, u.audio_input_tokens, u.audio_output_tokens)):
            self.totals[i] += value or 0
        self.recorder.end(turn.inv, resp)

    def _audio(self, turn: _Turn, resp: GenAIResponse) -> None:
        if turn.audio_bytes:
            resp.attributes[sc.AUDIO_BYTES] = turn.audio_bytes
            resp.attributes[sc.AUDIO_CHUNKS] = turn.audio_chunks
            resp.usage.audio_seconds = turn.audio_bytes / self.bytes_per_second

    def _error(self, error: Any) -> None:
        self.errors += 1
        if self.inv is not None and isinstance(error, dict):
            attributes = {f"error.{k}": str(v) for k, v in error.items() if k in ("type", "code", "event_id")}
            self.inv.span.add_event("realtime.error", attributes)

    # -- the end ------------------------------------------------------------------------------

    def close(self, exc: BaseException | None) -> None:
        """End the session once; responses still in flight end as interrupted."""
        inv = self.inv
        if inv is None or inv.ended:
            return
        for turn in [*self.pending, *self.responses.values()]:
            resp = GenAIResponse(model=self.model, finish_reasons=["interrupted"])
            self._audio(turn, resp)
            if exc is None:
                self.recorder.end(turn.inv, resp)
            else:
                self.recorder.fail(turn.inv, exc, resp)
        self.pending.clear()
        self.responses.clear()
        resp = GenAIResponse(model=self.model, response_id=self.session_id)
        attrs = resp.attributes
        attrs[sc.REALTIME_INPUT_TOKENS], attrs[sc.REALTIME_OUTPUT_TOKENS] = self.totals[0], self.totals[1]
        attrs[sc.REALTIME_AUDIO_INPUT_TOKENS], attrs[sc.REALTIME_AUDIO_OUTPUT_TOKENS] = self.totals[2], self.totals[3]
        attrs[sc.REALTIME_ERRORS] = self.errors
        if exc is None:
            self.recorder.end(inv, resp)
        else:
            self.recorder.fail(inv, exc, resp)


def _string_at(message: bytes, key: bytes) -> tuple[int, int] | None:
    """(start, end) of the string value of `key` in a JSON object's bytes; None if not plainly there."""
    at = message.find(key)
    if at < 0:
        return None
    colon = message.find(b":", at + len(key))
    if colon < 0 or message[at + len(key):colon].strip():
        return None
    start = colon + 1
    while start < len(message) and message[start] in b" \t\r\n":
        start += 1
    if start >= len(message) or message[start] != 0x22:  # '"'
        return None
    end = message.find(b'"', start + 1)
    if end < 0 or message.find(b"\\", start + 1, end) >= 0:  # an escape: leave it to the JSON parser
        return None
    return start + 1, end


def _audio_delta(message: bytes) -> tuple[str, int] | None:
    """(response id, audio bytes) of an audio delta event read without parsing its base64, or None."""
    kind = _string_at(message, b'"type"')
    if kind is None or message[kind[0]:kind[1]] not in (b"response.output_audio.delta", b"response.audio.delta"):
        return None
    rid = _string_at(message, b'"response_id"')
    delta = _string_at(message, b'"delta"')
    if rid is None or delta is None:
        return None
    start, end = delta
    size = (end - start) * 3 // 4
    if end - start >= 2 and message[end - 2:end] == b"==":
        size -= 2
    elif end > start and message[end - 1:end] == b"=":
        size -= 1
    return message[rid[0]:rid[1]].decode("ascii", "replace"), size


def _usage(usage: Any) -> tuple[Usage, int | None]:
    """`response.done` usage: text and audio tokens in and out (uncached audio in, for its own price),
    and all the audio tokens in."""
    if not isinstance(usage, dict):
        return Usage(), None
    out = Usage(input_tokens=_int(usage.get("input_tokens")), output_tokens=_int(usage.get("output_tokens")))
    inp = usage.get("input_token_details")
    audio_in = None
    if isinstance(inp, dict):
        out.cache_read_input_tokens = _int(inp.get("cached_tokens"))
        audio_in = _int(inp.get("audio_tokens"))
        if audio_in is not None:
            cached = inp.get("cached_tokens_details")
            cached_audio = _int(cached.get("audio_tokens")) if isinstance(cached, dict) else None
            out.audio_input_tokens = max(audio_in - (cached_audio or 0), 0)
    outd = usage.get("output_token_details")
    if isinstance(outd, dict):
        out.audio_output_tokens = _int(outd.get("audio_tokens"))
    return out, audio_in


# --------------------------------------------------------------------------- the wrappers


def _where(ws: Any) -> tuple[str | None, str | None, int | None]:
    """(model, host, port) of a websocket connection: the model from the URL's query."""
    model = host = port = None
    try:
        request = getattr(ws, "request", None)
        path = getattr(request, "path", None)
        if isinstance(path, str):
            values = parse_qs(urlsplit(path).query).get("model")
            model = values[0] if values else None
        headers = getattr(request, "headers", None)
        host_header = headers.get("Host") if headers is not None else None
        if isinstance(host_header, str):
            parts = urlsplit("//" + host_header)
            host, port = parts.hostname, parts.port
    except Exception as exc:
        report("openai.realtime.where", exc)
    return model, host, port


def _state(instance: Any) -> RealtimeSession | None:
    return instance.__dict__.get(_STATE)  # type: ignore[no-any-return]


def _closed_by(exc: BaseException) -> bool:
    """Whether a receive failed because the connection is gone (not a cancelled await)."""
    try:
        from websockets.exceptions import ConnectionClosed
    except ImportError:
        return False
    return isinstance(exc, ConnectionClosed)


def _close_exc(exc: BaseException) -> BaseException | None:
    try:
        from websockets.exceptions import ConnectionClosedOK
    except ImportError:
        return exc
    return None if isinstance(exc, ConnectionClosedOK) else exc


def _observe(session: RealtimeSession | None, call: str, value: Any) -> None:
    if session is None:
        return
    try:
        if call == "recv":
            session.received(value)
        else:
            session.sent(value)
    except Exception as exc:
        report(f"openai.realtime.{call}", exc)


def _end(session: RealtimeSession | None, exc: BaseException | None) -> None:
    if session is None:
        return
    try:
        session.close(exc)
    except Exception as inner:
        report("openai.realtime.close", inner)


def _wrappers(recorder: GenAIRecorder, is_async: bool) -> dict[str, Any]:
    def init(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> None:
        wrapped(*args, **kwargs)
        try:
            ws = args[0] if args else kwargs.get("connection")
            session = instance.__dict__[_STATE] = RealtimeSession(recorder, *_where(ws))
            # a connection dropped without close() ends its session when collected (or at exit)
            weakref.finalize(instance, _end, session, None)
        except Exception as exc:
            report("openai.realtime.start", exc)

    def recv(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            message = wrapped(*args, **kwargs)
        except BaseException as exc:
            if _closed_by(exc):
                _end(_state(instance), _close_exc(exc))
            raise
        _observe(_state(instance), "recv", message)
        return message

    def send(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        result = wrapped(*args, **kwargs)
        _observe(_state(instance), "send", args[0] if args else kwargs.get("event"))
        return result

    def close(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            return wrapped(*args, **kwargs)
        finally:
            _end(_state(instance), None)

    async def arecv(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            message = await wrapped(*args, **kwargs)
        except BaseException as exc:
            if _closed_by(exc):
                _end(_state(instance), _close_exc(exc))
            raise
        _observe(_state(instance), "recv", message)
        return message

    async def asend(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        result = await wrapped(*args, **kwargs)
        _observe(_state(instance), "send", args[0] if args else kwargs.get("event"))
        return result

    async def aclose(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            return await wrapped(*args, **kwargs)
        finally:
            _end(_state(instance), None)

    if is_async:
        return {"__init__": init, "recv_bytes": arecv, "send": asend, "close": aclose}
    return {"__init__": init, "recv_bytes": recv, "send": send, "close": close}


def _owner(module: Any, name: str) -> Any:
    return getattr(module, name, None)


def install(recorder: GenAIRecorder) -> None:
    """Wrap the Realtime connections when their modules are imported."""
    _AUDIO_NAMES[:] = _audio_names(parse_semconv()[0])
    _generation[0] += 1
    generation = _generation[0]
    for module_name, name in TARGETS:
        def hook(module: Any, name: str = name) -> None:
            if _generation[0] != generation:
                return
            owner = _owner(module, name)
            if owner is None:
                return
            for method, wrapper in _wrappers(recorder, name.startswith("Async")).items():
                try:
                    if method in ("close",) and method not in vars(owner):
                        # the GA connection inherits close(): wrap it on this class only
                        base = getattr(owner, method)
                        setattr(owner, method, base)
                    if not isinstance(vars(owner).get(method), wrapt.FunctionWrapper):
                        wrapt.wrap_function_wrapper(owner, method, wrapper)
                except Exception as exc:
                    report("openai.realtime.wrap", exc)

        wrapt.register_post_import_hook(hook, module_name)


def uninstall() -> None:
    """Unwrap what `install` wrapped (modules not imported were never wrapped)."""
    import sys

    _generation[0] += 1
    for module_name, name in TARGETS:
        owner = _owner(sys.modules.get(module_name), name)
        if owner is None:
            continue
        for method in ("__init__", "recv_bytes", "send", "close"):
            current = vars(owner).get(method)
            if isinstance(current, wrapt.FunctionWrapper):
                setattr(owner, method, current.__wrapped__)
