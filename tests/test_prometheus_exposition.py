"""Metrics for Prometheus without a collector: `metrics_app()` mounted at /metrics of a FastAPI app."""

from __future__ import annotations

import openai
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.metrics import MeterProvider

import otel_ai
from otel_ai.instrumentation.openai import OpenAIInstrumentor
from otel_ai.runtime.prometheus import MountedPrometheusMetricReader
from tests.conftest import API_KEY


def test_fastapi_mount_serves_the_agents_metrics_in_prometheus_names(sim):
    reader = MountedPrometheusMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    OpenAIInstrumentor().instrument(meter_provider=provider)
    try:
        with openai.OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0) as client:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        app = FastAPI()
        app.mount("/metrics", otel_ai.metrics_app())
        response = TestClient(app).get("/metrics/")
    finally:
        OpenAIInstrumentor().uninstrument()
        provider.shutdown()

    assert response.status_code == 200
    text = response.text
    cost = [line for line in text.splitlines() if line.startswith("otel_ai_client_cost_total{")]
    assert cost and float(cost[0].rsplit(" ", 1)[1]) > 0
    assert 'gen_ai_provider_name="openai"' in cost[0]
    assert 'gen_ai_request_model="gpt-4o-mini"' in cost[0]
    assert 'gen_ai_client_operation_duration_seconds_bucket{' in text
    assert 'le="0.01"' in text  # the conventions' bucket advice, not the SDK defaults
    assert 'otel_ai_client_requests_total{' in text and 'otel_ai_outcome="ok"' in text
    assert 'gen_ai_client_token_usage_bucket{' in text and 'gen_ai_token_type="input"' in text
