"""An OpenAI Realtime API simulator: the `/v1/realtime` websocket on 127.0.0.1, standard library only.

It reuses the ElevenLabs simulator's RFC 6455 server side and speaks the Realtime protocol: on
connect `session.created`; `session.update` → `session.updated`; `conversation.item.create` →
`conversation.item.created`; `input_audio_buffer.append`/`commit` → `input_audio_buffer.committed`;
`response.create` → `response.created`, text or audio deltas (with a transcript), `response.done` with
usage. The GA event names (`response.output_audio.delta`) are used, the beta ones
(`response.audio.delta`) when the client sends `OpenAI-Beta: realtime=v1`. Scenarios, by the
``x-simulator-scenario`` header (``connect(extra_headers=...)``) or the default:

* ``ok``: as above;
* ``error``: each `response.create` is answered by an `error` event and no response;
* ``abrupt``: after `response.created` and one audio delta the TCP connection drops (no close frame);
* ``server_close``: after the first `response.done` the server closes the websocket (code 1000).

The reply is `REPLY`, or the ``x-simulator-reply`` header's text, one delta per word (an audio
response's transcript: the first five words).

Usage is deterministic: input text tokens 4 per conversation item plus 10 for the instructions, input
audio tokens 10 per second of audio committed, output text tokens one per word, audio output tokens
10 per 0.1 s chunk; from the second response on, 16 input tokens are cached (text).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

from otel_ai.testing.base import SCENARIO_HEADER, ScenarioService, serve_until_stopped
from otel_ai.testing.elevenlabs_simulator import _Handler as _WebsocketHandler

__all__ = ["AUDIO_CHUNKS", "AUDIO_CHUNK_BYTES", "REPLY", "SCENARIOS", "RealtimeSession", "RealtimeSimulator"]

REPLY_HEADER = "x-simulator-reply"  # the reply's text instead of REPLY (one line: a header holds no break)
SCENARIOS = {
    "ok": "session events, text or audio responses with usage",
    "error": "an error event for each response.create",
    "abrupt": "response.created, one audio delta, then the TCP connection drops",
    "server_close": "after the first response.done the server closes the websocket (1000)",
}
REPLY = "Hello from the realtime simulator."
AUDIO_CHUNKS = 5
AUDIO_CHUNK_BYTES = 4800  # 0.1 s of pcm16 at 24 kHz
_ids = itertools.count(1)


@dataclass
class RealtimeSession:
    """One websocket session as the simulator saw it: the client events it received."""

    path: str
    headers: dict[str, str]
    scenario: str
    events: list[dict[str, Any]] = field(default_factory=list)
    audio_bytes: int = 0
    responses: int = 0


class _Handler(_WebsocketHandler):
    server_version = "openai-realtime-simulator/1.0"

    def do_GET(self) -> None:
        cast("RealtimeSimulator", self.server.owner)._session(self)


class RealtimeSimulator(ScenarioService[RealtimeSession]):
    """The Realtime websocket; point a client with `base_url=simulator.base_url` (http: ws is derived)."""

    handler = _Handler
    thread_name = "realtime-simulator"
    scenarios: ClassVar[dict[str, str]] = SCENARIOS

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def ws_base_url(self) -> str:
        """``ws://HOST:PORT/v1``: the beta client derives ``wss`` from ``base_url``, so pass this as
        ``websocket_base_url``."""
        return "ws" + self.base_url[len("http"):]

    @property
    def genai_requests(self) -> int:
        """What a client's telemetry counts as calls here: each session and each response it answered."""
        with self._lock:
            return sum(1 + record.responses for record in self.requests)

    def _session(self, handler: _Handler) -> None:
        path = handler.path
        headers = {k.lower(): v for k, v in handler.headers.items()}
        if not path.split("?")[0].rstrip("/").endswith("/realtime") or not handler.ws_accept():
            handler.send_head(404, {"Content-Length": "0"})
            return
        record = RealtimeSession(path, headers, headers.get(SCENARIO_HEADER, self.default_scenario))
        with self._lock:
            self.requests.append(record)
        beta = "realtime=v1" in headers.get("openai-beta", "")
        model = path.partition("model=")[2].split("&")[0] or "gpt-realtime"
        state = {"beta": beta, "model": model, "audio": True, "items": 0, "pending_audio": 0,
                 "reply": headers.get(REPLY_HEADER, REPLY)}
        session = self._describe(state, f"sess_{next(_ids)}")
        handler.ws_send_json({"type": "session.created", "event_id": f"event_{next(_ids)}", "session": session})
        while True:
            opcode, payload = handler.ws_receive()
            if opcode == 0x8:  # the client closed: answer its close frame and go
                with contextlib.suppress(OSError):
                    handler.ws_send(struct.pack("!H", 1000), opcode=0x8)
                handler.abort()
                return
            try:
                event = json.loads(payload)
            except ValueError:
                continue
            with self._lock:
                record.events.append(event)
            if not self._answer(handler, record, state, session, event):
                handler.abort()
                return
            if record.scenario == "server_close" and record.responses:
                handler.ws_close(1000, "done")
                return

    @staticmethod
    def _describe(state: dict[str, Any], sid: str) -> dict[str, Any]:
        if state["beta"]:
            return {"id": sid, "object": "realtime.session", "model": state["model"],
                    "modalities": ["text", "audio"], "output_audio_format": "pcm16"}
        return {"id": sid, "object": "realtime.session", "type": "realtime", "model": state["model"],
                "output_modalities": ["audio"],
                "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"}}}

    def _answer(self, handler: _Handler, record: RealtimeSession, state: dict[str, Any],
                session: dict[str, Any], event: dict[str, Any]) -> bool:
        kind = event.get("type")
        send = handler.ws_send_json
        if kind == "session.update":
            update = event.get("session") or {}
            modalities = update.get("output_modalities") or update.get("modalities")
            if isinstance(modalities, list):
                state["audio"] = "audio" in modalities
                session.update({"output_modalities" if not state["beta"] else "modalities": modalities})
            send({"type": "session.updated", "event_id": f"event_{next(_ids)}", "session": session})
        elif kind == "conversation.item.create":
            state["items"] += 1
            send({"type": "conversation.item.created", "event_id": f"event_{next(_ids)}",
                  "item": {**(event.get("item") or {}), "id": f"item_{next(_ids)}"}})
        elif kind == "input_audio_buffer.append":
            audio = base64.b64decode(event.get("audio") or "")
            state["pending_audio"] += len(audio)
            record.audio_bytes += len(audio)
        elif kind == "input_audio_buffer.commit":
            state["items"] += 1
            send({"type": "input_audio_buffer.committed", "event_id": f"event_{next(_ids)}",
                  "item_id": f"item_{next(_ids)}"})
        elif kind == "response.create":
            if record.scenario == "error":
                send({"type": "error", "event_id": f"event_{next(_ids)}",
                      "error": {"type": "invalid_request_error", "code": "simulated_error",
                                "message": "simulated error", "event_id": event.get("event_id")}})
                return True
            return self._respond(handler, record, state, event)
        else:
            send({"type": "error", "event_id": f"event_{next(_ids)}",
                  "error": {"type": "invalid_request_error", "code": "unknown_event",
                            "message": f"unknown event {kind!r}"}})
        return True

    def _respond(self, handler: _Handler, record: RealtimeSession, state: dict[str, Any],
                 event: dict[str, Any]) -> bool:
        send = handler.ws_send_json
        beta = state["beta"]
        rid = f"resp_{next(_ids)}"
        options = event.get("response") or {}
        modalities = options.get("output_modalities") or options.get("modalities")
        audio = "audio" in modalities if isinstance(modalities, list) else state["audio"]
        send({"type": "response.created", "event_id": f"event_{next(_ids)}",
              "response": {"id": rid, "object": "realtime.response", "status": "in_progress"}})
        words = state["reply"].split(" ")
        if audio:
            chunk = base64.b64encode(bytes(AUDIO_CHUNK_BYTES)).decode()
            name = "response.audio.delta" if beta else "response.output_audio.delta"
            transcript = "response.audio_transcript.delta" if beta else "response.output_audio_transcript.delta"
            for i in range(AUDIO_CHUNKS):
                send({"type": name, "event_id": f"event_{next(_ids)}", "response_id": rid, "item_id": "item",
                      "output_index": 0, "content_index": 0, "delta": chunk})
                if record.scenario == "abrupt":
                    return False
                if i < len(words):
                    send({"type": transcript, "event_id": f"event_{next(_ids)}", "response_id": rid,
                          "item_id": "item", "output_index": 0, "content_index": 0,
                          "delta": words[i] + ("" if i == len(words) - 1 else " ")})
        else:
            name = "response.text.delta" if beta else "response.output_text.delta"
            for i, word in enumerate(words):
                send({"type": name, "event_id": f"event_{next(_ids)}", "response_id": rid, "item_id": "item",
                      "output_index": 0, "content_index": 0,
                      "delta": word + ("" if i == len(words) - 1 else " ")})
        record.responses += 1
        text_in = 10 + 4 * state["items"]
        audio_in = state["pending_audio"] * 10 // 48000
        state["pending_audio"] = 0
        cached = 16 if record.responses > 1 else 0
        text_out = len(words)
        audio_out = 10 * AUDIO_CHUNKS if audio else 0
        usage = {
            "total_tokens": text_in + audio_in + text_out + audio_out,
            "input_tokens": text_in + audio_in, "output_tokens": text_out + audio_out,
            "input_token_details": {"text_tokens": text_in, "audio_tokens": audio_in, "cached_tokens": cached,
                                    "cached_tokens_details": {"text_tokens": cached, "audio_tokens": 0}},
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        }
        send({"type": "response.done", "event_id": f"event_{next(_ids)}",
              "response": {"id": rid, "object": "realtime.response", "status": "completed",
                           "status_details": None, "usage": usage}})
        return True


def main(argv: list[str] | None = None) -> int:
    return serve_until_stopped(
        lambda host, port, scenario: RealtimeSimulator(host, port, default_scenario=scenario),
        "OpenAI Realtime API simulator (websocket)", SCENARIOS, argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
