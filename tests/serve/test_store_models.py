"""Issue 16 item 14: costs grouped by the model the app asked for, `response_model` on request, and
revision 0003 on a store written before it (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otel_ai.serve.api import create_app
from otel_ai.serve.store import Store
from otel_ai.serve.store.aggregates import HOUR_NS, duration_bucket
from tests.serve.test_report import report
from tests.serve.test_store import _kvs, ns, synthetic_request


def snapshot_call(start: int, request: str, response: str | None, cost: float = 0.001) -> dict[str, Any]:
    """A chat span as the agent writes it: the request model, and the snapshot that answered (if any)."""
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    attributes = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": request,
                  "gen_ai.response.model": response, "gen_ai.usage.input_tokens": 10, "otel_ai.cost.usd": cost}
    span = Span(trace_id=start.to_bytes(16, "big"), span_id=start.to_bytes(8, "big"), name=f"chat {request}",
                kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=start, end_time_unix_nano=start + 10**8,
                attributes=_kvs(attributes))
    return {"service": "app", "span": span}


def test_one_requested_model_is_one_row(store: Store, store_url: str) -> None:
    base = ns(datetime(2026, 5, 4, 9, tzinfo=timezone.utc))
    items = [snapshot_call(base + i * HOUR_NS, "gpt-4o-mini", "gpt-4o-mini-2024-07-18") for i in range(4)]
    items.append(snapshot_call(base + 5 * HOUR_NS, "gpt-4o-mini", None))  # a response without a model
    items.append(snapshot_call(base + 6 * HOUR_NS, "gpt-4o", "gpt-4o-2024-08-06", cost=0.01))
    store.ingest_traces(synthetic_request(items))
    assert [(r["key"], r["calls"]) for r in store.costs("model")] == [("gpt-4o", 1), ("gpt-4o-mini", 5)]
    assert [(r["key"], r["calls"]) for r in store.costs("response_model")] == [
        ("gpt-4o-2024-08-06", 1), ("gpt-4o-mini-2024-07-18", 4), ("gpt-4o-mini", 1)]
    api = TestClient(create_app(store), base_url="http://127.0.0.1")
    body = api.get("/api/v1/costs", params={"group_by": "response_model"}).json()
    assert [g["key"] for g in body["groups"]] == ["gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"]
    assert [g["key"] for g in api.get("/api/v1/costs").json()["groups"]] == ["gpt-4o", "gpt-4o-mini"]
    table = report("costs", "--db", store_url, "--group-by", "response_model").stdout
    assert table.startswith("Cost by response model") and "gpt-4o-mini-2024-07-18" in table
    assert store.traces(model="gpt-4o-mini")["total"] == 5  # the trace filter takes the requested model too


def test_revision_0003_keeps_every_total_and_copies_the_model(store_url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from otel_ai.serve.store import open_store
    from otel_ai.serve.store.database import _MIGRATIONS, create_store_engine

    engine = create_store_engine(store_url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    base = ns(datetime(2026, 4, 1, tzinfo=timezone.utc))
    rows = [
        {"trace_id": f"{i:032x}", "span_id": f"{i:016x}", "start_ns": base + i * 7 * HOUR_NS, "duration_ns": 10**8,
         "duration_bucket": duration_bucket(10**8), "service": "app", "provider": "openai", "operation": "chat",
         "model": "gpt-4o-2024-08-06", "task_type": "", "input_tokens": 10, "output_tokens": 5, "characters": 0,
         "cost_usd": 0.5, "outcome": "ok", "error_category": "", "error_type": "", "error_code": ""}
        for i in range(6)
    ]
    try:
        with engine.connect() as connection, connection.begin():
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
            columns, values = ", ".join(rows[0]), ", ".join(":" + k for k in rows[0])
            connection.execute(text(f"INSERT INTO genai_calls ({columns}) VALUES ({values})"), rows)
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        store.rebuild_aggregates()  # the rows went in raw: their roll-ups, as ingest would have made them
        assert store.summary()["cost_usd"] == pytest.approx(3.0)
        assert [(r["key"], r["calls"]) for r in store.costs("model")] == [("gpt-4o-2024-08-06", 6)]
        assert [(r["key"], r["calls"]) for r in store.costs("response_model")] == [("gpt-4o-2024-08-06", 6)]
