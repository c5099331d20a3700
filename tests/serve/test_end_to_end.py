"""End to end: the example app under `opentelemetry-instrument` sends its telemetry to `otel-ai serve`.

The agent's own OTLP exporters (HTTP, then gRPC) deliver to a real `LocalServer`; the same spans are
also printed by the SDK's console exporter, so the test knows exactly what was exported and checks
that the API's numbers are the sums over those spans.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from otel_ai.serve.server import LocalServer, ServeConfig
from tests.support.console_spans import exported_spans

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run_app(endpoint: str, protocol: str) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_", "ELEVENLABS_"))}
    env.update({
        "OTEL_SERVICE_NAME": f"e2e-serve-{protocol.split('/')[0]}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_TRACES_EXPORTER": "otlp,console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    })
    result = subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, "examples/app.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    spans = [s for s in exported_spans(result.stdout) if "gen_ai.operation.name" in s["attributes"]]
    assert len(spans) >= 5, result.stdout[-2000:]
    return spans


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = tmp_path_factory.mktemp("serve") / "e2e.db"
    server = LocalServer(ServeConfig(db=str(db), port=0, otlp_http_port=0, otlp_grpc_port=0)).start()
    try:
        urls = server.urls()
        exported = _run_app(urls["otlp_http"], "http/protobuf") + _run_app(urls["otlp_grpc"], "grpc")
        yield urls["api"], exported
    finally:
        server.stop()


def _get(api: str, path: str, **params: str) -> Any:
    response = requests.get(f"{api}/api/v1/{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_calls_tokens_and_cost_equal_the_sums_of_the_exported_spans(served):
    api, spans = served
    summary = _get(api, "summary")
    assert summary["calls"] == len(spans)
    assert summary["errors"] == 0
    assert summary["cost_usd"] == pytest.approx(sum(s["attributes"].get("otel_ai.cost.usd", 0) for s in spans))
    assert summary["input_tokens"] == sum(s["attributes"].get("gen_ai.usage.input_tokens", 0) for s in spans)
    assert summary["output_tokens"] == sum(s["attributes"].get("gen_ai.usage.output_tokens", 0) for s in spans)
    assert summary["characters"] == sum(s["attributes"].get("otel_ai.usage.characters", 0) for s in spans)


def test_costs_per_model_and_per_service(served):
    api, spans = served
    by_model = {g["key"]: g for g in _get(api, "costs", group_by="model")["groups"]}
    calls: Counter[str] = Counter()
    cost: Counter[str] = Counter()
    for span in spans:
        attrs = span["attributes"]
        model = attrs.get("gen_ai.response.model") or attrs["gen_ai.request.model"]
        calls[model] += 1
        cost[model] += attrs.get("otel_ai.cost.usd", 0)
    assert {key: group["calls"] for key, group in by_model.items()} == dict(calls)
    for model, total in cost.items():
        assert by_model[model]["cost_usd"] == pytest.approx(total)
    services = {g["key"]: g["calls"] for g in _get(api, "costs", group_by="service")["groups"]}
    assert services == {"e2e-serve-http": len(spans) // 2, "e2e-serve-grpc": len(spans) // 2}


def test_a_trace_arrives_whole_with_its_logs(served):
    api, spans = served
    chat = next(s for s in spans if s["name"] == "chat gpt-4o-mini")
    trace_id = chat["context"]["trace_id"].removeprefix("0x")
    deadline = time.monotonic() + 5
    while True:
        tree = requests.get(f"{api}/api/v1/traces/{trace_id}", timeout=10)
        if tree.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert tree.status_code == 200
    body = tree.json()
    names = {span["name"] for span in body["spans"]}
    assert "chat gpt-4o-mini" in names and any(name.startswith("GET /ask") for name in names)
    chat_span = next(span for span in body["spans"] if span["name"] == "chat gpt-4o-mini")
    children = [span for span in body["spans"] if span["parent_span_id"] == chat_span["span_id"]]
    assert [child["name"] for child in children] == ["POST"]
    assert any("answered a question" in json.dumps(log["body"]) for log in body["logs"])
