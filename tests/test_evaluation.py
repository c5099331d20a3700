"""`otel_ai.evaluate()`: the `gen_ai.evaluation.result` event on the evaluated call, through the real openai client."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider

import otel_ai
from otel_ai.genai import evaluation

MESSAGES = [{"role": "user", "content": "Say hello to the test suite please"}]


def _score_points(telemetry: Any) -> list[tuple[dict[str, Any], Any]]:
    return telemetry.points("otel_ai.evaluation.score")


def test_evaluate_the_call_just_made_after_its_span_ended(client, telemetry):
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    span = telemetry.one_genai_span()

    assert otel_ai.evaluate("relevance", 0.25, "poor", "off topic") is True

    (record,) = [r.log_record for r in telemetry.logs() if r.log_record.event_name == "gen_ai.evaluation.result"]
    assert dict(record.attributes or {}) == {
        "gen_ai.evaluation.name": "relevance",
        "gen_ai.evaluation.score.value": 0.25,
        "gen_ai.evaluation.score.label": "poor",
        "gen_ai.evaluation.explanation": "off topic",
        "gen_ai.response.id": completion.id,
    }
    assert record.trace_id == span.context.trace_id
    assert record.span_id == span.context.span_id
    ((labels, point),) = _score_points(telemetry)
    assert labels == {
        "gen_ai.evaluation.name": "relevance", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
    }
    assert point.count == 1 and point.sum == 0.25


def test_evaluate_by_response_id_after_other_calls(client, telemetry):
    first = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    first_span = next(s for s in telemetry.genai_spans() if s.attributes["gen_ai.response.id"] == first.id)

    assert otel_ai.evaluate("correctness", label="correct", response_id=first.id)

    (record,) = [r.log_record for r in telemetry.logs() if r.log_record.event_name == "gen_ai.evaluation.result"]
    assert dict(record.attributes or {}) == {
        "gen_ai.evaluation.name": "correctness",
        "gen_ai.evaluation.score.label": "correct",
        "gen_ai.response.id": first.id,
    }
    assert (record.trace_id, record.span_id) == (first_span.context.trace_id, first_span.context.span_id)
    assert _score_points(telemetry) == []  # a label alone is no score


def test_evaluate_an_open_span_is_a_span_event(telemetry):
    tracer = telemetry.providers["tracer_provider"].get_tracer("app")
    with tracer.start_as_current_span("judge") as span:
        assert otel_ai.evaluate("tone", 1, explanation="polite")
    (finished,) = [s for s in telemetry.spans() if s.name == "judge"]
    (event,) = finished.events
    assert event.name == "gen_ai.evaluation.result"
    assert dict(event.attributes or {}) == {
        "gen_ai.evaluation.name": "tone", "gen_ai.evaluation.score.value": 1.0,
        "gen_ai.evaluation.explanation": "polite",
    }
    assert span.get_span_context().span_id == finished.context.span_id


def test_explicit_ended_span_gives_a_linked_log_record(client, telemetry):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    other = TracerProvider().get_tracer("x").start_span("other")
    other.end()
    assert otel_ai.evaluate("x", 0.5, span=other)
    (record,) = [r.log_record for r in telemetry.logs() if r.log_record.event_name == "gen_ai.evaluation.result"]
    assert record.span_id == other.get_span_context().span_id
    assert "gen_ai.response.id" not in (record.attributes or {})


def test_unknown_response_id_still_recorded_unlinked(client, telemetry):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert otel_ai.evaluate("x", 0.5, response_id="chatcmpl-unknown")
    (record,) = [r.log_record for r in telemetry.logs() if r.log_record.event_name == "gen_ai.evaluation.result"]
    assert record.attributes["gen_ai.response.id"] == "chatcmpl-unknown"
    assert not record.span_id


def test_recent_calls_are_bounded() -> None:
    recent = evaluation._Recent(3)
    from opentelemetry.trace import SpanContext

    sink = evaluation.RECENT.default

    for i in range(1, 6):
        recent.add(evaluation._Call(SpanContext(1, i, False), f"r{i}", {}, sink))  # type: ignore[arg-type]
    assert recent.by_response("r1") is None and recent.by_response("r2") is None
    assert recent.by_response("r5") is not None and recent.by_span(3) is not None and recent.by_span(1) is None


def test_metric_names_are_bounded(client, telemetry, monkeypatch):
    monkeypatch.setattr(evaluation, "NAMES_LIMIT", 2)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    for name in ("a", "b", "c", "d"):
        otel_ai.evaluate(name, 1.0)
    names = sorted(labels["gen_ai.evaluation.name"] for labels, _ in _score_points(telemetry))
    assert names == ["a", "b", "other"]


BAD = [
    {"name": ""}, {"name": 3, "score": 1.0}, {"name": "n", "score": "high"}, {"name": "n", "score": math.nan},
    {"name": "n", "score": True}, {"name": "n"}, {"name": "n", "score": 1, "label": 2},
    {"name": "n", "score": 1, "explanation": b"x"}, {"name": "n", "score": 1, "response_id": 5},
    {"name": "n", "score": 1, "span": "span"},
]


@pytest.mark.parametrize("kwargs", BAD)
def test_bad_arguments_warn_once_and_record_nothing(client, telemetry, kwargs):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert otel_ai.evaluate(**kwargs) is False
    assert [w.category for w in caught] == [evaluation.EvaluationArgumentWarning]
    assert [r for r in telemetry.logs() if r.log_record.event_name == "gen_ai.evaluation.result"] == []
    assert _score_points(telemetry) == []


anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20), st.binary(max_size=5),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=anything, score=anything, label=anything, explanation=anything, response_id=anything, span=anything)
def test_evaluate_never_raises(telemetry, name, score, label, explanation, response_id, span) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = otel_ai.evaluate(name, score, label, explanation, response_id=response_id, span=span)
    assert isinstance(result, bool)


def test_recent_calls_newest_wins_and_lookups_survive_concurrent_appends() -> None:
    import threading

    from opentelemetry.trace import SpanContext

    recent = evaluation._Recent(1000)
    sink = evaluation.RECENT.default
    recent.add(evaluation._Call(SpanContext(1, 1, False), "same", {}, sink))  # type: ignore[arg-type]
    recent.add(evaluation._Call(SpanContext(1, 2, False), "same", {}, sink))  # type: ignore[arg-type]
    found = recent.by_response("same")
    assert found is not None and found.context.span_id == 2  # a reused response id names the latest call
    assert recent.by_response("") is None

    stop = threading.Event()

    def append() -> None:
        i = 10
        while not stop.is_set():
            recent.add(evaluation._Call(SpanContext(1, i, False), f"r{i}", {}, sink))  # type: ignore[arg-type]
            i += 1

    writer = threading.Thread(target=append)
    writer.start()
    try:
        for _ in range(300):  # a search while another thread appends neither raises nor misses the newest
            recent.add(evaluation._Call(SpanContext(1, 7, False), "mine", {}, sink))  # type: ignore[arg-type]
            assert recent.by_response("mine") is not None
            recent.by_span(123456789)
    finally:
        stop.set()
        writer.join()
