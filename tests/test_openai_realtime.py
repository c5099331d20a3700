"""OpenAI Realtime voice sessions: the real `openai` client over a real websocket against the simulator.

One span per session, one child span per model response with text and audio tokens (audio priced at
its own rates), audio seconds from the bytes, time to first audio, the end reason; the session span
ends exactly once however the connection ends.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.trace import StatusCode

from otel_ai.testing.realtime_simulator import AUDIO_CHUNK_BYTES, AUDIO_CHUNKS, REPLY, RealtimeSimulator
from tests.conftest import Telemetry

openai = pytest.importorskip("openai")
pytest.importorskip("websockets")

KEY = "sk-test-" + "0123456789abcdef" * 3
MODEL = "gpt-realtime"
AUDIO_SECONDS = AUDIO_CHUNKS * AUDIO_CHUNK_BYTES / 48000


@pytest.fixture(scope="module")
def rt_sim() -> Iterator[RealtimeSimulator]:
    with RealtimeSimulator() as sim:
        yield sim


def _client(sim: RealtimeSimulator) -> Any:
    return openai.OpenAI(api_key=KEY, base_url=sim.base_url, websocket_base_url=sim.ws_base_url)


def _headers(scenario: str = "ok") -> dict[str, Any]:
    return {"extra_headers": {"x-simulator-scenario": scenario}}


def _spans(telemetry: Telemetry) -> tuple[Any, list[Any]]:
    spans = telemetry.genai_spans()
    sessions = [s for s in spans if s.attributes["gen_ai.operation.name"] == "realtime_session"]
    assert len(sessions) == 1, [s.name for s in spans]
    session = sessions[0]
    responses = [s for s in spans if s is not session]
    for span in responses:
        assert span.parent is not None and span.parent.span_id == session.context.span_id
    return session, responses


def _drain_until_done(conn: Any, count: int = 1) -> list[Any]:
    events, done = [], 0
    for event in conn:
        events.append(event)
        if event.type == "response.done":
            done += 1
            if done == count:
                break
    return events


def _cost(usage: Any) -> float:
    """gpt-realtime: text in 4.00 (cached 0.40), out 16.00; audio in 32.00, out 64.00 per 1M tokens."""
    d_in, d_out = usage.input_token_details, usage.output_token_details
    cached = d_in.cached_tokens or 0
    audio_in = d_in.audio_tokens - (d_in.cached_tokens_details.audio_tokens or 0)
    text_in = usage.input_tokens - cached - audio_in
    return (text_in * 4.0 + cached * 0.4 + audio_in * 32.0 + (usage.output_tokens - d_out.audio_tokens) * 16.0
            + d_out.audio_tokens * 64.0) / 1e6


def test_sync_session_two_responses_text_and_audio(rt_sim, telemetry):
    with _client(rt_sim).realtime.connect(model=MODEL, **_headers()) as conn:
        conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        conn.conversation.item.create(item={"type": "message", "role": "user",
                                            "content": [{"type": "input_text", "text": "Say hello"}]})
        conn.response.create()
        first = _drain_until_done(conn)
        conn.input_audio_buffer.append(audio=base64.b64encode(bytes(48000)).decode())  # one second
        conn.input_audio_buffer.commit()
        conn.response.create(response={"output_modalities": ["audio"]})
        second = _drain_until_done(conn)
    session, responses = _spans(telemetry)
    assert session.status.status_code is StatusCode.UNSET
    assert session.name == f"realtime_session {MODEL}"
    assert {s.name for s in responses} == {f"realtime_inference {MODEL}"}
    assert len(responses) == 2
    text, audio = sorted(responses, key=lambda s: s.start_time)
    usages = [first[-1].response.usage, second[-1].response.usage]
    for span, usage in zip((text, audio), usages, strict=True):
        assert span.attributes["gen_ai.usage.input_tokens"] == usage.input_tokens
        assert span.attributes["gen_ai.usage.output_tokens"] == usage.output_tokens
        assert span.attributes["gen_ai.response.finish_reasons"] == ("completed",)
        assert span.attributes["otel_ai.cost.usd"] == pytest.approx(_cost(usage), rel=1e-12)
    assert audio.attributes["gen_ai.usage.audio.input_tokens"] == 10
    assert audio.attributes["gen_ai.usage.audio.output_tokens"] == 50
    assert text.attributes["gen_ai.usage.audio.output_tokens"] == 0
    for span in (text, audio):  # the names of the release before come only with OTEL_AI_SEMCONV=previous|both
        assert not {"gen_ai.usage.input_audio_tokens", "gen_ai.usage.output_audio_tokens"} & set(span.attributes)
    assert usages[1].input_token_details.audio_tokens == 10
    assert usages[1].output_token_details.audio_tokens == 50
    assert "otel_ai.audio.bytes" not in text.attributes
    assert audio.attributes["otel_ai.audio.bytes"] == AUDIO_CHUNKS * AUDIO_CHUNK_BYTES
    assert audio.attributes["otel_ai.audio.seconds"] == pytest.approx(AUDIO_SECONDS)
    assert session.attributes["otel_ai.realtime.audio_output_tokens"] == 50
    assert session.attributes["otel_ai.realtime.audio_input_tokens"] == 10
    assert "otel_ai.cost.usd" not in session.attributes  # the responses carry the cost, once
    # metrics: two responses and one session counted, audio once, time to first audio once
    assert sum(p.count for _, p in telemetry.points("otel_ai.client.audio.duration")) == 1
    assert sum(p.count for _, p in telemetry.points("gen_ai.client.operation.duration")) == 3
    ttfa = telemetry.points("gen_ai.client.operation.time_to_first_chunk")
    assert sum(p.count for _, p in ttfa) == 1
    cost = sum(p.value for _, p in telemetry.points("otel_ai.client.cost"))
    assert cost == pytest.approx(_cost(usages[0]) + _cost(usages[1]), rel=1e-12)
    assert "gen_ai.output.messages" not in audio.attributes  # content off by default


def test_audio_cost_to_the_digit(rt_sim, telemetry):
    with _client(rt_sim).realtime.connect(model=MODEL, **_headers()) as conn:
        conn.input_audio_buffer.append(audio=base64.b64encode(bytes(96000)).decode())  # two seconds
        conn.input_audio_buffer.commit()
        conn.response.create()
        events = _drain_until_done(conn)
    _, (span,) = _spans(telemetry)
    usage = events[-1].response.usage
    # 14 text in, 20 audio in, 5 text out (the transcript), 50 audio out
    assert (usage.input_tokens, usage.output_tokens) == (34, 55)
    expected = (14 * 4.0 + 20 * 32.0 + 5 * 16.0 + 50 * 64.0) / 1e6
    assert span.attributes["otel_ai.cost.usd"] == expected == 0.003976


@pytest.mark.parametrize("names", ["both", "previous"])
def test_the_previous_audio_token_names_come_with_the_semconv_switch(rt_sim, telemetry, monkeypatch, names):
    """`gen_ai.usage.input_audio_tokens` / `output_audio_tokens` were renamed to the registry's
    `gen_ai.usage.audio.input_tokens` / `output_tokens`: `previous` and `both` write the old ones beside them."""
    monkeypatch.setenv("OTEL_AI_SEMCONV", names)
    telemetry.reinstrument()
    with _client(rt_sim).realtime.connect(model=MODEL, **_headers()) as conn:
        conn.input_audio_buffer.append(audio=base64.b64encode(bytes(96000)).decode())  # two seconds: 20 tokens
        conn.input_audio_buffer.commit()
        conn.response.create()
        _drain_until_done(conn)
    _, (span,) = _spans(telemetry)
    attributes = span.attributes
    assert attributes["gen_ai.usage.input_audio_tokens"] == attributes["gen_ai.usage.audio.input_tokens"] == 20
    assert span.attributes["gen_ai.usage.output_audio_tokens"] == span.attributes["gen_ai.usage.audio.output_tokens"]
    assert span.attributes["gen_ai.usage.audio.output_tokens"] == 50


async def test_async_session(rt_sim, telemetry):
    client = openai.AsyncOpenAI(api_key=KEY, base_url=rt_sim.base_url)
    async with client.realtime.connect(model=MODEL, **_headers()) as conn:
        await conn.response.create()
        async for event in conn:
            if event.type == "response.done":
                break
    session, (response,) = _spans(telemetry)
    assert response.attributes["otel_ai.audio.seconds"] == pytest.approx(AUDIO_SECONDS)
    assert response.attributes["gen_ai.response.finish_reasons"] == ("completed",)
    assert session.end_time is not None


def test_beta_client_session(rt_sim, telemetry):
    with _client(rt_sim).beta.realtime.connect(model="gpt-4o-realtime-preview", **_headers()) as conn:
        conn.response.create()
        events = _drain_until_done(conn)
    assert any(e.type == "response.audio.delta" for e in events)
    _, (response,) = _spans(telemetry)
    usage = events[-1].response.usage
    assert response.attributes["otel_ai.audio.seconds"] == pytest.approx(AUDIO_SECONDS)
    expected = ((usage.input_tokens * 5.0) + 5 * 20.0 + 50 * 80.0) / 1e6
    assert response.attributes["otel_ai.cost.usd"] == pytest.approx(expected, rel=1e-12)


def test_error_event_is_counted_on_the_session(rt_sim, telemetry):
    with _client(rt_sim).realtime.connect(model=MODEL, **_headers("error")) as conn:
        conn.response.create()
        assert conn.recv().type == "session.created"
        assert conn.recv().type == "error"
    session, responses = _spans(telemetry)
    assert session.attributes["otel_ai.realtime.errors"] == 1
    assert [e.name for e in session.events] == ["realtime.error"]
    # the response that never came ends with the session, as interrupted
    assert [r.attributes["gen_ai.response.finish_reasons"] for r in responses] == [("interrupted",)]


def test_abrupt_close_ends_the_session_once_with_an_error(rt_sim, telemetry):
    from websockets.exceptions import ConnectionClosedError

    conn = _client(rt_sim).realtime.connect(model=MODEL, **_headers("abrupt")).enter()
    conn.response.create()
    with pytest.raises(ConnectionClosedError):
        for _ in conn:
            pass
    conn.close()  # a second end: a no-op
    session, (response,) = _spans(telemetry)
    assert session.status.status_code is StatusCode.ERROR
    assert response.status.status_code is StatusCode.ERROR
    assert response.attributes["otel_ai.audio.bytes"] == AUDIO_CHUNK_BYTES  # what came before the drop
    assert sum(p.count for _, p in telemetry.points("gen_ai.client.operation.duration")) == 2


def test_what_the_client_receives_is_unchanged(rt_sim, telemetry):
    with _client(rt_sim).realtime.connect(model=MODEL, **_headers()) as conn:
        conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        conn.response.create()
        events = _drain_until_done(conn)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == REPLY
    assert rt_sim.requests[-1].events[0]["type"] == "session.update"


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_content_capture_is_opt_in(rt_sim, telemetry, content_mode):
    with _client(rt_sim).realtime.connect(model=MODEL, **_headers()) as conn:
        conn.response.create()
        _drain_until_done(conn)
    _, (response,) = _spans(telemetry)
    assert REPLY in str(response.attributes["gen_ai.output.messages"])


def test_server_close_ends_the_session_without_the_client_closing(rt_sim, telemetry):
    conn = _client(rt_sim).realtime.connect(model=MODEL, **_headers("server_close")).enter()
    conn.response.create()
    types = [event.type for event in conn]  # ends when the server closes (1000)
    assert types[-1] == "response.done"
    session, (response,) = _spans(telemetry)
    assert session.status.status_code is StatusCode.UNSET
    assert response.attributes["gen_ai.response.finish_reasons"] == ("completed",)
    conn.close()
    assert len(telemetry.genai_spans()) == 2  # ended once


def test_a_connection_dropped_without_close_ends_its_session(rt_sim, telemetry):
    import gc

    conn = _client(rt_sim).realtime.connect(model=MODEL, **_headers()).enter()
    conn.response.create()
    _drain_until_done(conn)
    assert len(telemetry.genai_spans()) == 1  # the response; the session is open
    del conn
    gc.collect()
    session, (_response,) = _spans(telemetry)
    assert session.end_time is not None


def test_an_observer_failure_never_reaches_the_app(rt_sim, telemetry, monkeypatch):
    from otel_ai.instrumentation.openai import realtime

    def broken(self: Any, message: Any) -> None:
        raise RuntimeError("observer bug")

    monkeypatch.setattr(realtime.RealtimeSession, "received", broken)
    with _client(rt_sim).realtime.connect(model=MODEL, **_headers()) as conn:
        conn.response.create()
        events = _drain_until_done(conn)
    assert events[-1].type == "response.done"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "response", "usage", "id", "response_id", "delta", "session", "status",
                         "input_token_details", "output_token_details", "audio_tokens", "cached_tokens",
                         "input_tokens", "output_tokens", "audio", "output", "format", "rate", "error"]),
        inner, max_size=5),
    max_leaves=20,
), kind=st.sampled_from(["response.created", "response.done", "response.output_audio.delta", "session.created",
                         "session.updated", "error", "response.output_text.delta", "other"]))
def test_any_server_event_is_read_without_raising(event, kind):
    """The event reader takes whatever the server sends: it never raises and never counts negatives."""
    import json as _json

    from otel_ai.genai.recorder import GenAIRecorder
    from otel_ai.instrumentation.openai.realtime import RealtimeSession, _usage

    session = RealtimeSession(GenAIRecorder(None), "gpt-realtime", None, None)
    session.received(_json.dumps({"type": "response.created", "response": {"id": "r"}}))
    message = {**event, "type": kind} if isinstance(event, dict) else event
    session.received(_json.dumps(message))
    usage, _ = _usage(event if isinstance(event, dict) else None)
    assert (usage.audio_input_tokens or 0) >= 0
    session.close(None)


@settings(max_examples=300, deadline=None)
@given(
    rid=st.text(alphabet=st.characters(codec="ascii", exclude_characters='"\\'), max_size=12),
    audio=st.binary(max_size=64),
    kind=st.sampled_from(["response.output_audio.delta", "response.audio.delta"]),
    extra=st.dictionaries(st.sampled_from(["event_id", "item_id", "output_index", "note"]),
                          st.text(max_size=6) | st.integers(), max_size=3),
    compact=st.booleans(),
    order=st.permutations(["type", "response_id", "delta", "extra"]),
)
def test_the_audio_delta_fast_path_agrees_with_the_json_parser(rid, audio, kind, extra, compact, order):
    """Audio deltas are read without parsing their base64: the same response id and byte count."""
    import json as _json

    from otel_ai.instrumentation.openai.realtime import _audio_delta

    parts = {"type": kind, "response_id": rid, "delta": base64.b64encode(audio).decode()}
    event: dict[str, Any] = {}
    for key in order:
        if key == "extra":
            event.update({k: v for k, v in extra.items() if k not in parts})
        else:
            event[key] = parts[key]
    message = _json.dumps(event, separators=(",", ":") if compact else None).encode()
    got = _audio_delta(message)
    if b"\\" in message:  # an escaped character: right, or left to the JSON parser
        assert got in (None, (rid, len(audio)))
    else:
        assert got == (rid, len(audio))
    assert _audio_delta(_json.dumps({**event, "type": "response.done"}).encode()) is None
