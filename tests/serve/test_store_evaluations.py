"""Evaluations in the store, SQLite and PostgreSQL: the real openai client against the simulator, the agent's
spans and evaluation log records encoded as OTLP and ingested, then read back paged and summed."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

import otel_ai
from otel_ai.serve.store import Store

MESSAGES = [{"role": "user", "content": "hi"}]


def test_evaluations_join_their_calls(store: Store, client: Any, telemetry: Any) -> None:
    ids = {}
    for model, score in (("gpt-4o-mini", 1.0), ("gpt-4o-mini", 0.2), ("gpt-4o", 0.9)):
        ids[score] = client.chat.completions.create(model=model, messages=MESSAGES).id
        assert otel_ai.evaluate("faithfulness", score, "pass" if score > 0.5 else "fail", "because")
    spans = telemetry.spans()
    store.ingest_traces(encode_spans(spans))
    store.ingest_logs(encode_logs(telemetry.logs()))

    page = store.evaluations(limit=2)
    assert (page["total"], len(page["items"]), page["has_more"]) == (3, 2, True)
    everything = store.evaluations()["items"]
    assert {item["response_id"]: item["score"] for item in everything} == {v: k for k, v in ids.items()}
    by_span = {format(s.context.span_id, "016x"): s for s in spans}
    for item in everything:
        call = by_span[item["span_id"]]
        assert call.attributes["gen_ai.response.id"] == item["response_id"]
        assert item["cost_usd"] == pytest.approx(call.attributes["otel_ai.cost.usd"])
    assert store.evaluations(model="gpt-4o")["total"] == 1
    assert store.evaluations(name="other")["total"] == 0

    summary = store.evaluation_summary(threshold=0.5, good_labels=())
    groups = {group["model"]: group for group in summary["groups"]}
    mini = groups["gpt-4o-mini"]
    assert (mini["evaluations"], mini["good"], mini["mean_score"]) == (2, 1, pytest.approx(0.6))
    mini_cost = sum(i["cost_usd"] for i in everything if i["model"] == "gpt-4o-mini")
    assert mini["cost_per_good_answer_usd"] == pytest.approx(mini_cost)
    by_label = store.evaluation_summary(threshold=2.0, good_labels=("pass",))
    assert {g["model"]: g["good"] for g in by_label["groups"]} == {"gpt-4o-mini": 1, "gpt-4o": 1}


def _span_id(span: Any) -> str:
    return format(span.context.span_id, "016x")


def test_span_events_are_read_and_a_result_sent_both_ways_counts_once(
        store: Store, client: Any, telemetry: Any) -> None:
    """An evaluation made while its span is open arrives as a span event; another emitter sends the same
    result again as a log record: stored once. Re-sent batches change nothing."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan

    tracer = telemetry.providers["tracer_provider"].get_tracer("app")
    # a call of a provider otel-ai does not instrument, recorded by the app itself on the conventions
    with otel_ai.conversation(id="conv-a", user="alice"), tracer.start_as_current_span("chat local-llm", attributes={
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "local", "gen_ai.request.model": "local-llm",
        "gen_ai.conversation.id": "conv-a", "user.id": "alice", "otel_ai.cost.usd": 0.5,
    }) as own:
        assert otel_ai.evaluate("toxicity", 0.0, "pass", span=own)  # open: a span event
    with otel_ai.conversation(id="conv-b", user="bob"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert otel_ai.evaluate("relevance", 0.25, explanation="off topic")  # ended: a log record
    own_span = next(s for s in telemetry.spans() if s.name == "chat local-llm")
    assert [e.name for e in own_span.events] == ["gen_ai.evaluation.result"]

    # a judge sends the same result again as a log record on that span, and one only it sends
    logger = telemetry.providers["logger_provider"].get_logger("judge")
    for name, score in (("toxicity", 0.0), ("helpfulness", 0.75)):
        logger.emit(
            event_name="gen_ai.evaluation.result",
            context=trace.set_span_in_context(NonRecordingSpan(own_span.context)),
            attributes={"gen_ai.evaluation.name": name, "gen_ai.evaluation.score.value": score,
                        "gen_ai.evaluation.score.label": "pass"},
        )
    for _ in range(2):  # the spans first: the span event is the one kept; a retried export changes nothing
        store.ingest_traces(encode_spans(telemetry.spans()))
        store.ingest_logs(encode_logs(telemetry.logs()))

    page = store.evaluations()
    found = sorted((i["name"], i["source"], i["conversation_id"], i["user"], i["model"]) for i in page["items"])
    assert found == [("helpfulness", "log", "conv-a", "alice", "local-llm"),
                     ("relevance", "log", "conv-b", "bob", "gpt-4o"),
                     ("toxicity", "span_event", "conv-a", "alice", "local-llm")]
    assert page["total"] == 3
    toxicity = next(i for i in page["items"] if i["name"] == "toxicity")
    assert (toxicity["span_id"], toxicity["cost_usd"]) == (_span_id(own_span), 0.5)

    # the conversation filter and the per-conversation summary
    assert {i["name"] for i in store.evaluations(conversation="conv-a")["items"]} == {"toxicity", "helpfulness"}
    assert store.evaluations(conversation="nope")["total"] == 0
    summary = store.evaluation_summary(group_by=("conversation",), threshold=0.5, good_labels=("pass",))
    assert summary["group_by"] == ["name", "conversation"]
    rows = {(g["name"], g["conversation_id"]): g for g in summary["groups"]}
    assert set(rows) == {("helpfulness", "conv-a"), ("relevance", "conv-b"), ("toxicity", "conv-a")}
    assert rows[("relevance", "conv-b")]["good"] == 0 and rows[("relevance", "conv-b")]["model"] is None
    assert rows[("toxicity", "conv-a")]["cost_per_good_answer_usd"] == pytest.approx(0.5)
    only_b = store.evaluation_summary(conversation="conv-b")
    assert [(g["name"], g["model"], g["evaluations"]) for g in only_b["groups"]] == [("relevance", "gpt-4o", 1)]


def test_revision_0005_copies_the_stored_evaluation_log_records(store_url: str, client: Any, telemetry: Any) -> None:
    """A store at 0004 holding the agent's calls and evaluation log records lists them after the upgrade, and
    retention removes them with the rest."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from otel_ai.serve.store import open_store
    from otel_ai.serve.store.database import _MIGRATIONS, create_store_engine
    from otel_ai.serve.store.evaluation_rows import EVENT

    for score in (0.9, 0.1):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert otel_ai.evaluate("relevance", score)
    assert otel_ai.evaluate("relevance", 0.5, response_id="resp-unknown")  # linked to no span
    logs = [item for item in telemetry.logs() if item.log_record.event_name == EVENT]
    assert len(logs) == 3

    engine = create_store_engine(store_url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    try:
        with engine.connect() as connection, connection.begin():
            config.attributes["connection"] = connection
            command.upgrade(config, "0004")
    finally:
        engine.dispose()
    # written by a 0004 server: the rows only (ingest of this code would fill the new table too)
    from otel_ai.serve.store.convert import log_rows

    rows = list(log_rows(encode_logs(logs)).logs.values())
    engine = create_store_engine(store_url)
    try:
        with engine.begin() as connection:
            columns = ", ".join(rows[0])
            connection.execute(text(f"INSERT INTO logs ({columns}) VALUES ({', '.join(':' + k for k in rows[0])})"),
                               rows)
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        store.ingest_traces(encode_spans(telemetry.spans()))
        page = store.evaluations()
        assert sorted(i["score"] for i in page["items"]) == [0.1, 0.5, 0.9]
        assert {i["source"] for i in page["items"]} == {"log"}
        assert sum(i["model"] == "gpt-4o-mini" for i in page["items"]) == 2
        store.ingest_logs(encode_logs(logs))  # the same records again: nothing new
        assert store.evaluations()["total"] == 3
        deleted = store.delete_before(max(i["time_ns"] for i in page["items"]) + 1)
        assert deleted["evaluations"] == 3 and store.evaluations()["total"] == 0
