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
