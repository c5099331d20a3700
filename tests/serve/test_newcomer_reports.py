"""Issue 16 items 3 (serve side), 13, 14, 15 on real ingested spans, SQLite and PostgreSQL.

The real agent (OpenAI instrumented against the simulator) makes priced calls, calls to a model with no
price (usage, no cost) and a failed call; its spans are ingested into the store and read back through
the store, the API models and `otel-ai report`."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from otel_ai.serve.api import create_app
from otel_ai.serve.store import Store
from tests.conftest import scenario
from tests.serve.test_report import report

openai = pytest.importorskip("openai")

MESSAGES = [{"role": "user", "content": "hello"}]
UNPRICED = "acme-unpriced-1"


def drive(client: Any) -> None:
    for model in ("gpt-4o-mini", "gpt-4o-mini", UNPRICED, UNPRICED, "gpt-4o"):
        client.chat.completions.create(model=model, messages=MESSAGES)
    with pytest.raises(openai.APIError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers=scenario("rate_limit"))


@pytest.fixture
def filled(client: Any, telemetry: Any, store: Store) -> Store:
    drive(client)
    spans = list(telemetry.spans())
    assert store.ingest_traces(encode_spans(spans)) == len(spans)
    return store


def significant_digits_at_most_10(value: float) -> bool:
    return float(f"{value:.10g}") == value


def test_unpriced_calls_per_model_in_store_api_and_cli(filled: Store) -> None:
    summary = filled.summary()
    assert summary["unpriced_calls"] == [{"model": UNPRICED, "calls": 2}]
    body = TestClient(create_app(filled), base_url="http://127.0.0.1").get("/api/v1/summary").json()
    assert body["unpriced_calls"] == [{"model": UNPRICED, "calls": 2}]
    for key in ("cost_usd", "cost_today", "cost_this_month"):
        assert significant_digits_at_most_10(body[key]), body[key]
    table = report("summary", "--db", filled.url).stdout
    assert re.search(rf"^unpriced calls +{UNPRICED} \u00d7 2$", table, re.M), table
    assert "add a price with OTEL_AI_PRICING_FILE" in table
    printed = json.loads(report("summary", "--db", filled.url, "--format", "json").stdout)
    assert printed["unpriced_calls"] == [{"model": UNPRICED, "calls": 2}]


def test_a_failed_call_is_one_failed_call_in_the_trace_list(filled: Store) -> None:
    page = filled.traces(status="error")
    [failed] = page["items"]
    assert failed["failed_calls"] == 1 and failed["genai_calls"] == 1
    assert failed["error_count"] >= 1  # the spans: the call's and the HTTP span beneath it when it failed too
    ok = filled.traces(status="ok")["items"]
    assert ok and all(t["failed_calls"] == 0 for t in ok)
    detail = TestClient(create_app(filled), base_url="http://127.0.0.1").get(f"/api/v1/traces/{failed['trace_id']}").json()
    assert detail["failed_calls"] == 1


def test_a_missing_task_type_is_null_in_the_api_and_none_in_the_cli(filled: Store) -> None:
    api = TestClient(create_app(filled), base_url="http://127.0.0.1")
    body = api.get("/api/v1/costs", params={"group_by": "task_type"}).json()
    [group] = body["groups"]
    assert group["key"] is None
    for row in [*body["groups"], body["total"]]:
        assert significant_digits_at_most_10(row["cost_usd"])
    table = report("costs", "--db", filled.url, "--group-by", "task_type").stdout
    assert "(none)" in table and "(not recorded)" not in table
